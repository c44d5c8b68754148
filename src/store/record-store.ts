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

/** One entry of the arrival order: its number, the record, and the peer it came from (relayed). */
export interface Arrival {
  n: number;
  key: string;
  record: FieldRecord;
  via?: string;
}

interface PendingAppend {
  record: FieldRecord;
  via?: string;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
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
  /**
   * Every log key stored, loaded at the first appendMany (a catch-up checks 100,000 ids against
   * the disk otherwise) and kept up to date by every write and purge from then on.
   */
  private storedKeys: Set<string> | undefined;
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
   * so the dedup check (against the batch itself and, in one read, against the disk) is exact
   * however many appends race. A record the wire cannot encode is refused alone (its append
   * rejects); the rest of its batch is written.
   */
  append(record: FieldRecord, options: { via?: string } = {}): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.waiting.push({ record, resolve, reject, ...(options.via === undefined ? {} : { via: options.via }) });
      if (!this.flushing) {
        this.flushing = true;
        this.queue = this.flushLoop();
      }
    });
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
        for (const entry of batch) if (!entry.settled) entry.reject(failure);
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
    const keys = batch.map((entry) => recordKey(entry.record.id));
    const onDisk = await this.log.getMany([...new Set(keys)]);
    const known = new Set<string>();
    for (const [index, key] of [...new Set(keys)].entries()) if (onDisk[index] !== undefined) known.add(key);
    const logPuts: Array<{ key: string; value: Uint8Array }> = [];
    const arrivalPuts: Array<{ key: string; value: string }> = [];
    const outcomes: Array<{ entry: PendingAppend; stored: boolean; count: number }> = [];
    let count = this.recordCount;
    let arrival = this.nextArrival;
    for (const [index, entry] of batch.entries()) {
      const key = keys[index] as string;
      if (known.has(key)) {
        outcomes.push({ entry, stored: false, count: -1 });
        continue;
      }
      let value: Uint8Array;
      try {
        value = this.values.encode(entry.record, key);
      } catch (error) {
        entry.settled = true;
        entry.reject(error); // nothing is written for it
        continue;
      }
      known.add(key);
      count += 1;
      logPuts.push({ key, value });
      arrivalPuts.push({ key: arrivalKey(arrival), value: entry.via === undefined ? key : `${key}\n${entry.via}` });
      arrival += 1;
      outcomes.push({ entry, stored: true, count });
    }
    if (logPuts.length > 0) {
      // One chained batch on the root with the sublevels' prefixes written out: abstract-level's
      // per-operation sublevel handling costs more than the write itself at this rate.
      const write = this.db.batch();
      for (const { key, value } of logPuts) write.put(this.logPrefix + key, value, { valueEncoding: "view" });
      for (const { key, value } of arrivalPuts) write.put<string, string>(this.arrivalPrefix + key, value, { valueEncoding: "utf8" });
      write.put<string, string>(this.metaPrefix + "count", String(count), { valueEncoding: "utf8" });
      write.put<string, string>(this.metaPrefix + "codebook", this.codebook.hash, { valueEncoding: "utf8" });
      await write.write({ sync: true });
    }
    this.recordCount = count;
    this.nextArrival = arrival;
    if (this.storedKeys) for (const { key } of logPuts) this.storedKeys.add(key);
    for (const { entry, stored, count: at } of outcomes) {
      entry.settled = true;
      entry.resolve({ stored, count: stored ? at : this.recordCount });
    }
    if (logPuts.length > 0) {
      const relayedOnly = batch.every((entry) => entry.via !== undefined);
      for (const listener of this.arrivalListeners) listener({ first: arrival - logPuts.length, last: arrival - 1, relayedOnly });
    }
  }

  /**
   * Writes many records at once (a relayed batch): one dedup read for all their keys and one
   * synced LevelDB write, with no per-record promise. Waits for the appends in progress, like a
   * purge, so the dedup stays exact. Resolves, per record in order, with its AppendResult, or the
   * error that refused it alone (a record the wire cannot encode); rejects if the write fails
   * (then nothing of it was stored).
   */
  async appendMany(records: readonly FieldRecord[], options: { via?: string } = {}): Promise<Array<AppendResult | Error>> {
    // A purge holds `flushing` without replacing `queue`: wait for it by its own promise.
    while (this.flushing) await (this.purging ?? this.queue).catch(() => undefined);
    this.flushing = true;
    let done!: () => void;
    this.queue = new Promise<void>((resolve) => (done = resolve));
    try {
      return await this.writeMany(records, options.via);
    } catch (error) {
      this.torn = true;
      throw error instanceof StoreWriteError ? error : new StoreWriteError(this.db.location, error);
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
    const keys = records.map((record) => recordKey(record.id));
    const known = await this.loadStoredKeys();
    const outcomes: Array<AppendResult | Error> = [];
    const written = new Set<string>();
    const write = this.db.batch();
    let count = this.recordCount;
    let arrival = this.nextArrival;
    const suffix = via === undefined ? "" : `\n${via}`;
    for (const [index, record] of records.entries()) {
      const key = keys[index] as string;
      if (known.has(key) || written.has(key)) {
        outcomes.push({ stored: false, count: -1 });
        continue;
      }
      let value: Uint8Array;
      try {
        value = this.values.encode(record, key);
      } catch (error) {
        outcomes.push(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      count += 1;
      written.add(key);
      write.put(this.logPrefix + key, value);
      write.put<string, string>(this.arrivalPrefix + arrivalKey(arrival), key + suffix, { valueEncoding: "utf8" });
      arrival += 1;
      outcomes.push({ stored: true, count });
    }
    if (written.size === 0) {
      await write.close();
      return outcomes.map((outcome) => (outcome instanceof Error || outcome.stored ? outcome : { stored: false, count: this.recordCount }));
    }
    write.put<string, string>(this.metaPrefix + "count", String(count), { valueEncoding: "utf8" });
    write.put<string, string>(this.metaPrefix + "codebook", this.codebook.hash, { valueEncoding: "utf8" });
    await write.write({ sync: true });
    this.recordCount = count;
    this.nextArrival = arrival;
    for (const key of written) known.add(key);
    for (const listener of this.arrivalListeners) listener({ first: arrival - written.size, last: arrival - 1, relayedOnly: via !== undefined });
    return outcomes.map((outcome) => (outcome instanceof Error || outcome.stored ? outcome : { stored: false, count }));
  }

  /**
   * Replaces the stored record with this id by `record` when `shouldReplace` says so of the stored
   * one (checked under the write lock, so nothing changes in between): a genuine record whose id a
   * forgery took first. In one synced batch the replaced bytes go to the "evidence" sublevel, the
   * log holds `record`, and it takes a new place at the end of the arrival order (its old place
   * goes: shown once, and the relay publishes the genuine record, from this station unless `via`).
   * Resolves with the record replaced, or undefined when none was stored or it was kept.
   */
  async replace(record: FieldRecord, shouldReplace: (stored: FieldRecord) => boolean, options: { via?: string } = {}): Promise<FieldRecord | undefined> {
    while (this.flushing) await (this.purging ?? this.queue).catch(() => undefined);
    this.flushing = true;
    let done!: () => void;
    this.queue = new Promise<void>((resolve) => (done = resolve));
    try {
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
    } finally {
      this.flushing = false;
      done();
      if (this.waiting.length > 0) {
        this.flushing = true;
        this.queue = this.flushLoop();
      }
    }
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

  private async loadStoredKeys(): Promise<Set<string>> {
    if (this.storedKeys) return this.storedKeys;
    const keys = new Set<string>();
    const iterator = this.log.keys();
    try {
      for (;;) {
        const page = await iterator.nextv(4096);
        if (page.length === 0) break;
        for (const key of page) keys.add(key);
      }
    } finally {
      await iterator.close();
    }
    this.storedKeys = keys;
    return keys;
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
    try {
      for (;;) {
        const page = await iterator.nextv(1000);
        if (page.length === 0) return;
        const records: FieldRecord[] = [];
        for (const [key, bytes] of page) {
          const decoded = this.values.decode(bytes, key);
          if (decoded.ok) records.push(decoded.value);
          else onCorrupt?.({ key, reason: decoded.error.message });
        }
        yield records;
      }
    } finally {
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
    for await (const value of this.arrival.values({ reverse: true, limit })) {
      const key = value.split("\n")[0] ?? value;
      const bytes = await this.log.get(key);
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
      for (const key of doomed) this.storedKeys?.delete(key);
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
