// The log of records: LevelDB is the source of truth; a record heard twice is stored once (by its
// id). Everything a screen shows is rebuilt from it.
//
// Keys (sublevel "records"): one per record, in arrival order, with its id (layout.ts).
// Key "meta" / "count": the number of records, written in the same batch as each record.
// Key "meta" / "codebook": the hash of the codebook the codes in the log were written with.
// Keys (sublevel "evidence"): `<id key>!<16-digit arrival counter>` -> the LoggedRecord bytes a
// `replace` took out of the log (sealed as they were), kept as evidence of a forgery.
import type { Level } from "level";
import { StoreWriteError } from "./errors.ts";
import type { Codebook, FieldRecord, RecordId } from "../wire/index.ts";
import { logValueCodec, type RecordCipher } from "./cipher.ts";
import { arrivalKey, arrivalOf, idKey, idKeyOf, logKey, originOf, parseLogKey, RECORDS_SUBLEVEL, seqOf, viaOf } from "./layout.ts";
import { migrateLog } from "./migrate.ts";

export { recordKey } from "./layout.ts";
import { ENTRY_PAGE, KEY_PAGE, KEY_PAGE_OPTIONS, pages } from "./pages.ts";

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

/** The most records one synced batch carries. */
const MAX_BATCH = 4096;


/**
 * Where each stored record is: origin -> seq -> its arrival number, and the peer a relayed
 * record came through (by arrival number). Numbers, not key strings: a few bytes a record and no
 * string built to look one up. Origins and seqs are kept as int32 (`| 0`, read back with `>>> 0`)
 * and arrival numbers as they are, so every key and value is a small integer V8 stores inline.
 * With it the log needs no second key per record to find one by id.
 */
class RecordIndex {
  private readonly byOrigin = new Map<number, Map<number, number>>();
  /** Arrival number -> index in `peers`, for the records that came through the relay. */
  private readonly relayed = new Map<number, number>();
  private readonly peers: string[] = [];
  private readonly peerIndex = new Map<string, number>();

  has(origin: number, seq: number): boolean {
    return this.byOrigin.get(origin | 0)?.has(seq | 0) === true;
  }

  set(origin: number, seq: number, n: number, via?: string): void {
    let seqs = this.byOrigin.get(origin | 0);
    if (!seqs) this.byOrigin.set(origin | 0, (seqs = new Map<number, number>()));
    const before = seqs.get(seq | 0);
    if (before !== undefined) this.relayed.delete(before);
    seqs.set(seq | 0, n);
    if (via !== undefined) this.relayed.set(n, this.peer(via));
  }

  delete(origin: number, seq: number): void {
    const seqs = this.byOrigin.get(origin | 0);
    const n = seqs?.get(seq | 0);
    if (n === undefined) return;
    seqs?.delete(seq | 0);
    this.relayed.delete(n);
  }

  /** The log key of a stored record (without the sublevel's prefix), or undefined. */
  keyOf(origin: number, seq: number): string | undefined {
    const n = this.byOrigin.get(origin | 0)?.get(seq | 0);
    if (n === undefined) return undefined;
    const peer = this.relayed.get(n);
    return logKey(n, origin, seq, peer === undefined ? undefined : this.peers[peer]);
  }

  lastSeq(origin: number): number | undefined {
    let last: number | undefined;
    for (const key of this.byOrigin.get(origin | 0)?.keys() ?? []) if (last === undefined || key >>> 0 > last) last = key >>> 0;
    return last;
  }

  private peer(via: string): number {
    let index = this.peerIndex.get(via);
    if (index === undefined) {
      index = this.peers.length;
      this.peers.push(via);
      this.peerIndex.set(via, index);
    }
    return index;
  }
}

/** What a retention purge needs to leave a mark (see RecordStore.purge). */
export interface PurgeHorizon {
  /** Names the rules (the retention limits): a mark left under other rules is not used. */
  rules: string;
  /** The time the purge runs at. */
  now: number;
  /** When a record the purge keeps falls due (undefined: never). */
  dueAt(record: FieldRecord): number | undefined;
}

/** Meta key of the last purge's mark: `{ rules, through, due }`, the log read below arrival `through`, nothing in it due before `due`. */
const PURGE_MARK = "purged";
interface PurgeMark {
  rules: string;
  through: number;
  due: number;
}

