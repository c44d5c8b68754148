// The downlink: only what this station's mesh needs goes on the air, within its own budget, and
// a flood from the internet does not get past it. Real station, store, scheduler and broker.
import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { Downlink, isServed, RELAY_SENDER, servedArea, type ServedArea } from "../../src/relay/index.ts";
import { TransmitScheduler } from "../../src/station/index.ts";
import type { SendRequest } from "../../src/radio/index.ts";
import { decodePayload, MESHAID_PORTNUM, packRecords, type FieldRecord, type Place, type RecordBody } from "../../src/wire/index.ts";
import { keysFor, useRelayRigs } from "../helpers/relay.ts";
import { codebook, presetRecord, site } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-downlink-");
const relays = useRelayRigs();
let schedulers: TransmitScheduler[] = [];

afterEach(() => {
  for (const scheduler of schedulers) scheduler.close();
  schedulers = [];
});

const HANDHELD = 0x1234;
const OTHER_STATION = 0x9999;

function status(seq: number, requestSeq: number, etaMin = 5): FieldRecord {
  return { id: { origin: OTHER_STATION, seq }, receivedAt: 1_750_000_000_000 + seq, body: { kind: "supply_status", status: "en_route", ref: { origin: HANDHELD, seq: requestSeq }, etaMin } };
}

