// The station's own sends (sublevel "sends"): each transmission of this station's records (to
// other base stations on meshaid's port, or as text to a handheld), where its delivery stands,
// how often it was tried and when it is tried next. What the station needs after a restart to
// keep following, and retrying, what it said. Each write is synced before it resolves.
//
// Keys: the send's id (16 digits, sortable). Values: StoredSend as JSON, bytes in base64.
import type { DeliveryState } from "../radio/index.ts";
import type { RecordId } from "../wire/index.ts";
import type { RecordDatabase } from "./record-store.ts";
import { textValueEncoding, type RecordCipher } from "./cipher.ts";

export interface StoredSend {
  /** 16 digits, increasing. */
  id: string;
  /** The records this transmission carries. */
  records: RecordId[];
  /** The transmit scheduler's priority class. */
  priority: string;
  /** What goes to the radio: a text or meshaid record bytes (base64), to whom, with or without ACK. */
  request: { text?: string; record?: string; to?: number; wantAck?: boolean };
  state: DeliveryState;
  reason?: string;
  /** How many times it was handed to the radio. */
  attempts: number;
  /** When the state last changed (ms since the epoch). */
  at: number;
  /** The radio's id for the latest attempt (its outbox keeps the entry across restarts). */
  radioId?: string;
  /** When the next attempt is due (after a failure), ms since the epoch. */
  retryAt?: number;
}

export class SendLog {
  private readonly db: RecordDatabase;
  private readonly entries;
  private last = 0;
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(db: RecordDatabase, cipher: RecordCipher | undefined) {
    this.db = db;
    this.entries = db.sublevel<string, string>("sends", { valueEncoding: textValueEncoding(cipher, "sends") });
  }

  /** Opens the log in a database the caller opened (and closes). */
  static async open(db: RecordDatabase, options: { cipher?: RecordCipher } = {}): Promise<SendLog> {
    await db.open();
    const log = new SendLog(db, options.cipher);
    for await (const key of log.entries.keys({ reverse: true, limit: 1 })) log.last = Number(key);
    return log;
  }

  /** A new send id, above every one stored. */
  nextId(): string {
    this.last += 1;
    return String(this.last).padStart(16, "0");
  }

  /** Writes a send's latest state; resolves once on disk. Writes keep their order. */
  put(send: StoredSend): Promise<void> {
    const value = JSON.stringify(send);
    const write = this.writes.then(() => this.db.batch<string, string>([{ type: "put", sublevel: this.entries, key: send.id, value }], { sync: true }));
    this.writes = write.catch(() => undefined);
    return write;
  }

  /** Forgets a send (one long settled); resolves once on disk. */
  remove(id: string): Promise<void> {
    const write = this.writes.then(() => this.db.batch<string, string>([{ type: "del", sublevel: this.entries, key: id }], { sync: true }));
    this.writes = write.catch(() => undefined);
    return write;
  }

  /** Every send, oldest first. Entries that no longer parse go to `onCorrupt`. */
  async list(onCorrupt?: (key: string, reason: string) => void): Promise<StoredSend[]> {
    const out: StoredSend[] = [];
    for await (const [key, value] of this.entries.iterator()) {
      try {
        const send = JSON.parse(value) as StoredSend;
        if (typeof send.id !== "string" || !Array.isArray(send.records)) throw new Error("not a send");
        out.push(send);
      } catch (error) {
        onCorrupt?.(key, (error as Error).message);
      }
    }
    return out;
  }

  /** Waits for pending writes. */
  async flush(): Promise<void> {
    await this.writes;
  }
}