/** A write being put together: the batch, the ids it adds, and the count and arrival number after it. */
interface Staged {
  write: ReturnType<RecordDatabase["batch"]>;
  ids: RecordIndex;
  added: RecordId[];
  count: number;
  arrival: number;
}

/** One entry of the arrival order: its number, the record, and the peer it came from (relayed). */
export interface Arrival {
  n: number;
  /** The record's id key (recordKey): what `getKeys` reads it by. */
  key: string;
  record: FieldRecord;
  via?: string;
}

/** Appends taken for one batch (a record is set to undefined once its receiver is told). */
interface Waiting {
  records: Array<FieldRecord | undefined>;
  receivers: AppendReceiver[];
  via: Array<string | undefined>;
}

/** A batch put together: its appends, its staged write, and each one's count (0: stored before). */
interface Prepared {
  batch: Waiting;
  staged: Staged;
  counts: number[];
}

/** Told how an append ended: stored or not (resolve), or refused or not written (reject). */
export interface AppendReceiver {
  /** Written (`stored`), or held already (not written again); `count`: the records stored now. Two values, not an AppendResult: no object per record. */
  resolve(stored: boolean, count: number): void;
  reject(error: unknown): void;
}

export class RecordStore {
  private readonly db: RecordDatabase;
  private readonly log;
  private readonly meta;
  private readonly evidenceLevel;
  private readonly codebook: Codebook;
  private readonly logPrefix: string;
  private readonly metaPrefix: string;
  private recordCount = 0;
  private previousCodebook: string | undefined;
  private nextArrival = 0;
  /**
   * Appends waiting for the next batch, in arrival order: side by side, not an object each (a
   * burst of thousands waits here for the write before it).
   */
  private waiting: { records: FieldRecord[]; receivers: AppendReceiver[]; via: Array<string | undefined> } = { records: [], receivers: [], via: [] };
  private flushing = false;
  /** The purge running now (one at a time). */
  private purging: Promise<number> | undefined;
  /** A write failed: LevelDB's log may be torn (see renewAfterFailure). */
  private torn = false;
  /** The running flush loop (batches are written one at a time: dedup and write never interleave). */
  private queue: Promise<void> = Promise.resolve();
  /** Where every stored record is (the dedup check, lookups by id), read at the first need: see storedIds. */
  private ids: RecordIndex | undefined;
  /** The read of the ids in progress (several readers may ask at once). */
  private idsLoading: Promise<RecordIndex> | undefined;
  private readonly arrivalListeners = new Set<(written: { first: number; last: number; relayedOnly: boolean }) => void>();

  /** Log values: the wire's log codec, sealed when the store is encrypted (cipher.ts). */
  private readonly values: ReturnType<typeof logValueCodec>;
  /** Values are sealed (bound to their id key). */
  private readonly sealed: boolean;

  private constructor(db: RecordDatabase, codebook: Codebook, cipher?: RecordCipher) {
    this.values = logValueCodec(codebook, cipher);
    this.sealed = cipher !== undefined;
    this.db = db;
    this.codebook = codebook;
    this.log = db.sublevel<string, Uint8Array>(RECORDS_SUBLEVEL, { valueEncoding: "view" });
    this.meta = db.sublevel<string, string>("meta", { valueEncoding: "utf8" });
    this.evidenceLevel = db.sublevel<string, Uint8Array>("evidence", { valueEncoding: "view" });
    this.logPrefix = this.log.prefix;
    this.metaPrefix = this.meta.prefix;
  }

  /**
   * Opens the store on a database the caller created (and will close through this store). Codes
   * in the log are read and written with `codebook`. A store written by an older meshaid (two keys
   * a record) is rewritten to the current layout first (migrate.ts; crash-safe).
   */
  static async open(db: RecordDatabase, codebook: Codebook, options: { cipher?: RecordCipher } = {}): Promise<RecordStore> {
    await db.open();
    await migrateLog(db);
    const store = new RecordStore(db, codebook, options.cipher);
    const previous = await store.meta.get("codebook");
    if (previous !== undefined && previous !== codebook.hash) store.previousCodebook = previous;
    const count = await store.meta.get("count");
    store.recordCount = count === undefined ? 0 : Number(count);
    for await (const key of store.log.keys({ reverse: true, limit: 1 })) store.nextArrival = arrivalOf(key) + 1;
    // Arrival numbers below what a purge has read are not given again (the newest records may
    // have been purged or quarantined since): the purge's mark says it read them all.
    store.nextArrival = Math.max(store.nextArrival, (await store.purgeMark())?.through ?? 0);
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
    return new Promise<AppendResult>((resolve, reject) => this.appendTo(record, { resolve: (stored, count) => resolve({ stored, count }), reject }, options));
  }

