// The coalition key: keygen makes one when the station has none, keeps one copied from another
// base station, and start reads only it (never the channel key, which every handheld holds).
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateKeys, KeyError, keyPaths, readCoalitionSecret } from "../../src/cli/keys.ts";
import { useTempDir } from "../helpers/tmp.ts";

describe("coalition key", () => {
  const dir = useTempDir();

  it("is made by keygen (mode 0600), kept when copied in first, and read by start", () => {
    const paths = keyPaths(dir.path);
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.channel, `${Buffer.alloc(32, 1).toString("base64")}\n`);
    // Only a channel key: nothing is authenticated (it would protect against no one holding a handheld).
    expect(readCoalitionSecret(dir.path)).toBeUndefined();
    const copied = `${Buffer.alloc(32, 9).toString("base64")}\n`;
    writeFileSync(paths.coalition, copied);
    generateKeys(dir.path, { force: true });
    expect(readFileSync(paths.coalition, "utf8")).toBe(copied);
    expect(Buffer.from(readCoalitionSecret(dir.path)!.secret).equals(Buffer.alloc(32, 9))).toBe(true);
  });

  it("is generated when missing, and a damaged one is named", () => {
    generateKeys(dir.path);
    const paths = keyPaths(dir.path);
    expect(existsSync(paths.coalition)).toBe(true);
    expect(statSync(paths.coalition).mode & 0o777).toBe(0o600);
    expect(readCoalitionSecret(dir.path)?.secret).toHaveLength(32);
    writeFileSync(paths.coalition, "short\n");
    expect(() => readCoalitionSecret(dir.path)).toThrow(KeyError);
    expect(() => readCoalitionSecret(dir.path)).toThrow(/coalition key .*coalition\.key is not base64 of 32 bytes/);
  });
});
