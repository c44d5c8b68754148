// Reads the field configuration files (codebook, site plan, preset table) for the commands that
// need them. The wire folder parses; this is the only place that reads the files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCodebook, parsePresetTable, parseSitePlan, type Codebook, type PresetTable, type SitePlan } from "../wire/index.ts";
import { PACKAGE_ROOT } from "./paths.ts";

export const DEFAULT_CODEBOOK_FILE = join(PACKAGE_ROOT, "firmware-config", "codebook.yaml");
export const DEFAULT_SITE_FILE = join(PACKAGE_ROOT, "firmware-config", "site.yaml");

/** A configuration file that cannot be read: the message names it and says why. */
export class ConfigFileError extends Error {}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigFileError(`cannot read the ${what} ${file}: ${(error as Error).message}`);
  }
}

export function readCodebook(file: string): Codebook {
  return parseCodebook(read(file, "codebook"), file);
}

export function readSitePlan(file: string): SitePlan {
  return parseSitePlan(read(file, "site plan"), file);
}

export function readPresetTable(file: string, codebook: Codebook): PresetTable {
  return parsePresetTable(read(file, "preset table"), codebook, file);
}
