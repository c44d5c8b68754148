// Reads the field configuration files (codebook, site plan, preset table) for the commands that
// need them. The wire folder parses; this is the only place that reads the files.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { codebookData, codebookFromData, parsePresetTable, parseSitePlan, type Codebook, type PresetTable, type SitePlan } from "../wire/index.ts";
import { PACKAGE_ROOT } from "./paths.ts";

export const DEFAULT_CODEBOOK_FILE = join(PACKAGE_ROOT, "firmware-config", "codebook.yaml");
export const DEFAULT_SITE_FILE = join(PACKAGE_ROOT, "firmware-config", "site.yaml");

/**
 * Where codebooks read from YAML are kept as JSON, named by a hash of their text and of the YAML
 * reader's version. The 22 KB codebook parses in ~10 ms once the yaml library's code is warm, but
 * in a fresh process, which every `meshaid start`, `export`, `parse` and `console` is, it took
 * 100-200 ms and as much again in garbage collection; JSON reads in well under a millisecond.
 * A name is its content, so checkouts share the folder; the data is validated at every read.
 */
export const CODEBOOK_CACHE_DIR = join(PACKAGE_ROOT, "node_modules", ".cache", "meshaid", "codebooks");
/** Codebooks kept (the most recently written). */
const KEEP_CODEBOOKS = 8;

/** A configuration file that cannot be read: the message names it and says why. */
export class ConfigFileError extends Error {}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigFileError(`cannot read the ${what} ${file}: ${(error as Error).message}`);
  }
}

export function readCodebook(file: string, options: { cacheDir?: string } = {}): Codebook {
  const text = read(file, "codebook");
  const cacheDir = options.cacheDir ?? CODEBOOK_CACHE_DIR;
  const yamlVersion = (createRequire(import.meta.url)("yaml/package.json") as { version: string }).version;
  const kept = join(cacheDir, `${createHash("sha256").update(`yaml ${yamlVersion}\0`).update(text).digest("hex").slice(0, 32)}.json`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(kept, "utf8"));
  } catch {
    // Not kept yet, or cut short: read from the YAML.
    data = codebookData(text, file);
    const codebook = codebookFromData(data, file); // only a valid codebook is kept
    keep(cacheDir, kept, data);
    return codebook;
  }
  return codebookFromData(data, file);
}

/** Writes `data` as JSON to `file` (whole or not at all), unless JSON cannot hold it; drops the oldest beyond KEEP_CODEBOOKS. */
function keep(cacheDir: string, file: string, data: unknown): void {
  let json: string;
  try {
    json = JSON.stringify(data, (_key, value: unknown) => {
      if (typeof value === "number" && !Number.isFinite(value)) throw new RangeError("not a JSON number");
      return value;
    });
  } catch {
    return;
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, json);
    renameSync(temp, file);
    const codebooks = readdirSync(cacheDir)
      .filter((name) => name.endsWith(".json"))
      .map((name) => ({ path: join(cacheDir, name), mtimeMs: statSync(join(cacheDir, name)).mtimeMs }))
      .sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const old of codebooks.slice(KEEP_CODEBOOKS)) rmSync(old.path, { force: true });
  } catch {
    // A cache that cannot be written (an installed copy, a full disk): the YAML is read each time.
  }
}

export function readSitePlan(file: string): SitePlan {
  return parseSitePlan(read(file, "site plan"), file);
}

export function readPresetTable(file: string, codebook: Codebook): PresetTable {
  return parsePresetTable(read(file, "preset table"), codebook, file);
}
