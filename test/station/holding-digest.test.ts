// Holding digests between base stations: a handheld's record (no per-station sequence, so no gap
// can be seen) that reached one base reaches the others over the air. The leader (the lowest node
// number) lists the handheld records it stored lately on its held ACK; a base that lacks one asks
// for it by hash, a base that holds one the digest lacks pushes it with its original id. Real
// stations on real LevelDBs, joined by a small air that can lose chosen packets.
import { afterEach, describe, expect, it, vi } from "vitest";
import { coalitionAuthKey, MESHAID_PORTNUM, packControl, packRecords, recordHash, type AuthKey, type RecordId } from "../../src/wire/index.ts";
import { Air, type AirStation } from "../helpers/air.ts";
import { codebook } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const A = 0xba5e000a; // the leader: the lowest node number
const B = 0xba5e000b;
const H1 = 0x0000a001;
const H2 = 0x0000a002;
/** Short timings: the tests wait for outcomes, never for a time. */
const FAST = {
  heldDelayMs: 20,
  firstAnnounceMs: 10,
  announceMs: 600_000,
  graceMs: 30,
  retryBaseMs: 40,
  resendWindowMs: 60_000,
  digest: { delayMs: 20, repeatMs: 40, graceMs: 30, pushDelayMs: 5, pushWindowMs: 600_000 },
};


/** What a node pushed: the handheld records (another origin's ids) in its payloads. */
const pushed = (node: AirStation): RecordId[] => node.sent.flatMap((sent) => sent.decoded?.records.filter((record) => record.id.origin !== node.num).map((record) => record.id) ?? []);
const pulls = (node: AirStation): number[] => node.sent.flatMap((sent) => (sent.decoded?.control?.kind === "resend" ? (sent.decoded.control.hashes ?? []) : []));
const digests = (node: AirStation): number[][] => node.sent.flatMap((sent) => (sent.decoded?.control?.kind === "held" && sent.decoded.control.digest ? [sent.decoded.control.digest.hashes] : []));

