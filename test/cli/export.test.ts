// `meshaid export` as a user runs it, against a LevelDB a real station wrote (`meshaid start
// --no-ui` on the simulated mesh, stopped with SIGINT), plus the formats' edge cases alone.
import { describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { Level } from "level";
import { csvCell, runExport, toCsv, toMarkdown, writeReport } from "../../src/cli/export.ts";
import { AuditTrail, RecordStore, type AuditEntry } from "../../src/store/index.ts";
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
      const table = meshaid(["export", "--db", dir.path, "--format", "csv", "--table", "receipts"]);
      expect(await table.exit).not.toBe(0);
      expect(table.stderr()).toMatch(/receipts.*records, audit, procurement/);
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

describe("the audit trail and the procurement log", () => {
  const dispatch = (n: number, at: number): Omit<AuditEntry, "n"> => ({
    at,
    station: "north",
    actor: { callsign: "COORD", role: "coordinator" },
    action: "dispatch",
    outcome: "done",
    target: { origin: 7, seq: n },
    record: { origin: 0xbbbb, seq: n },
    detail: { etaMin: 8 },
  });
  const purchase: Omit<AuditEntry, "n"> = {
    at: at(2, 30, 0).getTime(),
    station: "north",
    actor: { callsign: "TREAS", role: "treasurer" },
    action: "approve_purchase",
    outcome: "done",
    target: { origin: 7, seq: 1 },
    purchase: { item: "water", quantity: 48, cost: 36.5, currency: "EUR", note: "corner shop, receipt 17" },
  };
  const refused: Omit<AuditEntry, "n"> = { at: at(2, 40, 0).getTime(), station: "north", actor: { callsign: "MED9", role: "medic" }, action: "approve_purchase", outcome: "refused", reason: "medic may not approve_purchase", purchase: { item: "gauze", quantity: 10, cost: 20 } };

  it("meshaid export reads them from the station's database: Markdown sections, JSON, and CSV/HXL tables", async () => {
    const dir = await tempDir();
    const db = new Level<string, Uint8Array>(`${dir.path}/db`, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const trail = await AuditTrail.open(db);
    try {
      await store.append({ id: { origin: 7, seq: 1 }, receivedAt: at(2, 0, 0).getTime(), body: { kind: "supply_request", lines: [{ item: "water", quantity: 48 }], priority: "urgent" }, text: "NEED WATER", sender: "MED1" });
      // More than one page of the trail (the export reads it 1,000 at a time).
      for (let n = 0; n < 1001; n += 1) await trail.append(dispatch(n, at(2, 10, 0).getTime() + n));
      await trail.append(purchase);
      await trail.append(refused);
    } finally {
      await store.close();
    }
    try {
      const out: string[] = [];
      const warn: string[] = [];
      const run = (format: string, table?: string) => runExport({ db: dir.path, format, ...(table ? { table } : {}), name: "North" }, (text) => out.push(text), (line) => warn.push(line));

      expect(await run("md")).toBe(0);
      const report = out.pop()!;
      expect(report).toContain("## Audit trail (1003 actions)");
      expect(report).toContain("| 1001 | 02:30 | TREAS (treasurer) | approve purchase | done | !00000007:1 |  |");
      expect(report).toMatch(/## Procurement log\n\n\| # \| time \(UTC\) \| item \| quantity \| cost \| approved by \| outcome \| note \|\n\|---.*\n\| 1001 \| 02:30 \| water \| 48 \| 36\.5 EUR \| TREAS \(treasurer\) \| approved \| corner shop, receipt 17 \|\n\| 1002 \| 02:40 \| gauze \| 10 \| 20 \| MED9 \(medic\) \| refused: medic may not approve_purchase \| {2}\|/);
      const after = report.slice(report.indexOf("## After action"), report.indexOf("## Communications log"));
      expect(after).toMatch(/### Actions refused\n\n.*\n.*\n\| 02:40 \| MED9 \(medic\) \| approve purchase \| medic may not approve_purchase \|/);
      expect(after).toMatch(/### Key events \(the first 200 of 100\d\)/);
      expect(after).toContain("| urgent request: drinking water ×48 | MED1 |");

      expect(await run("json")).toBe(0);
      const json = JSON.parse(out.pop()!) as { audit: { n: number; target: string }[]; procurement: { item: string; cost: number; approvedBy: string; outcome: string }[] };
      expect(json.audit).toHaveLength(1003);
      expect(json.audit[0]).toMatchObject({ n: 0, target: "!00000007:0" });
      expect(json.procurement).toEqual([expect.objectContaining({ item: "water", cost: 36.5, approvedBy: "TREAS", outcome: "done" }), expect.objectContaining({ item: "gauze", outcome: "refused" })]);

      expect(await run("hxl", "procurement")).toBe(0);
      const rows = out.pop()!.trimEnd().split("\r\n");
      expect(rows[0]).toBe("entry,time,item,quantity,cost,currency,approved by,role,outcome,reason,note,request");
      expect(rows[1]).toBe("#meta+entry+num,#date+approved,#item+name,#indicator+quantity+num,#value+cost+num,#currency,#contact+approver,#contact+role,#status,#description+reason,#description+note,#meta+target");
      expect(rows[2]).toBe(`1001,${new Date(purchase.at).toISOString()},water,48,36.5,EUR,TREAS,treasurer,done,,"corner shop, receipt 17",!00000007:1`);
      expect(rows).toHaveLength(4);

      expect(await run("csv", "audit")).toBe(0);
      const audit = out.pop()!.trimEnd().split("\r\n");
      expect(audit[0]).toBe("entry,time,station,actor,role,action,outcome,reason,record acted on,record written,detail");
      expect(audit[1]).toMatch(/^0,[^,]+,north,COORD,coordinator,dispatch,done,,!00000007:0,!0000bbbb:0,etaMin: 8$/);
      expect(audit).toHaveLength(1 + 1003);

      expect(await run("csv", "receipts")).toBe(2);
      expect(warn.at(-1)).toBe('meshaid: unknown table "receipts"; use one of records, audit, procurement');
    } finally {
      await dir.remove();
    }
  });

  it("the console's report includes the running station's audit trail", async () => {
    const dir = await tempDir();
    const db = new Level<string, Uint8Array>(`${dir.path}/db`, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    try {
      const trail = await AuditTrail.open(db);
      await trail.append(purchase);
      const text = await readFile(await writeReport(store, dir.path, { codebook, name: "North", trail }), "utf8");
      expect(text).toContain("## Audit trail (1 actions)");
      expect(text).toContain("| 0 | 02:30 | water | 48 | 36.5 EUR | TREAS (treasurer) | approved | corner shop, receipt 17 |");
    } finally {
      await store.close();
      await dir.remove();
    }
  });
});
