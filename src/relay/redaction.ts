// Redaction before upload: what of each record kind leaves the station through the relay
// (firmware-config/redaction.yaml). The station keeps the full record; peers get the copy.
import { RECORD_KINDS, type FieldRecord, type Place, type RecordKind, type SitePlan } from "../wire/index.ts";

export type PlacePolicy = "keep" | "landmark" | "drop";

export interface RedactionRule {
  /** false: the record stays home (only its place in the sequence travels). */
  upload: boolean;
  /** Fields removed: of the body ("triage", "hazards") or of the record ("text", "sender"). */
  drop: string[];
  /** keep; landmark: offsets and coordinates become the nearest landmark of the site plan (dropped without one); drop. */
  place: PlacePolicy;
}

export type Redaction = Partial<Record<RecordKind, RedactionRule>>;

export class RedactionError extends Error {
  override readonly name = "RedactionError";
}

const PLACE_POLICIES: readonly PlacePolicy[] = ["keep", "landmark", "drop"];

/** Reads the redaction rules (plain data from the YAML file); `file` names it in errors. */
export function parseRedaction(data: unknown, file: string): Redaction {
  const kinds = (data as { kinds?: unknown } | null)?.kinds;
  if (kinds === undefined) return {};
  if (typeof kinds !== "object" || kinds === null || Array.isArray(kinds)) throw new RedactionError(`${file}: "kinds" must map record kinds to rules`);
  const out: Redaction = {};
  for (const [kind, value] of Object.entries(kinds as Record<string, unknown>)) {
    if (!(RECORD_KINDS as readonly string[]).includes(kind)) throw new RedactionError(`${file}: unknown record kind "${kind}" (known: ${RECORD_KINDS.join(", ")})`);
    const rule = (value ?? {}) as Record<string, unknown>;
    const upload = rule["upload"] ?? true;
    const drop = rule["drop"] ?? [];
    const place = rule["place"] ?? "keep";
    if (typeof upload !== "boolean") throw new RedactionError(`${file}: ${kind}.upload must be true or false`);
    if (!Array.isArray(drop) || drop.some((field) => typeof field !== "string")) throw new RedactionError(`${file}: ${kind}.drop must be a list of field names`);
    if (!PLACE_POLICIES.includes(place as PlacePolicy)) throw new RedactionError(`${file}: ${kind}.place must be one of ${PLACE_POLICIES.join(", ")}`);
    if ((drop as string[]).includes("id") || (drop as string[]).includes("kind")) throw new RedactionError(`${file}: ${kind}.drop cannot remove id or kind`);
    out[kind as RecordKind] = { upload, drop: drop as string[], place: place as PlacePolicy };
  }
  return out;
}

/** The function the relay applies to each record before upload (undefined: the record stays home). */
export function redactor(redaction: Redaction, site?: SitePlan): (record: FieldRecord) => FieldRecord | undefined {
  return (record) => {
    const rule = redaction[record.body.kind];
    if (!rule) return record;
    if (!rule.upload) return undefined;
    const copy: FieldRecord = { ...record, body: { ...record.body } };
    const top = copy as unknown as Record<string, unknown>;
    const body = copy.body as unknown as Record<string, unknown>;
    for (const field of rule.drop) {
      if (field === "text" || field === "sender") delete top[field];
      else if (field !== "receivedAt") delete body[field];
    }
    const place = body["place"] as Place | undefined;
    if (place && rule.place !== "keep") {
      const coarse = rule.place === "landmark" ? nearestLandmark(place, site) : undefined;
      if (coarse) body["place"] = coarse;
      else delete body["place"];
    }
    return copy;
  };
}

const METRES_PER_DEGREE = 111_320;

function nearestLandmark(place: Place, site: SitePlan | undefined): Place | undefined {
  if ("landmark" in place) return place;
  if (!site || site.landmarks.length === 0) return undefined;
  const cos = Math.cos((site.origin.lat * Math.PI) / 180);
  const offset = (lat: number, lon: number) => ({ east: (lon - site.origin.lon) * METRES_PER_DEGREE * cos, north: (lat - site.origin.lat) * METRES_PER_DEGREE });
  const at = "east" in place ? place : offset(place.lat, place.lon);
  let best: { code: number; distance: number } | undefined;
  for (const landmark of site.landmarks) {
    const l = offset(landmark.lat, landmark.lon);
    const distance = Math.hypot(l.east - at.east, l.north - at.north);
    if (!best || distance < best.distance) best = { code: landmark.code, distance };
  }
  return best ? { landmark: best.code } : undefined;
}
