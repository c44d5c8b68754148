// Keys and the trust list: `meshaid keygen`, `rotate-key`, `trust add|remove|list`, and what
// `start` reads to run the relay.
//
//   <data dir>/keys/channel.key   the mesh channel key: base64 of 32 random bytes, a newline
//   <data dir>/keys/coalition.key the coalition secret that authenticates base-station records on
//                                 the air (base64 of 32 bytes): the same at every base station,
//                                 never on a handheld (which holds the channel key)
//   <data dir>/keys/station.key   this station's Ed25519 signing key (secret): base64, a newline
//   <data dir>/keys/station.pub   its public key, for peers' trust lists: base64, a newline
//   <data dir>/trust.yaml         stations whose relayed records this station accepts
//
// Every file is written mode 0600 through a temporary file and a rename (never half written).
// Secrets are never printed or logged.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import { isTopicLevel, publicKeyOf, signingKeyPair } from "../relay/index.ts";
import { parseYamlText } from "../wire/index.ts";
import { decodeKey, KeyError, keyPaths, readKeyFile, type KeyPaths } from "./key-files.ts";

export { KEYS_FOLDER, KeyError, keyPaths, readCoalitionSecret } from "./key-files.ts";
export type { KeyPaths } from "./key-files.ts";

export function defaultTrustFile(dataDir: string): string {
  return join(dataDir, "trust.yaml");
}

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");

function writePrivate(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

/** Creates a fresh channel key and station key pair. Refuses to overwrite any of them unless `force`. */
export function generateKeys(dataDir: string, options: { force?: boolean } = {}): { paths: KeyPaths; publicKey: string } {
  const paths = keyPaths(dataDir);
  if (!options.force) {
    const existing = [paths.channel, paths.stationSecret, paths.stationPublic].filter((file) => existsSync(file));
    if (existing.length > 0) throw new KeyError(`${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}: keep them, or run keygen --force to replace them (peers must then trust the new public key)`);
  }
  const pair = signingKeyPair();
  writePrivate(paths.channel, `${toBase64(randomBytes(32))}\n`);
  writePrivate(paths.stationSecret, `${toBase64(pair.secretKey)}\n`);
  writePrivate(paths.stationPublic, `${toBase64(pair.publicKey)}\n`);
  // Kept when it exists: it is shared by every base station (copied from the first one), not per station.
  if (!existsSync(paths.coalition)) writePrivate(paths.coalition, `${toBase64(randomBytes(32))}\n`);
  return { paths, publicKey: toBase64(pair.publicKey) };
}

/** Replaces the channel key with a fresh one; the old one is kept as channel.key.<date>.old. */
export function rotateChannelKey(dataDir: string, now: Date = new Date()): { paths: KeyPaths; old: string | undefined } {
  const paths = keyPaths(dataDir);
  let old: string | undefined;
  if (existsSync(paths.channel)) {
    const stamp = now.toISOString().slice(0, 10);
    old = `${paths.channel}.${stamp}.old`;
    if (existsSync(old)) old = `${paths.channel}.${now.toISOString().replace(/[:.]/g, "-")}.old`;
    renameSync(paths.channel, old);
  }
  writePrivate(paths.channel, `${toBase64(randomBytes(32))}\n`);
  return { paths, old };
}

/** The mesh channel key (keys/channel.key), 32 bytes: what the channel's packets are encrypted with on the air. */
export function readChannelKey(dataDir: string): Uint8Array {
  return readKeyFile(keyPaths(dataDir).channel, "the channel key");
}

/** This station's signing key pair (the public key is derived from the secret and checked against station.pub). */
export function readStationKeys(dataDir: string): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const paths = keyPaths(dataDir);
  const secretKey = readKeyFile(paths.stationSecret, "the station signing key");
  const publicKey = publicKeyOf(secretKey);
  if (existsSync(paths.stationPublic) && Buffer.compare(readKeyFile(paths.stationPublic, "the station public key"), publicKey) !== 0) {
    throw new KeyError(`${paths.stationPublic} does not belong to ${paths.stationSecret}: run meshaid keygen --force, then give peers the new public key`);
  }
  return { secretKey, publicKey };
}

