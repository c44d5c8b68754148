// Small deterministic helpers for the simulator: a seeded PRNG and the firmware's packet-id scheme.

/** A seeded 32-bit PRNG (mulberry32): returns floats in [0, 1). Same seed, same sequence. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max], both included. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One element of a non-empty list. */
export function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new RangeError("pick() needs a non-empty list");
  return item;
}

/**
 * The firmware's packet-id generator (Router.cpp generatePacketId): a rolling counter that
 * starts at a random 31-bit value at boot; each id is `(++counter & 0x3FF) | (random(0x7fffffff) << 10)`,
 * so the low 10 bits count and the upper 22 bits are random. Never returns 0.
 */
export function createPacketIdGenerator(random: () => number): () => number {
  let counter = Math.floor(random() * 0x7fffffff);
  return () => {
    for (;;) {
      counter = (counter + 1) >>> 0;
      const id = ((counter & 0x3ff) | (Math.floor(random() * 0x7fffffff) << 10)) >>> 0;
      if (id !== 0) return id;
    }
  };
}
