// The log of records: LevelDB is the source of truth, keyed by record id so that a record heard
// twice is stored once. Everything a screen shows is rebuilt from it.
//
// Keys (sublevel "log"): `<origin 8 hex>!<seq 8 hex>` -> LoggedRecord bytes.
// Keys (sublevel "arrival"): `<16-digit arrival counter>` -> the log key, the order records were heard
// (followed by "\n" and a peer station's name for a record that came from that peer through the relay).
// Key "meta" / "count": the number of records, written in the same batch as each record.
// Key "meta" / "codebook": the hash of the codebook the codes in the log were written with.
// Keys (sublevel "evidence"): `<log key>!<16-digit arrival counter>` -> the LoggedRecord bytes a
// `replace` took out of the log (sealed as they were), kept as evidence of a forgery.
import type { Level } from "level";
import { StoreWriteError } from "./errors.ts";
import type { Codebook, FieldRecord, RecordId } from "../wire/index.ts";
import { logValueCodec, type RecordCipher } from "./cipher.ts";

/** The LevelDB database (string keys, binary values) the composition root opened. */
export type RecordDatabase = Level<string, Uint8Array>;

/** A database that can start a fresh write-ahead log after a failed write (cli's DurableLevel). */
export interface RenewableDatabase {
  renewLog(): Promise<void>;
}

export interface AppendResult {
  /** False when a record with this id was already stored (it is not written again). */
  stored: boolean;
  count: number;
}

export interface CorruptEntry {
  key: string;
  reason: string;
}

export function recordKey(id: RecordId): string {
  return `${hex8(id.origin)}!${hex8(id.seq)}`;
}