describe("relay downlink", () => {
  it("sends a reply to a handheld heard here, nothing for others or for radio text, and holds its budget under a flood", async () => {
    const broker = await relays.broker();
    const keys = keysFor(["here", "hub"]);
    const sent: SendRequest[] = [];
    const send = (request: SendRequest): Promise<string> => {
      sent.push(request);
      return Promise.resolve(String(sent.length));
    };
    const scheduler = new TransmitScheduler({ sender: { send }, minIntervalMs: 0 });
    schedulers.push(scheduler);
    const enqueued: Array<{ text?: string; to?: number }> = [];
    const airtimeMs = (bytes: number): number => 400 + 8 * bytes;
    const late: { downlink?: Downlink } = {};
    const here = await relays.rig({
      name: "here",
      dir: dir.path,
      url: broker.url,
      keys,
      relay: { downlink: { offer: (records, from) => late.downlink!.offer(records, from) } },
    });
    const downlink = new Downlink({
      scheduler: { enqueue: (priority, request, batch) => (enqueued.push(request), scheduler.enqueue(priority, request, batch)) },
      store: here.store,
      heardHere: (node) => node === HANDHELD,
      airtimeMs,
      budgetMs: 5_000,
      logger: pino({ level: "silent" }),
    });
    late.downlink = downlink;
    const hub = await relays.rig({ name: "hub", dir: dir.path, url: broker.url, keys });
    here.radio.hear(HANDHELD, 100, "NEED WATER"); // a request heard here
    await expect.poll(() => hub.store.count, { timeout: 10_000 }).toBe(1);

    // The hub dispatches: one status about the local request, one about a handheld never heard here,
    // one that came from a radio (text), then a flood of 500 about the local request.
    await hub.store.append(status(1, 100, 5));
    await hub.store.append({ ...status(2, 100), body: { kind: "supply_status", status: "en_route", ref: { origin: 0x7777, seq: 1 } } });
    await hub.store.append({ ...status(3, 100), text: "DLVD WATER" });
    await Promise.all(Array.from({ length: 500 }, (_, i) => hub.store.append(status(10 + i, 100, 1 + (i % 60)))));
    await expect.poll(() => here.store.count, { timeout: 20_000 }).toBe(504);
    await expect.poll(() => downlink.state().sent + downlink.state().withheld, { timeout: 10_000 }).toBe(501);

    expect(enqueued[0]).toEqual({ text: "ENRT WATER ETA 5", to: HANDHELD });
    expect(enqueued.every((request) => request.to === HANDHELD)).toBe(true);
    const state = downlink.state();
    expect(state.airtimeUsedMs).toBeLessThanOrEqual(5_000);
    const perReply = airtimeMs(Buffer.byteLength("ENRT WATER ETA 55"));
    expect(state.sent).toBeLessThanOrEqual(Math.floor(5_000 / airtimeMs(Buffer.byteLength("ENRT WATER ETA 5"))));
    expect(state.sent).toBeGreaterThanOrEqual(Math.floor(5_000 / perReply));
    expect(state.withheld).toBe(501 - state.sent);
  });

  it("a status about a request a base station here radioed goes back on meshaid's port as a record, once per status, within the budget; never one from a node heard here", async () => {
    const broker = await relays.broker();
    const keys = keysFor(["here", "hub"]);
    const NEIGHBOUR = 0x5555; // a base station this station hears on its radio
    const late: { downlink?: Downlink } = {};
    const here = await relays.rig({ name: "here", dir: dir.path, url: broker.url, keys, relay: { downlink: { offer: (records, from) => late.downlink!.offer(records, from) } } });
    const offered: RecordBody[] = [];
    const texts: Array<{ text?: string; to?: number }> = [];
    const airtimeMs = (bytes: number): number => 400 + 8 * bytes;
    late.downlink = new Downlink({
      scheduler: { enqueue: (_priority, request) => (texts.push(request), 1) },
      store: here.store,
      heardHere: (node) => node === NEIGHBOUR,
      airtimeMs,
      budgetMs: 3 * airtimeMs(40),
      stations: { codebook, send: (body) => (offered.push(body), Promise.resolve(true)), sendAsIs: () => Promise.resolve(false) },
      logger: pino({ level: "silent" }),
    });
    const hub = await relays.rig({ name: "hub", dir: dir.path, url: broker.url, keys });
    // The neighbour packs a supply request onto meshaid's port; this station hears it.
    const request = presetRecord(NEIGHBOUR, 7);
    const packed = packRecords([{ seq: 7, body: request.body }], codebook);
    if (!packed.ok) throw packed.error;
    here.radio.hearBytes(NEIGHBOUR, 500, packed.value[0]!, MESHAID_PORTNUM);
    await expect.poll(() => hub.store.count, { timeout: 10_000 }).toBe(1);

    const ref = { origin: NEIGHBOUR, seq: 7 };
    await hub.store.append({ ...status(1, 0), body: { kind: "supply_status", status: "en_route", ref, etaMin: 5 } });
    await hub.store.append({ ...status(2, 0), body: { kind: "supply_status", status: "en_route", ref, etaMin: 4 } }); // the same status again
    await hub.store.append({ ...status(3, 0), id: { origin: NEIGHBOUR, seq: 8 }, body: { kind: "supply_status", status: "cancelled", ref } }); // said by a node heard here
    for (let i = 0; i < 20; i += 1) await hub.store.append({ ...status(10 + i, 0), body: { kind: "supply_status", status: (["acknowledged", "delivered", "unable"] as const)[i % 3]!, ref: { origin: NEIGHBOUR, seq: 100 + i } } }); // requests this station never held
    await hub.store.append({ ...status(4, 0), body: { kind: "supply_status", status: "delivered", ref } });
    await expect.poll(() => here.store.count, { timeout: 20_000 }).toBe(25);
    await expect.poll(() => offered.length, { timeout: 10_000 }).toBe(2);
    expect(offered).toEqual([
      { kind: "supply_status", status: "en_route", ref, etaMin: 5 },
      { kind: "supply_status", status: "delivered", ref },
    ]);
    expect(texts).toEqual([]); // a base station gets records, not texts
    expect(late.downlink.state().airtimeUsedMs).toBeLessThanOrEqual(3 * airtimeMs(40));
  });
});

