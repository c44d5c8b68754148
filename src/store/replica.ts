// What the relay keeps on disk (sublevel "replica"), so that after a link, broker or station
// outage every peer ends up with every record exactly once:
//
//   own!<16-digit seq>  -> log key     this station's own log: the records it heard on its radio
//                                      or wrote itself (not those relayed from peers), numbered
//                                      1, 2, 3 ... in the order it stored them
//   meta!cursor         -> arrival n   the last arrival already looked at for the own log
//   meta!head           -> seq         the last own-log sequence given
//   meta!acked          -> seq         the outbox: every own-log entry up to here was acknowledged
//                                      by the broker (PUBACK); everything above is still to send
//   meta!log            -> id          this station's log id (16 hex digits, drawn when it began)
//   held!<station>      -> seq         the version vector: the highest contiguous sequence of that
//                                      peer's log this station holds
//   log!<station>       -> id          which of that peer's logs `held` counts (a wiped peer starts anew)
//   peer!<station>      -> seq         how far that peer holds this station's log, by its last signed
//                                      vector: this station's outbox for that peer is everything above
//
// Sublevel "forward": copies of peers' signed batch envelopes, exactly as their owner signed them,
// keyed `<owner>!<log id>!<first seq>!<last seq>!<kept at, ms>`, so that this station can fill a third station's
// gap in the owner's log while the owner is offline, and the third station can still check the
// owner's signature (no station can forge another's records).
//
// The own-log entries and the cursor are written in one synced batch, so a crash never numbers an
// arrival twice or skips one.
import { randomBytes } from "node:crypto";
import type { FieldRecord } from "../wire/index.ts";
import type { RecordDatabase, RecordStore } from "./record-store.ts";

/** An entry of this station's own log. */
export interface OwnEntry {
  seq: number;
  record: FieldRecord;
}

const SEQ_DIGITS = 16;

function seqKey(seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, "0");
}

export class ReplicaStore {
  private readonly db: RecordDatabase;
  private readonly sub;
  private readonly prefix: string;
  private cursor = -1;
  private ownHead = 0;
  private ackedSeq = 0;
  private readonly heldSeqs = new Map<string, number>();
  private readonly peerLogs = new Map<string, string>();
  private logId = "";
  private readonly peerHoldSeqs = new Map<string, number>();
  private readonly forward;
  /** absorb() runs one at a time. */
  private absorbing: Promise<number> = Promise.resolve(0);

  private constructor(db: RecordDatabase) {
    this.db = db;
    this.sub = db.sublevel<string, string>("replica", { valueEncoding: "utf8" });
    this.prefix = this.sub.prefix;
    this.forward = db.sublevel<string, Uint8Array>("forward", { valueEncoding: "view" });
  }

  /** Reads the relay's state from a database the caller opened (and closes). */
  static async open(db: RecordDatabase): Promise<ReplicaStore> {
    const replica = new ReplicaStore(db);
    const [cursor, head, acked, logId] = await replica.sub.getMany(["meta!cursor", "meta!head", "meta!acked", "meta!log"]);
    replica.logId = logId ?? randomBytes(8).toString("hex");
    if (logId === undefined) await db.batch<string, string>([{ type: "put", sublevel: replica.sub, key: "meta!log", value: replica.logId }], { sync: true });
    for await (const [key, value] of replica.sub.iterator({ gte: "log!", lt: "log!\uffff" })) replica.peerLogs.set(key.slice("log!".length), value);
    if (cursor !== undefined) replica.cursor = Number(cursor);
    if (head !== undefined) replica.ownHead = Number(head);
    if (acked !== undefined) replica.ackedSeq = Number(acked);
    for await (const [key, value] of replica.sub.iterator({ gte: "held!", lt: "held!\uffff" })) replica.heldSeqs.set(key.slice("held!".length), Number(value));
    for await (const [key, value] of replica.sub.iterator({ gte: "peer!", lt: "peer!\uffff" })) replica.peerHoldSeqs.set(key.slice("peer!".length), Number(value));
    return replica;
  }

  /** This station's log id. */
  get log(): string {
    return this.logId;
  }

  /** Which of `station`'s logs `held(station)` counts, if any yet. */
  peerLog(station: string): string | undefined {
    return this.peerLogs.get(station);
  }

  /** Counts `held(station)` in `station`'s log `log`; from its start when `fromStart` (the peer began a new log). */
  async followLog(station: string, log: string, fromStart: boolean): Promise<void> {
    this.peerLogs.set(station, log);
    const write = this.db.batch();
    write.put<string, string>(`log!${station}`, log, { sublevel: this.sub, valueEncoding: "utf8" });
    if (fromStart) {
      this.heldSeqs.set(station, 0);
      write.put<string, string>(`held!${station}`, "0", { sublevel: this.sub, valueEncoding: "utf8" });
    }
    await write.write({ sync: true });
  }

