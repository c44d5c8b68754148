// Spoofing: channel messages are not authenticated, so anyone with the channel key can claim a
// base station's node number. With a coalition key, a base station's state change without a valid
// tag is kept and shown, marked, but not applied to the boards; nodes that behave unlike their
// history are flagged.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Level } from "level";
import pino from "pino";
import { parseDecisionRights, Station, TransmitScheduler, type StationEvent } from "../../src/station/index.ts";
import type { RadioSender, SendRequest } from "../../src/radio/index.ts";
import { coalitionAuthKey, decodePayload, MESHAID_PORTNUM, packRecords, type OutgoingRecord } from "../../src/wire/index.ts";
import { AuditTrail, RecordStore } from "../../src/store/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, configText, presets, site } from "../helpers/records.ts";
import { tempDir } from "../helpers/tmp.ts";

const T0 = 1_750_000_000_000;
const HERE = 0xba5e0001;
const OTHER_BASE = 0xba5e0002;
const MEDIC = 0x2a6f1c02;
const key = coalitionAuthKey(Buffer.alloc(32, 7));
const wrongKey = coalitionAuthKey(Buffer.alloc(32, 8));
const rights = parseDecisionRights(configText("decision-rights.yaml"), codebook);
const logger = pino({ level: "silent" });

function payload(records: OutgoingRecord[], origin: number, auth?: typeof key): Uint8Array {
  const packed = packRecords(records, codebook, { origin, ...(auth ? { auth } : {}) });
  if (!packed.ok || packed.value.length !== 1) throw new Error("test payload does not pack");
  return packed.value[0]!;
}

const delivered = (seq: number): OutgoingRecord => ({ seq, body: { kind: "supply_status", status: "delivered", ref: { origin: MEDIC, seq: 0x100 } } });

