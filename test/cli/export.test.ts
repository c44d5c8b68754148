// `meshaid export` as a user runs it, against a LevelDB a real station wrote (`meshaid start
// --no-ui` on the simulated mesh, stopped with SIGINT), plus the formats' edge cases alone.
import { describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { Level } from "level";
import { csvCell, toCsv, toMarkdown, writeReport } from "../../src/cli/export.ts";
import { RecordStore } from "../../src/store/index.ts";
import { boardRows, boardsFrom } from "../../src/ui/index.ts";
import { codebook } from "../helpers/records.ts";
import { tempDir } from "../helpers/tmp.ts";
import { spawnMeshaid as meshaid } from "../helpers/cli.ts";
import { at, record } from "../ui/fixtures.ts";

describe("meshaid export", () => {
  it("exports what a station stored: JSON, CSV with HXL hashtags, and a Markdown report with the comms log", async () => {
    const dir = await tempDir();
    const station = meshaid(["start", "--no-ui", "--db", dir.path]);
    try {
      // --no-ui: JSON log lines on stdout, one per record.
      await expect.poll(() => (station.stdout().match(/"event":"record"/g) ?? []).length, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(2);
      for (const line of station.stdout().trim().split("\n")) expect(() => JSON.parse(line) as unknown).not.toThrow();
      station.child.kill("SIGINT");
      expect(await station.exit).toBe(0);
      const heard = station
        .stdout()
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { event?: string; record?: { id: { origin: number; seq: number }; sender: string } })
        .filter((line) => line.event === "record")
        .map((line) => line.record!);

      const json = meshaid(["export", "--db", dir.path, "--format", "json"]);
      expect(await json.exit).toBe(0);
      const exported = JSON.parse(json.stdout()) as { records: { id: string; sender: string }[]; boards: { nodes: unknown[] } };
      const ids = exported.records.map((r) => r.id);
      for (const r of heard) expect(ids).toContain(`!${(r.id.origin >>> 0).toString(16).padStart(8, "0")}:${r.id.seq >>> 0}`);
      expect(exported.boards.nodes.length).toBeGreaterThan(0);

      const hxl = meshaid(["export", "--db", dir.path, "--format", "hxl"]);
      expect(await hxl.exit).toBe(0);
      const rows = hxl.stdout().trimEnd().split("\r\n");
      expect(rows[0]).toMatch(/^time,record id,sender,kind,description/);
      expect(rows[1]).toMatch(/^#date\+reported,#meta\+id,#contact\+callsign,#meta\+kind,#description/);
      expect(rows.length).toBe(2 + exported.records.length);

      const csv = meshaid(["export", "--db", dir.path, "--format", "csv"]);
      expect(await csv.exit).toBe(0);
      expect(csv.stdout().split("\r\n")[1]).not.toMatch(/^#/);

      const report = meshaid(["export", "--db", dir.path, "--format", "md", "--name", "North base"]);
      expect(await report.exit).toBe(0);
      expect(report.stdout()).toMatch(/^# Situation report: North base/);
      expect(report.stdout()).toContain("## Communications log (ICS 309 style)");
      expect(report.stdout()).toContain(`| ${heard[0]!.sender} | North base |`);
    } finally {
      station.child.kill("SIGKILL");
      await dir.remove();
    }
  }, 60_000);

  it("says what is wrong with a folder without a database, or an unknown format", async () => {
    const dir = await tempDir();
    try {
      const run = meshaid(["export", "--db", dir.path, "--format", "md"]);
      expect(await run.exit).toBe(1);
      expect(run.stderr()).toMatch(/^meshaid: no meshaid database in /);
      const bad = meshaid(["export", "--db", dir.path, "--format", "xml"]);
      expect(await bad.exit).not.toBe(0);
      expect(bad.stderr()).toContain("xml");
    } finally {
      await dir.remove();
    }
  }, 30_000);
});

describe("the console's report", () => {
  it("writes the Markdown report of the store into the data folder", async () => {
    const dir = await tempDir();
    const store = await RecordStore.open(new Level<string, Uint8Array>(`${dir.path}/db`, { valueEncoding: "view" }), codebook);
    try {
      await store.append({ id: { origin: 7, seq: 1 }, receivedAt: at(2, 0, 0).getTime(), body: { kind: "supply_request", lines: [{ item: "water" }], priority: "urgent" }, text: "NEED WATER", sender: "MED1" });
      const file = await writeReport(store, dir.path, { codebook, name: "North" });
      expect(file.startsWith(`${dir.path}/report-`)).toBe(true);
      const text = await readFile(file, "utf8");
      expect(text).toMatch(/^# Situation report: North/);
      expect(text).toContain("| open | urgent | urgent request: drinking water | MED1 |");
    } finally {
      await store.close();
      await dir.remove();
    }
  });
});

describe("export formats", () => {
  const ctx = { codebook, name: "base|1", now: at(3, 0, 0).getTime() };

  it("CSV quotes commas and quotes, and defuses spreadsheet formulas", () => {
    expect(csvCell('say "hi", then')).toBe('"say ""hi"", then"');
    expect(csvCell("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvCell(-3)).toBe("-3");
    const text = toCsv([record({ kind: "message", text: "=1+1, ok" }, "MED1", at(2, 0, 0))], ctx, false);
    expect(text.split("\r\n")[1]).toContain(`"message: =1+1, ok"`);
  });

  it("the after-action report times request to delivery per item and place and lists what was not delivered", () => {
    const water = { ...record({ kind: "supply_request", lines: [{ item: "water", quantity: 5 }], priority: "urgent" }, "MED1", at(2, 0, 0)), place: "North Gate" };
    const gauze = record({ kind: "supply_request", lines: [{ item: "gauze" }], priority: "normal" }, "MED2", at(2, 5, 0));
    const delivered = record({ kind: "supply_status", status: "delivered", ref: water.id }, "RUN1", at(2, 12, 0));
    const injury = record({ kind: "incident", incident: "injury", severity: "moderate", casualties: 2 }, "MAR1", at(2, 20, 0));
    const heard = [water, gauze, delivered, injury];
    const text = toMarkdown(heard, boardRows(boardsFrom(heard)), ctx);
    const section = text.slice(text.indexOf("## After action"), text.indexOf("## Communications log"));
    expect(section).toMatch(/\| drinking water \| North Gate \| 1 \| 12 min \| 12 min \|/);
    expect(section).toMatch(/\| injury \| 1 \| 2 \|/);
    expect(section.slice(section.indexOf("### Not delivered"))).toMatch(/\| open \| gauze pads \| - \| MED2 \|/);
  });

  it("Markdown cells cannot break the table", () => {
    const heard = [record({ kind: "message", text: "a | b\nc" }, "MED1", at(2, 0, 0))];
    const text = toMarkdown(heard, boardRows(boardsFrom(heard)), ctx);
    expect(text).toContain("# Situation report: base\\|1");
    const log = text.split("\n").filter((line) => line.includes("a \\| b c"));
    expect(log).toHaveLength(1);
    expect(log[0]!.split(/(?<!\\)\|/)).toHaveLength(6);
  });
});