  /** The last sequence of this station's own log (0 when empty). */
  get head(): number {
    return this.ownHead;
  }

  /** Every own-log entry up to here was acknowledged by the broker. */
  get acked(): number {
    return this.ackedSeq;
  }

  /** The version vector: peer station -> highest contiguous sequence of its log held here. */
  vector(): Map<string, number> {
    return new Map(this.heldSeqs);
  }

  held(station: string): number {
    return this.heldSeqs.get(station) ?? 0;
  }

  /**
   * Numbers the records stored since the last call that did not come from a peer (arrivals
   * without `via`) into this station's own log. Returns the new head.
   */
  absorb(store: RecordStore, pageSize = 4096): Promise<number> {
    const run = this.absorbing.then(() => this.absorbPages(store, pageSize));
    this.absorbing = run.catch(() => this.ownHead);
    return run;
  }

  /**
   * Arrivals `first`..`last` all came from peers: when nothing before them waits to be looked at,
   * the cursor moves past them without reading them (written with the next own entries; after a
   * crash they are only read again).
   */
  skipRelayed(first: number, last: number): void {
    const run = this.absorbing.then(() => {
      if (this.cursor === first - 1) this.cursor = last;
      return this.ownHead;
    });
    this.absorbing = run;
  }

  private async absorbPages(store: RecordStore, pageSize: number): Promise<number> {
    for (;;) {
      const page = await store.arrivalKeysAfter(this.cursor, pageSize);
      if (page.length === 0) return this.ownHead;
      const last = page[page.length - 1];
      if (!last) return this.ownHead;
      // One chained batch on the root with the sublevel's prefix written out (cheaper per entry).
      const write = this.db.batch();
      const put = (key: string, value: string): void => void write.put<string, string>(this.prefix + key, value, { valueEncoding: "utf8" });
      let head = this.ownHead;
      for (const arrival of page) {
        if (arrival.via !== undefined) continue;
        head += 1;
        put(`own!${seqKey(head)}`, arrival.key);
      }
      put("meta!cursor", String(last.n));
      put("meta!head", String(head));
      await write.write({ sync: true });
      this.cursor = last.n;
      this.ownHead = head;
    }
  }

  /** Own-log entries `from`..`to` (inclusive), at most `limit`, in order. */
  async ownEntries(store: RecordStore, from: number, to: number, limit: number): Promise<OwnEntry[]> {
    if (from > to || limit <= 0) return [];
    const listed: Array<{ seq: number; key: string }> = [];
    for await (const [key, value] of this.sub.iterator({ gte: `own!${seqKey(from)}`, lte: `own!${seqKey(to)}`, limit })) listed.push({ seq: Number(key.slice(4)), key: value });
    const records = await store.getKeys(listed.map((entry) => entry.key));
    const out: OwnEntry[] = [];
    for (const [index, entry] of listed.entries()) {
      const record = records[index];
      if (record) out.push({ seq: entry.seq, record });
    }
    return out;
  }

  /** Records that the broker acknowledged every own-log entry up to `seq` (on disk before it resolves). */
  async setAcked(seq: number): Promise<void> {
    if (seq <= this.ackedSeq) return;
    this.ackedSeq = seq;
    await this.db.batch<string, string>([{ type: "put", sublevel: this.sub, key: "meta!acked", value: String(seq) }], { sync: true });
  }

  /**
   * Records that this station holds `station`'s log up to `seq` (call only once those records are
   * on disk). Not synced: after a power cut the vector may be behind the log, which only means
   * records come again and are dropped as already stored.
   */
  async setHeld(station: string, seq: number): Promise<void> {
    if (seq <= this.held(station)) return;
    this.heldSeqs.set(station, seq);
    await this.db.batch<string, string>([{ type: "put", sublevel: this.sub, key: `held!${station}`, value: String(seq) }], {});
  }

  /** How far `station` holds this station's log, by its last signed vector (0 before any). */
  peerHolds(station: string): number {
    return this.peerHoldSeqs.get(station) ?? 0;
  }

  /** Every peer's last word on how far it holds this station's log. */
  peerHoldings(): Map<string, number> {
    return new Map(this.peerHoldSeqs);
  }

  /**
   * Records that `station` says (in a vector it signed) it holds this station's log up to `seq`.
   * It may go down: a peer whose data was wiped starts again from nothing, and its outbox grows.
   */
  async setPeerHolds(station: string, seq: number): Promise<void> {
    if (this.peerHoldSeqs.get(station) === seq) return;
    this.peerHoldSeqs.set(station, seq);
    await this.db.batch<string, string>([{ type: "put", sublevel: this.sub, key: `peer!${station}`, value: String(seq) }], {});
  }