  /**
   * Like append, telling `receiver` instead of returning a promise: for a caller that appends
   * every record it hears (the station's ingest), a promise and its reactions per record cost
   * more than the write. The receiver is told once the batch is on disk.
   */
  appendTo(record: FieldRecord, receiver: AppendReceiver, options: { via?: string } = {}): void {
    this.waiting.records.push(record);
    this.waiting.receivers.push(receiver);
    this.waiting.via.push(options.via);
    if (!this.flushing) {
      this.flushing = true;
      this.queue = this.flushLoop();
    }
  }

  /**
   * One batch is written (synced, on LevelDB's thread) while the next is put together here, so a
   * burst costs the longer of its encoding and its writes, not both. The next batch is put
   * together against the ids of the one being written; if that write fails, the next is taken
   * apart and waits again (a record it took as stored already may not be).
   */
  private async flushLoop(): Promise<void> {
    // Let the appends of this turn of the event loop gather into the first batch.
    await Promise.resolve();
    let writing: { prepared: Prepared; done: Promise<void> } | undefined;
    for (;;) {
      let next: Prepared | undefined;
      if (this.waiting.records.length > 0) {
        const batch = this.take();
        try {
          next = await this.prepare(batch, writing?.prepared.staged);
        } catch (error) {
          this.fail(batch, error);
        }
      }
      if (writing) {
        try {
          await writing.done;
          this.settle(writing.prepared);
        } catch (error) {
          this.fail(writing.prepared.batch, error);
          if (next) await this.unstage(next);
          next = undefined;
        }
      }
      if (!next) {
        writing = undefined;
        if (this.waiting.records.length === 0) break;
        continue;
      }
      const done = this.commit(next.staged);
      done.catch(() => undefined); // awaited above once the next batch is put together
      writing = { prepared: next, done };
    }
    this.flushing = false;
  }

  /** The next batch of waiting appends. */
  private take(): Waiting {
    const { records, receivers, via } = this.waiting;
    return { records: records.splice(0, MAX_BATCH), receivers: receivers.splice(0, MAX_BATCH), via: via.splice(0, MAX_BATCH) };
  }

  /** Tells the appends of a batch whose write failed (those refused alone were told already). */
  private fail(batch: Waiting, error: unknown): void {
    const failure = error instanceof StoreWriteError ? error : new StoreWriteError(this.db.location, error);
    for (const [index, receiver] of batch.receivers.entries()) if (batch.records[index] !== undefined) receiver.reject(failure);
    this.torn = true;
  }

