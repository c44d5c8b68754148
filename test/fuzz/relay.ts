// The relay's receive path fed hostile envelopes: random bytes, validly signed envelopes whose
// bodies hold anything JSON can say, and both mutated. readHeader and openEnvelope never throw and
// refuse with a reason; the relay (a real one, with a real station and store) acknowledges or
// refuses every message without throwing or hanging, and stores only records that were sent.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Level } from "level";
import mqtt from "mqtt";
import pino from "pino";
import { expect } from "vitest";
import {
  openEnvelope,
  publicKeyOf,
  readHeader,
  Relay,
  sealEnvelope,
  signingKeyPair,
  type Envelope,
} from "../../src/relay/index.ts";
import { Station } from "../../src/station/index.ts";
import { RecordStore, ReplicaStore } from "../../src/store/index.ts";
import type { FieldRecord } from "../../src/wire/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { arbitraryRecord, codebook, presets } from "../helpers/records.ts";
import { mutatedBytes, type FuzzInput } from "./fuzz.ts";

const COALITION = "fuzz";
const ME = "north";
const PEER = "south";
// Fixed keys: a kept regression input stays validly signed on every run.
const peerSecret = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const mine = signingKeyPair();
const trust = new Map([[PEER, publicKeyOf(peerSecret)]]);

const TOPICS = [
  `meshaid/${COALITION}/log/${PEER}`,
  `meshaid/${COALITION}/fill/${ME}/${PEER}`,
  `meshaid/${COALITION}/vector/${PEER}`,
  `meshaid/${COALITION}/want/${ME}`,
  `meshaid/${COALITION}/log/${ME}`,
  "meshaid/other/log/south",
  "junk",
];

/** Something shaped like a record on the outside, anything inside. */
const hostileRecord: fc.Arbitrary<unknown> = fc.record({
  id: fc.record({
    origin: fc.oneof(fc.nat(), fc.constant(0xffffffff)),
    seq: fc.nat(),
  }),
  receivedAt: fc.oneof(fc.double(), fc.nat()),
  body: fc.oneof(
    fc.record(
      {
        kind: fc.constantFrom(
          "supply_request",
          "incident",
          "ack",
          "shift",
          "message",
          "bogus",
        ),
      },
      { requiredKeys: ["kind"] },
    ),
    fc
      .dictionary(fc.string(), fc.jsonValue())
      .map((rest) => ({ ...rest, kind: "supply_status" })),
  ),
  auth: fc.constantFrom(undefined, "mac", "none", "station", 7),
});

const name = fc.constantFrom(PEER, ME, "east", "");
const log = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{16}$/),
  fc.constant("0123456789abcdef"),
);
const seq = fc.oneof(
  fc.integer({ min: 1, max: 50 }),
  fc.integer({ min: 1, max: 2 ** 52 }),
);

const envelope: fc.Arbitrary<Envelope> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("batch" as const),
      coalition: fc.oneof(
        { weight: 5, arbitrary: fc.constant(COALITION) },
        fc.constant("other"),
      ),
      station: fc.constant(PEER),
      body: fc.record({
        log,
        first: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, seq),
        records: fc.array(
          fc.oneof(
            arbitraryRecord,
            hostileRecord.map((record) => record as FieldRecord),
            fc.constant(null),
          ),
          { minLength: 1, maxLength: 6 },
        ),
      }),
    }),
  },
  fc.record({
    kind: fc.constant("vector" as const),
    coalition: fc.constant(COALITION),
    station: fc.constant(PEER),
    body: fc.record({
      log,
      head: seq,
      held: fc.dictionary(
        name.filter((n) => n !== ""),
        seq,
      ),
    }),
  }),
  fc.record({
    kind: fc.constant("want" as const),
    coalition: fc.constant(COALITION),
    station: fc.constant(PEER),
    body: fc.record({
      station: name.filter((n) => n !== ""),
      from: seq,
      to: seq,
    }),
  }),
);

const signed = envelope.map((value) => sealEnvelope(value, peerSecret));

/** One message a line pair in the kept regression form: "<topic>\n<hex payload>". */
export const relayMessages: fc.Arbitrary<FuzzInput> = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.constant(TOPICS[0]!) },
      fc.constantFrom(...TOPICS),
    ),
    fc.oneof(
      { weight: 3, arbitrary: signed },
      { weight: 2, arbitrary: mutatedBytes(signed, 2000) },
      fc.uint8Array({ maxLength: 200 }),
    ),
  )
  .map(([topic, bytes]) => ({
    text: `${topic}\n${Buffer.from(bytes).toString("hex")}`,
  }));

function parse(input: FuzzInput): { topic: string; bytes: Uint8Array } {
  const [topic = "", hex = ""] = ("text" in input ? input.text : "").split(
    "\n",
  );
  return { topic, bytes: Uint8Array.from(Buffer.from(hex, "hex")) };
}

/** readHeader and openEnvelope: a value, never a throw; a refusal always has a reason. */
export function envelopeReadersHold(input: FuzzInput): void {
  const { bytes } = parse(input);
  const header = readHeader(bytes);
  if (!header.ok) expect(header.reason).toMatch(/\S/);
  const opened = openEnvelope(bytes, (station) => trust.get(station));
  if (!opened.ok) expect(opened.reason).toMatch(/\S/);
  else expect(header.ok).toBe(true);
}

/** The relay's receive path on a real station and store: every message is answered, nothing invented is stored. */
export async function relayReceiveHolds(input: FuzzInput): Promise<void> {
  envelopeReadersHold(input);
  const { topic, bytes } = parse(input);
  const dir = await mkdtemp(join(tmpdir(), "meshaid-fuzz-relay-"));
  const db = new Level<string, Uint8Array>(dir, { valueEncoding: "view" });
  const store = await RecordStore.open(db, codebook);
  const replica = await ReplicaStore.open(db);
  const logger = pino({ level: "silent" });
  const station = new Station({
    name: ME,
    radio: new ScriptedRadio(),
    store,
    presets,
    codebook,
    logger,
  });
  // A client that never reaches a broker: the test hands it messages as the broker would.
  const client = mqtt.connect("mqtt://127.0.0.1:9", {
    manualConnect: true,
    reconnectPeriod: 0,
    connectTimeout: 50,
  });
  client.on("error", () => undefined);
  const relay = new Relay({
    client,
    broker: "fuzz",
    coalition: COALITION,
    station: ME,
    secretKey: mine.secretKey,
    trust,
    store,
    replica,
    accept: (records, from) => station.acceptRelayed(records, from),
    logger,
    maxPending: 100,
  });
  try {
    await station.start();
    await relay.start();
    const answer = await new Promise<Error | undefined>((resolve) => {
      client.handleMessage(
        {
          cmd: "publish",
          topic,
          payload: Buffer.from(bytes),
          qos: 1,
          dup: false,
          retain: false,
          messageId: 1,
        },
        (error) => resolve(error ?? undefined),
      );
    });
    expect(answer).toBeUndefined();
    await station.idle();
    // Only records the envelope carried (under the peer's authority) are stored.
    const opened = openEnvelope(bytes, (station) => trust.get(station));
    const sent =
      opened.ok && opened.envelope.kind === "batch"
        ? opened.envelope.body.records.filter((record) => record !== null)
            .length
        : 0;
    expect(store.count).toBeLessThanOrEqual(sent);
  } finally {
    await relay.stop().catch(() => undefined);
    client.end(true);
    await station.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
