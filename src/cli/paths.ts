// Where meshaid keeps its data and finds the files that ship with it.
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository (or installed package) root, where firmware-config/ and hardware/ live. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export const DEFAULT_PRESETS_FILE = join(PACKAGE_ROOT, "firmware-config", "presets.yaml");

/** $XDG_DATA_HOME/meshaid, else ~/.local/share/meshaid. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env["XDG_DATA_HOME"] || join(homedir(), ".local", "share");
  return join(base, "meshaid");
}
