// A store in the older two-key layout is migrated at start; kill -9 during the migration, as many
// times as it takes, loses nothing and stores nothing twice: the next start finishes it.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { RecordStore } from "../../src/store/index.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";
import { twoKeyId, writeTwoKeyStore, type TwoKeyEntry } from "../helpers/two-key-store.ts";

const CHILD = fileURLToPath(new URL("./migrate-crash-child.ts", import.meta.url));
const RECORDS = 60_000;

/** Starts the child; kills it `afterMs` after it says it is migrating (unless it opened first). Resolves with whether it opened. */
function startAndKill(dir: string, afterMs: number): Promise<boolean> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir], { stdio: ["ignore", "pipe", "inherit"] });
  let opened = false;
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line === "MIGRATING") setTimeout(() => child.kill("SIGKILL"), afterMs);
    else if (line.startsWith("OPEN ")) opened = true;
  });
  return new Promise((resolve) => child.on("exit", () => resolve(opened)));
}

/** How many records each layout holds, read without migrating anything. */
async function layouts(dir: string): Promise<{ moved: number; left: number }> {
  const db = new Level<string, Uint8Array>(dir, { valueEncoding: "view" });
  await db.open();
  const moved = (await db.sublevel("records").keys().all()).length;
  const left = (await db.sublevel("log").keys().all()).length;
  await db.close();
  return { moved, left };
}

describe("migration under kill -9", () => {
  const dir = useTempDir();

  it("finishes at the next start, with every record once, in the order heard, whatever point the kills hit", async () => {
    const written: TwoKeyEntry[] = Array.from({ length: RECORDS }, (_, i) => ({ record: presetRecord(0x100 + (i % 40), i), ...(i % 9 === 4 ? { via: "north" } : {}) }));
    await writeTwoKeyStore(dir.path, written);
    const seen: Array<{ moved: number; left: number }> = [];
    for (const afterMs of [150, 300, 450, 600, 800, 1000, 1500, 2500]) {
      if (await startAndKill(dir.path, afterMs)) break;
      const state = await layouts(dir.path);
      seen.push(state);
      // Between kills each record is in exactly one layout.
      expect(state.moved + state.left).toBe(RECORDS);
      if (state.left === 0) break;
    }
    // At least one kill landed half-way (the timings leave room for a slow machine).
    expect(seen.some((state) => state.moved > 0 && state.left > 0)).toBe(true);

    const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    expect(store.count).toBe(RECORDS);
    const arrivals = await store.arrivalsAfter(-1, RECORDS + 10);
    expect(arrivals.map((entry) => entry.n)).toEqual(written.map((_, i) => i));
    expect(arrivals.map((entry) => entry.key)).toEqual(written.map((entry) => twoKeyId(entry.record)));
    expect(arrivals.map((entry) => entry.via)).toEqual(written.map((entry) => entry.via));
    await store.close();
  }, 120_000);
});
