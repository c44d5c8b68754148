// A map that is never changed, only extended into a new one: the boards keep one entry per
// request, incident and shift for a whole day of traffic, and a record arriving must not copy them
// all. The entries are spread over shards by a hash of the key; a change copies one shard (a few
// dozen entries at 100,000 records) and the list of shards, and shares the rest.

/** Shards: enough that each stays small with a day of traffic; few enough to copy the list cheaply. */
const SHARDS = 256;

/** FNV-1a over the key's UTF-16 code units: fast and well spread for short ids. */
function shardOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % SHARDS;
}

const NO_SHARDS: readonly (ReadonlyMap<string, never> | undefined)[] = new Array<undefined>(SHARDS).fill(undefined);

export class PersistentMap<V> implements Iterable<[string, V]> {
  private readonly shards: readonly (ReadonlyMap<string, V> | undefined)[];
  readonly size: number;

  private constructor(shards: readonly (ReadonlyMap<string, V> | undefined)[], size: number) {
    this.shards = shards;
    this.size = size;
  }

  static empty<V>(): PersistentMap<V> {
    return new PersistentMap<V>(NO_SHARDS, 0);
  }

  get(key: string): V | undefined {
    return this.shards[shardOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.shards[shardOf(key)]?.has(key) ?? false;
  }

  /** Changes made to a draft touch only copies; `done()` gives the new map (this one is unchanged). */
  draft(): MapDraft<V> {
    return new MapDraft(this, this.shards, this.size, (shards, size) => new PersistentMap(shards, size));
  }

  /** A new map with `key` set to `value`. */
  set(key: string, value: V): PersistentMap<V> {
    const draft = this.draft();
    draft.set(key, value);
    return draft.done();
  }

  *entries(): IterableIterator<[string, V]> {
    for (const shard of this.shards) if (shard) yield* shard.entries();
  }

  *values(): IterableIterator<V> {
    for (const shard of this.shards) if (shard) yield* shard.values();
  }

  *keys(): IterableIterator<string> {
    for (const shard of this.shards) if (shard) yield* shard.keys();
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}

export class MapDraft<V> {
  private shards: (ReadonlyMap<string, V> | undefined)[] | undefined;
  private base: readonly (ReadonlyMap<string, V> | undefined)[];
  private readonly copied = new Set<number>();
  private size: number;
  private readonly make: (shards: readonly (ReadonlyMap<string, V> | undefined)[], size: number) => PersistentMap<V>;
  private origin: PersistentMap<V>;

  constructor(origin: PersistentMap<V>, base: readonly (ReadonlyMap<string, V> | undefined)[], size: number, make: (shards: readonly (ReadonlyMap<string, V> | undefined)[], size: number) => PersistentMap<V>) {
    this.origin = origin;
    this.base = base;
    this.size = size;
    this.make = make;
  }

  get(key: string): V | undefined {
    return (this.shards ?? this.base)[shardOf(key)]?.get(key);
  }

  set(key: string, value: V): void {
    const index = shardOf(key);
    this.shards ??= this.base.slice();
    let shard = this.shards[index] as Map<string, V> | undefined;
    if (!this.copied.has(index)) {
      shard = new Map(shard);
      this.shards[index] = shard;
      this.copied.add(index);
    }
    if (!shard!.has(key)) this.size += 1;
    shard!.set(key, value);
  }

  /** The new map; the same map when nothing was set (so caches keyed by it still hold). */
  done(): PersistentMap<V> {
    const shards = this.shards;
    if (shards === undefined) return this.origin;
    // The map given is never changed: later changes to this draft start from copies again.
    this.origin = this.make(shards, this.size);
    this.base = shards;
    this.shards = undefined;
    this.copied.clear();
    return this.origin;
  }
}