function arrivalKey(n: number): string {
  return String(n).padStart(16, "0");
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** The most records one synced batch carries. */
const MAX_BATCH = 4096;

/** Log keys read a page at a time when the ids are listed (a key is about 25 bytes). */
const KEY_PAGE = 10_000;
/** classic-level ends a page at 16 KiB unless told (highWaterMarkBytes is its option). */
const KEY_PAGE_OPTIONS = { limit: -1, highWaterMarkBytes: 32 * KEY_PAGE };

/**
 * The ids stored: origin -> its sequence numbers. Numbers, not key strings (a few bytes an id,
 * no string built to look one up); origin * 2^32 + seq would not fit a double exactly.
 */
class IdSet {
  private readonly byOrigin = new Map<number, Set<number>>();

  has(origin: number, seq: number): boolean {
    return this.byOrigin.get(origin)?.has(seq) === true;
  }

  add(origin: number, seq: number): void {
    let seqs = this.byOrigin.get(origin);
    if (!seqs) this.byOrigin.set(origin, (seqs = new Set()));
    seqs.add(seq);
  }

  delete(origin: number, seq: number): void {
    this.byOrigin.get(origin)?.delete(seq);
  }
}

/** A write being put together: the batch, the ids it adds, and the count and arrival number after it. */
interface Staged {
  write: ReturnType<RecordDatabase["batch"]>;
  ids: IdSet;
  added: RecordId[];
  /** Arrival keys and values (log keys, with the peer of a relayed record), flat: written after the log entries. */
  arrivals: string[];
  count: number;
  arrival: number;
}

/** One entry of the arrival order: its number, the record, and the peer it came from (relayed). */
export interface Arrival {
  n: number;
  key: string;
  record: FieldRecord;
  via?: string;
}

/** Told how an append ended: stored or not (resolve), or refused or not written (reject). */
export interface AppendReceiver {
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

interface PendingAppend {
  record: FieldRecord;
  via?: string;
  receiver: AppendReceiver;
  settled?: boolean;
}

export class RecordStore {
  private readonly db: RecordDatabase;
  private readonly log;
  private readonly arrival;
  private readonly meta;
  private readonly evidenceLevel;
  private readonly codebook: Codebook;
  private readonly logPrefix: string;
  private readonly arrivalPrefix: string;
  private readonly metaPrefix: string;
  private recordCount = 0;
  private previousCodebook: string | undefined;
  private nextArrival = 0;
  /** Appends waiting for the next batch, in arrival order. */
  private waiting: PendingAppend[] = [];
  private flushing = false;
  /** The purge running now (one at a time). */
  private purging: Promise<number> | undefined;
  /** A write failed: LevelDB's log may be torn (see renewAfterFailure). */
  private torn = false;
  /** The running flush loop (batches are written one at a time: dedup and write never interleave). */
  private queue: Promise<void> = Promise.resolve();
  /** Every id stored (the dedup check), read at the first write: see storedIds. */
  private ids: IdSet | undefined;
  private readonly arrivalListeners = new Set<(written: { first: number; last: number; relayedOnly: boolean }) => void>();

  /** Log values: the wire's log codec, sealed when the store is encrypted (cipher.ts). */
  private readonly values: ReturnType<typeof logValueCodec>;

  private constructor(db: RecordDatabase, codebook: Codebook, cipher?: RecordCipher) {
    this.values = logValueCodec(codebook, cipher);
    this.db = db;
    this.codebook = codebook;
    this.log = db.sublevel<string, Uint8Array>("log", { valueEncoding: "view" });
    this.arrival = db.sublevel<string, string>("arrival", { valueEncoding: "utf8" });
    this.meta = db.sublevel<string, string>("meta", { valueEncoding: "utf8" });
    this.evidenceLevel = db.sublevel<string, Uint8Array>("evidence", { valueEncoding: "view" });
    this.logPrefix = this.log.prefix;
    this.arrivalPrefix = this.arrival.prefix;
    this.metaPrefix = this.meta.prefix;
  }

  /**
   * Opens the store on a database the caller created (and will close through this store). Codes
   * in the log are read and written with `codebook`.
   */
  static async open(db: RecordDatabase, codebook: Codebook, options: { cipher?: RecordCipher } = {}): Promise<RecordStore> {
    await db.open();
    const store = new RecordStore(db, codebook, options.cipher);
    const previous = await store.meta.get("codebook");
    if (previous !== undefined && previous !== codebook.hash) store.previousCodebook = previous;
    const count = await store.meta.get("count");
    store.recordCount = count === undefined ? 0 : Number(count);
    for await (const key of store.arrival.keys({ reverse: true, limit: 1 })) store.nextArrival = Number(key) + 1;
    return store;
  }

  get count(): number {
    return this.recordCount;
  }

  /**
   * The hash of the codebook the log was last written with, when it differs from the one this
   * store was opened with (codes are append-only, so old records still read; a station says so).
   */
  get codebookChangedFrom(): string | undefined {
    return this.previousCodebook;
  }

  /**
   * Writes a record unless one with its id is already stored. Resolves only once the write is
   * on disk (sync), so a caller may acknowledge it.
   *
   * Group commit: appends that arrive while a batch is being written wait for the next one, and
   * each batch is one synced LevelDB write. Batches are written one at a time, in arrival order,
   * so the dedup check (against the ids in memory, which hold the batch's own) is exact however
   * many appends race. A record the wire cannot encode is refused alone (its append
   * rejects); the rest of its batch is written.
   */
  append(record: FieldRecord, options: { via?: string } = {}): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => this.appendTo(record, { resolve, reject }, options));
  }

  /**
   * Like append, telling `receiver` instead of returning a promise: for a caller that appends
   * every record it hears (the station's ingest), a promise and its reactions per record cost
   * more than the write. The receiver is told once the batch is on disk.
   */
  appendTo(record: FieldRecord, receiver: AppendReceiver, options: { via?: string } = {}): void {
    const pending: PendingAppend = { record, receiver };
    if (options.via !== undefined) pending.via = options.via;
    this.waiting.push(pending);
    if (!this.flushing) {
      this.flushing = true;
      this.queue = this.flushLoop();
    }
  }

  private async flushLoop(): Promise<void> {
    // Let the appends of this turn of the event loop gather into the first batch.
    await Promise.resolve();
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      try {
        await this.writeBatch(batch);
      } catch (error) {
        const failure = error instanceof StoreWriteError ? error : new StoreWriteError(this.db.location, error);
        for (const entry of batch) if (!entry.settled) entry.receiver.reject(failure);
        this.torn = true;
      }
    }
    this.flushing = false;
  }

  /**
   * After a failed write LevelDB's log has a torn tail, and whatever is appended after it is
   * dropped at the next open: before writing again, a database that can (cli's DurableLevel)
   * starts a fresh log. Until it can, writes fail.
   */
  private async renewAfterFailure(): Promise<void> {
    if (!this.torn) return;
    const renewable = this.db as Partial<RenewableDatabase>;
    if (typeof renewable.renewLog !== "function") return;
    try {
      await renewable.renewLog();
      this.torn = false;
    } catch (error) {
      throw new StoreWriteError(this.db.location, error);
    }
  }
  private async writeBatch(batch: PendingAppend[]): Promise<void> {
    await this.renewAfterFailure();
    const staged = await this.stage();
    const outcomes: Array<number | Error | undefined> = [];
    for (const entry of batch) {
      const outcome = this.put(staged, entry.record, entry.via);
      // A record the wire cannot encode is refused alone: nothing is written for it.
      if (outcome instanceof Error) {
        entry.settled = true;
        entry.receiver.reject(outcome);
      }
      outcomes.push(outcome);
    }
    await this.commit(staged);
    for (const [index, entry] of batch.entries()) {
      if (entry.settled) continue;
      entry.settled = true;
      const at = outcomes[index];
      entry.receiver.resolve(typeof at === "number" ? { stored: true, count: at } : { stored: false, count: this.recordCount });
    }
    this.notify(staged, batch.every((entry) => entry.via !== undefined));
  }

  /**
   * Writes many records at once (a relayed batch): dedup against the ids in memory and one
   * synced LevelDB write, with no per-record promise. Waits for the appends in progress, like a
   * purge, so the dedup stays exact. Resolves, per record in order, with its AppendResult, or the
   * error that refused it alone (a record the wire cannot encode); rejects if the write fails
   * (then nothing of it was stored).
   */
  appendMany(records: readonly FieldRecord[], options: { via?: string } = {}): Promise<Array<AppendResult | Error>> {
    return this.exclusively(async () => {
      try {
        return await this.writeMany(records, options.via);
      } catch (error) {
        this.torn = true;
        throw error instanceof StoreWriteError ? error : new StoreWriteError(this.db.location, error);
      }
    });
  }

  /**
   * Runs `work` holding the write lock: after the appends in progress and any purge; appends that
   * arrive meanwhile wait and are written after it.
   */
  private async exclusively<T>(work: () => Promise<T>): Promise<T> {
    // A purge holds `flushing` without replacing `queue`: wait for it by its own promise.
    while (this.flushing) await (this.purging ?? this.queue).catch(() => undefined);
    this.flushing = true;
    let done!: () => void;
    this.queue = new Promise<void>((resolve) => (done = resolve));
    try {
      return await work();
    } finally {
      this.flushing = false;
      done();
      if (this.waiting.length > 0) {
        this.flushing = true;
        this.queue = this.flushLoop();
      }
    }
  }

  private async writeMany(records: readonly FieldRecord[], via: string | undefined): Promise<Array<AppendResult | Error>> {
    await this.renewAfterFailure();
    const staged = await this.stage();
    const outcomes = records.map((record) => this.put(staged, record, via));
    await this.commit(staged);
    this.notify(staged, via !== undefined);
    return outcomes.map((at) => (at instanceof Error ? at : typeof at === "number" ? { stored: true, count: at } : { stored: false, count: this.recordCount }));
  }

  /**
   * Replaces the stored record with this id by `record` when `shouldReplace` says so of the stored
   * one (checked under the write lock, so nothing changes in between): a genuine record whose id a
   * forgery took first. In one synced batch the replaced bytes go to the "evidence" sublevel, the
   * log holds `record`, and it takes a new place at the end of the arrival order (its old place
   * goes: shown once, and the relay publishes the genuine record, from this station unless `via`).
   * Resolves with the record replaced, or undefined when none was stored or it was kept.
   */
  replace(record: FieldRecord, shouldReplace: (stored: FieldRecord) => boolean, options: { via?: string } = {}): Promise<FieldRecord | undefined> {
    return this.exclusively(async () => {
      await this.renewAfterFailure();
      const key = recordKey(record.id);
      const bytes = await this.log.get(key);
      const stored = bytes === undefined ? undefined : this.values.decode(bytes, key);
      if (!bytes || !stored?.ok || !shouldReplace(stored.value)) return undefined;
      const value = this.values.encode(record, key);
      const write = this.db.batch();
      // Its old place in the arrival order: a forgery is replaced soon after it came, so from the end.
      for await (const [order, listed] of this.arrival.iterator({ reverse: true })) {
        if ((listed.split("\n")[0] ?? listed) !== key) continue;
        write.del(this.arrivalPrefix + order);
        break;
      }
      const arrival = this.nextArrival;
      write.put<string, Uint8Array>(`${key}!${arrivalKey(arrival)}`, bytes, { sublevel: this.evidenceLevel, valueEncoding: "view" });
      write.put(this.logPrefix + key, value, { valueEncoding: "view" });
      write.put<string, string>(this.arrivalPrefix + arrivalKey(arrival), options.via === undefined ? key : `${key}\n${options.via}`, { valueEncoding: "utf8" });
      try {
        await write.write({ sync: true });
      } catch (error) {
        this.torn = true;
        throw new StoreWriteError(this.db.location, error);
      }
      this.nextArrival = arrival + 1;
      for (const listener of this.arrivalListeners) listener({ first: arrival, last: arrival, relayedOnly: options.via !== undefined });
      return stored.value;
    });
  }

  /** The records `replace` took out of the log, in the order replaced, with the log key they were under (undefined: no longer decodes). */
  async evidence(): Promise<Array<{ key: string; record: FieldRecord | undefined }>> {
    const out: Array<{ n: number; key: string; record: FieldRecord | undefined }> = [];
    for await (const [key, bytes] of this.evidenceLevel.iterator()) {
      const at = key.lastIndexOf("!");
      const logKey = key.slice(0, at);
      const decoded = this.values.decode(bytes, logKey);
      out.push({ n: Number(key.slice(at + 1)), key: logKey, record: decoded.ok ? decoded.value : undefined });
    }
    return out.sort((a, b) => a.n - b.n).map(({ key, record }) => ({ key, record }));
  }

  /** A new write: one chained batch on the root, with the ids known (read from the log at the first write). */
  private async stage(): Promise<Staged> {
    const ids = await this.storedIds();
    return { write: this.db.batch(), ids, added: [], arrivals: [], count: this.recordCount, arrival: this.nextArrival };
  }

  /**
   * Puts a record into a staged write unless its id is stored or already in this write: its
   * count once written, undefined for a record stored before, or the error that refuses it (the
   * wire cannot encode it). Two keys: the log entry and its place in the arrival order.
   */
  private put(staged: Staged, record: FieldRecord, via: string | undefined): number | Error | undefined {
    const { origin, seq } = record.id;
    if (staged.ids.has(origin, seq)) return undefined;
    const key = recordKey(record.id);
    let value: Uint8Array;
    try {
      value = this.values.encode(record, key);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
    // Into the set now, so a second copy later in this write is seen; taken out if the write fails.
    staged.ids.add(origin, seq);
    staged.added.push(record.id);
    // The root's prefixes written out and values as bytes, without per-operation options:
    // abstract-level's per-operation option and sublevel handling costs several times the write.
    staged.write.put(this.logPrefix + key, value);
    staged.arrivals.push(this.arrivalPrefix + arrivalKey(staged.arrival), via === undefined ? key : `${key}\n${via}`);
    staged.arrival += 1;
    staged.count += 1;
    return staged.count;
  }

  /** Writes a staged write (synced) with the count, or forgets its ids again if it fails. */
  private async commit(staged: Staged): Promise<void> {
    const written = staged.added.length;
    try {
      if (written === 0) {
        await staged.write.close();
        return;
      }
      // The arrival entries after all the log entries, as they always were: LevelDB numbers a
      // batch's entries in order, so the same records make the same table files as before.
      const arrivals = staged.arrivals;
      for (let i = 0; i < arrivals.length; i += 2) staged.write.put(arrivals[i] as string, Buffer.from(arrivals[i + 1] as string, "utf8"));
      staged.write.put(this.metaPrefix + "count", Buffer.from(String(staged.count), "utf8"));
      staged.write.put(this.metaPrefix + "codebook", Buffer.from(this.codebook.hash, "utf8"));
      await staged.write.write({ sync: true });
    } catch (error) {
      for (const id of staged.added) staged.ids.delete(id.origin, id.seq);
      await staged.write.close().catch(() => undefined); // a no-op when write() got to close it
      throw error;
    }
    this.recordCount = staged.count;
    this.nextArrival = staged.arrival;
  }

  /** Tells the arrival listeners what a committed write stored (nothing for a write that stored nothing). */
  private notify(staged: Staged, relayedOnly: boolean): void {
    const written = staged.added.length;
    if (written === 0) return;
    for (const listener of this.arrivalListeners) listener({ first: staged.arrival - written, last: staged.arrival - 1, relayedOnly });
  }

  /**
   * Every id in the log, listed from its keys at the first write (the dedup check then runs in
   * memory, not against the disk); every write and purge keeps it exact from then on.
   */
  private async storedIds(): Promise<IdSet> {
    if (this.ids) return this.ids;
    const ids = new IdSet();
    const iterator = this.log.keys(KEY_PAGE_OPTIONS);
    try {
      for (;;) {
        const page = await iterator.nextv(KEY_PAGE);
        if (page.length === 0) break;
        for (const key of page) ids.add(parseInt(key.slice(0, 8), 16), parseInt(key.slice(9, 17), 16));
      }
    } finally {
      await iterator.close();
    }
    this.ids = ids;
    return ids;
  }

  /**
   * Calls `listener` after each write that stored something: its arrival numbers, and whether
   * every record in it came from a peer (the relay then has nothing of this station's to send).
   */
  subscribeArrivals(listener: (written: { first: number; last: number; relayedOnly: boolean }) => void): () => void {
    this.arrivalListeners.add(listener);
    return () => this.arrivalListeners.delete(listener);
  }

  /**
   * Stored records in the order this station stored them, from arrival number `after + 1` on,
   * at most `limit`. Entries that no longer decode go to `onCorrupt` (and are skipped).
   */
  async arrivalsAfter(after: number, limit: number, onCorrupt?: (entry: CorruptEntry) => void): Promise<Arrival[]> {
    const listed = await this.arrivalKeysAfter(after, limit);
    const values = await this.log.getMany(listed.map((entry) => entry.key));
    const out: Arrival[] = [];
    for (const [index, entry] of listed.entries()) {
      const bytes = values[index];
      const decoded = bytes === undefined ? undefined : this.values.decode(bytes, entry.key);
      if (decoded?.ok) out.push({ ...entry, record: decoded.value });
      else onCorrupt?.({ key: entry.key, reason: decoded ? decoded.error.message : "listed in arrival order but missing from the log" });
    }
    return out;
  }

  /** Like arrivalsAfter, without reading the records: the arrival number, log key and peer. */
  async arrivalKeysAfter(after: number, limit: number): Promise<Array<Omit<Arrival, "record">>> {
    const listed: Array<Omit<Arrival, "record">> = [];
    const iterator = this.arrival.iterator(after < 0 ? { limit } : { gt: arrivalKey(after), limit });
    try {
      for (;;) {
        const page = await iterator.nextv(1000);
        if (page.length === 0) break;
        for (const [n, value] of page) {
          const [key = "", via] = value.split("\n");
          listed.push({ n: Number(n), key, ...(via === undefined ? {} : { via }) });
        }
      }
    } finally {
      await iterator.close();
    }
    return listed;
  }

  /** The records stored under these log keys (undefined where none, or where it no longer decodes). */
  async getKeys(keys: string[]): Promise<Array<FieldRecord | undefined>> {
    const values = await this.log.getMany(keys);
    return values.map((bytes, index) => {
      const decoded = bytes === undefined ? undefined : this.values.decode(bytes, keys[index]!);
      return decoded?.ok ? decoded.value : undefined;
    });
  }

  /**
   * Every stored record, in key order (not arrival order), in pages: for projections that do not
   * depend on order (the boards). Entries that no longer decode go to `onCorrupt`.
   */
  async *all(onCorrupt?: (entry: CorruptEntry) => void): AsyncGenerator<FieldRecord[]> {
    const iterator = this.log.iterator();
    // The next page is read (on LevelDB's thread) while this one is decoded and folded.
    let next: Promise<Array<[string, Uint8Array]>> | undefined;
    try {
      next = iterator.nextv(2000);
      for (;;) {
        const page = await next;
        if (page.length === 0) return;
        next = iterator.nextv(2000);
        const records: FieldRecord[] = [];
        for (const [key, bytes] of page) {
          const decoded = this.values.decode(bytes, key);
          if (decoded.ok) records.push(decoded.value);
          else onCorrupt?.({ key, reason: decoded.error.message });
        }
        yield records;
      }
    } finally {
      await next?.catch(() => undefined); // a reader that stopped early leaves one read in flight
      await iterator.close();
    }
  }

  /** The highest sequence number stored for `origin` (a station numbering its own records), or undefined. */
  async lastSeq(origin: number): Promise<number | undefined> {
    const prefix = `${hex8(origin)}!`;
    for await (const key of this.log.keys({ gte: prefix, lte: `${prefix}ffffffff`, reverse: true, limit: 1 })) return parseInt(key.slice(prefix.length), 16);
    return undefined;
  }

  async get(id: RecordId): Promise<FieldRecord | undefined> {
    const key = recordKey(id);
    const bytes = await this.log.get(key);
    if (bytes === undefined) return undefined;
    const decoded = this.values.decode(bytes, key);
    return decoded.ok ? decoded.value : undefined;
  }

  /**
   * The most recently heard records, newest first. Entries that no longer decode are reported
   * through `onCorrupt` and skipped, never silently dropped.
   */
  async recent(limit: number, onCorrupt?: (entry: CorruptEntry) => void): Promise<FieldRecord[]> {
    const records: FieldRecord[] = [];
    const keys: string[] = [];
    for await (const value of this.arrival.values({ reverse: true, limit })) keys.push(value.split("\n")[0] ?? value);
    // One read for all of them (a get each waited on LevelDB's thread 200 times).
    const values = await this.log.getMany(keys);
    for (const [index, key] of keys.entries()) {
      const bytes = values[index];
      if (bytes === undefined) {
        onCorrupt?.({ key, reason: "listed in arrival order but missing from the log" });
        continue;
      }
      const decoded = this.values.decode(bytes, key);
      if (decoded.ok) records.push(decoded.value);
      else onCorrupt?.({ key, reason: decoded.error.message });
    }
    return records;
  }

  /**
   * Deletes the records `isExpired` picks (retention limits), with their place in the arrival
   * order, in one synced batch; appends wait meanwhile. Resolves with how many were deleted.
   * Entries that do not decode are left alone (the start check quarantines them).
   */
  purge(isExpired: (record: FieldRecord) => boolean): Promise<number> {
    this.purging ??= this.runPurge(isExpired).finally(() => {
      this.purging = undefined;
    });
    return this.purging;
  }

  private async runPurge(isExpired: (record: FieldRecord) => boolean): Promise<number> {
    while (this.flushing) await this.queue;
    this.flushing = true;
    try {
      const doomed = new Set<string>();
      for await (const [key, bytes] of this.log.iterator()) {
        const decoded = this.values.decode(bytes, key);
        if (decoded.ok && isExpired(decoded.value)) doomed.add(key);
      }
      if (doomed.size === 0) return 0;
      const write = this.db.batch();
      // A relayed record's arrival value is "<key>\n<peer>".
      for await (const [order, value] of this.arrival.iterator()) if (doomed.has(value.split("\n")[0] ?? value)) write.del(this.arrivalPrefix + order);
      for (const key of doomed) write.del(this.logPrefix + key);
      // Evidence of a replaced forgery goes with the record it was under.
      for await (const key of this.evidenceLevel.keys()) if (doomed.has(key.slice(0, key.lastIndexOf("!")))) write.del(key, { sublevel: this.evidenceLevel });
      const count = this.recordCount - doomed.size;
      write.put<string, string>(this.metaPrefix + "count", String(count), { valueEncoding: "utf8" });
      try {
        await write.write({ sync: true });
      } catch (error) {
        this.torn = true;
        throw new StoreWriteError(this.db.location, error);
      }
      this.recordCount = count;
      for (const key of doomed) this.ids?.delete(parseInt(key.slice(0, 8), 16), parseInt(key.slice(9, 17), 16));
      return doomed.size;
    } finally {
      this.flushing = false;
      if (this.waiting.length > 0) {
        this.flushing = true;
        this.queue = this.flushLoop();
      }
    }
  }

  async close(): Promise<void> {
    await this.queue;
    await this.db.close();
  }
}
