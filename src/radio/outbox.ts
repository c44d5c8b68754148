// What the send queue needs from durable storage, and an in-memory implementation (tests, tools
// that need no disk). The LevelDB implementation is src/store/outbox.ts.

/** One packet waiting for the radio to accept it. */
export interface OutboxEntry {
  /** Sortable: the outbox lists entries in id order, which is the order they were queued. */
  id: string;
  portnum: number;
  payload: Uint8Array;
  /** Destination node number (0xFFFFFFFF = broadcast). */
  to: number;
  /** Channel index 0..7. */
  channel: number;
  wantAck: boolean;
  /** hop_limit asked for this packet (else the radio's). */
  hopLimit?: number;
  /** MeshPacket.priority asked for this packet (else the firmware's). */
  priority?: number;
  /** When send() was called (ms since the epoch). */
  queuedAt: number;
}

/**
 * The durable outbox. `put` resolves only once the entry is on disk; `remove` once it is gone;
 * `list` gives every entry in id order. An entry is removed when the radio has accepted it
 * (or reported it can never send it), so after a crash or a lost link everything listed is sent.
 */
export interface OutboxStore {
  put(entry: OutboxEntry): Promise<void>;
  remove(id: string): Promise<void>;
  list(): Promise<OutboxEntry[]>;
}

export class MemoryOutbox implements OutboxStore {
  private readonly entries = new Map<string, OutboxEntry>();

  put(entry: OutboxEntry): Promise<void> {
    this.entries.set(entry.id, { ...entry, payload: entry.payload.slice() });
    return Promise.resolve();
  }

  remove(id: string): Promise<void> {
    this.entries.delete(id);
    return Promise.resolve();
  }

  list(): Promise<OutboxEntry[]> {
    const sorted = [...this.entries.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return Promise.resolve(sorted.map((entry) => ({ ...entry, payload: entry.payload.slice() })));
  }
}

/**
 * Packet ids as the firmware makes them (Router.cpp generatePacketId): a rolling 10-bit counter
 * from a random start in the low bits, 22 random bits above. Never 0, and never one of the last
 * `remember` ids it gave (the radio silently drops a packet whose id repeats one of the last 20).
 */
export function createPacketIds(random: () => number = Math.random, remember = 64): () => number {
  let counter = Math.floor(random() * 0x7fffffff);
  const recent: number[] = [];
  return () => {
    for (;;) {
      counter = (counter + 1) >>> 0;
      const id = ((counter & 0x3ff) | (Math.floor(random() * 0x400000) << 10)) >>> 0;
      if (id === 0 || recent.includes(id)) continue;
      recent.push(id);
      if (recent.length > remember) recent.shift();
      return id;
    }
  };
}