  /** A peer taken off the trust list no longer holds back anything (retention, status). */
  async forgetPeer(station: string): Promise<void> {
    if (!this.peerHoldSeqs.delete(station)) return;
    await this.db.batch<string, string>([{ type: "del", sublevel: this.sub, key: `peer!${station}` }], {});
  }

  /**
   * Keeps a copy of `owner`'s signed batch envelope (sequences `first`..`last` of its log `log`)
   * to forward unchanged. Not synced: a copy lost in a power cut only means this station cannot
   * forward that range; the owner still can.
   */
  async keepEnvelope(owner: string, log: string, first: number, last: number, bytes: Uint8Array, now = Date.now()): Promise<void> {
    await this.db.batch([{ type: "put", sublevel: this.forward, key: `${owner}!${log}!${seqKey(first)}!${seqKey(last)}!${seqKey(now)}`, value: bytes }], {});
  }

  /**
   * Copies of `owner`'s envelopes (log `log`) that together cover as much of `from`..`to` as
   * this station holds, in order, at most `limit`: each starts at or before the first sequence
   * still uncovered and reaches furthest past it; a range no copy covers is skipped (its owner
   * fills it).
   */
  async envelopesCovering(owner: string, log: string, from: number, to: number, limit: number): Promise<Array<{ first: number; last: number; bytes: Uint8Array }>> {
    const prefix = `${owner}!${log}!`;
    const ranges: Array<{ key: string; first: number; last: number }> = [];
    for await (const key of this.forward.keys({ gte: prefix, lt: `${prefix}\uffff` })) {
      const [first, last] = key.slice(prefix.length).split("!").map(Number) as [number, number];
      if (last >= from && first <= to) ranges.push({ key, first, last });
    }
    const chosen: Array<{ key: string; first: number; last: number }> = [];
    let next = from;
    while (next <= to && chosen.length < limit) {
      let best: { key: string; first: number; last: number } | undefined;
      for (const range of ranges) if (range.first <= next && range.last >= next && (!best || range.last > best.last)) best = range;
      if (!best) {
        // Nothing covers `next`: go on from the nearest copy after it.
        for (const range of ranges) if (range.first > next && (!best || range.first < best.first)) best = range;
        if (!best) break;
      }
      chosen.push(best);
      next = best.last + 1;
    }
    const values = await this.forward.getMany(chosen.map((range) => range.key));
    const out: Array<{ first: number; last: number; bytes: Uint8Array }> = [];
    for (const [index, range] of chosen.entries()) {
      const bytes = values[index];
      if (bytes) out.push({ first: range.first, last: range.last, bytes });
    }
    return out;
  }

  /** Drops the copies of `owner`'s envelopes from logs other than `log` (it began a new one). */
  async dropEnvelopesOtherThan(owner: string, log: string): Promise<void> {
    const write = this.db.batch();
    for await (const key of this.forward.keys({ gte: `${owner}!`, lt: `${owner}!\uffff` })) if (!key.startsWith(`${owner}!${log}!`)) write.del(key, { sublevel: this.forward });
    await write.write();
  }
}

/**
 * The log keys of this station's records that some peer it replicates with does not hold yet
 * (by the peers' signed vectors kept in the replica sublevel): retention must not purge them, or
 * that peer would never get them. Empty when the relay has never heard a peer. A peer taken off
 * the trust list stops counting (the relay forgets it).
 */
export async function recordsOwedToPeers(db: RecordDatabase): Promise<Set<string>> {
  const sub = db.sublevel<string, string>("replica", { valueEncoding: "utf8" });
  let lowest: number | undefined;
  for await (const value of sub.values({ gte: "peer!", lt: "peer!\uffff" })) lowest = Math.min(lowest ?? Number.MAX_SAFE_INTEGER, Number(value));
  const owed = new Set<string>();
  if (lowest === undefined) return owed;
  for await (const key of sub.values({ gt: `own!${seqKey(lowest)}`, lt: "own!\uffff" })) owed.add(key);
  return owed;
}

/**
 * Deletes the copies of peers' batches (kept to forward) kept before `keptBefore`: retention
 * reaches them too (they hold peers' records, redacted as their owner sent them). Returns how many.
 */
export async function pruneForwardCopies(db: RecordDatabase, keptBefore: number): Promise<number> {
  const forward = db.sublevel<string, Uint8Array>("forward", { valueEncoding: "view" });
  const write = db.batch();
  let count = 0;
  for await (const key of forward.keys()) {
    if (Number(key.slice(key.lastIndexOf("!") + 1)) >= keptBefore) continue;
    write.del(key, { sublevel: forward });
    count += 1;
  }
  if (count === 0) await write.close();
  else await write.write({ sync: true });
  return count;
}
