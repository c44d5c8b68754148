// The check a station runs on its log before it starts: every entry is read once; an entry that
// no longer decodes is moved to the "quarantine" sublevel with the reason (never deleted, never
// shown as a record); the arrival index and the record count are made to agree with the log.
// LevelDB itself reporting corruption while reading is a StoreDamagedError: the caller (which
// owns the files) keeps a copy of the folder and repairs it, then checks again.
//
// Keys (sublevel "quarantine"): the log key -> JSON { reason, hex, at }.
import type { Codebook } from "../wire/index.ts";
import { isSealed, logValueCodec, type RecordCipher } from "./cipher.ts";
import { StoreWriteError } from "./errors.ts";
import type { RecordDatabase } from "./record-store.ts";

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
  /** Records that were missing from the arrival order and were appended to it. */
  arrivalAdded: number;
  /** Arrival entries that named a record no longer in the log, removed. */
  arrivalRemoved: number;
}

/** True when the report says the store had to be mended. */
export function integrityChanged(report: IntegrityReport): boolean {
  return report.quarantined.length > 0 || report.countWas !== undefined || report.arrivalAdded > 0 || report.arrivalRemoved > 0;
}

function isCorruption(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const texts = [(error as { message?: unknown }).message, cause?.message].filter((text): text is string => typeof text === "string");
  return code === "LEVEL_CORRUPTION" || cause?.code === "LEVEL_CORRUPTION" || texts.some((text) => /corrupt/i.test(text));
}

/**
 * Reads the whole log of an open database and mends what it can (see the top of this file).
 * `decode: false` (after a clean stop) reads every entry, so LevelDB still reports damage, but
 * does not decode them: the station decodes each once as it starts.
 * Throws StoreDamagedError when LevelDB reports corruption underneath.
 */
export async function checkStore(db: RecordDatabase, codebook: Codebook, options: { now?: () => number; cipher?: RecordCipher; decode?: boolean } = {}): Promise<IntegrityReport> {
  const now = options.now ?? Date.now;
  const values = logValueCodec(codebook, options.cipher);
  await db.open();
  const log = db.sublevel<string, Uint8Array>("log", { valueEncoding: "view" });
  const arrival = db.sublevel<string, string>("arrival", { valueEncoding: "utf8" });
  const meta = db.sublevel<string, string>("meta", { valueEncoding: "utf8" });
  const quarantine = db.sublevel<string, string>("quarantine", { valueEncoding: "utf8" });
  const report: IntegrityReport = { records: 0, quarantined: [], quarantinedBefore: 0, countWas: undefined, arrivalAdded: 0, arrivalRemoved: 0 };
  try {
    const good = new Set<string>();
    const bad: Array<{ key: string; reason: string; bytes: Uint8Array }> = [];
    // After a clean stop only the keys are read: LevelDB still reads every block (damage shows).
    if (options.decode === false) for await (const key of log.keys()) good.add(key);
    for await (const [key, bytes] of options.decode === false ? [] : log.iterator()) {
      // An encrypted store opened without its key: nothing is quarantined, the caller is told.
      if (!options.cipher && isSealed(bytes)) throw new StoreEncryptedError(db.location);
      const decoded = values.decode(bytes, key);
      if (decoded.ok) good.add(key);
      else bad.push({ key, reason: decoded.error.message, bytes });
    }
    for await (const key of quarantine.keys()) if (key) report.quarantinedBefore += 1;
    const listed = new Set<string>();
    const stale: string[] = [];
    let nextArrival = 0;
    for await (const [order, value] of arrival.iterator()) {
      nextArrival = Number(order) + 1;
      // A relayed record's entry is "<log key>\n<peer>": it stays as it is (the relay must not take it for this station's own).
      const key = value.split("\n")[0] ?? value;
      if (good.has(key) && !listed.has(key)) listed.add(key);
      else stale.push(order);
    }
    const batch = db.batch();
    for (const { key, reason, bytes } of bad) {
      batch.put<string, string>(`${quarantine.prefix}${key}`, JSON.stringify({ reason, hex: Buffer.from(bytes).toString("hex"), at: now() }), { valueEncoding: "utf8" });
      batch.del(`${log.prefix}${key}`);
      report.quarantined.push({ key, reason });
    }
    for (const order of stale) batch.del(`${arrival.prefix}${order}`);
    report.arrivalRemoved = stale.length;
    for (const key of good) {
      if (listed.has(key)) continue;
      batch.put<string, string>(`${arrival.prefix}${String(nextArrival).padStart(16, "0")}`, key, { valueEncoding: "utf8" });
      nextArrival += 1;
      report.arrivalAdded += 1;
    }
    report.records = good.size;
    const claimed = await meta.get("count");
    if (claimed !== undefined ? Number(claimed) !== good.size : good.size > 0) {
      report.countWas = claimed === undefined ? 0 : Number(claimed);
      batch.put<string, string>(`${meta.prefix}count`, String(good.size), { valueEncoding: "utf8" });
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
