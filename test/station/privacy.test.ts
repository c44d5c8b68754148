// Nothing personal in logs: the station runs on the whole example corpus (and on texts that name
// people) with a trace-level logger, and no log line carries what anyone typed.
import pino from "pino";
import { Writable } from "node:stream";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { PortNum } from "../../src/radio/index.ts";
import { Station } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { corpus } from "../helpers/corpus.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, presets, site } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const NAMED = ["Alejandra Ruiz hurt her ankle near the fountain", "tell Jamal Okafor to bring 3 water to north gate", "Priya S. (555-0134) needs a ride home"];

describe("logs", () => {
  const dir = useTempDir();

  it("never carry the text people sent, only ids, kinds and counts", async () => {
    let logged = "";
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logged += chunk.toString("utf8");
        callback();
      },
    });
    const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    const radio = new ScriptedRadio();
    const station = new Station({ name: "privacy", radio, store, presets, codebook, site, logger: pino({ level: "trace" }, sink) });
    await station.start();
    const texts = [...corpus.map((line) => line.text), ...NAMED];
    texts.forEach((text, i) => radio.hear(0x1000 + (i % 7), 10 * i, text));
    // The firmware's console repeats the texts it hears; a garbled payload on a port the station reads.
    radio.emit({ type: "log", line: `INFO  | 12:00:01 Received text msg from=0x1000, id=0x5, msg=${NAMED[0]}` });
    radio.hearBytes(0x1001, 99_999, new TextEncoder().encode(NAMED[1]), 300);
    radio.hearBytes(0x1001, 99_998, new TextEncoder().encode(NAMED[2]), PortNum.PRIVATE_APP);
    await station.idle();
    await station.stop();
    await store.close();
    expect(logged).toContain("typed text read into records");
    expect(logged).toContain("text kept as a plain message");
    expect(logged).toContain("msg=<text not logged>");
    const typed = texts.filter((text) => !corpus.some((line) => line.text === text && line.sent_as === "preset"));
    for (const text of typed) expect(logged, text).not.toContain(text);
    for (const name of ["Alejandra", "Jamal", "Okafor", "Priya", "555-0134"]) expect(logged).not.toContain(name);
  });
});
