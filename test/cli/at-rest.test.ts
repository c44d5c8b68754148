// With --encrypt nothing personal is readable in the raw LevelDB files: not in the log, and not in
// the roster, audit trail, radio outbox or sends either (the keys hold nothing personal); and
// `meshaid export` reads the encrypted store back with its passphrase.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { AuditTrail, LevelOutbox, RecordStore, RosterStore, SendLog, type RecordCipher } from "../../src/store/index.ts";
import { runExport } from "../../src/cli/export.ts";
import { storeCipher } from "../../src/cli/store-key.ts";
import { codebook } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const CALLSIGN = "ZQX9";
const LONG_NAME = "Rosa Quintanilla";
const LATITUDE = 52.5234567;
const PASSPHRASE = "a long field passphrase";

/** Writes one of everything that names someone or says where they were, through each store. */
async function fill(dataDir: string, cipher: RecordCipher | undefined): Promise<void> {
  const db = new Level<string, Uint8Array>(join(dataDir, "db"), { valueEncoding: "view" });
  const sealed = cipher ? { cipher } : {};
  const store = await RecordStore.open(db, codebook, sealed);
  await store.append({ id: { origin: 0x2a6f1c02, seq: 1 }, receivedAt: 1_750_000_000_000, sender: CALLSIGN, text: `${CALLSIGN} needs water`, body: { kind: "supply_request", lines: [{ item: "water", quantity: 2 }], priority: "normal" } });
  const roster = await RosterStore.open(db, sealed);
  await roster.apply({ type: "node", node: { num: 0x2a6f1c02, userId: "!2a6f1c02", longName: LONG_NAME, shortName: CALLSIGN, role: 0, hwModel: 43 } });
  await roster.apply({ type: "position", from: 0x2a6f1c02, position: { latitude: LATITUDE, longitude: 13.4049876, precisionBits: 32 }, heard: { rxSnr: 5, rxRssi: -70 } });
  await roster.flush();
  const audit = await AuditTrail.open(db, sealed);
  await audit.append({ at: 1_750_000_000_000, station: "Base", actor: { callsign: CALLSIGN, role: "coordinator" }, action: "dispatch", outcome: "done" });
  const outbox = new LevelOutbox(db, undefined, sealed);
  await outbox.put({ id: "0000000000000001", portnum: 1, payload: Buffer.from(`ACK ${CALLSIGN}`), to: 0x2a6f1c02, channel: 0, wantAck: true, queuedAt: 1 });
  const sends = await SendLog.open(db, sealed);
  await sends.put({ id: "0000000000000001", records: [{ origin: 0x2a6f1c02, seq: 1 }], priority: "status", request: { text: `ACK ${CALLSIGN}`, to: 0x2a6f1c02 }, state: "queued", attempts: 0, at: 1 });
  await sends.flush();
  await store.close();
}

/** Every byte of every file under the folder, as one buffer. */
function rawBytes(folder: string): Buffer {
  const files = readdirSync(folder, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return Buffer.concat(files.map((entry) => readFileSync(join(entry.parentPath, entry.name))));
}

const traces = (raw: Buffer): string[] =>
  [CALLSIGN, LONG_NAME, String(LATITUDE), Buffer.from(`ACK ${CALLSIGN}`).toString("base64")].filter((needle) => raw.includes(needle));

describe("personal data at rest", () => {
  const dir = useTempDir();

  it("is in the clear in the raw files of an unencrypted store (what this test looks for is findable)", async () => {
    await fill(dir.path, undefined);
    expect(traces(rawBytes(join(dir.path, "db")))).toEqual([CALLSIGN, LONG_NAME, String(LATITUDE), Buffer.from(`ACK ${CALLSIGN}`).toString("base64")]);
  });

  it("is nowhere in the raw files of an encrypted store, and export reads it back with the passphrase", async () => {
    const keyFile = join(dir.path, "pass");
    writeFileSync(keyFile, `${PASSPHRASE}\n`);
    const cipher = await storeCipher(dir.path, { encrypt: true, keyFile }, { env: {} }, false);
    await fill(dir.path, cipher);
    expect(traces(rawBytes(join(dir.path, "db")))).toEqual([]);

    let out = "";
    const warnings: string[] = [];
    expect(await runExport({ db: dir.path, format: "json", keyFile }, (text) => (out += text), (line) => warnings.push(line))).toBe(0);
    expect(warnings).toEqual([]);
    expect(out).toContain(CALLSIGN);
    expect(out).toContain("water");

    // Without the passphrase, or with a wrong one: one clear line, nothing exported.
    writeFileSync(keyFile, "not the passphrase\n");
    const refused: string[] = [];
    expect(await runExport({ db: dir.path, format: "json", keyFile }, () => undefined, (line) => refused.push(line))).toBe(1);
    expect(refused).toEqual([expect.stringMatching(/^meshaid: wrong passphrase for this store/)]);
  });
});
