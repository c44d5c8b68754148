// Sequence pre-emption: anyone with the channel key can send a record under a base station's
// number and its next seq before the station does. The genuine, authenticated record that follows
// must replace it (the forgery kept as evidence, the replacement audited), on the boards, in the
// feed, in what the relay publishes, at a peer that got it through the relay, and after a restart.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Level } from "level";
import pino from "pino";
import { parseDecisionRights, Station, TransmitScheduler, type StationEvent } from "../../src/station/index.ts";
import type { RadioSender } from "../../src/radio/index.ts";
import { coalitionAuthKey, MESHAID_PORTNUM, packRecords, type FieldRecord, type OutgoingRecord } from "../../src/wire/index.ts";
import { AuditTrail, RecordStore, recordKey } from "../../src/store/index.ts";
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

const status = (seq: number, state: "en_route" | "delivered"): OutgoingRecord => ({ seq, body: { kind: "supply_status", status: state, ref: { origin: MEDIC, seq: 0x100 } } });
const fakeRequest = (seq: number): OutgoingRecord => ({ seq, body: { kind: "supply_request", lines: [{ item: "water", quantity: 40 }], priority: "urgent", place: { landmark: 2 } } });
const incident = (seq: number): OutgoingRecord => ({ seq, body: { kind: "incident", incident: "injury", severity: "severe", casualties: 1, place: { landmark: 3 } } });

