// Opens the station's LevelDB folder and makes sure what it opens is the store that was there.
//
// A folder that holds LevelDB files is never opened as a new, empty store: LevelDB would do that
// when CURRENT is lost (and keep only what its write-ahead log still holds). A folder that does
// not open, or whose log LevelDB reports as corrupt while it is read, is copied aside first
// (`<db>.damaged-<time>`, nothing is lost to the repair) and repaired with LevelDB's own repair;
// entries that no longer decode go to quarantine (store's checkStore). Every step is told to the
// operator in one line each.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";
import { checkStore, integrityChanged, StoreDamagedError, type IntegrityReport, type RecordCipher, type RecordDatabase } from "../store/index.ts";
import type { Codebook } from "../wire/index.ts";

/**
 * The station's LevelDB. After a write fails (a full disk), LevelDB goes on appending to a
 * write-ahead log whose tail is torn, and at the next open it drops every record written after
 * the tear: records already acknowledged. So after a failed write the store calls renewLog():
 * the database is closed and opened again (a fresh log; the torn tail held only the write that
 * failed), and the sublevels that were open are opened again. While it cannot reopen (the disk is
 * still full), writes fail and renewLog is tried again before the next one.
 */
export class DurableLevel extends Level<string, Uint8Array> {
  private readonly sublevels = new Set<{ status: string; open(): Promise<void> }>();
  private renewing: Promise<void> | undefined;

  override attachResource(resource: Parameters<Level<string, Uint8Array>["attachResource"]>[0]): void {
    super.attachResource(resource);
    const candidate = resource as unknown as { prefix?: unknown; open?: unknown; status?: unknown };
    if (typeof candidate.prefix === "string" && typeof candidate.open === "function") this.sublevels.add(resource as unknown as { status: string; open(): Promise<void> });
  }

