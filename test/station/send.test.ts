// Station.send and the delivery of the station's own records: logged first with this station as
// origin, packed to the other base stations and/or as text to a handheld, followed through the
// radio's delivery updates, retried a bounded number of times, and taken up again after a restart.
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Level } from "level";
import pino from "pino";
import { parseDecisionRights, Station, TransmitScheduler, type StationEvent } from "../../src/station/index.ts";
import { AuditTrail, RecordStore, RosterStore, SendLog, type RecordDatabase } from "../../src/store/index.ts";
import type { DeliveryState, RadioSender, SendRequest } from "../../src/radio/index.ts";
import { decodePayload, type RecordBody } from "../../src/wire/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, configText, presets, site } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const logger = pino({ level: "silent" });
const T0 = 1_750_000_000_000;
const BASE = 0xba5e0001;
const MEDIC = 0x2a6f1c02;

/** A radio link's sending side: each send gets an id, as RadioConnection's do. */
class IdSender implements RadioSender {
  readonly sent: Array<{ id: string; request: SendRequest }> = [];
  send(request: SendRequest): Promise<string> {
    const id = `r${this.sent.length + 1}`;
    this.sent.push({ id, request });
    return Promise.resolve(id);
  }
}

interface Running {
  station: Station;
  radio: ScriptedRadio;
  sender: IdSender;
  events: StationEvent[];
  store: RecordStore;
  roster: RosterStore;
  close: () => Promise<void>;
}

