// The log of records: LevelDB is the source of truth, keyed by record id so that a record heard
// twice is stored once. Everything a screen shows is rebuilt from it.
//
// Keys (sublevel "log"): `<origin 8 hex>!<seq 8 hex>` -> LoggedRecord bytes.
// Keys (sublevel "arrival"): `<16-digit arrival counter>` -> the log key, the order records were heard.
// Key "meta" / "count": the number of records, written in the same batch as each record.
// Key "meta" / "codebook": the hash of the codebook the codes in the log were written with.
import type { Level } from "level";
import { decodeLoggedRecord, encodeLoggedRecord, type Codebook, type FieldRecord, type RecordId } from "../wire/index.ts";

/** The LevelDB database (string keys, binary values) the composition root opened. */
export type RecordDatabase = Level<string, Uint8Array>;

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

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

export class RecordStore {
  private readonly db: RecordDatabase;
  private readonly log;
  private readonly arrival;
  private readonly meta;
  private readonly codebook: Codebook;
  private recordCount = 0;
  private previousCodebook: string | undefined;
  private nextArrival = 0;
  /** Appends run one at a time: the dedup check and the write must not interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(db: RecordDatabase, codebook: Codebook) {
    this.db = db;
    this.codebook = codebook;
    this.log = db.sublevel<string, Uint8Array>("log", { valueEncoding: "view" });
    this.arrival = db.sublevel<string, string>("arrival", { valueEncoding: "utf8" });
    this.meta = db.sublevel<string, string>("meta", { valueEncoding: "utf8" });
  }

  /**
   * Opens the store on a database the caller created (and will close through this store). Codes
   * in the log are read and written with `codebook`.
   */
  static async open(db: RecordDatabase, codebook: Codebook): Promise<RecordStore> {
    await db.open();
    const store = new RecordStore(db, codebook);
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
   */
  append(record: FieldRecord): Promise<AppendResult> {
    const run = this.queue.then(async (): Promise<AppendResult> => {
      const key = recordKey(record.id);
      if ((await this.log.get(key)) !== undefined) return { stored: false, count: this.recordCount };
      const value = encodeLoggedRecord(record, this.codebook); // throws for a record the wire cannot encode: nothing is written
      const arrivalKey = String(this.nextArrival).padStart(16, "0");
      await this.db.batch<string, string | Uint8Array>(
        [
          { type: "put", sublevel: this.log, key, value },
          { type: "put", sublevel: this.arrival, key: arrivalKey, value: key },
          { type: "put", sublevel: this.meta, key: "count", value: String(this.recordCount + 1) },
          { type: "put", sublevel: this.meta, key: "codebook", value: this.codebook.hash },
        ],
        { sync: true },
      );
      this.nextArrival += 1;
      this.recordCount += 1;
      return { stored: true, count: this.recordCount };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async get(id: RecordId): Promise<FieldRecord | undefined> {
    const bytes = await this.log.get(recordKey(id));
    if (bytes === undefined) return undefined;
    const decoded = decodeLoggedRecord(bytes, this.codebook);
    return decoded.ok ? decoded.value : undefined;
  }

  /**
   * The most recently heard records, newest first. Entries that no longer decode are reported
   * through `onCorrupt` and skipped, never silently dropped.
   */
  async recent(limit: number, onCorrupt?: (entry: CorruptEntry) => void): Promise<FieldRecord[]> {
    const records: FieldRecord[] = [];
    for await (const key of this.arrival.values({ reverse: true, limit })) {
      const bytes = await this.log.get(key);
      if (bytes === undefined) {
        onCorrupt?.({ key, reason: "listed in arrival order but missing from the log" });
        continue;
      }
      const decoded = decodeLoggedRecord(bytes, this.codebook);
      if (decoded.ok) records.push(decoded.value);
      else onCorrupt?.({ key, reason: decoded.error.message });
    }
    return records;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.db.close();
  }
}
