// Reading a LevelDB iterator a page at a time, the next page read (on LevelDB's thread) while this
// one is used: the replay, the id index, the purge and the start check each read 100,000 records.

/** Log keys read a page at a time (a key is about 35 bytes). */
export const KEY_PAGE = 10_000;
/** Keys for a key iterator: classic-level ends a page at 16 KiB unless told (highWaterMarkBytes is its option). */
export const KEY_PAGE_OPTIONS = { limit: -1, highWaterMarkBytes: 48 * KEY_PAGE };
/** Entries (key and value) read a page at a time. */
export const ENTRY_PAGE = 2_000;

/** The iterator's items a page of `size` at a time; the iterator is closed when the reader stops, early or not. */
export async function* pages<T>(iterator: { nextv(size: number): Promise<T[]>; close(): Promise<void> }, size: number): AsyncGenerator<T[]> {
  let next: Promise<T[]> | undefined;
  try {
    next = iterator.nextv(size);
    for (;;) {
      const page = await next;
      if (page.length === 0) return;
      next = iterator.nextv(size);
      yield page;
    }
  } finally {
    await next?.catch(() => undefined); // a reader that stopped early leaves one read in flight
    await iterator.close();
  }
}
