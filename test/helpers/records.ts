import fc from "fast-check";
import { INCIDENT_CODES, ITEM_CODES, type FieldRecord, type RecordBody } from "../../src/wire/index.ts";

export const arbitraryBody: fc.Arbitrary<RecordBody> = fc.oneof(
  fc.record({
    kind: fc.constant("supply_request" as const),
    item: fc.constantFrom(...Object.keys(ITEM_CODES)),
    quantity: fc.integer({ min: 1, max: 100_000 }),
    priority: fc.constantFrom("normal" as const, "urgent" as const),
  }),
  fc.record({
    kind: fc.constant("incident" as const),
    incident: fc.constantFrom(...Object.keys(INCIDENT_CODES)),
    casualties: fc.integer({ min: 0, max: 10_000 }),
  }),
  fc.record({ kind: fc.constant("shift" as const), action: fc.constantFrom("on" as const, "off" as const) }),
);

export const arbitraryRecord: fc.Arbitrary<FieldRecord> = fc
  .record({
    origin: fc.integer({ min: 4, max: 0xffffffff }),
    seq: fc.integer({ min: 0, max: 0xffffffff }),
    receivedAt: fc.integer({ min: 0, max: 2 ** 48 }),
    body: arbitraryBody,
    text: fc.option(fc.string({ minLength: 1, maxLength: 60 }), { nil: undefined }),
    sender: fc.option(fc.string({ minLength: 1, maxLength: 4 }), { nil: undefined }),
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
    body: { kind: "supply_request", item, quantity: 1, priority: "normal" },
    text: `NEED ${item.toUpperCase()}`,
  };
}
