// The check a station runs on its log before it starts: every entry is read once; an entry that
// no longer decodes, whose key is not of the log's layout, or that holds an id already stored at
// an earlier place, is moved to the "quarantine" sublevel with the reason (never deleted, never
// shown as a record); the record count is made to agree with the log. A store in the older
// two-key layout is migrated first (migrate.ts). LevelDB itself reporting corruption while reading
// is a StoreDamagedError: the caller (which owns the files) keeps a copy of the folder and repairs
// it, then checks again.
//
// Keys (sublevel "quarantine"): the log key -> JSON { reason, hex, at }.
import type { Codebook } from "../wire/index.ts";
import { isSealed, logValueCodec, type RecordCipher } from "./cipher.ts";
import { StoreWriteError } from "./errors.ts";
import type { RecordDatabase } from "./record-store.ts";
import { idKeyOf, isLogKey, originOf, RECORDS_SUBLEVEL, seqOf } from "./layout.ts";
import { migrateLog } from "./migrate.ts";
import { ENTRY_PAGE, KEY_PAGE, KEY_PAGE_OPTIONS, pages } from "./pages.ts";

/** LevelDB found damaged blocks or tables while the log was read: the folder needs a repair. */
export class StoreDamagedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreDamagedError";
  }
}

/** The store's records are encrypted and no key was given. */
export class StoreEncryptedError extends Error {
  constructor(location: string) {
    super(`the records in ${location} are encrypted: start meshaid with --encrypt and the store's passphrase`);
    this.name = "StoreEncryptedError";
  }
}

export interface IntegrityReport {
  /** Records in the log that decode. */
  records: number;
  /** Entries moved to quarantine in this check (key and why). */
  quarantined: Array<{ key: string; reason: string }>;
  /** Entries already in quarantine before this check. */
  quarantinedBefore: number;
  /** The record count the log claimed before the check, when it differed from what is there. */
  countWas: number | undefined;
  /** Records moved from the older two-key layout in this check (migrate.ts). */
  migrated: number;
}

/** True when the report says the store had to be mended. */
export function integrityChanged(report: IntegrityReport): boolean {
  return report.quarantined.length > 0 || report.countWas !== undefined;
}

/** Whether LevelDB reported damage (a corrupt block or table) in `error` or its cause. */
export function isCorruption(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const texts = [(error as { message?: unknown }).message, cause?.message].filter((text): text is string => typeof text === "string");
  return code === "LEVEL_CORRUPTION" || cause?.code === "LEVEL_CORRUPTION" || texts.some((text) => /corrupt/i.test(text));
}

/**
 * Reads the whole log of an open database and mends what it can (see the top of this file).
 * `decode: false` (after a clean stop) reads every entry, so LevelDB still reports damage, but
 * does not decode them: the station decodes each once as it starts. `unchanged: true`: the caller
 * found the database's files byte for byte as a RecordStore closed them (after a clean stop:
 * nothing wrote to them since, nothing in them rotted), so the log is as consistent as the store
 * keeps it and is not read: the count is taken as it is.
 * Throws StoreDamagedError when LevelDB reports corruption underneath.
 */
export async function checkStore(db: RecordDatabase, codebook: Codebook, options: { now?: () => number; cipher?: RecordCipher; decode?: boolean; unchanged?: boolean } = {}): Promise<IntegrityReport> {
  const now = options.now ?? Date.now;
  const values = logValueCodec(codebook, options.cipher);
  await db.open();
  const log = db.sublevel<string, Uint8Array>(RECORDS_SUBLEVEL, { valueEncoding: "view" });
  const meta = db.sublevel<string, string>("meta", { valueEncoding: "utf8" });
  const quarantine = db.sublevel<string, string>("quarantine", { valueEncoding: "utf8" });
  const report: IntegrityReport = { records: 0, quarantined: [], quarantinedBefore: 0, countWas: undefined, migrated: 0 };
  try {
    report.migrated = await migrateLog(db, { now });
    if (options.unchanged === true && report.migrated === 0) {
      for await (const key of quarantine.keys()) if (key) report.quarantinedBefore += 1;
      report.records = Number((await meta.get("count")) ?? 0);
      return report;
    }
    // The ids of the records that stay (the first place of each): origin -> seqs.
    const good = new Map<number, Set<number>>();
    let kept = 0;
    const bad: Array<{ key: string; reason: string; bytes?: Uint8Array }> = [];
    const take = (key: string, bytes: Uint8Array | undefined): void => {
      if (!isLogKey(key)) return void bad.push({ key, reason: "a log entry whose key is not <arrival>!<origin>!<seq>", ...(bytes ? { bytes } : {}) });
      const origin = originOf(key);
      const seq = seqOf(key);
      let seqs = good.get(origin);
      if (!seqs) good.set(origin, (seqs = new Set<number>()));
      if (seqs.has(seq)) return void bad.push({ key, reason: `record ${idKeyOf(key)} is stored at an earlier place too`, ...(bytes ? { bytes } : {}) });
      if (bytes) {
        // An encrypted store opened without its key: nothing is quarantined, the caller is told.
        if (!options.cipher && isSealed(bytes)) throw new StoreEncryptedError(db.location);
        const decoded = values.decode(bytes, idKeyOf(key));
        if (!decoded.ok) return void bad.push({ key, reason: decoded.error.message, bytes });
      }
      seqs.add(seq);
      kept += 1;
    };
    // After a clean stop only the keys are read: LevelDB still reads every block (damage shows).
    // Pages, the next read (on LevelDB's thread) while this one is checked: a start reads 100,000.
    if (options.decode === false) {
      for await (const page of pages(log.keys(KEY_PAGE_OPTIONS), KEY_PAGE)) for (const key of page) take(key, undefined);
    } else {
      for await (const page of pages(log.iterator(), ENTRY_PAGE)) for (const [key, bytes] of page) take(key, bytes);
    }
    for await (const key of quarantine.keys()) if (key) report.quarantinedBefore += 1;
    const batch = db.batch();
    for (const { key, reason, bytes } of bad) {
      // A key-only read (after a clean stop) fetches the few it moves.
      const kept = bytes ?? (await log.get(key)) ?? new Uint8Array();
      batch.put<string, string>(`${quarantine.prefix}${key}`, JSON.stringify({ reason, hex: Buffer.from(kept).toString("hex"), at: now() }), { valueEncoding: "utf8" });
      batch.del(`${log.prefix}${key}`);
      report.quarantined.push({ key, reason });
    }
    report.records = kept;
    const claimed = await meta.get("count");
    if (claimed !== undefined ? Number(claimed) !== kept : kept > 0) {
      report.countWas = claimed === undefined ? 0 : Number(claimed);
      batch.put<string, string>(`${meta.prefix}count`, String(kept), { valueEncoding: "utf8" });
    }
    if (batch.length > 0) {
      try {
        await batch.write({ sync: true });
      } catch (error) {
        throw new StoreWriteError(db.location, error);
      }
    } else await batch.close();
  } catch (error) {
    if (error instanceof StoreWriteError || error instanceof StoreEncryptedError) throw error;
    if (isCorruption(error)) throw new StoreDamagedError(`LevelDB reports damage while reading the log: ${(error as Error).message}`, { cause: error });
    throw error;
  }
  return report;
}
