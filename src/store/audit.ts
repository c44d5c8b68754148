// The audit trail (sublevel "audit"): every action taken at this station, done or refused, who,
// what, when, on which record, with purchases as procurement entries. Append-only: entries are
// never changed or deleted. Each append is one synced write, on disk before it resolves.
//
// Keys: the entry number, 16 digits. Values: AuditEntry as JSON.
import type { RecordId } from "../wire/index.ts";
import type { RecordDatabase } from "./record-store.ts";
import { textValueEncoding, type RecordCipher } from "./cipher.ts";

export interface AuditEntry {
  /** Its place in the trail (0, 1, 2 ...). */
  n: number;
  /** When (ms since the epoch, the station's clock). */
  at: number;
  station: string;
  actor: { callsign: string; role: string };
  /** The action's verb ("dispatch", "approve_purchase" ...). */
  action: string;
  outcome: "done" | "refused";
  /** Why it was refused. */
  reason?: string;
  /** The record acted on. */
  target?: RecordId;
  /** The record this station wrote for it. */
  record?: RecordId;
  /** A procurement entry: what was bought, how many, for how much, approved by `actor`. */
  purchase?: { item: string; quantity: number; cost: number; currency?: string; note?: string };
  /** Anything else the action said (an ETA, a shift's callsign). */
  detail?: Record<string, unknown>;
}

export class AuditTrail {
  private readonly db: RecordDatabase;
  private readonly entries;
  private next = 0;
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(db: RecordDatabase, cipher: RecordCipher | undefined) {
    this.db = db;
    this.entries = db.sublevel<string, string>("audit", { valueEncoding: textValueEncoding(cipher, "audit") });
  }

  /** Opens the trail in a database the caller opened (and closes). */
  static async open(db: RecordDatabase, options: { cipher?: RecordCipher } = {}): Promise<AuditTrail> {
    await db.open();
    const trail = new AuditTrail(db, options.cipher);
    for await (const key of trail.entries.keys({ reverse: true, limit: 1 })) trail.next = Number(key) + 1;
    return trail;
  }

  get size(): number {
    return this.next;
  }

  /** Appends an entry (numbered here); resolves once it is on disk. */
  append(entry: Omit<AuditEntry, "n">): Promise<AuditEntry> {
    const run = this.writes.then(async () => {
      const full: AuditEntry = { n: this.next, ...entry };
      await this.db.batch<string, string>([{ type: "put", sublevel: this.entries, key: String(full.n).padStart(16, "0"), value: JSON.stringify(full) }], { sync: true });
      this.next += 1;
      return full;
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  /** Entries, oldest first, from entry `from` on, at most `limit`. */
  async list(options: { from?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    const range = { gte: String(options.from ?? 0).padStart(16, "0"), limit: options.limit ?? 1000 };
    for await (const value of this.entries.values(range)) out.push(JSON.parse(value) as AuditEntry);
    return out;
  }
}