describe("holding digests: handheld records between base stations", () => {
  const dir = useTempDir();
  const open: AirStation[] = [];
  afterEach(async () => {
    for (const node of open.splice(0)) await node.close();
  });

  async function start(air: Air, num: number, options: { auth?: AuthKey; digest?: object } = {}): Promise<AirStation> {
    const node = await air.startStation(num, { dir: dir.path, peerTuning: { ...FAST, digest: { ...FAST.digest, ...options.digest } }, ...(options.auth ? { auth: options.auth } : {}) });
    open.push(node);
    return node;
  }


  /** Both stations know each other (their announcements crossed). */
  async function pair(options: { auth?: AuthKey; digest?: object } = {}): Promise<[AirStation, AirStation]> {
    const air = new Air();
    const a = await start(air, A, options);
    const b = await start(air, B, options);
    await vi.waitFor(() => {
      expect(a.station.status().stations?.map((station) => station.num)).toEqual([B]);
      expect(b.station.status().stations?.map((station) => station.num)).toEqual([A]);
    });
    return [a, b];
  }

  const holds = async (node: AirStation, id: RecordId): Promise<boolean> => (await node.store.get(id)) !== undefined;

  it("a handheld record only the leader heard is asked for by its hash and pushed with its own id; the other then holds it once", async () => {
    const [a, b] = await pair();
    a.radio.hear(H1, 501, "NEED WATER");
    const id = { origin: H1, seq: 501 };
    await vi.waitFor(async () => expect(await holds(b, id)).toBe(true), { timeout: 5000 });
    expect(digests(a).some((hashes) => hashes.includes(recordHash(id)))).toBe(true);
    expect(pulls(b)).toContain(recordHash(id));
    expect(pushed(a)).toContainEqual(id);
    // Only as far as the other base (heard directly: no hops), without want_ack.
    const push = a.sent.find((sent) => sent.decoded?.records.some((record) => record.id.seq === 501));
    expect(push?.request).toMatchObject({ wantAck: false, hopLimit: 0 });
    const record = await b.store.get(id);
    expect(record?.body).toMatchObject({ kind: "supply_request", lines: [{ item: "water" }] });
    expect(b.events.filter((event) => event.type === "record" && event.record.id.seq === 501)).toHaveLength(1);
  });

  it("a handheld record only a follower heard is pushed when the leader's digest lacks it", async () => {
    const [a, b] = await pair();
    a.radio.hear(H1, 601, "NEED WATER");
    b.radio.hear(H1, 601, "NEED WATER");
    b.radio.hear(H2, 602, "NEED WATER");
    const only = { origin: H2, seq: 602 };
    await vi.waitFor(async () => expect(await holds(a, only)).toBe(true), { timeout: 5000 });
    expect(pushed(b)).toContainEqual(only);
    expect(pushed(b)).not.toContainEqual({ origin: H1, seq: 601 }); // the leader listed that one
    expect(pulls(a)).not.toContain(recordHash({ origin: H1, seq: 601 }));
  });

  it("a station that holds everything gets nothing pushed and asks for nothing", async () => {
    const [a, b] = await pair({ digest: { graceMs: 200 } }); // a slow disk does not make a record look missing
    for (const [from, id] of [[H1, 701], [H2, 702]] as const) {
      a.radio.hear(from, id, "NEED WATER");
      b.radio.hear(from, id, "NEED WATER");
    }
    // A digest listing both has gone, and neither station has anything to push or ask for.
    const both = (node: AirStation): boolean => digests(node).some((hashes) => hashes.length === 2);
    await vi.waitFor(
      () => {
        expect(both(a) || both(b)).toBe(true);
        for (const node of [a, b]) expect(node.station.status().gaps?.handheld).toMatchObject({ window: 2, wanted: 0, pushing: 0 });
      },
      { timeout: 5000 },
    );
    await Promise.all([a.station.idle(), b.station.idle()]);
    expect([...pushed(a), ...pushed(b)]).toEqual([]);
    expect([...pulls(a), ...pulls(b)]).toEqual([]);
    expect([a, b].map((node) => node.station.status().gaps?.handheld)).toMatchObject([{ pushed: 0, pulled: 0 }, { pushed: 0, pulled: 0 }]);
  });

  it("a burst of pull requests or digests costs a bounded share: each record pushed once a window, at most so many waiting", async () => {
    const [a, b] = await pair({ digest: { maxPushQueued: 8 } });
    const ids = Array.from({ length: 20 }, (_, i) => ({ origin: H2, seq: 800 + i }));
    for (const id of ids) for (const node of [a, b]) node.radio.hear(id.origin, id.seq, "NEED WATER");
    await vi.waitFor(() => expect([a, b].map((node) => node.station.status().gaps?.handheld?.window)).toEqual([20, 20]));
    const pull = packControl({ kind: "resend", latest: 0, wanted: [], hashes: ids.slice(0, 3).map(recordHash) });
    if (!pull.ok) throw pull.error;
    for (let i = 0; i < 200; i++) b.radio.hearBytes(A, 10_000 + i, pull.value[0]!, MESHAID_PORTNUM);
    await vi.waitFor(() => expect(pushed(b)).toHaveLength(3), { timeout: 5000 });
    // A burst of digests that list nothing: everything pushed at most once, 8 at a time.
    const empty = packControl({ kind: "held", latest: 0, holdings: [], digest: { windowS: 240, hashes: [] } });
    if (!empty.ok) throw empty.error;
    const storedAt = Date.now();
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(storedAt + FAST.digest.graceMs)); // older than the grace: not on its way any more
    for (let i = 0; i < 100; i++) b.radio.hearBytes(A, 20_000 + i, empty.value[0]!, MESHAID_PORTNUM);
    await vi.waitFor(() => expect(b.station.status().gaps?.handheld?.pushed).toBeGreaterThan(3), { timeout: 5000 });
    const seen = pushed(b).map((id) => id.seq);
    expect(new Set(seen).size).toBe(seen.length); // none twice
    expect(seen.length).toBeLessThanOrEqual(3 + 8);
  });

  it("a station restarted still knows the handheld records it stored lately: it asks only for what it lacks", async () => {
    const air = new Air();
    const a = await start(air, A);
    const b = await start(air, B);
    await vi.waitFor(() => expect(a.station.status().stations?.map((station) => station.num)).toEqual([B]));
    for (const node of [a, b]) node.radio.hear(H1, 1001, "NEED WATER");
    await vi.waitFor(() => expect([a, b].map((node) => node.station.status().gaps?.handheld?.window)).toEqual([1, 1]));
    await b.close();
    const again = await start(air, B);
    expect(again.station.status().gaps?.handheld?.window).toBe(1); // read from the log at start
    a.radio.hear(H2, 1002, "NEED WATER"); // only the leader: its next digest lists both
    await vi.waitFor(async () => expect(await holds(again, { origin: H2, seq: 1002 })).toBe(true), { timeout: 5000 });
    expect(pulls(again)).toContain(recordHash({ origin: H2, seq: 1002 }));
    expect(pulls(again)).not.toContain(recordHash({ origin: H1, seq: 1001 }));
    expect(pushed(a)).not.toContainEqual({ origin: H1, seq: 1001 });
  });

  it("a station alone when it restarts keeps what its log holds, and asks the base it meets later only for what it lacks", async () => {
    const air = new Air();
    const b = await start(air, B);
    b.radio.hear(H1, 1001, "NEED WATER");
    await vi.waitFor(() => expect(b.station.status().gaps?.handheld?.window).toBe(1));
    await b.close();
    const again = await start(air, B); // alone: the window refilled from the log, not hashed until a base is known
    const a = await start(air, A);
    a.radio.hear(H1, 1001, "NEED WATER");
    a.radio.hear(H2, 1002, "NEED WATER"); // only the leader holds this one
    await vi.waitFor(async () => expect(await holds(again, { origin: H2, seq: 1002 })).toBe(true), { timeout: 5000 });
    expect(again.station.status().gaps?.handheld?.window).toBe(2);
    expect(pulls(again)).not.toContain(recordHash({ origin: H1, seq: 1001 }));
    expect(pushed(a)).not.toContainEqual({ origin: H1, seq: 1001 });
    expect(pushed(again)).not.toContainEqual({ origin: H1, seq: 1001 });
  });

  describe("with the coalition key", () => {
    const key = coalitionAuthKey(Buffer.alloc(32, 3));
    const wrongKey = coalitionAuthKey(Buffer.alloc(32, 4));

    it("digests, pulls and pushes carry the tag; the pushed record is stored as vouched for by the base station", async () => {
      const [a, b] = await pair({ auth: key });
      a.radio.hear(H1, 901, "NEED WATER");
      const id = { origin: H1, seq: 901 };
      await vi.waitFor(async () => expect(await holds(b, id)).toBe(true), { timeout: 5000 });
      const ours = [...a.sent, ...b.sent].filter((sent) => sent.decoded?.control?.kind === "resend" || (sent.decoded?.control?.kind === "held" && sent.decoded.control.digest) || sent.decoded?.records.some((record) => record.id.origin === H1));
      expect(ours.length).toBeGreaterThanOrEqual(3);
      expect(ours.every((sent) => sent.decoded?.auth === "unchecked")).toBe(true); // the air's decoder holds no key: the tag is there
      expect((await b.store.get(id))?.auth).toBe("station");
    });

    it("ignores a forged digest or pull (nothing pushed) and a forged push (nothing stored), and flags the sender", async () => {
      const [a, b] = await pair({ auth: key });
      for (const node of [a, b]) node.radio.hear(H2, 950, "NEED WATER");
      await vi.waitFor(() => expect([a, b].map((node) => node.station.status().gaps?.handheld?.window)).toEqual([1, 1]));
      const hash = recordHash({ origin: H2, seq: 950 });
      const forged = [
        packControl({ kind: "held", latest: 0, holdings: [], digest: { windowS: 240, hashes: [] } }),
        packControl({ kind: "held", latest: 0, holdings: [], digest: { windowS: 240, hashes: [] } }, { origin: A, auth: wrongKey }),
        packControl({ kind: "resend", latest: 0, wanted: [], hashes: [hash] }),
        packControl({ kind: "resend", latest: 0, wanted: [], hashes: [hash] }, { origin: A, auth: wrongKey }),
      ];
      forged.forEach((packed, index) => {
        if (!packed.ok) throw packed.error;
        b.radio.hearBytes(A, 30_000 + index, packed.value[0]!, MESHAID_PORTNUM);
      });
      // A push of a handheld record under its own id, untagged: anyone with the channel key could send it.
      const push = packRecords([{ seq: 0, body: { kind: "supply_request", lines: [{ item: "food" }], priority: "urgent" }, id: { origin: H1, seq: 960 } }], codebook, { origin: A });
      if (!push.ok) throw push.error;
      b.radio.hearBytes(A, 30_010, push.value[0]!, MESHAID_PORTNUM);
      await vi.waitFor(() => expect(b.station.status().auth?.suspects.filter((flag) => flag.num === A).length).toBeGreaterThanOrEqual(4));
      await b.station.idle();
      expect(await holds(b, { origin: H1, seq: 960 })).toBe(false);
      expect(pushed(b)).toEqual([]);
      expect(b.station.status().gaps?.handheld?.pushed).toBe(0);
    });
  });
});
