// The field configuration that ships in firmware-config/, and records to test with.
import fc from "fast-check";
import {
  ACK_CODES,
  CHECKIN_STATUSES,
  MAX_CODE,
  PRIORITIES,
  SEVERITIES,
  SHIFT_ACTIONS,
  SUPPLY_STATUSES,
  type CodebookCategory,
  type FieldRecord,
  type Place,
  type RecordBody,
  type SupplyLine,
} from "../../src/wire/index.ts";

import { codebook } from "./config.ts";

export { configText, codebook, site, presets } from "./config.ts";

/** A codebook name, or now and then a code this codebook does not know ("#1234"). */
function name(category: CodebookCategory): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...codebook.lists[category].entries.map((entry) => entry.name)) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: MAX_CODE }).map((code) => `#${code}`) },
  );
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const positive = fc.integer({ min: 1, max: 0xffffffff });
const small = fc.integer({ min: 1, max: 100_000 });
const opt = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arbitrary, { nil: undefined });
const callsign = fc.string({ minLength: 1, maxLength: 12 }).filter((text) => Buffer.byteLength(text) <= 12);

export const arbitraryPlace: fc.Arbitrary<Place> = fc.oneof(
  fc.record({ landmark: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ east: fc.integer({ min: -100_000_000, max: 100_000_000 }).map((n) => n * 10), north: fc.integer({ min: -100_000_000, max: 100_000_000 }).map((n) => n * 10) }),
  fc.record({ lat: fc.integer({ min: -900_000_000, max: 900_000_000 }).map((n) => n / 1e7), lon: fc.integer({ min: -1_800_000_000, max: 1_800_000_000 }).map((n) => n / 1e7) }),
);

const line: fc.Arbitrary<SupplyLine> = fc.record({ item: name("items"), quantity: opt(positive) });
const lines = fc.array(line, { minLength: 1, maxLength: 6 });

const triage = fc
  .uniqueArray(fc.constantFrom("immediate", "delayed", "minor", "expectant", "dead"), { maxLength: 5 })
  .chain((categories) => fc.tuple(...categories.map((category) => small.map((count) => [category, count] as const))))
  .map((pairs) => Object.fromEntries(pairs) as Record<string, number>);

/** Every record kind, every field, in its canonical form (what decoding gives back). */
export const arbitraryBody: fc.Arbitrary<RecordBody> = fc.oneof(
  fc.record({ kind: fc.constant("supply_request" as const), lines, priority: fc.constantFrom(...PRIORITIES), place: opt(arbitraryPlace), needByMin: opt(positive) }),
  fc.record({ kind: fc.constant("supply_offer" as const), lines, place: opt(arbitraryPlace) }),
  fc.record({
    kind: fc.constant("supply_status" as const),
    status: fc.constantFrom(...SUPPLY_STATUSES),
    ref: opt(fc.record({ origin: u32, seq: u32 })),
    etaMin: opt(positive),
    lines: opt(lines),
    place: opt(arbitraryPlace),
  }),
  fc
    .record({
      kind: fc.constant("incident" as const),
      incident: name("incidents"),
      severity: fc.constantFrom(...SEVERITIES),
      untriaged: fc.integer({ min: 0, max: 1_000_000 }),
      triage: opt(triage.filter((value) => Object.keys(value).length > 0)),
      hazards: opt(fc.array(name("hazards"), { minLength: 1, maxLength: 5 })),
      people: opt(positive),
      responderOnScene: opt(fc.constant(true)),
      place: opt(arbitraryPlace),
    })
    .map(({ untriaged, ...body }) => ({ ...body, casualties: untriaged + Object.values(body.triage ?? {}).reduce((sum, n) => sum + n, 0) })),
  fc.record({
    kind: fc.constant("shift" as const),
    action: fc.constantFrom(...SHIFT_ACTIONS),
    role: opt(name("roles")),
    place: opt(arbitraryPlace),
    from: opt(callsign),
    to: opt(callsign),
    openItems: opt(positive),
    lowStock: opt(fc.array(name("items"), { minLength: 1, maxLength: 5 })),
  }),
  fc.record({ kind: fc.constant("checkin" as const), status: fc.constantFrom(...CHECKIN_STATUSES), battery: opt(fc.integer({ min: 0, max: 100 })), team: opt(positive), place: opt(arbitraryPlace) }),
  fc.record({
    kind: fc.constant("ack" as const),
    code: fc.constantFrom(...ACK_CODES),
    refs: fc
      .uniqueArray(fc.record({ origin: u32, seq: u32 }), { minLength: 1, maxLength: 12, selector: (ref) => `${ref.origin}:${ref.seq}` })
      .map((refs) => [...refs].sort((a, b) => a.origin - b.origin || a.seq - b.seq)),
  }),
  fc.record({ kind: fc.constant("message" as const), text: fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }).filter((text) => Buffer.byteLength(text) <= 200) }),
);

export const arbitraryRecord: fc.Arbitrary<FieldRecord> = fc
  .record({
    origin: fc.integer({ min: 4, max: 0xffffffff }),
    seq: u32,
    receivedAt: fc.integer({ min: 0, max: 2 ** 48 }),
    body: arbitraryBody,
    text: opt(fc.string({ minLength: 1, maxLength: 60 })),
    sender: opt(fc.string({ minLength: 1, maxLength: 4 })),
  })
  .map(({ origin, seq, receivedAt, body, text, sender }) => {
    const record: FieldRecord = { id: { origin, seq }, receivedAt, body };
    if (text !== undefined) record.text = text;
    if (sender !== undefined) record.sender = sender;
    return record;
  });

export function presetRecord(origin: number, seq: number, item = "water"): FieldRecord {
  return {
    id: { origin, seq },
    receivedAt: 1_750_000_000_000 + seq,
    body: { kind: "supply_request", lines: [{ item }], priority: "normal" },
    text: `NEED ${item.toUpperCase()}`,
  };
}
