// The other base stations this station knows (sublevel "peers"): when each was first and last
// heard, the newest of its own sequence numbers heard of, and which of this station's records it
// holds (runs of seqs, from its held ACKs). What group delivery and gap repair need after a
// restart. Writes keep their order; each is synced before it resolves.
//
// Keys: the station's node number, 8 hex digits. Values: StoredPeer as JSON.
import type { SeqRun } from "../wire/index.ts";
import type { RecordDatabase } from "./record-store.ts";

export interface StoredPeer {
  num: number;
  /** When first and last heard on meshaid's port (ms since the epoch). */
  firstHeard: number;
  lastHeard: number;
  /** The newest of its own seqs it has told of (0: none yet). */
  latest: number;
  /** Which of this station's records it holds. */
  holdsOurs: SeqRun[];
}

export class PeerLog {
  private readonly db: RecordDatabase;
  private readonly entries;
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(db: RecordDatabase) {
    this.db = db;
    this.entries = db.sublevel<string, string>("peers", { valueEncoding: "utf8" });
  }

  /** Opens the peers in a database the caller opened (and closes). */
  static async open(db: RecordDatabase): Promise<PeerLog> {
    await db.open();
    return new PeerLog(db);
  }

  /** Writes a peer's latest state; resolves once on disk. */
  put(peer: StoredPeer): Promise<void> {
    const key = (peer.num >>> 0).toString(16).padStart(8, "0");
    const value = JSON.stringify(peer);
    const write = this.writes.then(() => this.db.batch<string, string>([{ type: "put", sublevel: this.entries, key, value }], { sync: true }));
    this.writes = write.catch(() => undefined);
    return write;
  }

  /** Every peer. Entries that no longer parse go to `onCorrupt`. */
  async list(onCorrupt?: (key: string, reason: string) => void): Promise<StoredPeer[]> {
    const out: StoredPeer[] = [];
    for await (const [key, value] of this.entries.iterator()) {
      try {
        const peer = JSON.parse(value) as StoredPeer;
        if (!Number.isInteger(peer.num) || !Array.isArray(peer.holdsOurs)) throw new Error("not a peer");
        out.push(peer);
      } catch (error) {
        onCorrupt?.(key, (error as Error).message);
      }
    }
    return out;
  }

  async flush(): Promise<void> {
    await this.writes;
  }
}
