// Base stations keeping each other's logs whole on the air: group delivery (which stations hold
// each of a station's records, from their held ACKs, kept across a restart) and gap repair (a
// missing record asked for, resent once by its owner within the budget, asked again with
// back-off, given up on visibly). Real stations on real LevelDBs, joined by a small air that
// carries what each scheduler sends to the others' radios and can lose chosen packets.
import { afterEach, describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { coalitionAuthKey, MESHAID_PORTNUM, packControl, packRecords, type AuthKey, type DecodedPayload, type RecordBody } from "../../src/wire/index.ts";
import { Air, type AirStation } from "../helpers/air.ts";
import { codebook } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const A = 0xba5e000a;
const B = 0xba5e000b;
const C = 0xba5e000c;
/** Short timings: the tests wait for outcomes, never for a time. */
const FAST = { heldDelayMs: 20, firstAnnounceMs: 10, announceMs: 60_000, graceMs: 30, retryBaseMs: 40, resendWindowMs: 60_000 };

const water = (quantity: number): RecordBody => ({ kind: "supply_request", lines: [{ item: "water", quantity }], priority: "normal", place: { landmark: 1 } });


const carries = (decoded: DecodedPayload | undefined, seq: number): boolean => decoded?.records.some((record) => record.id.seq === seq) ?? false;

describe("group delivery and gap repair between base stations", () => {
  const dir = useTempDir();
  const open: AirStation[] = [];
  afterEach(async () => {
    for (const node of open.splice(0)) await node.close();
  });

  async function start(air: Air, num: number, options: { tuning?: object; scheduler?: { minIntervalMs?: number }; auth?: AuthKey } = {}): Promise<AirStation> {
    const node = await air.startStation(num, { dir: dir.path, peerTuning: { ...FAST, ...options.tuning }, ...(options.scheduler?.minIntervalMs !== undefined ? { minIntervalMs: options.scheduler.minIntervalMs } : {}), ...(options.auth ? { auth: options.auth } : {}) });
    open.push(node);
    return node;
  }


  async function holds(node: AirStation, origin: number, seq: number): Promise<boolean> {
    return (await node.store.get({ origin, seq })) !== undefined;
  }

  it("a record lost on the way is asked for and resent by its owner; the asker then holds every record", async () => {
    const air = new Air();
    const a = await start(air, A);
    const b = await start(air, B);
    let lost = 0;
    air.lose = (from, to, decoded) => {
      if (from === A && to === B && carries(decoded, 2) && lost === 0) {
        lost += 1;
        return true;
      }
      return false;
    };
    for (const quantity of [10, 20, 30]) expect((await a.station.send({ bodies: [water(quantity)] })).ok).toBe(true);
    await vi.waitFor(async () => expect(await holds(b, A, 3)).toBe(true));
    expect(lost).toBe(1);
    await vi.waitFor(async () => expect(await holds(b, A, 2)).toBe(true), { timeout: 5000 });
    // B asked for exactly the lost one; A resent it once.
    const requests = b.sent.flatMap((sent) => (sent.decoded?.control?.kind === "resend" ? sent.decoded.control.wanted : []));
    expect(requests).toContainEqual({ origin: A, seq: 2 });
    expect(requests.every((id) => id.origin === A && id.seq === 2)).toBe(true);
    expect(a.station.status().gaps?.resent).toBe(1);
    await vi.waitFor(() => expect(b.station.status().gaps?.asking).toEqual([]));
    const shown = b.events.flatMap((event) => (event.type === "record" && event.record.id.origin === A ? [event.record.id.seq] : []));
    expect(shown.sort()).toEqual([1, 2, 3]); // each shown once
  });

  it("a record lost at the end of a sequence is found from the owner's next held ACK and repaired", async () => {
    const air = new Air();
    const a = await start(air, A, { tuning: { announceMs: 200 } });
    const b = await start(air, B);
    air.lose = (from, to, decoded) => from === A && to === B && carries(decoded, 2) && a.sent.filter((sent) => carries(sent.decoded, 2)).length === 1;
    for (const quantity of [10, 20]) expect((await a.station.send({ bodies: [water(quantity)] })).ok).toBe(true);
    await vi.waitFor(async () => expect(await holds(b, A, 2)).toBe(true), { timeout: 5000 });
    expect(a.sent.filter((sent) => carries(sent.decoded, 2)).length).toBe(2); // the send and the resend
  });

  it("the origin knows which stations hold each of its records: 2/3 with the missing one named, then 3/3, kept across a restart", async () => {
    const air = new Air();
    let a = await start(air, A, { tuning: { announceMs: 200 } });
    const b = await start(air, B);
    const c = await start(air, C);
    // C hears nothing from A until A's record is on B.
    air.lose = (from, to) => from === A && to === C;
    const sent = await a.station.send({ bodies: [water(5)] });
    if (!sent.ok) throw new Error(sent.reason);
    const id = sent.records[0]!;
    const stationsOf = (): unknown => a.station.snapshot().recent.find((record) => record.id.seq === id.seq)?.delivery?.stations;
    // B and C announced themselves; B holds it.
    await vi.waitFor(() => expect(stationsOf()).toEqual({ have: 2, of: 3, missing: ["!ba5e000c"] }), { timeout: 5000 });
    // The console hears it as a delivery change.
    expect(a.events.some((event) => event.type === "delivery" && event.delivery.stations?.have === 2)).toBe(true);
    // C's radio comes back: A's next held ACK says how far A's sequence reaches, C asks, A resends.
    air.lose = () => false;
    await vi.waitFor(async () => expect(await holds(c, A, id.seq)).toBe(true), { timeout: 5000 });
    await vi.waitFor(() => expect(stationsOf()).toEqual({ have: 3, of: 3, missing: [] }), { timeout: 5000 });
    expect(a.station.status().stations?.map((station) => [station.num, station.holdsOurs, station.missingOurs]).sort()).toEqual([
      [B, 1, 0],
      [C, 1, 0],
    ]);
    // After a restart, A still knows.
    await a.close();
    a = await start(air, A);
    expect(a.station.status().stations?.map((station) => [station.num, station.holdsOurs]).sort()).toEqual([
      [B, 1],
      [C, 1],
    ]);
    void b;
  });

  describe("with the coalition key", () => {
    const key = coalitionAuthKey(Buffer.alloc(32, 3));
    const wrongKey = coalitionAuthKey(Buffer.alloc(32, 4));

    it("held ACKs and resend requests go tagged, and a lost record is still repaired", async () => {
      const air = new Air();
      const a = await start(air, A, { auth: key });
      const b = await start(air, B, { auth: key });
      let lost = 0;
      air.lose = (from, to, decoded) => from === A && to === B && carries(decoded, 2) && lost++ === 0;
      for (const quantity of [10, 20, 30]) expect((await a.station.send({ bodies: [water(quantity)] })).ok).toBe(true);
      await vi.waitFor(async () => expect(await holds(b, A, 2)).toBe(true), { timeout: 5000 });
      await vi.waitFor(() => expect(a.station.status().stations?.map((station) => [station.num, station.holdsOurs])).toEqual([[B, 3]]), { timeout: 5000 });
      const controls = [...a.sent, ...b.sent].filter((sent) => sent.decoded?.control !== undefined);
      expect(controls.map((sent) => sent.decoded?.control?.kind)).toContain("resend");
      expect(controls.map((sent) => sent.decoded?.control?.kind)).toContain("held");
      // Air decodes without the key: every control carried a tag.
      expect(controls.every((sent) => sent.decoded?.auth === "unchecked")).toBe(true);
      expect([a, b].flatMap((node) => node.station.status().auth?.suspects ?? [])).toEqual([]);
    });

    it("ignores a forged resend request (no airtime spent) and a forged held ACK (who holds what unchanged), and flags the sender", async () => {
      const air = new Air();
      const a = await start(air, A, { auth: key });
      for (const quantity of [1, 2, 3]) expect((await a.station.send({ bodies: [water(quantity)] })).ok).toBe(true);
      await a.station.idle();
      const resend = { kind: "resend" as const, latest: 0, wanted: [{ origin: A, seq: 2 }] };
      const held = { kind: "held" as const, latest: 0, holdings: [{ origin: A, runs: [[1, 3]] as Array<[number, number]> }] };
      const forged = [packControl(resend), packControl(resend, { origin: B, auth: wrongKey }), packControl(held), packControl(held, { origin: B, auth: wrongKey }), packControl(held, { origin: C, auth: key })];
      // The last is a genuine tag for C, replayed under B's number.
      forged.forEach((packed, index) => {
        if (!packed.ok) throw packed.error;
        a.radio.hearBytes(B, 100 + index, packed.value[0]!, MESHAID_PORTNUM);
      });
      await a.station.idle();
      await vi.waitFor(() => expect(a.scheduler.state().queued).toMatchObject({ request: 0 }));
      const sentBefore = a.sent.length;
      expect(a.station.status().stations).toEqual([]);
      expect(a.station.status().gaps?.resent).toBe(0);
      expect(a.sent.filter((sent) => carries(sent.decoded, 2))).toHaveLength(1); // the send, no resend
      expect(a.station.status().auth?.suspects.map((flag) => [flag.num, flag.reason, flag.detail])).toEqual([
        [B, "untagged-control", "untagged resend request (ignored)"],
        [B, "bad-tag", "coalition tag does not verify (resend request ignored)"],
        [B, "untagged-control", "untagged held ACK (ignored)"],
        [B, "bad-tag", "coalition tag does not verify (held ACK ignored)"],
        [B, "bad-tag", "coalition tag does not verify (held ACK ignored)"],
      ]);
      // The genuine station's tagged request is answered, and its held ACK counts.
      const genuine = packControl(resend, { origin: B, auth: key });
      const genuineHeld = packControl(held, { origin: B, auth: key });
      if (!genuine.ok || !genuineHeld.ok) throw new Error("does not pack");
      a.radio.hearBytes(B, 200, genuine.value[0]!, MESHAID_PORTNUM);
      await vi.waitFor(() => expect(a.station.status().gaps?.resent).toBe(1));
      expect(a.sent.slice(sentBefore).some((sent) => carries(sent.decoded, 2))).toBe(true);
      a.radio.hearBytes(B, 201, genuineHeld.value[0]!, MESHAID_PORTNUM);
      await a.station.idle();
      expect(a.station.status().stations?.map((station) => [station.num, station.holdsOurs])).toEqual([[B, 3]]);
    });

    it("a station without the key still reads tagged controls (protocol version 1)", async () => {
      const air = new Air();
      const a = await start(air, A);
      for (const quantity of [1, 2]) expect((await a.station.send({ bodies: [water(quantity)] })).ok).toBe(true);
      const tagged = packControl({ kind: "resend", latest: 0, wanted: [{ origin: A, seq: 2 }] }, { origin: B, auth: key });
      if (!tagged.ok) throw tagged.error;
      a.radio.hearBytes(B, 100, tagged.value[0]!, MESHAID_PORTNUM);
      await vi.waitFor(() => expect(a.station.status().gaps?.resent).toBe(1));
    });
  });

  it("answers a record asked for again within the window once, and resends only its own records", async () => {
    const air = new Air();
    const a = await start(air, A);
    for (const quantity of [1, 2, 3]) expect((await a.station.send({ bodies: [water(quantity)] })).ok).toBe(true);
    const request = packControl({ kind: "resend", latest: 0, wanted: [{ origin: A, seq: 2 }, { origin: C, seq: 9 }] });
    if (!request.ok) throw request.error;
    for (let i = 0; i < 5; i += 1) a.radio.hearBytes(B, 100 + i, request.value[0]!, MESHAID_PORTNUM);
    await vi.waitFor(() => expect(a.station.status().gaps?.resent).toBe(1));
    await a.station.idle();
    expect(a.sent.filter((sent) => carries(sent.decoded, 2)).length).toBe(2); // the send and one resend
    expect(a.scheduler.state().queued).toMatchObject({ request: 0, status: 0 });
  });

  it("asks with back-off a bounded number of times, then gives up visibly", async () => {
    const air = new Air();
    const b = await start(air, B, { tuning: { maxRequests: 3, retryBaseMs: 20 } });
    // A says its sequence reaches 2, and is never heard again.
    const held = packControl({ kind: "held", latest: 2, holdings: [] });
    if (!held.ok) throw held.error;
    b.radio.hearBytes(A, 1, held.value[0]!, MESHAID_PORTNUM);
    await vi.waitFor(() => expect(b.station.status().gaps?.gaveUp).toEqual([{ origin: A, callsign: "!ba5e000a", seqs: [1, 2] }]), { timeout: 5000 });
    const requests = b.sent.filter((sent) => sent.decoded?.control?.kind === "resend");
    expect(requests.length).toBe(3);
    const skipped = b.events.find((event) => event.type === "skipped" && event.reason.startsWith("gave up asking !ba5e000a"));
    expect(skipped).toBeDefined();
    expect(b.station.status().gaps?.asking).toEqual([]);
  });

  it("a flood of resend requests waits behind a life-safety record and is bounded", async () => {
    const air = new Air();
    const a = await start(air, A, { scheduler: { minIntervalMs: 400 }, tuning: { maxResendQueued: 16, maxResendPerRequest: 8 } });
    const many = await a.station.send({ bodies: Array.from({ length: 40 }, (_, i) => water(i + 1)) });
    if (!many.ok) throw new Error(many.reason);
    await vi.waitFor(() => expect(a.scheduler.state().queued.request).toBe(0), { timeout: 10_000 });
    const before = a.sent.length;
    for (let start = 1; start <= 40; start += 8) {
      const request = packControl({ kind: "resend", latest: 0, wanted: Array.from({ length: 8 }, (_, i) => ({ origin: A, seq: start + i })) });
      if (!request.ok) throw request.error;
      a.radio.hearBytes(B, 200 + start, request.value[0]!, MESHAID_PORTNUM);
    }
    const urgent = await a.station.send({ bodies: [{ kind: "checkin", status: "emergency" }] });
    if (!urgent.ok) throw new Error(urgent.reason);
    await vi.waitFor(() => expect(a.sent.some((sent) => sent.decoded?.records.some((record) => record.body.kind === "checkin"))).toBe(true), { timeout: 10_000 });
    await vi.waitFor(() => expect(Object.values(a.scheduler.state().queued).every((n) => n === 0)).toBe(true), { timeout: 10_000 });
    const after = a.sent.slice(before);
    const resends = after.filter((sent) => sent.decoded?.records.some((record) => record.body.kind === "supply_request"));
    const emergencyAt = after.findIndex((sent) => sent.decoded?.records.some((record) => record.body.kind === "checkin"));
    // At most the resend already on its way went before the emergency; the rest waited behind it.
    expect(emergencyAt).toBeLessThanOrEqual(1);
    expect(after.findLastIndex((sent) => sent.decoded?.records.some((record) => record.body.kind === "supply_request"))).toBeGreaterThan(emergencyAt);
    // Bounded: at most maxResendQueued records waiting to be resent (the asker repeats the rest), none twice.
    const resentSeqs = resends.flatMap((sent) => sent.decoded?.records.map((record) => record.id.seq) ?? []);
    expect(resentSeqs.length).toBeGreaterThan(0);
    expect(resentSeqs.length).toBeLessThanOrEqual(16);
    expect(new Set(resentSeqs).size).toBe(resentSeqs.length);
  });

  it("asks for exactly the records missing between the first heard and the newest, whatever arrives in whatever order", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(Array.from({ length: 40 }, (_, i) => i + 1), { minLength: 1 }), async (heard) => {
        run += 1;
        const air = new Air();
        const b = await start(air, B + run * 0x100, { tuning: { graceMs: 3_600_000 } });
        // A announces itself (a base station), then its records arrive.
        const hello = packControl({ kind: "held", latest: 0, holdings: [] });
        if (!hello.ok) throw hello.error;
        b.radio.hearBytes(A, 999, hello.value[0]!, MESHAID_PORTNUM);
        for (const [index, seq] of heard.entries()) {
          const packed = packRecords([{ seq, body: water(seq) }], codebook);
          if (!packed.ok) throw packed.error;
          b.radio.hearBytes(A, 1000 + index, packed.value[0]!, MESHAID_PORTNUM);
        }
        await b.station.idle();
        const newest = Math.max(...heard);
        const missing = Array.from({ length: newest }, (_, i) => i + 1).filter((seq) => !heard.includes(seq));
        const asking = b.station.status().gaps?.asking ?? [];
        expect(asking.flatMap((row) => row.seqs)).toEqual(missing);
        expect(asking.every((row) => row.origin === A && row.requests === 0)).toBe(true);
        await b.close();
      }),
      { numRuns: 12 },
    );
  });
});