  /** Takes a batch put together behind a write that failed apart: its ids out again, its appends back at the front of the queue. */
  private async unstage(prepared: Prepared): Promise<void> {
    for (const id of prepared.staged.added) prepared.staged.ids.delete(id.origin, id.seq);
    const { records, receivers, via } = prepared.batch;
    const again = records.flatMap((record, index) => (record === undefined ? [] : [index]));
    this.waiting.records.unshift(...again.map((index) => records[index] as FieldRecord));
    this.waiting.receivers.unshift(...again.map((index) => receivers[index] as AppendReceiver));
    this.waiting.via.unshift(...again.map((index) => via[index]));
    // Closed before the database may be asked for a fresh write-ahead log (renewAfterFailure).
    await prepared.staged.write.close().catch(() => undefined);
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
  /**
   * Puts a batch of waiting appends into a staged write (after `after`, the one being written,
   * if any). A record refused alone is told at once and taken out of `batch.records`.
   */
  private async prepare(batch: Waiting, after?: Staged): Promise<Prepared> {
    await this.renewAfterFailure();
    const staged = await this.stage(after);
    const { records, receivers, via } = batch;
    // Counts of the records stored (0 for one stored before), side by side with them.
    const counts: number[] = [];
    // Indexed loops here and in settle: an iterator's entry per record is garbage a burst pays for.
    for (let index = 0; index < records.length; index += 1) {
      const outcome = this.put(staged, records[index] as FieldRecord, via[index]);
      // A record the wire cannot encode is refused alone: nothing is written for it.
      if (outcome instanceof Error) {
        records[index] = undefined;
        receivers[index]?.reject(outcome);
      }
      counts.push(typeof outcome === "number" ? outcome : 0);
    }
    return { batch, staged, counts };
  }

  /** Tells each append of a written batch how it ended, then the arrival listeners. */
  private settle({ batch, staged, counts }: Prepared): void {
    const { records, receivers, via } = batch;
    const heardAgain = this.recordCount;
    for (let index = 0; index < receivers.length; index += 1) {
      if (records[index] === undefined) continue;
      records[index] = undefined;
      const count = counts[index] as number;
      (receivers[index] as AppendReceiver).resolve(count > 0, count > 0 ? count : heardAgain);
    }
    this.notify(staged, via.every((peer) => peer !== undefined));
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
      if (this.waiting.records.length > 0) {
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
      const { origin, seq } = record.id;
      const ids = await this.storedIds();
      const old = ids.keyOf(origin, seq);
      if (old === undefined) return undefined;
      const key = idKey(origin, seq);
      const bytes = await this.log.get(old);
      const stored = bytes === undefined ? undefined : this.values.decode(bytes, key);
      if (!bytes || !stored?.ok || !shouldReplace(stored.value)) return undefined;
      const value = this.values.encode(record, key);
      const arrival = this.nextArrival;
      // One synced batch: the old entry goes (its place in the arrival order with it), the
      // evidence and the record at its new place come.
      const write = this.db.batch();
      write.del(this.logPrefix + old);
      write.put<string, Uint8Array>(`${key}!${arrivalKey(arrival)}`, bytes, { sublevel: this.evidenceLevel, valueEncoding: "view" });
      write.put(this.logPrefix + logKey(arrival, origin, seq, options.via), value);
      try {
        await write.write({ sync: true });
      } catch (error) {
        this.torn = true;
        throw new StoreWriteError(this.db.location, error);
      }
      ids.set(origin, seq, arrival, options.via);
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

  /** A new write: one chained batch on the root, with the ids known (read from the log at the first write), after `after` if given. */
  private async stage(after?: Staged): Promise<Staged> {
    const ids = await this.storedIds();
    return { write: this.db.batch(), ids, added: [], count: after?.count ?? this.recordCount, arrival: after?.arrival ?? this.nextArrival };
  }

  /**
   * Puts a record into a staged write unless its id is stored or already in this write: its
   * count once written, undefined for a record stored before, or the error that refuses it (the
   * wire cannot encode it). One key: its place in the arrival order, with its id.
   */
  private put(staged: Staged, record: FieldRecord, via: string | undefined): number | Error | undefined {
    const { origin, seq } = record.id;
    if (staged.ids.has(origin, seq)) return undefined;
    const key = logKey(staged.arrival, origin, seq, via);
    let value: Uint8Array;
    try {
      // Sealed (with --encrypt) for its id key, which stays the same wherever the entry moves
      // (without a cipher the key is not used: no slice of it made).
      value = this.values.encode(record, this.sealed ? idKeyOf(key) : key);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
    // Into the index now, so a second copy later in this write is seen; taken out if the write fails.
    staged.ids.set(origin, seq, staged.arrival, via);
    staged.added.push(record.id);
    // The root's prefix written out and values as bytes, without per-operation options:
    // abstract-level's per-operation option and sublevel handling costs several times the write.
    staged.write.put(this.logPrefix + key, value);
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
   * Where every record in the log is, read from its keys at the first need (the dedup check then
   * runs in memory, not against the disk); every write, replace and purge keeps it exact.
   */
  private storedIds(): Promise<RecordIndex> {
    if (this.ids) return Promise.resolve(this.ids);
    this.idsLoading ??= this.readIds().finally(() => {
      this.idsLoading = undefined;
    });
    return this.idsLoading;
  }

  private async readIds(): Promise<RecordIndex> {
    const ids = new RecordIndex();
    for await (const page of pages(this.log.keys(KEY_PAGE_OPTIONS), KEY_PAGE)) {
      // Sliced, not matched: a start reads 100,000 of them (the check quarantined any other shape).
      for (const key of page) ids.set(originOf(key), seqOf(key), arrivalOf(key), viaOf(key));
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
    const out: Arrival[] = [];
    for await (const [key, bytes] of this.log.iterator(after < 0 ? { limit } : { gte: arrivalKey(after + 1), limit })) {
      const place = parseLogKey(key);
      const decoded = this.values.decode(bytes, idKeyOf(key));
      if (place && decoded.ok) out.push({ n: place.n, key: idKeyOf(key), record: decoded.value, ...(place.via === undefined ? {} : { via: place.via }) });
      else onCorrupt?.({ key, reason: decoded.ok ? "not a key of this log" : decoded.error.message });
    }
    return out;
  }

  /** Like arrivalsAfter, without reading the records: the arrival number, id key and peer. */
  async arrivalKeysAfter(after: number, limit: number): Promise<Array<Omit<Arrival, "record">>> {
    const listed: Array<Omit<Arrival, "record">> = [];
    const iterator = this.log.keys(after < 0 ? { limit } : { gte: arrivalKey(after + 1), limit });
    try {
      for (;;) {
        const page = await iterator.nextv(1000);
        if (page.length === 0) break;
        for (const key of page) {
          const via = viaOf(key);
          listed.push({ n: arrivalOf(key), key: idKeyOf(key), ...(via === undefined ? {} : { via }) });
        }
      }
    } finally {
      await iterator.close();
    }
    return listed;
  }

  /** The records stored under these id keys (recordKey; undefined where none, or where it no longer decodes). */
  async getKeys(keys: string[]): Promise<Array<FieldRecord | undefined>> {
    const ids = await this.storedIds();
    const places = keys.map((key) => ids.keyOf(parseInt(key.slice(0, 8), 16), parseInt(key.slice(9, 17), 16)));
    const found = places.filter((place) => place !== undefined);
    const values = await this.log.getMany(found);
    let next = 0;
    return places.map((place) => {
      if (place === undefined) return undefined;
      const bytes = values[next++];
      const decoded = bytes === undefined ? undefined : this.values.decode(bytes, idKeyOf(place));
      return decoded?.ok ? decoded.value : undefined;
    });
  }

  /**
   * Every stored record, in arrival order, in pages: for projections (the boards). Entries that
   * no longer decode go to `onCorrupt`.
   */
  async *all(onCorrupt?: (entry: CorruptEntry) => void): AsyncGenerator<FieldRecord[]> {
    for await (const page of pages(this.log.iterator(), ENTRY_PAGE)) {
      const records: FieldRecord[] = [];
      for (const [key, bytes] of page) {
        const decoded = this.values.decode(bytes, this.sealed ? idKeyOf(key) : key); // the id key only for a sealed value
        if (decoded.ok) records.push(decoded.value);
        else onCorrupt?.({ key, reason: decoded.error.message });
      }
      yield records;
    }
  }

  /** The highest sequence number stored for `origin` (a station numbering its own records), or undefined. */
  async lastSeq(origin: number): Promise<number | undefined> {
    return (await this.storedIds()).lastSeq(origin);
  }

  async get(id: RecordId): Promise<FieldRecord | undefined> {
    const key = (await this.storedIds()).keyOf(id.origin, id.seq);
    if (key === undefined) return undefined;
    const bytes = await this.log.get(key);
    if (bytes === undefined) return undefined;
    const decoded = this.values.decode(bytes, idKeyOf(key));
    return decoded.ok ? decoded.value : undefined;
  }

  /**
   * The most recently heard records, newest first. Entries that no longer decode are reported
   * through `onCorrupt` and skipped, never silently dropped.
   */
  async recent(limit: number, onCorrupt?: (entry: CorruptEntry) => void): Promise<FieldRecord[]> {
    const records: FieldRecord[] = [];
    for await (const [key, bytes] of this.log.iterator({ reverse: true, limit })) {
      const decoded = this.values.decode(bytes, idKeyOf(key));
      if (decoded.ok) records.push(decoded.value);
      else onCorrupt?.({ key, reason: decoded.error.message });
    }
    return records;
  }

  /**
   * Deletes the records `isExpired` picks (retention limits), with their place in the arrival
   * order, in one synced batch. The log is read without holding up appends (from a snapshot, a
   * page at a time); only the delete waits for the write in progress, and takes only what is
   * still where the read saw it (a record replaced meanwhile has moved: it is read at the next
   * purge). Resolves with how many were deleted. Entries that do not decode are left alone (the
   * start check quarantines them).
   *
   * With a `horizon` (the retention rules, when each kept record falls due, and the time now) the
   * purge leaves a mark: the log read up to an arrival number, and the earliest time a record
   * kept then falls due. The next purge under the same rules before that time reads only the
   * records stored since; at or after it, or under other rules, the whole log.
   */
  purge(isExpired: (record: FieldRecord) => boolean, horizon?: PurgeHorizon): Promise<number> {
    this.purging ??= this.runPurge(isExpired, horizon).finally(() => {
      this.purging = undefined;
    });
    return this.purging;
  }

  /** The last purge's mark (see purge), if it left one that reads. */
  private async purgeMark(): Promise<PurgeMark | undefined> {
    const text = await this.meta.get(PURGE_MARK);
    try {
      const mark = text === undefined ? undefined : (JSON.parse(text) as Partial<PurgeMark>);
      return typeof mark?.rules === "string" && Number.isSafeInteger(mark.through) && typeof mark.due === "number" ? (mark as PurgeMark) : undefined;
    } catch {
      return undefined;
    }
  }

  private async runPurge(isExpired: (record: FieldRecord) => boolean, horizon: PurgeHorizon | undefined): Promise<number> {
    const mark = horizon && (await this.purgeMark());
    // Read from where the last purge stopped when nothing it read can have fallen due since.
    const from = horizon && mark && mark.rules === horizon.rules && horizon.now < mark.due ? mark.through : 0;
    let through = from;
    let due = from > 0 && mark ? mark.due : Infinity;
    const doomedKeys: string[] = [];
    for await (const page of pages(this.log.iterator(from > 0 ? { gte: arrivalKey(from) } : {}), ENTRY_PAGE)) {
      for (const [key, bytes] of page) {
        through = arrivalOf(key) + 1;
        const decoded = this.values.decode(bytes, this.sealed ? idKeyOf(key) : key); // the id key only for a sealed value
        if (!decoded.ok) continue;
        if (isExpired(decoded.value)) doomedKeys.push(key);
        else if (horizon) due = Math.min(due, horizon.dueAt(decoded.value) ?? Infinity);
      }
    }
    // Records stored after the read began have higher arrival numbers (writes commit in arrival order): the next purge reads them.
    const newMark = horizon ? JSON.stringify({ rules: horizon.rules, through, due: Number.isFinite(due) ? due : Number.MAX_VALUE }) : undefined;
    if (doomedKeys.length === 0) {
      if (newMark !== undefined) await this.meta.put(PURGE_MARK, newMark);
      return 0;
    }
    while (this.flushing) await this.queue;
    this.flushing = true;
    try {
      const ids = await this.storedIds();
      // Log keys, and the id keys of the same records (their evidence goes with them).
      const doomed = doomedKeys.filter((key) => ids.keyOf(originOf(key), seqOf(key)) === key);
      if (doomed.length === 0) return 0;
      const doomedIds = new Set(doomed.map(idKeyOf));
      const write = this.db.batch();
      for (const key of doomed) write.del(this.logPrefix + key);
      // Evidence of a replaced forgery goes with the record it was under.
      for await (const key of this.evidenceLevel.keys()) if (doomedIds.has(key.slice(0, key.lastIndexOf("!")))) write.del(key, { sublevel: this.evidenceLevel });
      const count = this.recordCount - doomed.length;
      write.put<string, string>(this.metaPrefix + "count", String(count), { valueEncoding: "utf8" });
      if (newMark !== undefined) write.put<string, string>(this.metaPrefix + PURGE_MARK, newMark, { valueEncoding: "utf8" });
      try {
        await write.write({ sync: true });
      } catch (error) {
        this.torn = true;
        throw new StoreWriteError(this.db.location, error);
      }
      this.recordCount = count;
      for (const key of doomed) ids.delete(originOf(key), seqOf(key));
      return doomed.length;
    } finally {
      this.flushing = false;
      if (this.waiting.records.length > 0) {
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
