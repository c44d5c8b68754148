// A station with its relay in a child process, for relay.test.ts (kill -9 and restart):
//   relay-child.ts DIR NAME URL KEYS_JSON
// KEYS_JSON: { name: { secretKey, publicKey } } in base64. The radio is this process's stdin
// (one packet a line: "<from> <packet id> <text>"); it prints READY, then "ACK <origin> <seq>" for
// each record once it is on disk. End of stdin stops it cleanly.
import { createInterface } from "node:readline";
import pino from "pino";
import { startRig, type Keys } from "../helpers/relay.ts";

const [dir, name, url, keysJson] = process.argv.slice(2);
if (!dir || !name || !url || !keysJson) throw new Error("usage: relay-child.ts DIR NAME URL KEYS_JSON");
const parsed = JSON.parse(keysJson) as Record<string, { secretKey: string; publicKey: string }>;
const keys = new Map<string, Keys>(Object.entries(parsed).map(([station, k]) => [station, { secretKey: new Uint8Array(Buffer.from(k.secretKey, "base64")), publicKey: new Uint8Array(Buffer.from(k.publicKey, "base64")) }]));
// MESHAID_LOG_LEVEL=info shows the relay's log on stderr.
const logger = pino({ level: process.env["MESHAID_LOG_LEVEL"] ?? "silent" }, pino.destination(2));
const rig = await startRig({ name, dir, url, keys, protocolVersion: 5, logger });
rig.station.subscribe((event) => {
  if (event.type === "record") process.stdout.write(`ACK ${event.record.id.origin} ${event.record.id.seq}\n`);
});
process.stdout.write("READY\n");
for await (const line of createInterface({ input: process.stdin })) {
  const [from, id, ...text] = line.split(" ");
  rig.radio.hear(Number(from), Number(id), text.join(" "));
}
await rig.station.idle();
await rig.replica.absorb(rig.store);
// Give the relay its chance to send what was just stored before stopping (the outbox keeps the rest).
for (let i = 0; i < 400 && rig.relay.state().outboxPending > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
await rig.stop();