  /** Closes and reopens the database and the sublevels that were open (one renewal at a time). */
  renewLog(): Promise<void> {
    this.renewing ??= (async () => {
      const wereOpen = [...this.sublevels].filter((sublevel) => sublevel.status === "open" || sublevel.status === "closed");
      if (this.status === "open") await this.close();
      await this.open();
      for (const sublevel of wereOpen) if (sublevel.status !== "open") await sublevel.open();
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }
}

/** The database cannot be used; the message names the folder and what to try. */
export class DatabaseError extends Error {}

export interface OpenedDatabase {
  db: RecordDatabase;
  /** What the operator must be told: damage found, repairs made, where the damaged copy is. */
  notices: string[];
  report: IntegrityReport;
  /** What the check read of the log: nothing (its files were as the last clean stop left them), its keys (after a clean stop), or every record decoded. */
  read: "nothing" | "keys" | "records";
}

/** Written next to the database once it is closed cleanly; removed when it is opened. */
function cleanMarker(path: string): string {
  return `${path}.clean-stop`;
}

/**
 * Marks the database at `path` as stopped cleanly, if it is closed (start's last cleanup), with a
 * hash of its files: the next start finds them unchanged, or reads the log (see openDatabase).
 */
export function markCleanStop(db: RecordDatabase, path: string): void {
  if (db.status === "closed") writeFileSync(cleanMarker(path), `meshaid stopped cleanly\nfiles ${filesHash(path)}\n`, { flush: true });
}

/**
 * The database's files (tables, write-ahead logs, manifests, CURRENT; not LOCK or the text LOGs),
 * names, sizes and bytes, hashed. Any open by any LevelDB writes a new log file and manifest, so a
 * database opened since (another tool, an older meshaid) hashes differently, as do bytes that rotted.
 * A few milliseconds for 100,000 records (3.6 MB); reading their keys takes ~0.3 s.
 */
function filesHash(path: string): string {
  const hash = createHash("sha256");
  for (const name of readdirSync(path).filter(isLevelFile).sort()) {
    const bytes = readFileSync(join(path, name));
    hash.update(`${name}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest("hex");
}

function isLevelFile(name: string): boolean {
  return /^\d+\.(log|ldb|sst)$/.test(name) || name.startsWith("MANIFEST-") || name === "CURRENT";
}

/** How the last stop left the database: clean, with the hash of its files then (older marks have none); undefined after a crash. */
function readCleanMark(path: string): { files: string | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(cleanMarker(path), "utf8");
  } catch {
    return undefined;
  }
  return { files: /^files ([0-9a-f]{64})$/m.exec(text)?.[1] };
}

/** LevelDB's own files (tables, write-ahead logs, manifests, CURRENT); not LOCK or its text LOG. */
function holdsLevelData(path: string): boolean {
  if (!existsSync(path)) return false;
  return readdirSync(path).some(isLevelFile);
}

function causeOf(error: unknown): { code?: string; message: string } {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return { code: cause?.code ?? (error as { code?: string }).code, message: cause?.message ?? (error as Error).message };
}

async function openExisting(path: string): Promise<RecordDatabase> {
  const db = new DurableLevel(path, { valueEncoding: "view", createIfMissing: false });
  try {
    await db.open();
    return db;
  } catch (error) {
    const cause = causeOf(error);
    if (cause.code === "LEVEL_LOCKED" || /lock/i.test(cause.message)) {
      throw new DatabaseError(`the database ${path} is in use: is another meshaid running with this data folder? (${cause.message})`);
    }
    if (/corrupt|does not exist|no such file|manifest|current/i.test(cause.message)) throw new StoreDamagedError(cause.message, { cause: error });
    throw new DatabaseError(cannotOpen(path, cause.message));
  }
}

/** Why a database folder does not open, with what to try for a full disk or a read-only folder. */
function cannotOpen(path: string, why: string): string {
  const hint = /read-only/i.test(why) ? ": the folder is read-only; make it writable or choose another with --db" : /no space/i.test(why) ? ": the disk is full; free some space" : "";
  return `cannot open the database ${path} (${why})${hint}`;
}

/** Lines LevelDB wrote to its info log (`<db>/LOG`, new at each open) about damage it skipped. */
function damageLevelDbSkipped(path: string): string[] {
  try {
    return readFileSync(`${path}/LOG`, "utf8")
      .split("\n")
      .filter((line) => /corruption|dropping/i.test(line));
  } catch {
    return [];
  }
}

/**
 * Opens (or creates, for a folder without LevelDB files) the database at `path` and checks its
 * log. `now` names the damaged copy.
 */
export async function openDatabase(path: string, codebook: Codebook, options: { now?: () => Date; cipher?: RecordCipher } = {}): Promise<OpenedDatabase> {
  const now = options.now ?? (() => new Date());
  // After a clean stop the log is not decoded at start (the station reads it once to build its
  // boards and reports what does not decode), and when the database's files are byte for byte
  // what that stop left, not read at all; after a crash, a kill or a power cut it is decoded.
  // (The files are hashed before LevelDB opens them: an open writes new ones.)
  const mark = readCleanMark(path);
  const unchanged = mark?.files !== undefined && holdsLevelData(path) && filesHash(path) === mark.files;
  rmSync(cleanMarker(path), { force: true });
  const check = { ...(options.cipher ? { cipher: options.cipher } : {}), ...(mark ? { decode: false } : {}), ...(unchanged ? { unchanged } : {}) };
  const notices: string[] = [];
  if (!holdsLevelData(path)) {
    const db = new DurableLevel(path, { valueEncoding: "view" });
    try {
      await db.open();
    } catch (error) {
      throw new DatabaseError(cannotOpen(path, causeOf(error).message));
    }
    return { db, notices, report: await checkStore(db, codebook, check), read: mark ? "keys" : "records" };
  }
  let db: RecordDatabase | undefined;
  let damage: string | undefined;
  try {
    db = await openExisting(path);
    const skipped = damageLevelDbSkipped(path);
    if (skipped.length > 0) {
      notices.push(`the database ${path} had a damaged write-ahead log: LevelDB skipped ${skipped.length} damaged part(s) while opening it (details in ${path}/LOG); records written just before the damage may be missing`);
    }
    const report = await checkStore(db, codebook, check);
    describe(report, path, notices);
    return { db, notices, report, read: unchanged ? "nothing" : mark ? "keys" : "records" };
  } catch (error) {
    if (!(error instanceof StoreDamagedError)) {
      await db?.close();
      throw error;
    }
    damage = error.message;
    await db?.close();
  }
  const copy = `${path}.damaged-${now().toISOString().replace(/[:.]/g, "-")}`;
  try {
    cpSync(path, copy, { recursive: true });
  } catch (error) {
    throw new DatabaseError(`the database ${path} is damaged (${damage}) and could not be copied aside to ${copy} before a repair: ${(error as Error).message}; free some disk space and start again`);
  }
  let repaired = "it was repaired";
  try {
    await repairLevelDb(path);
  } catch (error) {
    // LevelDB's repair can abort the process on some damage (an assertion in leveldb 1.20), so it
    // runs in a child; when it fails, what still reads is copied into a fresh folder instead.
    repaired = `LevelDB's repair failed (${(error as Error).message}), so what still reads was copied into a fresh database: ${await salvage(copy, path)} entries`;
  }
  try {
    db = await openExisting(path);
    const report = await checkStore(db, codebook, { ...check, unchanged: false });
    notices.push(`the database ${path} was damaged (${damage}); ${repaired}, and ${report.records} records are readable; the damaged folder is kept as ${copy}`);
    describe(report, path, notices);
    return { db, notices, report, read: mark ? "keys" : "records" };
  } catch (error) {
    await db?.close();
    throw new DatabaseError(`the database ${path} is damaged (${damage}) and could not be mended (${causeOf(error).message}); the damaged folder is kept as ${copy}: move ${path} away to start with an empty store, and keep the copy`);
  }
}

/**
 * Copies every entry of the database at `from` that still reads into a new database at `to`:
 * forwards from the start up to the first damage, and backwards from the end down to it.
 */
async function salvage(from: string, to: string): Promise<number> {
  rmSync(to, { recursive: true, force: true });
  const source = new Level<string, Uint8Array>(from, { valueEncoding: "view", createIfMissing: false });
  const target = new Level<string, Uint8Array>(to, { valueEncoding: "view" });
  await source.open();
  await target.open();
  const copied = new Set<string>();
  try {
    for (const reverse of [false, true]) {
      try {
        for await (const [key, value] of source.iterator({ reverse })) {
          if (copied.has(key)) break;
          copied.add(key);
          await target.put(key, value);
        }
      } catch {
        // the damaged part: stop this direction here
      }
    }
  } finally {
    await source.close();
    await target.close();
  }
  return copied.size;
}

/**
 * LevelDB's RepairDB, in a child process: on some damage leveldb 1.20 fails an assertion and
 * aborts, which must not take the station with it. (`level` is classic-level on Node.)
 */
async function repairLevelDb(path: string): Promise<void> {
  const script = `const { Level } = await import(${JSON.stringify(import.meta.resolve("level"))}); await Level.repair(process.argv[1]);`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script, path], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(signal ? `it crashed (${signal}): ${lastLine(stderr)}` : `exit ${code}: ${lastLine(stderr)}`);
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).at(-1)?.slice(0, 300) ?? "";
}

function describe(report: IntegrityReport, path: string, notices: string[]): void {
  if (!integrityChanged(report)) return;
  if (report.quarantined.length > 0) notices.push(`${report.quarantined.length} stored record(s) in ${path} no longer decode: moved to quarantine (kept, not shown); their keys are in the log file`);
  if (report.countWas !== undefined && report.countWas > report.records) notices.push(`the database ${path} said it held ${report.countWas} records; ${report.records} are there: ${report.countWas - report.records} are missing`);
}