describe("a genuine base-station record whose id a forgery took first", () => {
  let dirs: Array<Awaited<ReturnType<typeof tempDir>>> = [];
  const sender: RadioSender = { send: () => Promise.resolve("sent") };

  async function open(path: string) {
    const db = new Level<string, Uint8Array>(path, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const audit = await AuditTrail.open(db);
    const radio = new ScriptedRadio();
    const scheduler = new TransmitScheduler({ sender, minIntervalMs: 0, dutyCycle: 1 });
    const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger, now: () => T0, rights, audit, scheduler, auth: key });
    const events: StationEvent[] = [];
    station.subscribe((event) => events.push(event));
    await station.start();
    radio.emit({ type: "my-node", num: HERE });
    return {
      station,
      radio,
      store,
      audit,
      events,
      close: async () => {
        scheduler.close();
        await station.stop();
        await store.close();
      },
    };
  }

  beforeEach(async () => {
    dirs = [await tempDir(), await tempDir()];
  });
  afterEach(async () => {
    for (const dir of dirs) await dir.remove();
  });

  it("a record under another origin's id, put on the air by a tagged base station, is stored once under that id, never replaces what the relay brought, and is skipped without a tag", async () => {
    const first = await open(dirs[0]!.path);
    const PEER = 0x4b0b;
    const peerRequest: FieldRecord = { id: { origin: PEER, seq: 700 }, receivedAt: T0, body: fakeRequest(700).body, auth: "station" };
    // Untagged: anyone could claim the peer's id this way, so it is not stored.
    first.radio.hearBytes(OTHER_BASE, 1, payload([{ ...fakeRequest(5), id: peerRequest.id }], OTHER_BASE), MESHAID_PORTNUM);
    await first.station.idle();
    expect(first.store.count).toBe(0);
    // Tagged, between two of the sender's own records: the sender's chain is unmoved.
    first.radio.hearBytes(OTHER_BASE, 2, payload([incident(5), { ...fakeRequest(6), id: peerRequest.id }, status(7, "en_route")], OTHER_BASE, key), MESHAID_PORTNUM);
    await first.station.idle();
    expect(await first.store.get(peerRequest.id)).toMatchObject({ auth: "station", body: peerRequest.body });
    expect(await first.store.get({ origin: OTHER_BASE, seq: 6 })).toBeUndefined();
    expect(await first.store.get({ origin: OTHER_BASE, seq: 7 })).toMatchObject({ auth: "mac" });
    // The original through the relay, and the air copy heard again: one request on the board.
    expect(await first.station.acceptRelayed([peerRequest], "hub")).toEqual([]);
    first.radio.hearBytes(OTHER_BASE, 3, payload([{ ...fakeRequest(8), id: peerRequest.id }], OTHER_BASE, key), MESHAID_PORTNUM);
    await first.station.idle();
    expect(first.station.boards().requests.map((card) => [card.id.origin, card.id.seq])).toEqual([[PEER, 700]]);
    expect(first.store.count).toBe(3);
    expect(await first.store.evidence()).toEqual([]);
    await first.close();
  });

  it("replaces the forgery in the log, the boards, the feed and the relay's order, keeps it as evidence, audits it, and holds after a restart", async () => {
    const first = await open(dirs[0]!.path);
    first.radio.hear(MEDIC, 0x100, "NEED WATER");
    // The forger takes the other base station's next two seqs: an untagged status (not applied)
    // and a request under a wrong key (applied: requests from anyone go on the board).
    first.radio.hearBytes(OTHER_BASE, 1, payload([status(1, "delivered")], OTHER_BASE), MESHAID_PORTNUM);
    first.radio.hearBytes(OTHER_BASE, 2, payload([fakeRequest(2)], OTHER_BASE, wrongKey), MESHAID_PORTNUM);
    await first.station.idle();
    expect(first.station.boards().requests.map((card) => card.state)).toEqual(["open", "open"]);

    // The genuine base station's records, tagged, under the same ids.
    first.radio.hearBytes(OTHER_BASE, 3, payload([status(1, "en_route"), incident(2)], OTHER_BASE, key), MESHAID_PORTNUM);
    await first.station.idle();
    const boards = first.station.boards();
    expect(boards.requests.map((card) => [card.id.origin, card.state])).toEqual([[MEDIC, "en_route"]]);
    expect(boards.incidents).toHaveLength(1);
    expect(first.store.count).toBe(3);
    expect(await first.store.get({ origin: OTHER_BASE, seq: 1 })).toMatchObject({ auth: "mac", body: { status: "en_route" } });
    expect((await first.store.evidence()).map((entry) => [entry.key, entry.record?.auth, entry.record?.body.kind])).toEqual([
      [recordKey({ origin: OTHER_BASE, seq: 1 }), "none", "supply_status"],
      [recordKey({ origin: OTHER_BASE, seq: 2 }), "none", "supply_request"],
    ]);
    // Each id once in the arrival order, the genuine ones last: the relay publishes them.
    const arrivals = await first.store.arrivalsAfter(-1, 100);
    expect(arrivals.map((arrival) => [arrival.record.id.origin, arrival.record.id.seq, arrival.record.auth])).toEqual([
      [MEDIC, 0x100, "handheld"],
      [OTHER_BASE, 1, "mac"],
      [OTHER_BASE, 2, "mac"],
    ]);
    const replacing = first.events.flatMap((event) => (event.type === "record" && event.replaces ? [event.record.id.seq] : []));
    expect(replacing).toEqual([1, 2]);
    expect(first.station.snapshot().recent.map((view) => [view.id.seq, view.auth])).toEqual([
      [2, "mac"],
      [1, "mac"],
      [0x100, "handheld"],
    ]);
    expect(first.station.status().auth).toMatchObject({ replaced: 2 });
    expect(first.station.status().auth?.suspects.filter((flag) => flag.reason === "id-preempted").map((flag) => flag.num)).toEqual([OTHER_BASE, OTHER_BASE]);
    const audited = (await first.audit.list()).filter((entry) => entry.action === "replace_preempted");
    expect(audited.map((entry) => [entry.target, entry.detail?.["forgedKind"]])).toEqual([
      [{ origin: OTHER_BASE, seq: 1 }, "supply_status"],
      [{ origin: OTHER_BASE, seq: 2 }, "supply_request"],
    ]);
    // Heard again: nothing more is replaced.
    first.radio.hearBytes(OTHER_BASE, 3, payload([status(1, "en_route"), incident(2)], OTHER_BASE, key), MESHAID_PORTNUM);
    await first.station.idle();
    expect((await first.store.evidence()).length).toBe(2);
    await first.close();

    const second = await open(dirs[0]!.path);
    expect(second.station.boards().requests.map((card) => [card.id.origin, card.state])).toEqual([[MEDIC, "en_route"]]);
    expect(second.station.snapshot().recent.map((view) => [view.id.seq, view.auth])).toEqual([
      [2, "mac"],
      [1, "mac"],
      [0x100, "handheld"],
    ]);
    expect((await second.store.evidence()).length).toBe(2);
    await second.close();
  });

  it("a peer that got the forgery replaces it with the genuine record the relay brings", async () => {
    const peer = await open(dirs[1]!.path);
    peer.radio.hear(MEDIC, 0x100, "NEED WATER");
    peer.radio.hearBytes(OTHER_BASE, 1, payload([status(1, "delivered")], OTHER_BASE), MESHAID_PORTNUM);
    await peer.station.idle();
    const genuine: FieldRecord = { id: { origin: OTHER_BASE, seq: 1 }, receivedAt: T0, auth: "mac", body: status(1, "en_route").body };
    // A forged one relayed is not taken for genuine.
    const fresh = await peer.station.acceptRelayed([{ ...genuine, auth: "none", body: status(1, "delivered").body }, genuine], "north");
    expect(fresh).toEqual([]);
    await peer.station.idle();
    expect(await peer.store.get(genuine.id)).toMatchObject({ auth: "mac", body: { status: "en_route" } });
    expect(peer.station.boards().requests[0]).toMatchObject({ state: "en_route" });
    // Stored as the peer's: this station's relay does not publish it as its own.
    const arrivals = await peer.store.arrivalKeysAfter(-1, 100);
    expect(arrivals.at(-1)).toMatchObject({ key: recordKey(genuine.id), via: "north" });
    expect(arrivals.filter((arrival) => arrival.key === recordKey(genuine.id))).toHaveLength(1);
    await peer.close();
  });

  it("this station's own action replaces a forgery that took its next seq", async () => {
    const station = await open(dirs[0]!.path);
    station.radio.hear(MEDIC, 0x100, "NEED WATER");
    station.radio.hearBytes(HERE, 1, payload([status(1, "delivered")], HERE), MESHAID_PORTNUM);
    await station.station.idle();
    const outcome = await station.station.act({ verb: "dispatch", actor: { callsign: "C1", role: "coordinator" }, target: { origin: MEDIC, seq: 0x100 }, etaMin: 5 });
    expect(outcome).toMatchObject({ ok: true, record: { origin: HERE, seq: 1 } });
    expect(await station.store.get({ origin: HERE, seq: 1 })).toMatchObject({ auth: "station", body: { status: "en_route" } });
    expect(station.station.boards().requests[0]).toMatchObject({ state: "en_route" });
    expect((await station.store.evidence()).map((entry) => entry.record?.body)).toMatchObject([{ status: "delivered" }]);
    await station.close();
  });
});
