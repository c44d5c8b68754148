// meshaid keygen, rotate-key and trust, as a user runs them.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeys, KeyError, runRotateKey, runTrust } from "../../src/cli/keys.ts";
import { runMeshaid } from "../helpers/cli.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-keys-");

describe("meshaid keygen, rotate-key, trust", () => {
  it("keygen writes a channel key and a station key pair, mode 0600, prints only the public key, and will not overwrite", () => {
    const first = runMeshaid(["keygen", "--db", dir.path]);
    expect(first.status).toBe(0);
    const keys = join(dir.path, "keys");
    const channel = readFileSync(join(keys, "channel.key"), "utf8");
    const secret = readFileSync(join(keys, "station.key"), "utf8");
    const pub = readFileSync(join(keys, "station.pub"), "utf8");
    for (const text of [channel, secret, pub]) {
      expect(text).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      expect(Buffer.from(text.trim(), "base64")).toHaveLength(32);
    }
    for (const name of ["channel.key", "station.key", "station.pub"]) expect(statSync(join(keys, name)).mode & 0o777).toBe(0o600);
    expect(first.stdout).toContain(pub.trim());
    expect(first.stdout).not.toContain(secret.trim());
    expect(first.stdout).not.toContain(channel.trim());

    const again = runMeshaid(["keygen", "--db", dir.path]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already exist.*--force/);
    expect(readFileSync(join(keys, "station.key"), "utf8")).toBe(secret);
    expect(() => generateKeys(dir.path)).toThrow(KeyError);
    generateKeys(dir.path, { force: true });
    expect(readFileSync(join(keys, "station.key"), "utf8")).not.toBe(secret);
  });

  it("rotate-key keeps the old channel key as channel.key.<date>.old and prints the procedure", () => {
    generateKeys(dir.path);
    const keys = join(dir.path, "keys");
    const old = readFileSync(join(keys, "channel.key"), "utf8");
    const lines: string[] = [];
    runRotateKey(dir.path, (line) => lines.push(line));
    const rotated = { stdout: lines.join("\n") };
    expect(rotated.stdout).toMatch(/procedure/);
    const kept = readdirSync(keys).find((name) => /^channel\.key\.\d{4}-\d{2}-\d{2}\.old$/.test(name));
    expect(kept).toBeDefined();
    expect(readFileSync(join(keys, kept!), "utf8")).toBe(old);
    expect(readFileSync(join(keys, "channel.key"), "utf8")).not.toBe(old);
    expect(rotated.stdout).not.toContain(old.trim());
  });

  it("trust add, list and remove a peer; a bad key or name is refused with one line", () => {
    generateKeys(dir.path);
    const pub = readFileSync(join(dir.path, "keys", "station.pub"), "utf8").trim();
    const file = join(dir.path, "trust.yaml");
    const trust = (...args: string[]): string => {
      const lines: string[] = [];
      runTrust(args[0] as "add" | "remove" | "list", file, args.slice(1), (line) => lines.push(line));
      return lines.join("\n");
    };
    trust("add", "north-base", pub);
    expect(trust("list")).toBe(`north-base ${pub}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(() => trust("add", "south", "abc")).toThrow(KeyError);
    expect(() => trust("add", "south", "abc")).toThrow(/not base64 of 32 bytes/);
    expect(() => trust("add", "a/b", pub)).toThrow(/station name "a\/b"/);
    expect(trust("remove", "north-base")).toMatch(/removed north-base/);
    expect(trust("list")).toMatch(/no trusted stations/);
  });
});
