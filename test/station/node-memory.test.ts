// The node watch's memory across a restart: a node's public key and last position (against which
// a change or an impossible jump is judged), whether it sent handheld text before base-station
// payloads, and the flags already raised are kept in the store (sealed with --encrypt: positions
// are personal), so a restart neither forgets a node's history nor hides what was flagged.
import { afterEach, beforeEach, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";
import pino from "pino";
import { Station, type StationEvent } from "../../src/station/index.ts";
import { coalitionAuthKey, MESHAID_PORTNUM, packRecords } from "../../src/wire/index.ts";
import { RecordCipher, RecordStore, WatchLog } from "../../src/store/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, presets, site } from "../helpers/records.ts";
import { tempDir } from "../helpers/tmp.ts";

const T0 = 1_750_000_000_000;
const MEDIC = 0x2a6f1c02;
const OTHER_BASE = 0xba5e0002;
const key = coalitionAuthKey(Buffer.alloc(32, 7));
const logger = pino({ level: "silent" });
const LATITUDE = 52.5123456;
const PUBLIC_KEY = "a1b2c3d4".repeat(8);
const node = { num: MEDIC, userId: "!2a6f1c02", longName: "", shortName: "M1", role: 0, hwModel: 43, publicKey: PUBLIC_KEY };
const heard = { rxSnr: 5, rxRssi: -80 };

let dir: Awaited<ReturnType<typeof tempDir>>;
let cipher: RecordCipher;
beforeEach(async () => {
  dir = await tempDir();
  ({ cipher } = await RecordCipher.create("correct horse battery staple"));
});
afterEach(async () => {
  await dir.remove();
});

async function open(now: number) {
  const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
  const store = await RecordStore.open(db, codebook, { cipher });
  const watchLog = await WatchLog.open(db, { cipher });
  const radio = new ScriptedRadio();
  const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger, now: () => now, auth: key, watchLog });
  const events: StationEvent[] = [];
  station.subscribe((event) => events.push(event));
  await station.start();
  return {
    station,
    radio,
    flagsRaised: () => events.flatMap((event) => (event.type === "suspect" ? [[event.flag.reason, event.flag.detail]] : [])),
    close: async () => {
      await station.stop();
      await store.close();
    },
  };
}

it("keeps each node's key, last position and earlier texts, and the flags raised, across a restart, sealed on disk", async () => {
  const first = await open(T0);
  first.radio.emit({ type: "node", node });
  first.radio.emit({ type: "position", from: MEDIC, position: { latitude: LATITUDE, longitude: 13.405, timeMs: T0, precisionBits: 32 }, heard });
  first.radio.hear(MEDIC, 0x100, "NEED WATER");
  // An untagged state change under a base station's number: flagged.
  const untagged = packRecords([{ seq: 1, body: { kind: "supply_status", status: "delivered", ref: { origin: MEDIC, seq: 0x100 } } }], codebook, { origin: OTHER_BASE });
  if (!untagged.ok) throw untagged.error;
  first.radio.hearBytes(OTHER_BASE, 1, untagged.value[0]!, MESHAID_PORTNUM);
  await first.station.idle();
  expect(first.flagsRaised()).toEqual([["untagged-state-change", "untagged state change (not applied)"]]);
  await first.close();

  // Nothing personal in the clear on disk: the position and the public key are sealed.
  const raw = Buffer.concat(readdirSync(dir.path, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => readFileSync(join(entry.parentPath, entry.name))));
  expect([String(LATITUDE), PUBLIC_KEY].filter((needle) => raw.includes(needle))).toEqual([]);

  const second = await open(T0 + 60_000);
  // The flag raised before the restart is still shown.
  expect(second.station.snapshot().suspects?.map((flag) => [flag.num, flag.reason])).toEqual([[OTHER_BASE, "untagged-state-change"]]);
  expect(second.station.status().auth?.suspects).toHaveLength(1);
  // The same node number now with another key, 55 km away a minute later, sending base-station payloads.
  second.radio.emit({ type: "node", node: { ...node, publicKey: "ff".repeat(32) } });
  second.radio.emit({ type: "position", from: MEDIC, position: { latitude: LATITUDE + 0.5, longitude: 13.405, timeMs: T0 + 60_000, precisionBits: 32 }, heard });
  const tagged = packRecords([{ seq: 7, body: { kind: "checkin", status: "ok" } }], codebook, { origin: MEDIC, auth: key });
  if (!tagged.ok) throw tagged.error;
  second.radio.hearBytes(MEDIC, 0x101, tagged.value[0]!, MESHAID_PORTNUM);
  await second.station.idle();
  expect(second.flagsRaised()).toEqual([
    ["identity-changed", "public key a1b2c3d4… is now ffffffff…"],
    ["impossible-move", expect.stringMatching(/^moved 55\d{3} m in 60 s$/) as string],
    ["handheld-sends-station-records", "sent 1 handheld text, now a base-station payload"],
  ]);
  expect(second.station.snapshot().suspects).toHaveLength(4);
  await second.close();

  // And again: the flags of both runs, the newest key (no flag for it now).
  const third = await open(T0 + 120_000);
  third.radio.emit({ type: "node", node: { ...node, publicKey: "ff".repeat(32) } });
  expect(third.flagsRaised()).toEqual([]);
  expect(third.station.snapshot().suspects?.map((flag) => flag.reason)).toEqual(["untagged-state-change", "identity-changed", "impossible-move", "handheld-sends-station-records"]);
  await third.close();
});

it("keeps at most the newest 200 flags on disk, as in memory", async () => {
  const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
  await db.open();
  const log = await WatchLog.open(db);
  for (let n = 0; n < 230; n += 1) await log.putFlag({ num: n, reason: "bad-tag", detail: "coalition tag does not verify", at: n });
  const kept = await log.load();
  expect(kept.flags.map((flag) => flag.num)).toEqual(Array.from({ length: 200 }, (_, i) => i + 30));
  await db.close();
});

it("a kept history that does not read is reported and the node starts without it; nothing else is lost", async () => {
  const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
  await db.open();
  const log = await WatchLog.open(db);
  await log.putNode(MEDIC, { hwModel: 43, texts: 1, payloads: 0 });
  await log.putNode(OTHER_BASE, { hwModel: 9, texts: 0, payloads: 1 });
  await db.sublevel<string, string>("watch", { valueEncoding: "utf8" }).put("node!2a6f1c02", "{not json");
  const problems: string[] = [];
  const kept = await log.load((entry) => problems.push(entry));
  expect(problems).toEqual(["node!2a6f1c02"]);
  expect(kept.nodes).toEqual([{ num: OTHER_BASE, node: { hwModel: 9, texts: 0, payloads: 1 } }]);
  await db.close();
});