describe("Station.send and delivery", () => {
  const dir = useTempDir();
  const open: Running[] = [];
  afterEach(async () => {
    for (const running of open.splice(0)) await running.close();
  });

  async function start(options: { maxAttempts?: number; keepSettled?: number; now?: () => number } = {}): Promise<Running> {
    const db: RecordDatabase = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const sends = await SendLog.open(db);
    const roster = await RosterStore.open(db, { now: () => T0 });
    const radio = new ScriptedRadio();
    radio.subscribe((event) => void roster.apply(event));
    const sender = new IdSender();
    const scheduler = new TransmitScheduler({ sender, minIntervalMs: 0, dutyCycle: 1 });
    const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger, roster, scheduler, sends, delivery: { maxAttempts: options.maxAttempts ?? 3, retryBaseMs: 1, ...(options.keepSettled ? { keepSettled: options.keepSettled } : {}) }, now: options.now ?? (() => T0) });
    const events: StationEvent[] = [];
    station.subscribe((event) => events.push(event));
    await station.start();
    radio.emit({ type: "my-node", num: BASE });
    let closed = false;
    const running: Running = {
      station,
      radio,
      sender,
      events,
      store,
      roster,
      close: async () => {
        if (closed) return;
        closed = true;
        scheduler.close();
        await station.stop();
        await sends.flush();
        await roster.flush();
        await store.close();
      },
    };
    open.push(running);
    return running;
  }

  const deliveries = (events: StationEvent[]): Array<{ state: DeliveryState; attempts: number; reason?: string }> =>
    events.flatMap((event) => (event.type === "delivery" ? [{ state: event.delivery.state, attempts: event.delivery.attempts, ...(event.delivery.reason ? { reason: event.delivery.reason } : {}) }] : []));

  it("logs composed records with this station's origin and next sequence numbers, then packs them to the base stations", async () => {
    const { station, sender, store, events } = await start();
    const bodies: RecordBody[] = [
      { kind: "supply_request", lines: [{ item: "water", quantity: 20 }], priority: "high", place: { landmark: 4 } },
      { kind: "incident", incident: "heat_illness", severity: "moderate", casualties: 1 },
    ];
    const outcome = await station.send({ bodies, sender: "C1" });
    expect(outcome).toEqual({ ok: true, records: [{ origin: BASE, seq: 1 }, { origin: BASE, seq: 2 }], packets: 1 });
    expect(await store.get({ origin: BASE, seq: 1 })).toMatchObject({ sender: "C1", body: bodies[0] });
    expect(events.filter((event) => event.type === "record").map((event) => event.type === "record" && event.record.id.seq)).toEqual([1, 2]);
    await expect.poll(() => sender.sent.length).toBe(1);
    const request = sender.sent[0]!.request;
    expect(request).toMatchObject({ wantAck: true });
    expect(request.to).toBeUndefined();
    const decoded = decodePayload(request.record!, codebook, BASE);
    expect(decoded.ok && decoded.value.records).toEqual([
      { id: { origin: BASE, seq: 1 }, body: bodies[0] },
      { id: { origin: BASE, seq: 2 }, body: bodies[1] },
    ]);
    // The next send numbers on from there, also after an action.
    const next = await station.send({ text: "NEED GAUZE" });
    expect(next).toMatchObject({ ok: true, records: [{ origin: BASE, seq: 3 }], read: "preset" });
  });

  it("sends the codebook's hash to the base stations with its first payload, then at most every 10 minutes", async () => {
    let now = T0;
    const { station, sender } = await start({ now: () => now });
    const hashes = () =>
      sender.sent.map(({ request }) => {
        const decoded = decodePayload(request.record!, codebook, BASE);
        return decoded.ok ? decoded.value.codebook : decoded.error.code;
      });
    for (const text of ["NEED WATER", "NEED GAUZE"]) expect(await station.send({ text })).toMatchObject({ ok: true });
    now += 9 * 60_000;
    expect(await station.send({ text: "NEED WATER" })).toMatchObject({ ok: true });
    now += 60_000;
    expect(await station.send({ text: "NEED WATER" })).toMatchObject({ ok: true });
    await expect.poll(() => sender.sent.length).toBe(4);
    expect(hashes()).toEqual([codebook.hash, undefined, undefined, codebook.hash]);
  });

  it("reads text as a preset, typed text or a plain message, and sends the text to a handheld by callsign", async () => {
    const { station, radio, sender, store } = await start();
    radio.emit({ type: "node", node: { num: MEDIC, userId: "!2a6f1c02", longName: "Medic 1", shortName: "M1", role: 0, hwModel: 0 } });
    const outcome = await station.send({ text: "meet at the fountain in 5", to: { callsign: "m1" } });
    expect(outcome).toMatchObject({ ok: true, read: "message", packets: 1 });
    await expect.poll(() => sender.sent.length).toBe(1);
    expect(sender.sent[0]!.request).toEqual({ text: "meet at the fountain in 5", to: MEDIC, wantAck: true });
    expect(await store.get({ origin: BASE, seq: 1 })).toMatchObject({ body: { kind: "message", text: "meet at the fountain in 5" } });
  });

  it("refuses, with nothing logged, what it cannot do: an unknown callsign, a record the wire cannot carry, nothing to say", async () => {
    const { station, store } = await start();
    expect(await station.send({ text: "ETA 5", to: { callsign: "ZZ9" } })).toEqual({ ok: false, reason: "no node with callsign ZZ9 has been heard: check the Nodes tab, or send to the channel" });
    const bad = await station.send({ bodies: [{ kind: "supply_request", lines: [{ item: "unobtainium" }], priority: "normal" }] });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/unobtainium/);
    expect(await station.send({ text: "   " })).toEqual({ ok: false, reason: "nothing to send: give a text or records" });
    expect(store.count).toBe(0);
  });

  it("refuses records that are not records (anything a control client may send) with a reason, and logs nothing for them", async () => {
    const { station, store } = await start();
    const body = fc.oneof(
      fc.record({ kind: fc.constantFrom("supply_request", "incident", "shift", "checkin", "supply_offer", "supply_status", "ack", "message", "x"), lines: fc.jsonValue(), priority: fc.jsonValue(), text: fc.jsonValue(), place: fc.jsonValue() }, { requiredKeys: ["kind"] }),
      fc.dictionary(fc.string(), fc.jsonValue()).map((value) => ({ ...value, kind: "incident" })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 3 }), async (bodies) => {
        const before = store.count;
        const outcome = await station.send({ bodies: bodies as unknown as RecordBody[] }).catch((error: unknown) => ({ ok: false as const, reason: `threw ${String(error)}` }));
        if (!outcome.ok) {
          expect(outcome.reason).not.toMatch(/^threw/);
          expect(store.count).toBe(before);
        } else expect(store.count).toBe(before + bodies.length);
      }),
      { numRuns: 150 },
    );
    // Regression (fast-check): a field a record kind does not have was logged, then could not be shown.
    const odd = await station.send({ bodies: [{ kind: "message", text: " ", place: {} } as unknown as RecordBody] });
    expect(odd).toMatchObject({ ok: true });
    expect(odd.ok && (await store.get(odd.records[0]!))?.body).toEqual({ kind: "message", text: " " });
  });

  it("follows each record through the radio's delivery updates and shows the latest in snapshots", async () => {
    const { station, radio, sender, events } = await start();
    await station.send({ text: "NEED WATER" });
    await expect.poll(() => sender.sent.length).toBe(1);
    radio.emit({ type: "delivery", delivery: { id: "r1", state: "sent", packetId: 7 } });
    radio.emit({ type: "delivery", delivery: { id: "r1", state: "heard", packetId: 7 } });
    expect(deliveries(events)).toEqual([
      { state: "queued", attempts: 0 },
      { state: "queued", attempts: 1 },
      { state: "sent", attempts: 1 },
      { state: "heard", attempts: 1 },
    ]);
    expect(station.snapshot().recent[0]?.delivery).toMatchObject({ state: "heard", attempts: 1 });
    expect(station.status().deliveries).toMatchObject({ heard: 1 });
  });

  it("follows a text that carries two records (acknowledgements to one handheld joined while they wait) for both", async () => {
    const db: RecordDatabase = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const audit = await AuditTrail.open(db);
    const radio = new ScriptedRadio();
    // The radio takes the first packet only when released, so the replies wait in the scheduler together.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sent: string[] = [];
    const sender: RadioSender = {
      send: async () => {
        const id = `r${sent.push(`r${sent.length + 1}`)}`;
        if (id === "r1") await gate;
        return id;
      },
    };
    const scheduler = new TransmitScheduler({ sender, minIntervalMs: 0, dutyCycle: 1 });
    const rights = parseDecisionRights(configText("decision-rights.yaml"), codebook);
    const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger, scheduler, audit, rights, now: () => T0 });
    await station.start();
    radio.emit({ type: "my-node", num: BASE });
    radio.hear(MEDIC, 0x100, "NEED WATER");
    radio.hear(MEDIC, 0x101, "NEED GAUZE");
    await station.idle();
    const actor = { callsign: "C1", role: "coordinator" };
    const a = await station.act({ verb: "acknowledge", actor, target: { origin: MEDIC, seq: 0x100 } });
    const b = await station.act({ verb: "acknowledge", actor, target: { origin: MEDIC, seq: 0x101 } });
    release();
    await expect.poll(() => sent.length).toBe(3); // two packets to the stations, one joined text
    for (let i = 1; i <= 3; i += 1) radio.emit({ type: "delivery", delivery: { id: `r${i}`, state: "confirmed" } });
    const recent = station.snapshot().recent;
    for (const outcome of [a, b]) expect(recent.find((view) => outcome.ok && view.id.seq === outcome.record?.seq)?.delivery?.state).toBe("confirmed");
    scheduler.close();
    await station.stop();
    await store.close();
  });

  it("tries a failed send again with back-off, and gives up after the last attempt with the reason", async () => {
    const { station, radio, sender, events } = await start({ maxAttempts: 2 });
    await station.send({ text: "NEED WATER" });
    await expect.poll(() => sender.sent.length).toBe(1);
    radio.emit({ type: "delivery", delivery: { id: "r1", state: "failed", reason: "MAX_RETRANSMIT" } });
    expect(deliveries(events).at(-1)).toEqual({ state: "failed", attempts: 1, reason: "MAX_RETRANSMIT; try 2 of 2 in 0 s" });
    await expect.poll(() => sender.sent.length).toBe(2);
    expect(sender.sent[1]!.request).toEqual(sender.sent[0]!.request);
    radio.emit({ type: "delivery", delivery: { id: "r1", state: "heard" } }); // the old attempt: no longer followed
    radio.emit({ type: "delivery", delivery: { id: "r2", state: "unknown", reason: "no ACK within 120 s" } });
    expect(deliveries(events).at(-1)).toEqual({ state: "unknown", attempts: 2, reason: "no ACK within 120 s; gave up after 2 attempts" });
    expect(sender.sent).toHaveLength(2);
    expect(station.status().troubled).toEqual([{ id: { origin: BASE, seq: 1 }, delivery: { state: "unknown", attempts: 2, reason: "no ACK within 120 s; gave up after 2 attempts", at: T0 } }]);
  });

  it("after a restart, sends what the scheduler had not handed on, and counts what the radio had not answered for as unknown", async () => {
    const first = await start();
    await first.station.send({ text: "NEED WATER" });
    await expect.poll(() => first.sender.sent.length).toBe(1);
    first.radio.emit({ type: "delivery", delivery: { id: "r1", state: "sent" } });
    await first.close();

    const second = await start();
    // The kept state shows before anything is heard; the unanswered send is tried again.
    await expect.poll(() => second.sender.sent.length).toBe(1);
    expect(deliveries(second.events)[0]).toMatchObject({ state: "unknown", reason: "the station restarted before an ACK; try 2 of 3 in 0 s" });
    second.radio.emit({ type: "delivery", delivery: { id: "r1", state: "heard" } });
    expect(second.station.snapshot().recent[0]).toMatchObject({ id: { origin: BASE, seq: 1 }, delivery: { state: "heard", attempts: 2 } });
  });

  it("remembers only the newest settled sends, in memory and on disk; unsettled ones are never forgotten", async () => {
    const first = await start({ keepSettled: 2 });
    // Four requests of one transmit class, so the scheduler sends them in the order given (an
    // incident would overtake them and take an earlier radio id).
    for (const text of ["NEED WATER", "NEED GAUZE", "NEED ICE PACKS", "NEED WATER"]) await first.station.send({ text });
    await expect.poll(() => first.sender.sent.length).toBe(4);
    for (const id of ["r1", "r2", "r3"]) first.radio.emit({ type: "delivery", delivery: { id, state: "heard" } });
    expect(first.station.status().deliveries).toMatchObject({ heard: 2, queued: 1 });
    const recent = first.station.snapshot().recent;
    expect(recent.map((view) => view.delivery?.state)).toEqual(["queued", "heard", "heard", undefined]);
    await first.close();
    const second = await start({ keepSettled: 2 });
    expect(second.station.status().deliveries).toMatchObject({ heard: 2, queued: 1 });
  });

  it("places a handheld's record that names no place at the landmark nearest its last position", async () => {
    const { station, radio, store } = await start();
    // 20 m from the Fountain (landmark 4).
    radio.emit({ type: "position", from: MEDIC, position: { latitude: 45.5205, longitude: -122.6741, precisionBits: 32 }, heard: { rxSnr: 5, rxRssi: -80 } });
    radio.hear(MEDIC, 0x500, "NEED WATER");
    radio.hear(MEDIC, 0x501, "NEED GAUZE at north gate");
    await station.idle();
    expect((await store.get({ origin: MEDIC, seq: 0x500 }))?.body).toMatchObject({ kind: "supply_request", place: { landmark: 4 } });
    expect(station.snapshot().recent.find((view) => view.id.seq === 0x500)?.place).toBe("Fountain");
    // Far from every landmark: no place is made up.
    radio.emit({ type: "position", from: MEDIC, position: { latitude: 45.6, longitude: -122.6, precisionBits: 32 }, heard: { rxSnr: 5, rxRssi: -80 } });
    radio.hear(MEDIC, 0x502, "NEED ICE PACKS");
    await station.idle();
    expect((await store.get({ origin: MEDIC, seq: 0x502 }))?.body).not.toHaveProperty("place");
    // The preset table itself is untouched.
    expect(presets.presets.find((preset) => preset.text === "NEED WATER")?.body).not.toHaveProperty("place");
  });

  it("suggests the nearest offer with enough of the item for an open request", async () => {
    const { station } = await start();
    await station.send({ bodies: [{ kind: "supply_request", lines: [{ item: "water", quantity: 10 }], priority: "normal", place: { landmark: 4 } }] });
    expect(station.boards().requests[0]?.match).toBeUndefined();
    await station.send({ bodies: [{ kind: "supply_offer", lines: [{ item: "water", quantity: 5 }], place: { landmark: 10 } }] }); // too few
    await station.send({ bodies: [{ kind: "supply_offer", lines: [{ item: "water", quantity: 40 }], place: { landmark: 8 } }] }); // far
    await station.send({ bodies: [{ kind: "supply_offer", lines: [{ item: "water", quantity: 12 }], place: { landmark: 5 } }] }); // near
    const card = station.boards().requests[0];
    expect(card?.match).toMatchObject({ offer: { id: { origin: BASE, seq: 4 } }, item: "water", quantity: 12, place: { landmark: 5 } });
    expect(card?.match?.distanceM).toBeGreaterThan(200);
    expect(card?.match?.distanceM).toBeLessThan(400);
    expect(station.status().boards.matches).toBe(1);
    // Delivered: no more suggestion.
    await station.send({ bodies: [{ kind: "supply_status", status: "delivered", ref: { origin: BASE, seq: 1 } }] });
    expect(station.boards().requests[0]?.match).toBeUndefined();
  });
});
