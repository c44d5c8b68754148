// `meshaid parse` as an operator runs it: the real command in a child process.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { decodePayload } from "../../src/wire/index.ts";
import { codebook } from "../helpers/records.ts";

const BIN = new URL("../../src/cli/bin.js", import.meta.url).pathname;

function meshaid(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, "parse", ...args], { encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("meshaid parse", () => {
  it("prints the records, their wire bytes and count, and the confidence", () => {
    const run = meshaid("need 10 saline eyewash + 5 gauze packs @ 5th & Main ASAP");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("urgent request: saline eye-wash ×10, gauze pads ×5 at 5th & Main\n");
    expect(run.stdout).toContain("  wire: 13 bytes  7f1001180330023a040b0a0c05\n");
    expect(run.stdout).toContain("confidence 1.00");
  });

  it("with --json shows each code next to its English label, quantities as numbers, wireBytes and wireHex", () => {
    const run = meshaid("Medic team 3 needs 20 bottles of water at North Gate, urgent", "--json");
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as { confident: boolean; records: Record<string, unknown>[]; wireBytes: number; wireHex: string };
    expect(out.confident).toBe(true);
    expect(out.records).toEqual([
      {
        kind: "supply_request",
        lines: [{ item: { code: 1, name: "water", label: "drinking water" }, quantity: 20 }],
        priority: { code: 2, name: "urgent", label: "urgent" },
        place: { landmark: 1, label: "North Gate" },
        wireBytes: 11,
        wireHex: "7f1001180130023a020114",
      },
    ]);
    const decoded = decodePayload(Buffer.from(out.wireHex, "hex"), codebook, 1);
    expect(decoded.ok && decoded.value.records[0]?.body).toMatchObject({ kind: "supply_request", priority: "urgent" });
  });

  it("reads presets, and says when text stays a plain message", () => {
    expect(meshaid("NEED WATER").stdout).toContain("request: drinking water\n");
    const unsure = meshaid("see you later");
    expect(unsure.status).toBe(0);
    expect(unsure.stdout).toMatch(/^not read confidently \(confidence 0\.00\): the station keeps it as a plain message\nmessage: see you later\n/);
  });

  it("reads places from another site plan, and names a file it cannot read", () => {
    const corpusSite = new URL("../fixtures/corpus/site.json", import.meta.url).pathname;
    expect(meshaid("need water at fountain", "--site", corpusSite).stdout).toContain("request: drinking water at Fountain");
    const missing = meshaid("need water", "--site", "/nonexistent/site.yaml");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^meshaid: cannot read the site plan \/nonexistent\/site\.yaml: ENOENT/);
  });
});
