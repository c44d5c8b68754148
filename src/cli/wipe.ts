// `meshaid wipe`: destroys what a station keeps in its data folder (the database, its damaged
// copies, the keys folder and the log), overwriting each file before deleting it, then checks
// that nothing of it is left. The keys go first: with --encrypt, once the key parameters are
// gone the records cannot be read, even with the passphrase, whatever a flash disk keeps of
// overwritten blocks (an overwrite is not guaranteed to reach the cells of an SSD or SD card).
import { closeSync, existsSync, fsyncSync, lstatSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { join, resolve } from "node:path";
import { Level } from "level";
import { defaultDataDir } from "./paths.ts";
import { KEYS_FOLDER } from "./key-files.ts";

/** What meshaid writes in a data folder, the keys first. */
function targets(dataDir: string): string[] {
  const names = existsSync(dataDir) ? readdirSync(dataDir) : [];
  return [
    join(dataDir, KEYS_FOLDER),
    join(dataDir, "db"),
    ...names.filter((name) => name.startsWith("db.damaged-")).map((name) => join(dataDir, name)),
    join(dataDir, "db.clean-stop"),
    join(dataDir, "meshaid.log"),
  ].filter((path) => existsSync(path));
}

function filesUnder(path: string): string[] {
  const stat = lstatSync(path);
  if (stat.isDirectory()) return readdirSync(path).flatMap((name) => filesUnder(join(path, name)));
  return stat.isFile() ? [path] : [];
}

/** Overwrites a file with random bytes, in place, and syncs it to disk. Returns its size. */
function overwrite(file: string): number {
  const size = lstatSync(file).size;
  const fd = openSync(file, "r+");
  try {
    const chunk = Buffer.alloc(Math.min(size, 1 << 20));
    for (let at = 0; at < size; at += chunk.length) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return size;
}

export async function runWipe(options: { db?: string; yes?: boolean }, say: (line: string) => void, fail: (line: string) => void): Promise<number> {
  const dataDir = resolve(options.db ?? defaultDataDir());
  const found = targets(dataDir);
  if (found.length === 0) {
    say(`meshaid: nothing to wipe in ${dataDir}`);
    return 0;
  }
  if (!options.yes) {
    fail(`meshaid: this destroys ${found.join(", ")} for good; run again with --yes to do it`);
    return 1;
  }
  // A running station holds the database's lock: wiping under it would leave it writing.
  const dbPath = join(dataDir, "db");
  if (existsSync(join(dbPath, "LOCK"))) {
    const probe = new Level(dbPath, { createIfMissing: false });
    try {
      await probe.open();
      await probe.close();
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      if (cause?.code === "LEVEL_LOCKED") {
        fail(`meshaid: the database ${dbPath} is in use: stop the station first, then wipe`);
        return 1;
      }
    }
  }
  let files = 0;
  let bytes = 0;
  for (const target of found) {
    for (const file of filesUnder(target)) {
      bytes += overwrite(file);
      files += 1;
    }
    rmSync(target, { recursive: true, force: true });
  }
  const left = targets(dataDir);
  if (left.length > 0) {
    fail(`meshaid: could not remove ${left.join(", ")}`);
    return 1;
  }
  say(`meshaid: wiped ${dataDir}: ${files} files (${bytes} bytes) overwritten and deleted, keys first; nothing is left of the store, its keys or the log`);
  return 0;
}
