// A store written as meshaid wrote it before the log took one key per record: sublevel "log"
// (`<origin 8 hex>!<seq 8 hex>` -> LoggedRecord bytes, sealed for that key with a cipher) and
// sublevel "arrival" (`<16-digit n>` -> the log key, "\n" and the peer for a relayed record), plus
// meta count and codebook. Written byte for byte as that version's RecordStore did.
import { Level } from "level";
import { encodeLoggedRecord, type FieldRecord } from "../../src/wire/index.ts";
import type { RecordCipher } from "../../src/store/index.ts";
import { codebook } from "./config.ts";

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, "0");
export const twoKeyId = (record: FieldRecord): string => `${hex8(record.id.origin)}!${hex8(record.id.seq)}`;

export interface TwoKeyEntry {
  record: FieldRecord;
  via?: string;
  /** Only in "log" (no place in the arrival order, as a crash in an old version could leave it). */
  unlisted?: boolean;
}

export async function writeTwoKeyStore(path: string, entries: TwoKeyEntry[], options: { cipher?: RecordCipher; staleArrivals?: string[] } = {}): Promise<void> {
  const db = new Level<string, Uint8Array>(path, { valueEncoding: "view" });
  await db.open();
  const log = db.sublevel<string, Uint8Array>("log", { valueEncoding: "view" });
  const arrival = db.sublevel<string, string>("arrival", { valueEncoding: "utf8" });
  const meta = db.sublevel<string, string>("meta", { valueEncoding: "utf8" });
  let n = 0;
  for (let start = 0; start < entries.length; start += 1000) {
    const batch = db.batch();
    for (const { record, via, unlisted } of entries.slice(start, start + 1000)) {
      const key = twoKeyId(record);
      const plain = encodeLoggedRecord(record, codebook);
      batch.put(key, options.cipher ? options.cipher.seal(plain, key) : plain, { sublevel: log });
      if (!unlisted) batch.put<string, string>(String(n++).padStart(16, "0"), via === undefined ? key : `${key}\n${via}`, { sublevel: arrival, valueEncoding: "utf8" });
    }
    await batch.write({ sync: true });
  }
  // Places naming records no longer in the log (an old version's integrity check removed those).
  for (const key of options.staleArrivals ?? []) await arrival.put(String(n++).padStart(16, "0"), key);
  await meta.put("count", String(entries.length));
  await meta.put("codebook", codebook.hash);
  await db.close();
}