describe("relay downlink for this site", () => {
  const NORTH_GATE = 1;
  const PARK = 8;
  const HERE_NODE = 0xba5e;
  const HUB_NODE = 0x4b0b;

  function request(seq: number, place: Place | undefined, extra: Partial<FieldRecord> = {}): FieldRecord {
    return { id: { origin: HUB_NODE, seq }, receivedAt: 1_750_000_000_000 + seq, body: { kind: "supply_request", lines: [{ item: "water", quantity: 10 }], priority: "high", ...(place ? { place } : {}) }, ...extra };
  }

  it("servedArea reads labels, aliases and codes, and says which landmark the plan lacks", () => {
    const area = servedArea(site, ["north gate", "tent a", "8"]) as ServedArea;
    expect([...area.landmarks].sort((a, b) => a - b)).toEqual([1, 5, 8]);
    expect(servedArea(site, ["Nowhere"])).toMatch(/^--serves "Nowhere": the site plan .* has no such landmark/);
    expect(servedArea(site, [" "])).toMatch(/at least one landmark/);
    // North Gate is ~345 m north and 40 m west of the origin; an offset 100 m from it is served, 400 m is not.
    const gate = servedArea(site, ["North Gate"], 150) as ServedArea;
    expect(isServed(gate, { landmark: 1 })).toBe(true);
    expect(isServed(gate, { landmark: 2 })).toBe(false);
    expect(isServed(gate, { east: -40, north: 250 })).toBe(true);
    expect(isServed(gate, { east: -40, north: -60 })).toBe(false);
    expect(isServed(gate, { lat: 45.5262, lon: -122.6772 })).toBe(true);
    expect(isServed(gate, undefined)).toBe(false);
  });

  it("a peer's request for a landmark this station serves goes on the air once, packed, through the station's scheduler; one for elsewhere does not; the budget holds under a flood", async () => {
    const broker = await relays.broker();
    const keys = keysFor(["here", "hub"]);
    const sent: SendRequest[] = [];
    const scheduler = new TransmitScheduler({ sender: { send: (request) => (sent.push(request), Promise.resolve(String(sent.length))) }, minIntervalMs: 0, dutyCycle: 1 });
    schedulers.push(scheduler);
    const late: { downlink?: Downlink } = {};
    const here = await relays.rig({ name: "here", dir: dir.path, url: broker.url, keys, station: { scheduler, site }, relay: { downlink: { offer: (records, from) => late.downlink!.offer(records, from) } } });
    here.radio.emit({ type: "my-node", num: HERE_NODE });
    const airtimeMs = (bytes: number): number => 400 + 8 * bytes;
    const perRecord = airtimeMs(16); // a packed request is well under 16 bytes
    const budgetMs = 10 * perRecord;
    late.downlink = new Downlink({
      scheduler,
      store: here.store,
      heardHere: () => false,
      airtimeMs,
      budgetMs,
      serves: servedArea(site, ["North Gate"]) as ServedArea,
      stations: { codebook, send: (body) => here.station.send({ bodies: [body], stations: true, sender: RELAY_SENDER }).then((outcome) => outcome.ok), sendAsIs: (record) => here.station.sendAsIs(record) },
      logger: pino({ level: "silent" }),
    });
    const hub = await relays.rig({ name: "hub", dir: dir.path, url: broker.url, keys });

    await hub.store.append(request(1, { landmark: NORTH_GATE })); // for here
    await hub.store.append(request(2, { landmark: PARK })); // elsewhere
    await hub.store.append(request(3, undefined)); // nowhere said
    await hub.store.append(request(4, { landmark: NORTH_GATE }, { sender: RELAY_SENDER })); // another station's downlink put it on its air already
    await hub.store.append({ id: { origin: HUB_NODE, seq: 5 }, receivedAt: 1_750_000_000_005, body: { kind: "incident", incident: "heat_illness", severity: "severe", casualties: 1, place: { east: -40, north: 300 } } }); // near the gate
    await expect.poll(() => here.store.count, { timeout: 15_000 }).toBeGreaterThanOrEqual(5);
    await expect.poll(() => late.downlink!.state().sent, { timeout: 10_000 }).toBe(2);

    // What went on the air: two packets on meshaid's port, each the peer's record with its ORIGINAL id and body.
    const onAirRecords = (): Array<{ id: FieldRecord["id"]; body: FieldRecord["body"] }> =>
      sent.flatMap((request) => {
        if (!request.record) return [];
        const decoded = decodePayload(request.record, codebook, HERE_NODE);
        return decoded.ok ? decoded.value.records : [];
      });
    const onAir = (): FieldRecord["body"][] => onAirRecords().map((record) => record.body);
    await expect.poll(() => onAir().length, { timeout: 10_000 }).toBe(2);
    // (In the scheduler's order: the incident may go first.)
    expect(onAirRecords().sort((a, b) => a.id.seq - b.id.seq)).toEqual([
      { id: { origin: HUB_NODE, seq: 1 }, body: request(1, { landmark: NORTH_GATE }).body },
      { id: { origin: HUB_NODE, seq: 5 }, body: { kind: "incident", incident: "heat_illness", severity: "severe", casualties: 1, place: { east: -40, north: 300 } } },
    ]);
    // Nothing written as this station's own: no re-issue.
    const own: FieldRecord[] = [];
    for await (const page of here.store.all()) own.push(...page.filter((record) => record.id.origin === HERE_NODE));
    expect(own).toEqual([]);

    // A flood of 300 requests for the gate: the budget holds, what is over it stays off the air (stored all the same).
    await Promise.all(Array.from({ length: 300 }, (_, i) => hub.store.append(request(100 + i, { landmark: NORTH_GATE }))));
    await expect.poll(() => late.downlink!.state().sent + late.downlink!.state().withheld, { timeout: 30_000 }).toBe(302);
    const state = late.downlink.state();
    expect(state.airtimeUsedMs).toBeLessThanOrEqual(budgetMs);
    expect(state.sent).toBeLessThanOrEqual(10);
    expect(state.sent).toBeGreaterThanOrEqual(3);
    await expect.poll(() => onAir().length, { timeout: 10_000 }).toBe(state.sent);
    expect(here.store.count).toBeGreaterThanOrEqual(305);
    await here.station.idle();
  });

  it.each(["relay first", "air first"] as const)("a second station on the same mesh that also gets the original through the relay stores and shows it once (%s)", async (order) => {
    const broker = await relays.broker();
    const keys = keysFor(["here", "hub", "next"]);
    const sent: SendRequest[] = [];
    const scheduler = new TransmitScheduler({ sender: { send: (request) => (sent.push(request), Promise.resolve(String(sent.length))) }, minIntervalMs: 0, dutyCycle: 1 });
    schedulers.push(scheduler);
    const late: { downlink?: Downlink } = {};
    const here = await relays.rig({ name: "here", dir: dir.path, url: broker.url, keys, station: { scheduler, site }, relay: { downlink: { offer: (records, from) => late.downlink!.offer(records, from) } } });
    here.radio.emit({ type: "my-node", num: HERE_NODE });
    late.downlink = new Downlink({
      scheduler,
      store: here.store,
      heardHere: () => false,
      airtimeMs: () => 1,
      serves: servedArea(site, ["North Gate"]) as ServedArea,
      stations: { codebook, send: () => Promise.resolve(false), sendAsIs: (record) => here.station.sendAsIs(record) },
      logger: pino({ level: "silent" }),
    });
    const hub = await relays.rig({ name: "hub", dir: dir.path, url: broker.url, keys });
    const original = request(1, { landmark: NORTH_GATE });
    const hear = async (next: Awaited<ReturnType<typeof relays.rig>>): Promise<void> => {
      await expect.poll(() => sent.filter((request) => request.record).length, { timeout: 10_000 }).toBe(1);
      next.radio.hearBytes(HERE_NODE, 900, sent.find((request) => request.record)!.record!, MESHAID_PORTNUM);
      await next.station.idle();
    };
    let next: Awaited<ReturnType<typeof relays.rig>>;
    if (order === "relay first") {
      next = await relays.rig({ name: "next", dir: dir.path, url: broker.url, keys, station: { site } });
      await hub.store.append(original);
      await expect.poll(() => next.store.count, { timeout: 10_000 }).toBe(1);
      await hear(next);
    } else {
      // A station that does not trust the hub yet: the air copy first, then the original as the relay hands it over.
      next = await relays.rig({ name: "next", dir: dir.path, url: broker.url, keys, station: { site }, trusted: ["next"] });
      await hub.store.append(original);
      await hear(next);
      expect(next.store.count).toBe(1);
      expect(await next.station.acceptRelayed([original], "hub")).toEqual([]);
    }
    await next.station.idle();
    expect(next.store.count).toBe(1);
    expect(await next.store.get(original.id)).toMatchObject({ id: original.id, body: original.body });
    expect(next.station.boards().requests.map((card) => card.id)).toEqual([original.id]);
    // And it is never put on the air again: held already at every station that heard it.
    // No loop: the same id offered again (another peer relays it on) does not go on the air twice.
    await late.downlink.offer([original], "next");
    await here.station.idle();
    expect(late.downlink.state().sent).toBe(1);
    expect(sent.filter((request) => request.record)).toHaveLength(1);
  });
});
