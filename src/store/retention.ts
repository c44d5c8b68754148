// Retention limits per record kind (firmware-config/retention.yaml): how long a record is kept
// after it was heard. The store purges what is older (RecordStore.purge); the station logs how
// many, never what.
import { parseYamlText, RECORD_KINDS, type FieldRecord, type RecordKind } from "../wire/index.ts";

/** The retention file is wrong; the message names the file and the entry. */
export class RetentionError extends Error {}

/** Per kind, how long to keep a record in ms; a kind not listed (or "forever") is kept. */
export type RetentionLimits = Partial<Record<RecordKind, number>>;

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseRetention(text: string, source = "retention.yaml"): RetentionLimits {
  let data: unknown;
  try {
    data = parseYamlText(text);
  } catch (error) {
    throw new RetentionError(`${source}: not valid YAML: ${(error as Error).message}`);
  }
  const document = data as { version?: unknown; keep?: unknown } | null;
  if (typeof document !== "object" || document === null || Array.isArray(document)) throw new RetentionError(`${source}: expected a mapping with version and keep`);
  if (document.version !== 1) throw new RetentionError(`${source}: version ${String(document.version)} is not one this station reads (1)`);
  const keep = document.keep;
  if (typeof keep !== "object" || keep === null || Array.isArray(keep)) throw new RetentionError(`${source}: keep must map a record kind to a duration (12h, 14d) or forever`);
  const limits: RetentionLimits = {};
  for (const [kind, value] of Object.entries(keep)) {
    if (!(RECORD_KINDS as readonly string[]).includes(kind)) throw new RetentionError(`${source}: keep: unknown record kind "${kind}" (known: ${RECORD_KINDS.join(", ")})`);
    if (value === "forever") continue;
    const match = typeof value === "string" ? /^(\d+)\s*([mhd])$/.exec(value.trim()) : null;
    if (!match || Number(match[1]) < 1) throw new RetentionError(`${source}: keep: ${kind}: "${String(value)}" is not a duration such as 30m, 12h, 14d, or forever`);
    limits[kind as RecordKind] = Number(match[1]) * UNITS[match[2]!]!;
  }
  return limits;
}

/** The time after which `record` has outlived its kind's limit; undefined when its kind is kept. */
export function dueAt(limits: RetentionLimits, record: FieldRecord): number | undefined {
  const limit = limits[record.body.kind];
  return limit === undefined ? undefined : record.receivedAt + limit;
}

/** Whether `record` has outlived its kind's limit at `now`. */
export function expired(limits: RetentionLimits, record: FieldRecord, now: number): boolean {
  const due = dueAt(limits, record);
  return due !== undefined && now > due;
}