/** Reads a trust list: station name -> public key. A missing file is an empty list. */
export function readTrustList(file: string): Map<string, Uint8Array> {
  if (!existsSync(file)) return new Map();
  let parsed: unknown;
  try {
    parsed = parseYamlText(readFileSync(file, "utf8"));
  } catch (error) {
    throw new KeyError(`cannot read the trust list ${file}: ${(error as Error).message}`);
  }
  const stations = (parsed as { stations?: unknown } | null)?.stations ?? {};
  if (typeof stations !== "object" || stations === null || Array.isArray(stations)) throw new KeyError(`the trust list ${file} needs a "stations:" map of name: public key`);
  const out = new Map<string, Uint8Array>();
  for (const [name, key] of Object.entries(stations as Record<string, unknown>)) {
    if (!isTopicLevel(name)) throw new KeyError(`the trust list ${file} names "${name}": station names are letters, digits, . _ - (at most 64)`);
    if (typeof key !== "string") throw new KeyError(`the trust list ${file}: the key of "${name}" is not text`);
    out.set(name, decodeKey(key.trim(), `the key of "${name}" in ${file}`));
  }
  return out;
}

function writeTrustList(file: string, list: Map<string, Uint8Array>): void {
  const stations = Object.fromEntries([...list].sort(([a], [b]) => a.localeCompare(b)).map(([name, key]) => [name, toBase64(key)]));
  writePrivate(file, `# meshaid trust list: the stations whose relayed records this station accepts (name: Ed25519 public key)\n${stringify({ stations })}`);
}

export function trustAdd(file: string, name: string, publicKey: string): void {
  if (!isTopicLevel(name)) throw new KeyError(`station name "${name}": use letters, digits, . _ - (at most 64), the name it runs with (meshaid start --name)`);
  const key = decodeKey(publicKey.trim(), `the public key for "${name}"`);
  const list = readTrustList(file);
  list.set(name, key);
  writeTrustList(file, list);
}

export function trustRemove(file: string, name: string): boolean {
  const list = readTrustList(file);
  const had = list.delete(name);
  if (had) writeTrustList(file, list);
  return had;
}

/** The command-line side: prints public keys and paths only. */
export function runKeygen(dataDir: string, options: { force?: boolean }, out: (line: string) => void): void {
  const { paths, publicKey } = generateKeys(dataDir, options);
  out(`channel key:        ${paths.channel}`);
  out(`coalition key:      ${paths.coalition} (the same at every base station: copy it from the first; never onto a handheld)`);
  out(`station secret key: ${paths.stationSecret} (keep it here; never share it)`);
  out(`station public key: ${paths.stationPublic}`);
  out(`public key: ${publicKey}`);
  out(`peers trust this station with: meshaid trust add NAME ${publicKey}`);
}

export function runRotateKey(dataDir: string, out: (line: string) => void): void {
  const { paths, old } = rotateChannelKey(dataDir);
  out(`new channel key: ${paths.channel}`);
  if (old) out(`old channel key kept as: ${old}`);
  out("procedure:");
  out("  1. meshaid provision each handheld and base radio with the new key (radios on the old key can no longer talk to them)");
  out("  2. check every radio heard after the change (the console's roster board); re-provision any that went quiet");
  out("  3. once every radio is on the new key, delete the .old file");
}

export function runTrust(action: "add" | "remove" | "list", file: string, args: string[], out: (line: string) => void): void {
  if (action === "add") {
    const [name, key] = args;
    if (!name || !key) throw new KeyError("usage: meshaid trust add NAME PUBKEY (the base64 key that NAME's keygen printed)");
    trustAdd(file, name, key);
    out(`trusted ${name} in ${file}`);
    return;
  }
  if (action === "remove") {
    const [name] = args;
    if (!name) throw new KeyError("usage: meshaid trust remove NAME");
    out(trustRemove(file, name) ? `removed ${name} from ${file}` : `${name} was not in ${file}`);
    return;
  }
  const list = readTrustList(file);
  if (list.size === 0) out(`no trusted stations in ${file}`);
  for (const [name, key] of list) out(`${name} ${toBase64(key)}`);
}
