// The downlink: only what this station's mesh needs goes on the air, within its own budget, and
// a flood from the internet does not get past it. Real station, store, scheduler and broker.
import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { Downlink } from "../../src/relay/index.ts";
import { TransmitScheduler } from "../../src/station/index.ts";
import type { SendRequest } from "../../src/radio/index.ts";
import { MESHAID_PORTNUM, packRecords, type FieldRecord, type RecordBody } from "../../src/wire/index.ts";
import { keysFor, startAedes, startRig, type EmbeddedBroker, type RelayRig } from "../helpers/relay.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-downlink-");
let broker: EmbeddedBroker | undefined;
let rigs: RelayRig[] = [];
let schedulers: TransmitScheduler[] = [];

afterEach(async () => {
  for (const scheduler of schedulers) scheduler.close();
  schedulers = [];
  for (const rig of rigs) await rig.stop().catch(() => undefined);
  rigs = [];
  await broker?.close();
  broker = undefined;
});

const HANDHELD = 0x1234;
const OTHER_STATION = 0x9999;

function status(seq: number, requestSeq: number, etaMin = 5): FieldRecord {
  return { id: { origin: OTHER_STATION, seq }, receivedAt: 1_750_000_000_000 + seq, body: { kind: "supply_status", status: "en_route", ref: { origin: HANDHELD, seq: requestSeq }, etaMin } };
}

describe("relay downlink", () => {
  it("sends a reply to a handheld heard here, nothing for others or for radio text, and holds its budget under a flood", async () => {
    broker = await startAedes();
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
    const here = await startRig({
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
    const hub = await startRig({ name: "hub", dir: dir.path, url: broker.url, keys });
    rigs = [here, hub];
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
    broker = await startAedes();
    const keys = keysFor(["here", "hub"]);
    const NEIGHBOUR = 0x5555; // a base station this station hears on its radio
    const late: { downlink?: Downlink } = {};
    const here = await startRig({ name: "here", dir: dir.path, url: broker.url, keys, relay: { downlink: { offer: (records, from) => late.downlink!.offer(records, from) } } });
    const offered: RecordBody[] = [];
    const texts: Array<{ text?: string; to?: number }> = [];
    const airtimeMs = (bytes: number): number => 400 + 8 * bytes;
    late.downlink = new Downlink({
      scheduler: { enqueue: (_priority, request) => (texts.push(request), 1) },
      store: here.store,
      heardHere: (node) => node === NEIGHBOUR,
      airtimeMs,
      budgetMs: 3 * airtimeMs(40),
      stations: { codebook, send: (body) => (offered.push(body), Promise.resolve(true)) },
      logger: pino({ level: "silent" }),
    });
    const hub = await startRig({ name: "hub", dir: dir.path, url: broker.url, keys });
    rigs = [here, hub];
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
