// Stores written before the log took one key per record kept two: sublevel "log" (`<origin>!<seq>`
// -> value) and sublevel "arrival" (`<16-digit n>` -> the log key, "\n" and the peer for a relayed
// record). migrateLog moves every record to the current layout (layout.ts) at open, keeping its
// arrival number (the relay's cursor counts in them) and its value byte for byte (a sealed value
// is bound to its id key, which does not change).
//
// Crash-safe: each synced batch moves some records whole (the new key in, both old keys out), so
// a migration cut off anywhere leaves every record in exactly one layout, and the next open goes
// on from there. Nothing is dropped: an old entry whose key is not an id goes to quarantine.
import { StoreWriteError } from "./errors.ts";
import { arrivalOf, logKey, RECORDS_SUBLEVEL } from "./layout.ts";
import type { RecordDatabase } from "./record-store.ts";

const OLD_ID_KEY = /^([0-9a-f]{8})!([0-9a-f]{8})$/;

/** Records moved per synced batch. */
const CHUNK = 4096;

export interface MigrateOptions {
  /** Records moved per synced batch. */
  chunk?: number;
  /** When an old entry went to quarantine (ms since the epoch). */
  now?: () => number;
}

/** Moves a store's records from the two-key layout to the current one; resolves with how many moved (0 for a store already in it). */
export async function migrateLog(db: RecordDatabase, options: MigrateOptions = {}): Promise<number> {
  const chunk = options.chunk ?? CHUNK;
  const now = options.now ?? Date.now;
  const log = db.sublevel<string, Uint8Array>("log", { valueEncoding: "view" });
  const arrival = db.sublevel<string, string>("arrival", { valueEncoding: "utf8" });
  const records = db.sublevel<string, Uint8Array>(RECORDS_SUBLEVEL, { valueEncoding: "view" });
  const quarantine = db.sublevel<string, string>("quarantine", { valueEncoding: "utf8" });
  const meta = db.sublevel<string, string>("meta", { valueEncoding: "utf8" });
  let moved = 0;
  const write = async (batch: ReturnType<RecordDatabase["batch"]>): Promise<void> => {
    try {
      await batch.write({ sync: true });
    } catch (error) {
      throw new StoreWriteError(db.location, error);
    }
  };
  // The arrival order first: each record keeps its number (a batch always reads from the start,
  // since the last one deleted what it moved).
  for (;;) {
    const page = await arrival.iterator({ limit: chunk }).all();
    if (page.length === 0) break;
    const listed = page.map(([order, value]) => {
      const cut = value.indexOf("\n");
      return { order, id: cut < 0 ? value : value.slice(0, cut), via: cut < 0 ? undefined : value.slice(cut + 1) };
    });
    const values = await log.getMany(listed.map((entry) => entry.id));
    const batch = db.batch();
    const taken = new Set<string>();
    for (const [index, { order, id, via }] of listed.entries()) {
      batch.del(arrival.prefix + order);
      const bytes = values[index];
      const parsed = OLD_ID_KEY.exec(id);
      // Listed twice, or no longer in the log: only the stale place goes (the old check did the same).
      if (bytes === undefined || !parsed || taken.has(id)) continue;
      taken.add(id);
      batch.put(records.prefix + logKey(Number(order), parseInt(parsed[1]!, 16), parseInt(parsed[2]!, 16), via === "" ? undefined : via), bytes);
      batch.del(log.prefix + id);
      moved += 1;
    }
    await write(batch);
  }
  // Records in the log with no place in the arrival order go after the last.
  let next = 0;
  for await (const key of records.keys({ reverse: true, limit: 1 })) next = arrivalOf(key) + 1;
  for (;;) {
    const page = await log.iterator({ limit: chunk }).all();
    if (page.length === 0) break;
    const batch = db.batch();
    let quarantined = 0;
    for (const [id, bytes] of page) {
      batch.del(log.prefix + id);
      const parsed = OLD_ID_KEY.exec(id);
      if (parsed) {
        batch.put(records.prefix + logKey(next, parseInt(parsed[1]!, 16), parseInt(parsed[2]!, 16)), bytes);
        next += 1;
        moved += 1;
      } else {
        batch.put<string, string>(quarantine.prefix + id, JSON.stringify({ reason: "a log entry whose key is not a record id", hex: Buffer.from(bytes).toString("hex"), at: now() }), { valueEncoding: "utf8" });
        quarantined += 1;
      }
    }
    if (quarantined > 0) {
      const count = Number((await meta.get("count")) ?? 0);
      batch.put<string, string>(meta.prefix + "count", String(Math.max(0, count - quarantined)), { valueEncoding: "utf8" });
    }
    await write(batch);
  }
  return moved;
}
