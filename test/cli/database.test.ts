// openDatabase against LevelDB folders damaged for real (files deleted, bytes flipped, a
// write-ahead log cut in half, a lock held): never a silent empty start; damage is told, the
// damaged folder is copied aside, LevelDB's repair runs, and what is readable is kept.
import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { DatabaseError, markCleanStop, openDatabase } from "../../src/cli/database.ts";
import { RecordStore } from "../../src/store/index.ts";
import { spawnMeshaid } from "../helpers/cli.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const RECORDS = 3000;
const FIXED_TIME = () => new Date("2026-11-25T20:00:00.000Z");

/** A store of RECORDS records, closed and reopened once so that LevelDB wrote a table file. */
async function storeIn(path: string): Promise<void> {
  const store = await RecordStore.open(new Level<string, Uint8Array>(path, { valueEncoding: "view" }), codebook);
  for (let i = 0; i < RECORDS; i += 500) await Promise.all(Array.from({ length: 500 }, (_, k) => store.append(presetRecord(0x100 + ((i + k) % 9), i + k))));
  await store.close();
  const db = new Level(path);
  await db.open();
  await db.close();
}

async function countIn(path: string): Promise<number> {
  const { db } = await openDatabase(path, codebook, { now: FIXED_TIME });
  const store = await RecordStore.open(db, codebook);
  let n = 0;
  for await (const page of store.all()) n += page.length;
  expect(store.count).toBe(n);
  await store.close();
  return n;
}

