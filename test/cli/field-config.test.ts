// readCodebook keeps each codebook it read from YAML as JSON, named by a hash of its text: read
// again it is the same codebook, a text that changed (whatever its mtime) is read from the YAML,
// an invalid one is never kept, and a cache that is cut short or cannot be written costs nothing
// but the YAML read.
import { readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readCodebook } from "../../src/cli/field-config.ts";
import { parseCodebook } from "../../src/wire/index.ts";
import { useTempDir } from "../helpers/tmp.ts";

const SHIPPED = readFileSync(new URL("../../firmware-config/codebook.yaml", import.meta.url), "utf8");

describe("readCodebook", () => {
  const dir = useTempDir();
  const file = () => join(dir.path, "codebook.yaml");
  const cacheDir = () => join(dir.path, "cache");
  const kept = () => readdirSync(cacheDir()).sort();

  it("reads the same codebook from the YAML and from what it kept of it", () => {
    writeFileSync(file(), SHIPPED);
    const fromYaml = readCodebook(file(), { cacheDir: cacheDir() });
    expect(fromYaml).toEqual(parseCodebook(SHIPPED, file()));
    expect(kept()).toHaveLength(1);
    const again = readCodebook(file(), { cacheDir: cacheDir() });
    expect(again).toEqual(fromYaml);
    expect(again.lists.items.byName.get("water")?.labels["es"]).toBe("agua potable");
    expect(kept()).toHaveLength(1);
  });

  it("reads a text that changed from the YAML, even with the same size and mtime", () => {
    writeFileSync(file(), SHIPPED);
    const when = new Date("2026-01-01T00:00:00Z");
    utimesSync(file(), when, when);
    readCodebook(file(), { cacheDir: cacheDir() });
    const changed = SHIPPED.replace("en: drinking water,", "en: drinking wader,");
    expect(changed.length).toBe(SHIPPED.length);
    writeFileSync(file(), changed);
    utimesSync(file(), when, when);
    expect(readCodebook(file(), { cacheDir: cacheDir() }).lists.items.byName.get("water")?.labels["en"]).toBe("drinking wader");
    expect(kept()).toHaveLength(2);
  });

  it("says what is wrong with an invalid codebook every time, and keeps nothing of it", () => {
    writeFileSync(file(), SHIPPED.replace("name: water,", "name: Water,"));
    for (let i = 0; i < 2; i += 1) expect(() => readCodebook(file(), { cacheDir: cacheDir() })).toThrow(/codebook\.yaml: items\.1: `name` must be snake_case/);
    writeFileSync(file(), "version: [1");
    expect(() => readCodebook(file(), { cacheDir: cacheDir() })).toThrow(/codebook\.yaml: not valid YAML/);
    expect(readdirSync(dir.path)).toEqual(["codebook.yaml"]);
  });

  it("reads the YAML when what it kept is cut short, or when it cannot keep anything", () => {
    writeFileSync(file(), SHIPPED);
    const codebook = readCodebook(file(), { cacheDir: cacheDir() });
    const [json] = kept();
    writeFileSync(join(cacheDir(), json!), readFileSync(join(cacheDir(), json!), "utf8").slice(0, 100));
    expect(readCodebook(file(), { cacheDir: cacheDir() })).toEqual(codebook);
    expect(JSON.parse(readFileSync(join(cacheDir(), json!), "utf8"))).toMatchObject({ version: 1 }); // written whole again
    // A file where the cache's folder would be.
    const blocked = join(dir.path, "blocked");
    writeFileSync(blocked, "");
    expect(readCodebook(file(), { cacheDir: blocked })).toEqual(codebook);
  });
});
