// The key files under <data dir>/keys and how they are read: what `meshaid start` needs of the
// keys (the coalition secret), apart from keys.ts, which also makes keys and signs with Ed25519
// (@noble/curves): a start without the relay does not load that.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The folder under the data folder that holds every key (meshaid wipe destroys it). */
export const KEYS_FOLDER = "keys";

/** A key or trust-list problem the user can fix: one line naming the file and what to do. */
export class KeyError extends Error {
  override readonly name = "KeyError";
}

export interface KeyPaths {
  dir: string;
  channel: string;
  coalition: string;
  stationSecret: string;
  stationPublic: string;
}

export function keyPaths(dataDir: string): KeyPaths {
  const dir = join(dataDir, KEYS_FOLDER);
  return { dir, channel: join(dir, "channel.key"), coalition: join(dir, "coalition.key"), stationSecret: join(dir, "station.key"), stationPublic: join(dir, "station.pub") };
}

export function readKeyFile(file: string, what: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new KeyError(`cannot read ${what} ${file}: run \`meshaid keygen\` first (or --db to the right data folder)`);
  }
  return decodeKey(text.trim(), `${what} ${file}`);
}

export function decodeKey(text: string, where: string): Uint8Array {
  const bytes = Buffer.from(text, "base64");
  if (bytes.length !== 32 || bytes.toString("base64") !== text) throw new KeyError(`${where} is not base64 of 32 bytes: regenerate it (meshaid keygen --force) or copy it again`);
  return new Uint8Array(bytes);
}

/**
 * The secret that authenticates base-station records on the air (src/wire/auth.ts):
 * keys/coalition.key, or none (nothing is tagged or checked). Never the channel key: every
 * handheld holds that, so anyone who takes one could forge tags with it.
 */
export function readCoalitionSecret(dataDir: string): { secret: Uint8Array; file: string } | undefined {
  const file = keyPaths(dataDir).coalition;
  return existsSync(file) ? { secret: readKeyFile(file, "the coalition key"), file } : undefined;
}