describe("openDatabase", () => {
  const dir = useTempDir();
  const db = () => join(dir.path, "db");

  it("creates an empty store in an empty folder and opens a healthy one without notices", async () => {
    const fresh = await openDatabase(db(), codebook);
    expect(fresh.notices).toEqual([]);
    await fresh.db.close();
    rmSync(db(), { recursive: true });
    await storeIn(db());
    const opened = await openDatabase(db(), codebook);
    expect(opened.notices).toEqual([]);
    expect(opened.report.records).toBe(RECORDS);
    await opened.db.close();
  });

  it("does not open a folder that lost CURRENT as a new store: it copies it aside and repairs it, keeping every record", async () => {
    await storeIn(db());
    rmSync(join(db(), "CURRENT"));
    const opened = await openDatabase(db(), codebook, { now: FIXED_TIME });
    const copy = `${db()}.damaged-2026-11-25T20-00-00-000Z`;
    expect(opened.notices[0]).toContain(`the database ${db()} was damaged`);
    expect(opened.notices[0]).toContain(`${RECORDS} records are readable`);
    expect(opened.notices[0]).toContain(copy);
    expect(readdirSync(copy).some((name) => name.endsWith(".ldb"))).toBe(true);
    await opened.db.close();
    expect(await countIn(db())).toBe(RECORDS);
  });

  it("repairs a folder that lost its MANIFEST", async () => {
    await storeIn(db());
    for (const name of readdirSync(db())) if (name.startsWith("MANIFEST-")) rmSync(join(db(), name));
    const opened = await openDatabase(db(), codebook, { now: FIXED_TIME });
    expect(opened.notices.join("\n")).toMatch(/was damaged .*MANIFEST/);
    expect(opened.report.records).toBe(RECORDS);
    await opened.db.close();
  });

  it("finds a table file with flipped bytes, keeps the damaged copy, and says how many records remain", async () => {
    await storeIn(db());
    const table = readdirSync(db()).find((name) => name.endsWith(".ldb"))!;
    const bytes = readFileSync(join(db(), table));
    for (let i = 64; i < bytes.length - 64; i += 1500) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(join(db(), table), bytes);
    const opened = await openDatabase(db(), codebook, { now: FIXED_TIME });
    const said = opened.notices.join("\n");
    expect(said).toMatch(/was damaged \(LevelDB reports damage while reading the log: .*orrupt/);
    expect(said).toContain(`${db()}.damaged-`);
    expect(said).toMatch(/\d+ records are readable/);
    expect(opened.report.records).toBeGreaterThan(0);
    expect(opened.report.records).toBeLessThan(RECORDS);
    await opened.db.close();
    // The copy still has the damaged table byte for byte, for a specialist.
    expect(readFileSync(join(`${db()}.damaged-2026-11-25T20-00-00-000Z`, table)).equals(bytes)).toBe(true);
  });

  it("says so when LevelDB drops part of a half-written write-ahead log", async () => {
    const store = await RecordStore.open(new Level<string, Uint8Array>(db(), { valueEncoding: "view" }), codebook);
    for (let i = 0; i < RECORDS; i += 500) await Promise.all(Array.from({ length: 500 }, (_, k) => store.append(presetRecord(0x100, i + k))));
    await store.close();
    const wal = readdirSync(db()).find((name) => /^\d+\.log$/.test(name))!;
    const size = readFileSync(join(db(), wal)).length;
    // Damage in the middle of the log (a torn write): LevelDB skips the damaged block.
    const bytes = readFileSync(join(db(), wal));
    for (let i = Math.floor(size / 3); i < Math.floor(size / 3) + 64; i += 1) bytes[i] = 0xee;
    writeFileSync(join(db(), wal), bytes);
    truncateSync(join(db(), wal), Math.floor(size * 0.9));
    const opened = await openDatabase(db(), codebook, { now: FIXED_TIME });
    const said = opened.notices.join("\n");
    expect(said).toContain("damaged write-ahead log");
    expect(said).toMatch(/said it held \d+ records; \d+ are there: \d+ are missing/);
    await opened.db.close();
  });

  it("refuses a folder another process holds, without touching it", async () => {
    await storeIn(db());
    const holder = new Level(db());
    await holder.open();
    try {
      await expect(openDatabase(db(), codebook)).rejects.toThrow(DatabaseError);
      await expect(openDatabase(db(), codebook)).rejects.toThrow(/is in use: is another meshaid running/);
      expect(readdirSync(dir.path)).toEqual(["db"]);
    } finally {
      await holder.close();
    }
  });

  it("meshaid start tells the operator, on a data folder whose db lost CURRENT, and starts with every record", async () => {
    await storeIn(db());
    rmSync(join(db(), "CURRENT"));
    const run = spawnMeshaid(["start", "--db", dir.path]);
    try {
      await expect.poll(run.stdout, { timeout: 15_000 }).toContain(`meshaid: the database ${db()} was damaged`);
      expect(run.stdout()).toContain(`${RECORDS} records are readable`);
      await expect.poll(run.stdout, { timeout: 15_000 }).toContain("radio: connected");
    } finally {
      run.child.kill("SIGINT");
      await run.exit;
    }
  }, 40_000);

  it("after a clean stop reads the log without decoding it; after an unclean one it decodes and quarantines", async () => {
    await storeIn(db());
    const first = await openDatabase(db(), codebook);
    const log = first.db.sublevel<string, Uint8Array>("records", { valueEncoding: "view" });
    const [damaged] = await log.keys({ limit: 1 }).all();
    await log.put(damaged!, Uint8Array.of(0xff, 0xfe));
    await first.db.close();
    markCleanStop(first.db, db());
    const clean = await openDatabase(db(), codebook);
    expect(clean.report.quarantined).toEqual([]); // not decoded: the station reports it as it reads the log
    await clean.db.close(); // no clean-stop mark this time: as after a kill -9
    const unclean = await openDatabase(db(), codebook);
    expect(unclean.report.quarantined.map((entry) => entry.key)).toEqual([damaged]);
    await unclean.db.close();
  });

  it("after a clean stop does not read a log whose files are as the stop left them; one opened since, or with bytes changed, it reads", async () => {
    await storeIn(db());
    let opened = await openDatabase(db(), codebook);
    expect(opened.read).toBe("records"); // no clean-stop mark: as after a kill -9
    await opened.db.close();
    markCleanStop(opened.db, db());
    opened = await openDatabase(db(), codebook);
    expect(opened).toMatchObject({ read: "nothing", notices: [], report: { records: RECORDS, quarantined: [], countWas: undefined } });
    await opened.db.close();
    markCleanStop(opened.db, db());
    // Another program opens the folder and writes an entry the log's layout does not know.
    const other = new Level<string, Uint8Array>(db(), { valueEncoding: "view" });
    await other.sublevel<string, Uint8Array>("records", { valueEncoding: "view" }).put("stray", Uint8Array.of(1));
    await other.close();
    opened = await openDatabase(db(), codebook);
    expect(opened).toMatchObject({ read: "keys", report: { records: RECORDS, quarantined: [{ key: "stray" }] } });
    await opened.db.close();
    markCleanStop(opened.db, db());
    // Bytes that changed on the disk after the stop: LevelDB's damage is found and repaired.
    flipBytes(db());
    opened = await openDatabase(db(), codebook, { now: FIXED_TIME });
    expect(opened.notices.join("\n")).toMatch(/was damaged \(LevelDB reports damage while reading the log: .*orrupt/);
    await opened.db.close();
  });

  it("meshaid start on a log found damaged as the station reads it says to start again, does not mark it clean, and the next start repairs it", async () => {
    await storeIn(db());
    // Damage the clean stop's mark vouches for (as a card that corrupts what it writes would leave).
    const closed = new Level<string, Uint8Array>(db(), { valueEncoding: "view" });
    await closed.open();
    await closed.close();
    flipBytes(db());
    markCleanStop(closed, db());
    const failed = spawnMeshaid(["start", "--db", dir.path]);
    expect(await failed.exit).toBe(1);
    expect(failed.stderr()).toMatch(new RegExp(`^meshaid: the database ${db()} is damaged \\(.*orrupt.*\\): start meshaid again: it checks the database and repairs it, keeping a copy of the damaged folder\n$`));
    expect(existsSync(`${db()}.clean-stop`)).toBe(false);
    const run = spawnMeshaid(["start", "--db", dir.path]);
    try {
      await expect.poll(run.stdout, { timeout: 15_000 }).toContain(`meshaid: the database ${db()} was damaged`);
      await expect.poll(run.stdout, { timeout: 15_000 }).toContain("radio: connected");
    } finally {
      run.child.kill("SIGINT");
      await run.exit;
    }
  }, 40_000);
});

/** Flips a byte every 1500 in the database's first table file. */
function flipBytes(path: string): void {
  const table = readdirSync(path).find((name) => name.endsWith(".ldb"))!;
  const bytes = readFileSync(join(path, table));
  for (let i = 64; i < bytes.length - 64; i += 1500) bytes[i] = bytes[i]! ^ 0xff;
  writeFileSync(join(path, table), bytes);
}