describe("a station with the coalition key", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let now = T0;
  const sent: SendRequest[] = [];
  const sender: RadioSender = { send: (request) => Promise.resolve(String(sent.push(request))) };

  async function open(withKey = true) {
    const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const audit = await AuditTrail.open(db);
    const radio = new ScriptedRadio();
    const scheduler = new TransmitScheduler({ sender, minIntervalMs: 0, dutyCycle: 1 });
    const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger, now: () => now, rights, audit, scheduler, ...(withKey ? { auth: key } : {}) });
    const events: StationEvent[] = [];
    station.subscribe((event) => events.push(event));
    await station.start();
    radio.emit({ type: "my-node", num: HERE });
    return {
      station,
      radio,
      events,
      close: async () => {
        scheduler.close();
        await station.stop();
        await store.close();
      },
    };
  }

  beforeEach(async () => {
    dir = await tempDir();
    now = T0;
    sent.length = 0;
  });
  afterEach(async () => {
    await dir.remove();
  });

  it("applies a tagged status from another base station, and keeps an untagged or forged one off the boards, marked", async () => {
    const { station, radio, events, close } = await open();
    radio.hear(MEDIC, 0x100, "NEED WATER");
    // A spoofer claims the other base station's number: no tag, then a tag under another key.
    radio.hearBytes(OTHER_BASE, 1, payload([delivered(1)], OTHER_BASE), MESHAID_PORTNUM);
    radio.hearBytes(OTHER_BASE, 2, payload([delivered(2)], OTHER_BASE, wrongKey), MESHAID_PORTNUM);
    // A valid tag, but heard from another number than the one it was made for.
    radio.hearBytes(0xbad, 3, payload([delivered(3)], OTHER_BASE, key), MESHAID_PORTNUM);
    await station.idle();
    expect(station.boards().requests[0]).toMatchObject({ state: "open" });
    const records = events.flatMap((event) => (event.type === "record" ? [event.record] : []));
    expect(records.map((record) => record.auth)).toEqual(["handheld", "none", "none", "none"]);
    expect(station.status().auth).toMatchObject({ key: key.fingerprint, records: 4, notApplied: 3 });
    expect(station.status().auth?.suspects.map((flag) => [flag.num, flag.reason])).toEqual([
      [OTHER_BASE, "untagged-state-change"],
      [OTHER_BASE, "bad-tag"],
      [0xbad, "bad-tag"],
    ]);

    // The real base station's tagged status moves the request.
    radio.hearBytes(OTHER_BASE, 9, payload([{ ...delivered(4), body: { kind: "supply_status", status: "en_route", ref: { origin: MEDIC, seq: 0x100 } } }], OTHER_BASE, key), MESHAID_PORTNUM);
    await station.idle();
    expect(station.boards().requests[0]).toMatchObject({ state: "en_route" });
    await close();
  });

  it("rebuilds the same boards from the log after a restart: what was not applied stays unapplied", async () => {
    const first = await open();
    first.radio.hear(MEDIC, 0x100, "NEED WATER");
    first.radio.hearBytes(OTHER_BASE, 1, payload([delivered(1)], OTHER_BASE), MESHAID_PORTNUM);
    await first.station.idle();
    await first.close();
    const second = await open();
    expect(second.station.boards().requests[0]).toMatchObject({ state: "open" });
    expect(second.station.snapshot().recent.map((record) => record.auth)).toEqual(["none", "handheld"]);
    await second.close();
  });

  it("tags its own records on the air, and a station with the key reads them as authenticated", async () => {
    const { station, radio, close } = await open();
    radio.hear(MEDIC, 0x100, "NEED WATER");
    await station.idle();
    const outcome = await station.act({ verb: "dispatch", actor: { callsign: "C1", role: "coordinator" }, target: { origin: MEDIC, seq: 0x100 }, etaMin: 5 });
    expect(outcome.ok).toBe(true);
    // The scheduler drains on timers: wait for the record to go out.
    await expect.poll(() => sent.some((request) => request.record !== undefined)).toBe(true);
    const onAir = sent.find((request) => request.record !== undefined)?.record;
    expect(onAir).toBeDefined();
    const decoded = decodePayload(onAir!, codebook, HERE, key);
    expect(decoded.ok && decoded.value.auth).toBe("valid");
    expect(station.snapshot().recent[0]).toMatchObject({ auth: "station", body: { kind: "supply_status", status: "en_route" } });
    await close();
  });

  it("flags a node whose hardware or key changes, that jumps impossibly, or a handheld that starts sending base-station records", async () => {
    const { station, radio, events, close } = await open();
    const node = { num: MEDIC, userId: "!2a6f1c02", longName: "", shortName: "M1", role: 0, hwModel: 43, publicKey: "aa".repeat(32) };
    radio.emit({ type: "node", node });
    radio.emit({ type: "node", node: { ...node, hwModel: 9 } });
    radio.emit({ type: "node", node: { ...node, hwModel: 9, publicKey: "bb".repeat(32) } });
    const heard = { rxSnr: 5, rxRssi: -80 };
    radio.emit({ type: "position", from: MEDIC, position: { latitude: 52.52, longitude: 13.405, timeMs: T0, precisionBits: 32 }, heard });
    radio.emit({ type: "position", from: MEDIC, position: { latitude: 52.5205, longitude: 13.405, timeMs: T0 + 60_000, precisionBits: 32 }, heard });
    radio.emit({ type: "position", from: MEDIC, position: { latitude: 53.0, longitude: 13.405, timeMs: T0 + 120_000, precisionBits: 32 }, heard });
    radio.hear(MEDIC, 0x100, "NEED WATER");
    radio.hearBytes(MEDIC, 0x101, payload([delivered(5)], MEDIC, key), MESHAID_PORTNUM);
    await station.idle();
    const flags = events.flatMap((event) => (event.type === "suspect" ? [event.flag] : []));
    expect(flags.map((flag) => flag.reason)).toEqual(["identity-changed", "identity-changed", "impossible-move", "handheld-sends-station-records"]);
    expect(flags[0]!.detail).toBe("hardware model 43 is now 9");
    expect(flags[2]!.detail).toMatch(/^moved 53\d{3} m in 60 s$/);
    expect(station.snapshot().suspects).toHaveLength(4);
    await close();
  });

  it("remembers each node's hardware from the roster across a restart", async () => {
    const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const roster = { list: () => [{ num: MEDIC, userId: "!2a6f1c02", callsign: "M1", hwModel: 43, role: 0 }] };
    const radio = new ScriptedRadio();
    const station = new Station({ name: "Base", radio, store, roster, presets, codebook, site, logger, now: () => now, auth: key });
    const events: StationEvent[] = [];
    station.subscribe((event) => events.push(event));
    await station.start();
    radio.emit({ type: "node", node: { num: MEDIC, userId: "!2a6f1c02", longName: "", shortName: "M1", role: 0, hwModel: 9 } });
    expect(events.flatMap((event) => (event.type === "suspect" ? [event.flag.detail] : []))).toEqual(["hardware model 43 is now 9"]);
    await station.stop();
    await store.close();
  });

  it("without a key, checks nothing and applies everything as before", async () => {
    const { station, radio, events, close } = await open(false);
    radio.hear(MEDIC, 0x100, "NEED WATER");
    radio.hearBytes(OTHER_BASE, 1, payload([delivered(1)], OTHER_BASE), MESHAID_PORTNUM);
    await station.idle();
    expect(station.boards().requests[0]).toMatchObject({ state: "delivered" });
    expect(events.flatMap((event) => (event.type === "record" ? [event.record.auth] : []))).toEqual([undefined, undefined]);
    expect(station.status().auth).toBeUndefined();
    await close();
  });
});
