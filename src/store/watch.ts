// What the station's node watch knows of each node number (sublevel "watch"), so a restart does
// not forget a node's history (its hardware, role, public key and last position, against which a
// change or an impossible jump is judged) or the flags already raised. Positions are personal:
// with --encrypt every value is sealed; keys hold node numbers and counters only.
//
// Keys: `node!<node number, 8 hex digits>` -> WatchedNode as JSON;
//       `flag!<16-digit counter>` -> WatchFlag as JSON (the newest FLAGS_KEPT are kept).
import type { RecordDatabase } from "./record-store.ts";
import { textValueEncoding, type RecordCipher } from "./cipher.ts";

/** A node's history as the node watch keeps it. */
export interface WatchedNode {
  hwModel?: number;
  role?: number;
  publicKey?: string;
  lastFix?: { lat: number; lon: number; at: number };
  /** Handheld texts and base-station payloads heard from it (counted up to the first of each). */
  texts: number;
  payloads: number;
}

/** A flag raised on a node (the node watch's NodeFlag). */
export interface WatchFlag {
  num: number;
  reason: string;
  detail: string;
  at: number;
}

/** Flags kept on disk, as in memory: a hostile node cannot grow the disk either. */
const FLAGS_KEPT = 200;

export class WatchLog {
  private readonly db: RecordDatabase;
  private readonly entries;
  private nextFlag = 0;
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(db: RecordDatabase, cipher: RecordCipher | undefined) {
    this.db = db;
    this.entries = db.sublevel<string, string>("watch", { valueEncoding: textValueEncoding(cipher, "watch") });
  }

  /** Opens the node watch's memory in a database the caller opened (and closes). */
  static async open(db: RecordDatabase, options: { cipher?: RecordCipher } = {}): Promise<WatchLog> {
    await db.open();
    const log = new WatchLog(db, options.cipher);
    for await (const key of log.entries.keys({ gte: "flag!", lt: "flag!~", reverse: true, limit: 1 })) log.nextFlag = Number(key.slice("flag!".length)) + 1;
    return log;
  }

  /**
   * Every node's history and the kept flags, oldest first. Entries that do not parse (or do not
   * open with this key) go to `onCorrupt`: a node then starts without history, nothing is lost.
   */
  async load(onCorrupt?: (key: string, reason: string) => void): Promise<{ nodes: Array<{ num: number; node: WatchedNode }>; flags: WatchFlag[] }> {
    const nodes: Array<{ num: number; node: WatchedNode }> = [];
    const flags: WatchFlag[] = [];
    for await (const [key, value] of this.entries.iterator()) {
      try {
        const parsed = JSON.parse(value) as unknown;
        if (typeof parsed !== "object" || parsed === null) throw new Error("not an object");
        if (key.startsWith("node!")) {
          const node = parsed as WatchedNode;
          if (typeof node.texts !== "number" || typeof node.payloads !== "number") throw new Error("not a node's history");
          nodes.push({ num: Number.parseInt(key.slice("node!".length), 16), node });
        } else if (key.startsWith("flag!")) {
          const flag = parsed as WatchFlag;
          if (!Number.isInteger(flag.num) || typeof flag.reason !== "string" || typeof flag.detail !== "string" || typeof flag.at !== "number") throw new Error("not a flag");
          flags.push(flag);
        }
      } catch (error) {
        onCorrupt?.(key, (error as Error).message);
      }
    }
    return { nodes, flags };
  }

  /** A node's history now (not synced: after a power cut a position may be older, which only delays a flag). */
  putNode(num: number, node: WatchedNode): Promise<void> {
    const key = `node!${(num >>> 0).toString(16).padStart(8, "0")}`;
    return this.write([{ type: "put", key, value: JSON.stringify(node) }], false);
  }

  /** A flag raised; synced before it resolves. The oldest beyond the kept number goes. */
  putFlag(flag: WatchFlag): Promise<void> {
    const n = this.nextFlag;
    this.nextFlag += 1;
    const ops: Array<{ type: "put"; key: string; value: string } | { type: "del"; key: string }> = [{ type: "put", key: flagKey(n), value: JSON.stringify(flag) }];
    if (n >= FLAGS_KEPT) ops.push({ type: "del", key: flagKey(n - FLAGS_KEPT) });
    return this.write(ops, true);
  }

  /** Waits for the writes so far (before the caller closes the database). */
  async flush(): Promise<void> {
    await this.writes;
  }

  private write(ops: Array<{ type: "put"; key: string; value: string } | { type: "del"; key: string }>, sync: boolean): Promise<void> {
    const run = this.writes.then(() => this.db.batch<string, string>(ops.map((op) => ({ ...op, sublevel: this.entries })), { sync }));
    this.writes = run.catch(() => undefined);
    return run;
  }
}

function flagKey(n: number): string {
  return `flag!${String(n).padStart(16, "0")}`;
}
