// The station's ingest fed hostile packets (mutated meshaid payloads on port 300, random and
// mangled text) into a real store: nothing throws, and every text heard is kept, as records or
// as a plain message (invariant 1: what was heard is not lost because it was odd).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Level } from "level";
import pino from "pino";
import { expect } from "vitest";
import { PortNum } from "../../src/radio/index.ts";
import { Station, type StationEvent } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { MESHAID_PORTNUM } from "../../src/wire/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, presets, site } from "../helpers/records.ts";
import type { FuzzInput } from "./fuzz.ts";
import { payloads, texts } from "./wire.ts";

const FROM = 0x11223344;

/** One packet a line in the kept regression form: "<port> <hex payload>". */
export const packetsInputs: fc.Arbitrary<FuzzInput> = fc
  .array(
    fc.oneof(
      payloads.map((input) => `${MESHAID_PORTNUM} ${"bytes" in input ? Buffer.from(input.bytes).toString("hex") : ""}`),
      texts.map((input) => `${PortNum.TEXT_MESSAGE_APP} ${Buffer.from("text" in input ? input.text : "").toString("hex")}`),
    ),
    { minLength: 1, maxLength: 10 },
  )
  .map((lines) => ({ text: lines.join("\n") }));

export async function stationHolds(input: FuzzInput): Promise<void> {
  const lines = ("text" in input ? input.text : "").split("\n").filter(Boolean);
  const dir = await mkdtemp(join(tmpdir(), "meshaid-fuzz-"));
  const store = await RecordStore.open(new Level<string, Uint8Array>(dir, { valueEncoding: "view" }), codebook);
  const radio = new ScriptedRadio();
  const station = new Station({ name: "fuzz", radio, store, presets, codebook, site, logger: pino({ level: "silent" }) });
  const events: StationEvent[] = [];
  station.subscribe((event) => events.push(event));
  try {
    await station.start();
    const texts: number[] = [];
    for (const [index, line] of lines.entries()) {
      const [port, hex = ""] = line.split(" ");
      const id = 1000 * (index + 1); // room for the records one text may say
      if (Number(port) === PortNum.TEXT_MESSAGE_APP) texts.push(id);
      radio.hearBytes(FROM, id, Uint8Array.from(Buffer.from(hex, "hex")), Number(port));
    }
    await station.idle();
    const skipped = events.filter((event) => event.type === "skipped").map((event) => (event.type === "skipped" ? event.reason : ""));
    expect(skipped.filter((reason) => reason.startsWith("could not"))).toEqual([]);
    for (const id of texts) expect(await store.get({ origin: FROM, seq: id })).toBeDefined();
  } finally {
    await station.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

