// The radio's durable outbox in LevelDB (sublevel "outbox"): what the send queue has promised to
// send and the radio has not yet accepted. Written synchronously, so an entry whose send() has
// resolved survives kill -9 and power loss and is sent after the restart.
//
// Keys: the entry id (16 digits, sortable). Values: JSON with the payload in base64.
import type { OutboxEntry, OutboxStore } from "../radio/index.ts";
import type { RecordDatabase } from "./record-store.ts";
import { textValueEncoding, type RecordCipher } from "./cipher.ts";

interface StoredEntry {
  id: string;
  portnum: number;
  payload: string;
  to: number;
  channel: number;
  wantAck: boolean;
  hopLimit?: number;
  priority?: number;
  queuedAt: number;
}

export class LevelOutbox implements OutboxStore {
  private readonly db: RecordDatabase;
  private readonly entries;
  private readonly onCorrupt: (key: string, reason: string) => void;

  /**
   * Uses the sublevel "outbox" of a database the caller opened (and closes). Entries that no
   * longer decode are reported through `onCorrupt` and skipped by list(), never deleted.
   */
  constructor(db: RecordDatabase, onCorrupt: (key: string, reason: string) => void = () => undefined, options: { cipher?: RecordCipher } = {}) {
    this.db = db;
    this.entries = db.sublevel<string, string>("outbox", { valueEncoding: textValueEncoding(options.cipher, "outbox") });
    this.onCorrupt = onCorrupt;
  }

  async put(entry: OutboxEntry): Promise<void> {
    const stored: StoredEntry = { ...entry, payload: Buffer.from(entry.payload).toString("base64") };
    // Through the root database: only its batch takes `sync` (written to disk before it resolves).
    await this.db.batch<string, string>([{ type: "put", sublevel: this.entries, key: entry.id, value: JSON.stringify(stored) }], { sync: true });
  }

  async remove(id: string): Promise<void> {
    await this.db.batch<string, string>([{ type: "del", sublevel: this.entries, key: id }], { sync: true });
  }

  async list(): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    for await (const [key, value] of this.entries.iterator()) {
      const entry = parseEntry(value);
      if (entry && entry.id === key) out.push(entry);
      else this.onCorrupt(key, "outbox entry does not decode");
    }
    return out;
  }
}

function parseEntry(text: string): OutboxEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = value as Partial<StoredEntry> | null;
  if (
    !v ||
    typeof v.id !== "string" ||
    typeof v.portnum !== "number" ||
    typeof v.payload !== "string" ||
    typeof v.to !== "number" ||
    typeof v.channel !== "number" ||
    typeof v.wantAck !== "boolean" ||
    typeof v.queuedAt !== "number" ||
    (v.hopLimit !== undefined && typeof v.hopLimit !== "number") ||
    (v.priority !== undefined && typeof v.priority !== "number")
  ) {
    return undefined;
  }
  return { id: v.id, portnum: v.portnum, payload: new Uint8Array(Buffer.from(v.payload, "base64")), to: v.to, channel: v.channel, wantAck: v.wantAck, ...(v.hopLimit !== undefined ? { hopLimit: v.hopLimit } : {}), ...(v.priority !== undefined ? { priority: v.priority } : {}), queuedAt: v.queuedAt };
}
