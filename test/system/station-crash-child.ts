// The station under test for station-crash.test.ts, in a child process: opens the store in
// argv[2], starts a station whose radio is this process's stdin (one packet a line:
// "<from> <packet id> <text>"), and prints "ACK <origin> <seq>" for each record the station shows,
// which it does only once the record is on disk: what a base station would acknowledge on the air;
// "SKIP <reason>" for what it could not store.
import { createInterface } from "node:readline";
import pino from "pino";
import { openDatabase } from "../../src/cli/database.ts";
import { Station } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { codebook, presets } from "../helpers/records.ts";
import { ScriptedRadio } from "../helpers/radio.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: station-crash-child.ts DB_DIR");
// Opened as `meshaid start` opens it: checked at start, a fresh write-ahead log after a failed write.
const { db } = await openDatabase(dir, codebook);
const store = await RecordStore.open(db, codebook);
const radio = new ScriptedRadio();
const station = new Station({ name: "crash", radio, store, presets, codebook, logger: pino({ level: "silent" }) });
station.subscribe((event) => {
  if (event.type === "record") process.stdout.write(`ACK ${event.record.id.origin} ${event.record.id.seq}\n`);
  else if (event.type === "skipped") process.stdout.write(`SKIP ${event.reason}\n`);
});
await station.start();
process.stdout.write("READY\n");
for await (const line of createInterface({ input: process.stdin })) {
  const [from, id, ...text] = line.split(" ");
  radio.hear(Number(from), Number(id), text.join(" "));
}
await station.stop();
await store.close();
