// The radio's transmit queue, as the firmware's MeshPacketQueue keeps it: packets in the late
// rebroadcast window (tx_after set) go last; otherwise the higher MeshPacket.Priority first, and
// at equal priority a packet already on the mesh (a relay) before one of our own; equal packets
// keep their arrival order. When full, a new packet may only evict a lower-priority one.
import type { AirHeader } from "./air.ts";

export interface TxEntry {
  frame: Uint8Array;
  header: AirHeader;
  /** MeshPacket.Priority (fixPriority). */
  priority: number;
  /** Originated by this node (not a relay). */
  fromUs: boolean;
  /** For a relay: the SNR it was heard at (its contention window); undefined for our own packets. */
  snr?: number;
  /** The late rebroadcast window: not before this time (ms); 0 = a normal packet. */
  txAfter: number;
  /** Our own packet: called once it went out, or with a Routing.Error if it never will. */
  done?: (error?: number) => void;
}

/** CompareMeshPacketFunc: whether `a` goes before `b`. */
function before(a: TxEntry, b: TxEntry): boolean {
  if (a.txAfter !== 0 !== (b.txAfter !== 0)) return a.txAfter === 0;
  if (a.priority !== b.priority) return a.priority > b.priority;
  return !a.fromUs && b.fromUs;
}

export class TxQueue {
  readonly maxLen: number;
  private entries: TxEntry[] = [];

  constructor(maxLen: number) {
    this.maxLen = maxLen;
  }

  get length(): number {
    return this.entries.length;
  }

  get free(): number {
    return this.maxLen - this.entries.length;
  }

  front(): TxEntry | undefined {
    return this.entries[0];
  }

  /** Takes the front packet. */
  dequeue(): TxEntry | undefined {
    return this.entries.shift();
  }

  /** Queues `entry` in order; when full, evicts a lower-priority packet for it (returned in `evicted`), or refuses it. */
  enqueue(entry: TxEntry, nowMs: number): { accepted: boolean; evicted?: TxEntry } {
    if (this.entries.length >= this.maxLen) {
      const evicted = this.evictFor(entry, nowMs);
      if (!evicted) return { accepted: false };
      this.insert(entry);
      return { accepted: true, evicted };
    }
    this.insert(entry);
    return { accepted: true };
  }

  /**
   * Removes the packet (from, id): only a normal one, only a late one, or either; with
   * `hopLimitBelow`, only if its hop_limit is lower than that.
   */
  remove(from: number, id: number, which: "normal" | "late" | "any" = "any", hopLimitBelow?: number): TxEntry | undefined {
    const index = this.entries.findIndex(
      (entry) =>
        entry.header.from === from &&
        entry.header.id === id &&
        (which === "any" || (which === "late") === (entry.txAfter !== 0)) &&
        (hopLimitBelow === undefined || entry.header.hopLimit < hopLimitBelow),
    );
    if (index < 0) return undefined;
    const [entry] = this.entries.splice(index, 1);
    return entry;
  }

  find(from: number, id: number): TxEntry | undefined {
    return this.entries.find((entry) => entry.header.from === from && entry.header.id === id);
  }

  /** Empties the queue and returns what it held. */
  clear(): TxEntry[] {
    const all = this.entries;
    this.entries = [];
    return all;
  }

  /** upper_bound: after every packet that does not go after it. */
  private insert(entry: TxEntry): void {
    let index = this.entries.findIndex((queued) => before(entry, queued));
    if (index < 0) index = this.entries.length;
    this.entries.splice(index, 0, entry);
  }

  /** MeshPacketQueue::replaceLowerPriorityPacket. */
  private evictFor(entry: TxEntry, nowMs: number): TxEntry | undefined {
    const last = this.entries.length - 1;
    const back = this.entries[last];
    if (!back) return undefined;
    if (back.txAfter === 0 && back.priority < entry.priority) return this.entries.splice(last, 1)[0];
    if (back.txAfter !== 0) {
      // The last normal packet, if it has a lower priority.
      for (let i = last; i >= 0; i--) {
        const candidate = this.entries[i]!;
        if (candidate.txAfter !== 0) continue;
        if (candidate.priority < entry.priority) return this.entries.splice(i, 1)[0];
        break;
      }
      // A late packet whose window already opened makes room for one due sooner.
      if (back.txAfter < nowMs && (entry.txAfter === 0 || back.txAfter > entry.txAfter)) return this.entries.splice(last, 1)[0];
    }
    return undefined;
  }
}
