// `meshaid export`: the station's log (and the boards derived from it) and its audit trail for
// print and for humanitarian tools: JSON, CSV, CSV with HXL hashtags (records, the audit trail or
// the procurement log), and a printable Markdown situation report with the shift roster, the audit
// trail, the procurement log, an after-action report and an ICS-309-style communications log.
// Reads the database a stopped station wrote (a running one holds its lock: the error says so).
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Level } from "level";
import { AuditTrail, RecordStore, type AuditEntry, type RecordCipher } from "../store/index.ts";
import type { RecordView } from "../station/index.ts";
import { describePlace, describeRecord, labelledRecord, labelOf, type Codebook, type FieldRecord, type SitePlan } from "../wire/index.ts";
import type { BoardRows } from "../ui/index.ts";
import { ConfigFileError, DEFAULT_CODEBOOK_FILE, readCodebook, readSitePlan } from "./field-config.ts";
import { defaultDataDir } from "./paths.ts";
import { KeyError } from "./key-files.ts";
import { askHidden, storeCipher, storeKeyPath } from "./store-key.ts";

export const EXPORT_FORMATS = ["json", "csv", "md", "hxl"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** What a CSV export holds (JSON and Markdown hold all of them). */
export const EXPORT_TABLES = ["records", "audit", "procurement"] as const;
export type ExportTable = (typeof EXPORT_TABLES)[number];

export interface ExportOptions {
  db?: string;
  format: string;
  codebook?: string;
  site?: string;
  language?: string;
  name?: string;
  table?: string;
  /** For an encrypted store: a file whose first line is the passphrase (else MESHAID_PASSPHRASE or a prompt). */
  keyFile?: string;
}

export interface ExportContext {
  codebook: Codebook;
  site?: SitePlan;
  language?: string;
  /** The station's name, for the report's title. */
  name: string;
  /** When the export was made (ms since the epoch). */
  now: number;
  /** The station's audit trail, oldest first (every action done or refused, with purchases). */
  audit?: readonly AuditEntry[];
}

function nodeId(origin: number): string {
  return `!${(origin >>> 0).toString(16).padStart(8, "0")}`;
}

function recordId(record: FieldRecord): string {
  return `${nodeId(record.id.origin)}:${record.id.seq >>> 0}`;
}

/** A stored record as the console shows it: with a sender and the place in words. */
export function viewOf(record: FieldRecord, site: SitePlan | undefined): RecordView {
  const view: RecordView = { ...record, sender: record.sender ?? nodeId(record.id.origin) };
  const place = "place" in record.body ? record.body.place : undefined;
  if (place) view.place = describePlace(place, site);
  return view;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

// ------------------------------------------------------------------------------------------ CSV

/** Columns of the CSV: a header, its HXL hashtag, and the cell for a record. */
const COLUMNS: { header: string; hxl: string; cell: (r: RecordView, ctx: ExportContext) => string | number | undefined }[] = [
  { header: "time", hxl: "#date+reported", cell: (r) => iso(r.receivedAt) },
  { header: "record id", hxl: "#meta+id", cell: (r) => recordId(r) },
  { header: "sender", hxl: "#contact+callsign", cell: (r) => r.sender },
  { header: "kind", hxl: "#meta+kind", cell: (r) => r.body.kind },
  { header: "description", hxl: "#description", cell: (r, ctx) => describeRecord(r.body, options(ctx)) },
  { header: "item", hxl: "#item+name", cell: (r, ctx) => ("lines" in r.body && r.body.lines ? r.body.lines.map((l) => labelOf(ctx.codebook, "items", l.item, ctx.language)).join("; ") : undefined) },
  { header: "item code", hxl: "#item+code", cell: (r) => ("lines" in r.body && r.body.lines ? r.body.lines.map((l) => l.item).join("; ") : undefined) },
  { header: "quantity", hxl: "#indicator+quantity+num", cell: (r) => ("lines" in r.body && r.body.lines ? r.body.lines.map((l) => l.quantity ?? "").join("; ") : undefined) },
  { header: "priority", hxl: "#meta+priority", cell: (r) => (r.body.kind === "supply_request" ? r.body.priority : undefined) },
  { header: "status", hxl: "#status", cell: (r) => (r.body.kind === "supply_status" ? r.body.status : r.body.kind === "checkin" ? r.body.status : r.body.kind === "shift" ? r.body.action : undefined) },
  { header: "incident", hxl: "#event+type", cell: (r, ctx) => (r.body.kind === "incident" ? labelOf(ctx.codebook, "incidents", r.body.incident, ctx.language) : undefined) },
  { header: "severity", hxl: "#severity", cell: (r) => (r.body.kind === "incident" ? r.body.severity : undefined) },
  { header: "casualties", hxl: "#affected+casualties+num", cell: (r) => (r.body.kind === "incident" ? r.body.casualties : undefined) },
  { header: "place", hxl: "#loc+name", cell: (r) => r.place },
  { header: "text heard", hxl: "#meta+text", cell: (r) => r.text },
];

function options(ctx: ExportContext) {
  return { codebook: ctx.codebook, ...(ctx.site ? { site: ctx.site } : {}), ...(ctx.language ? { language: ctx.language } : {}) };
}

/** RFC 4180 quoting; a cell that a spreadsheet would run as a formula gets a leading quote. */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return "";
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === "string") text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(records: readonly RecordView[], ctx: ExportContext, hxl: boolean): string {
  const rows = [COLUMNS.map((c) => c.header)];
  if (hxl) rows.push(COLUMNS.map((c) => c.hxl));
  const lines = rows.map((row) => row.map(csvCell).join(","));
  for (const record of records) lines.push(COLUMNS.map((c) => csvCell(c.cell(record, ctx))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

type Column<T> = { header: string; hxl: string; cell: (row: T) => string | number | undefined };

function csvTable<T>(columns: readonly Column<T>[], rows: readonly T[], hxl: boolean): string {
  const lines = [columns.map((c) => csvCell(c.header)).join(",")];
  if (hxl) lines.push(columns.map((c) => csvCell(c.hxl)).join(","));
  for (const row of rows) lines.push(columns.map((c) => csvCell(c.cell(row))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

function idText(id: { origin: number; seq: number } | undefined): string | undefined {
  return id === undefined ? undefined : `${nodeId(id.origin)}:${id.seq >>> 0}`;
}

function detailText(detail: Record<string, unknown> | undefined): string | undefined {
  if (detail === undefined) return undefined;
  const parts = Object.entries(detail).map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  return parts.length === 0 ? undefined : parts.join("; ");
}

const AUDIT_COLUMNS: readonly Column<AuditEntry>[] = [
  { header: "entry", hxl: "#meta+entry+num", cell: (e) => e.n },
  { header: "time", hxl: "#date+action", cell: (e) => iso(e.at) },
  { header: "station", hxl: "#org+station", cell: (e) => e.station },
  { header: "actor", hxl: "#contact+callsign", cell: (e) => e.actor.callsign },
  { header: "role", hxl: "#contact+role", cell: (e) => e.actor.role },
  { header: "action", hxl: "#activity+action", cell: (e) => e.action },
  { header: "outcome", hxl: "#status", cell: (e) => e.outcome },
  { header: "reason", hxl: "#description+reason", cell: (e) => e.reason },
  { header: "record acted on", hxl: "#meta+target", cell: (e) => idText(e.target) },
  { header: "record written", hxl: "#meta+record", cell: (e) => idText(e.record) },
  { header: "detail", hxl: "#description+detail", cell: (e) => detailText(e.detail) },
];

/** The purchases in the trail: what was bought, how many, for how much, who approved it. */
export function procurementOf(audit: readonly AuditEntry[]): (AuditEntry & { purchase: NonNullable<AuditEntry["purchase"]> })[] {
  return audit.filter((entry): entry is AuditEntry & { purchase: NonNullable<AuditEntry["purchase"]> } => entry.purchase !== undefined);
}

const PROCUREMENT_COLUMNS: readonly Column<ReturnType<typeof procurementOf>[number]>[] = [
  { header: "entry", hxl: "#meta+entry+num", cell: (e) => e.n },
  { header: "time", hxl: "#date+approved", cell: (e) => iso(e.at) },
  { header: "item", hxl: "#item+name", cell: (e) => e.purchase.item },
  { header: "quantity", hxl: "#indicator+quantity+num", cell: (e) => e.purchase.quantity },
  { header: "cost", hxl: "#value+cost+num", cell: (e) => e.purchase.cost },
  { header: "currency", hxl: "#currency", cell: (e) => e.purchase.currency },
  { header: "approved by", hxl: "#contact+approver", cell: (e) => e.actor.callsign },
  { header: "role", hxl: "#contact+role", cell: (e) => e.actor.role },
  { header: "outcome", hxl: "#status", cell: (e) => e.outcome },
  { header: "reason", hxl: "#description+reason", cell: (e) => e.reason },
  { header: "note", hxl: "#description+note", cell: (e) => e.purchase.note },
  { header: "request", hxl: "#meta+target", cell: (e) => idText(e.target) },
];

export function auditCsv(audit: readonly AuditEntry[], hxl: boolean): string {
  return csvTable(AUDIT_COLUMNS, audit, hxl);
}

export function procurementCsv(audit: readonly AuditEntry[], hxl: boolean): string {
  return csvTable(PROCUREMENT_COLUMNS, procurementOf(audit), hxl);
}

// ----------------------------------------------------------------------------------------- JSON

export function toJson(records: readonly RecordView[], boards: BoardRows, ctx: ExportContext): string {
  const ref = (r: RecordView) => ({ id: recordId(r), time: iso(r.receivedAt), sender: r.sender });
  return `${JSON.stringify(
    {
      station: ctx.name,
      exportedAt: iso(ctx.now),
      codebook: ctx.codebook.hash,
      records: records.map((r) => ({ ...ref(r), kind: r.body.kind, description: describeRecord(r.body, options(ctx)), text: r.text ?? null, body: labelledRecord(r.body, options(ctx)) })),
      boards: {
        requests: boards.requests.map((row) => ({ ...ref(row.record), status: row.status, priority: row.priority, etaMin: row.etaMin ?? null, description: describeRecord(row.record.body, options(ctx)), history: row.history.map(ref) })),
        incidents: boards.incidents.map((row) => ({ ...ref(row.record), status: row.status, description: describeRecord(row.record.body, options(ctx)), history: row.history.map(ref) })),
        shifts: boards.shifts.map((row) => ({ callsign: row.callsign, state: row.state, role: row.role ?? null, since: iso(row.record.receivedAt) })),
        nodes: boards.nodes.map((row) => ({ sender: row.sender, node: nodeId(row.origin), lastHeard: iso(row.lastHeard), records: row.records, checkin: row.checkin ?? null, battery: row.battery ?? null })),
      },
      audit: (ctx.audit ?? []).map((e) => ({ ...e, time: iso(e.at), target: idText(e.target) ?? null, record: idText(e.record) ?? null })),
      procurement: procurementOf(ctx.audit ?? []).map((e) => ({ entry: e.n, time: iso(e.at), ...e.purchase, approvedBy: e.actor.callsign, role: e.actor.role, outcome: e.outcome, reason: e.reason ?? null, request: idText(e.target) ?? null })),
    },
    null,
    2,
  )}\n`;
}

// ------------------------------------------------------------------------------------- Markdown

/** A Markdown table cell: no pipes or line breaks. */
function md(value: string | number | undefined): string {
  return value === undefined ? "" : String(value).replaceAll("|", "\\|").replace(/[\r\n]+/g, " ");
}

function table(headers: string[], rows: (string | number | undefined)[][]): string {
  if (rows.length === 0) return "_none_\n";
  return [`| ${headers.join(" | ")} |`, `|${headers.map(() => "---").join("|")}|`, ...rows.map((row) => `| ${row.map(md).join(" | ")} |`)].join("\n") + "\n";
}

function hhmm(ms: number): string {
  return iso(ms).slice(11, 16);
}

export function toMarkdown(records: readonly RecordView[], boards: BoardRows, ctx: ExportContext): string {
  const describe = (r: RecordView): string => describeRecord(r.body, options(ctx));
  const first = records[0];
  const last = records[records.length - 1];
  const period = first && last ? `${iso(first.receivedAt)} to ${iso(last.receivedAt)}` : "no records";
  const open = boards.requests.filter((row) => row.status === "open" || row.status === "acknowledged" || row.status === "en_route");
  const done = boards.requests.length - open.length;
  const out = [
    `# Situation report: ${md(ctx.name)}`,
    "",
    `Exported ${iso(ctx.now)} (times in UTC). Operational period: ${period}. ${records.length} records; codebook ${ctx.codebook.hash}.`,
    "",
    `## Open requests (${open.length} open, ${done} closed)`,
    "",
    table(
      ["status", "priority", "what", "from", "asked at", "ETA"],
      open.map((row) => [row.status.replace("_", " "), row.priority, describe(row.record), row.record.sender, hhmm(row.record.receivedAt), row.etaMin === undefined ? "" : `${row.etaMin} min`]),
    ),
    "## Incidents",
    "",
    table(
      ["status", "what", "reported by", "at"],
      boards.incidents.map((row) => [row.status, describe(row.record), row.record.sender, hhmm(row.record.receivedAt)]),
    ),
    "## Shift roster",
    "",
    table(
      ["callsign", "state", "role", "since", "signature"],
      boards.shifts.map((row) => [row.callsign, row.state === "handoff" ? "handoff (to confirm)" : row.state === "on" ? "on shift" : "off shift", row.role ? labelOf(ctx.codebook, "roles", row.role, ctx.language) : "", hhmm(row.record.receivedAt), ""]),
    ),
    "## Nodes heard",
    "",
    table(
      ["callsign", "node", "last heard", "records", "last check-in", "battery"],
      boards.nodes.map((row) => [row.sender, nodeId(row.origin), hhmm(row.lastHeard), row.records, row.checkin?.replace("_", " "), row.battery === undefined ? "" : `${row.battery}%`]),
    ),
    `## Audit trail (${(ctx.audit ?? []).length} actions)`,
    "",
    table(
      ["#", "time (UTC)", "who", "action", "outcome", "record", "detail"],
      (ctx.audit ?? []).map((e) => [e.n, hhmm(e.at), `${e.actor.callsign} (${e.actor.role})`, e.action.replaceAll("_", " "), e.outcome === "refused" ? `refused: ${e.reason ?? ""}` : "done", idText(e.target), detailText(e.detail)]),
    ),
    "## Procurement log",
    "",
    table(
      ["#", "time (UTC)", "item", "quantity", "cost", "approved by", "outcome", "note"],
      procurementOf(ctx.audit ?? []).map((e) => [e.n, hhmm(e.at), e.purchase.item, e.purchase.quantity, `${e.purchase.cost}${e.purchase.currency ? ` ${e.purchase.currency}` : ""}`, `${e.actor.callsign} (${e.actor.role})`, e.outcome === "refused" ? `refused: ${e.reason ?? ""}` : "approved", e.purchase.note]),
    ),
    ...afterAction(records, boards, ctx),
    "## Communications log (ICS 309 style)",
    "",
    `Station: ${md(ctx.name)}. Radio operator: ____________. Operational period: ${period}.`,
    "",
    table(
      ["time (UTC)", "from", "to", "message"],
      records.map((r) => [hhmm(r.receivedAt), r.sender, md(ctx.name), r.text === undefined ? describe(r) : `${describe(r)} ("${r.text}")`]),
    ),
  ];
  return `${out.join("\n")}`;
}

/** The most key events the after-action timeline lists. */
const KEY_EVENTS = 200;

/**
 * What a debrief walks through, in time order: urgent requests, incidents, deliveries, handoffs,
 * emergencies, and every action taken at the station (done or refused).
 */
function keyEvents(records: readonly RecordView[], ctx: ExportContext): { at: number; what: string; who: string }[] {
  const events: { at: number; what: string; who: string }[] = [];
  for (const r of records) {
    const b = r.body;
    const key =
      (b.kind === "supply_request" && (b.priority === "urgent" || b.priority === "high")) ||
      b.kind === "incident" ||
      (b.kind === "supply_status" && (b.status === "delivered" || b.status === "unable")) ||
      (b.kind === "shift" && b.action === "handoff") ||
      (b.kind === "checkin" && (b.status === "emergency" || b.status === "need_assist"));
    if (key) events.push({ at: r.receivedAt, what: describeRecord(b, options(ctx)), who: r.sender });
  }
  for (const e of ctx.audit ?? []) {
    events.push({ at: e.at, what: `${e.action.replaceAll("_", " ")} ${e.outcome === "refused" ? `refused (${e.reason ?? ""})` : "done"}${e.target ? ` on ${idText(e.target)}` : ""}`, who: e.actor.callsign });
  }
  return events.sort((a, b) => a.at - b.at);
}

function minutes(ms: number): string {
  return `${Math.round(ms / 60_000)} min`;
}

/** Time from request to delivery per item and place, incidents by type, and what did not get done. */
function afterAction(records: readonly RecordView[], boards: BoardRows, ctx: ExportContext): string[] {
  const label = (category: "items" | "incidents", name: string): string => labelOf(ctx.codebook, category, name, ctx.language);
  const delivery = new Map<string, number[]>();
  const failed: (string | number | undefined)[][] = [];
  for (const row of boards.requests) {
    if (row.record.body.kind !== "supply_request") continue;
    const where = row.record.place ?? "-";
    const items = row.record.body.lines.map((line) => label("items", line.item)).join(", ");
    const done = row.history.find((entry) => (entry.body.kind === "supply_status" && entry.body.status === "delivered") || (entry.body.kind === "ack" && entry.body.code === "complete"));
    if (row.status === "delivered" && done) {
      const key = `${items}\u0000${where}`;
      delivery.set(key, [...(delivery.get(key) ?? []), done.receivedAt - row.record.receivedAt]);
    } else if (row.status !== "delivered") failed.push([row.status.replace("_", " "), items, where, row.record.sender, hhmm(row.record.receivedAt)]);
  }
  const byType = new Map<string, { count: number; casualties: number }>();
  for (const row of boards.incidents) {
    if (row.record.body.kind !== "incident") continue;
    const type = label("incidents", row.record.body.incident);
    const seen = byType.get(type) ?? { count: 0, casualties: 0 };
    byType.set(type, { count: seen.count + 1, casualties: seen.casualties + row.record.body.casualties });
  }
  const events = keyEvents(records, ctx);
  const hours = new Map<string, number>();
  for (const record of records) {
    const hour = `${iso(record.receivedAt).slice(0, 13)}:00`;
    hours.set(hour, (hours.get(hour) ?? 0) + 1);
  }
  return [
    "## After action",
    "",
    "### Time from request to delivery",
    "",
    table(
      ["item", "place", "delivered", "median", "longest"],
      [...delivery].map(([key, times]) => {
        const [items, where] = key.split("\u0000");
        const sorted = [...times].sort((a, b) => a - b);
        return [items, where, sorted.length, minutes(sorted[sorted.length >> 1]!), minutes(sorted[sorted.length - 1]!)];
      }),
    ),
    "### Incidents by type",
    "",
    table(["incident", "reports", "casualties"], [...byType].sort((a, b) => b[1].count - a[1].count).map(([type, seen]) => [type, seen.count, seen.casualties])),
    "### Not delivered",
    "",
    table(["status", "what", "place", "asked by", "at"], failed),
    "### Incidents still open",
    "",
    table(
      ["status", "what", "reported by", "at"],
      boards.incidents.filter((row) => row.status !== "closed").map((row) => [row.status, describeRecord(row.record.body, options(ctx)), row.record.sender, hhmm(row.record.receivedAt)]),
    ),
    "### Actions refused",
    "",
    table(
      ["time (UTC)", "who", "action", "why"],
      (ctx.audit ?? []).filter((e) => e.outcome === "refused").map((e) => [hhmm(e.at), `${e.actor.callsign} (${e.actor.role})`, e.action.replaceAll("_", " "), e.reason]),
    ),
    `### Key events${events.length > KEY_EVENTS ? ` (the first ${KEY_EVENTS} of ${events.length})` : ""}`,
    "",
    table(["time (UTC)", "event", "who"], events.slice(0, KEY_EVENTS).map((e) => [iso(e.at).slice(0, 16).replace("T", " "), e.what, e.who])),
    "### Timeline (records per hour, UTC)",
    "",
    table(["hour", "records"], [...hours]),
  ];
}

// ---------------------------------------------------------------------------------------- command

class ExportError extends Error {}

export async function exportText(records: readonly RecordView[], format: ExportFormat, ctx: ExportContext, tableName: ExportTable = "records"): Promise<string> {
  if (format === "csv" || format === "hxl") {
    if (tableName === "audit") return auditCsv(ctx.audit ?? [], format === "hxl");
    if (tableName === "procurement") return procurementCsv(ctx.audit ?? [], format === "hxl");
    return toCsv(records, ctx, format === "hxl");
  }
  // The station's boards, folded from the same records (so an export shows what the console
  // showed), in the rows the console draws.
  const { boardRows, boardsFrom, rowsFromStation } = await import("../ui/index.ts");
  const { boardsFrom: stationBoardsFrom } = await import("../station/index.ts");
  const boards = rowsFromStation(stationBoardsFrom(records).snapshot(ctx.now), boardRows(boardsFrom(records)), records);
  return format === "json" ? toJson(records, boards, ctx) : toMarkdown(records, boards, ctx);
}

/** Every entry of an audit trail, oldest first. */
async function readAudit(trail: AuditTrail): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (;;) {
    const page = await trail.list({ from: out.length, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

async function readRecords(dataDir: string, codebook: Codebook, warn: (line: string) => void, cipher: RecordCipher | undefined): Promise<{ records: FieldRecord[]; audit: AuditEntry[] }> {
  const path = join(dataDir, "db");
  let store: RecordStore;
  const db = new Level<string, Uint8Array>(path, { valueEncoding: "view", createIfMissing: false });
  try {
    // createIfMissing: false, so a wrong --db says so instead of exporting an empty new database.
    store = await RecordStore.open(db, codebook, cipher ? { cipher } : {});
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    if (/lock/i.test(cause)) throw new ExportError(`the database ${path} is in use: stop the station first, or export from a copy (${cause})`);
    if (/does not exist|not found|No such file/i.test(cause)) throw new ExportError(`no meshaid database in ${dataDir} (looked for ${path})`);
    throw new ExportError(`cannot open the database ${path}: ${cause}`);
  }
  try {
    const newestFirst = await store.recent(store.count, (entry) => warn(`meshaid: log entry ${entry.key} does not decode (${entry.reason}); left out`));
    const audit = await readAudit(await AuditTrail.open(db, cipher ? { cipher } : {}));
    return { records: newestFirst.reverse(), audit };
  } finally {
    await store.close();
  }
}

/**
 * For the console's `e`: writes the Markdown report of everything stored so far into the data
 * folder (the running station's store, read while it appends) and returns the file's path.
 */
export async function writeReport(store: RecordStore, dataDir: string, ctx: Omit<ExportContext, "now" | "audit"> & { trail?: AuditTrail }): Promise<string> {
  const { trail, ...rest } = ctx;
  const records = (await store.recent(store.count)).reverse().map((record) => viewOf(record, ctx.site));
  const audit = trail ? await readAudit(trail) : undefined;
  const now = Date.now();
  const file = join(dataDir, `report-${iso(now).replace(/[:.]/g, "-")}.md`);
  await writeFile(file, await exportText(records, "md", { ...rest, now, ...(audit ? { audit } : {}) }), { mode: 0o600 });
  return file;
}

export async function runExport(options: ExportOptions, write: (text: string) => void, warn: (line: string) => void): Promise<number> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    warn(`meshaid: unknown format "${options.format}"; use one of ${EXPORT_FORMATS.join(", ")}`);
    return 2;
  }
  const tableName = options.table ?? "records";
  if (!(EXPORT_TABLES as readonly string[]).includes(tableName)) {
    warn(`meshaid: unknown table "${tableName}"; use one of ${EXPORT_TABLES.join(", ")}`);
    return 2;
  }
  try {
    const codebook = readCodebook(options.codebook ?? DEFAULT_CODEBOOK_FILE);
    const site = options.site === undefined ? undefined : readSitePlan(options.site);
    if (options.language !== undefined && !codebook.languages.includes(options.language)) {
      throw new ExportError(`the codebook has no labels in "${options.language}"; it has: ${codebook.languages.join(", ")}`);
    }
    const dataDir = resolve(options.db ?? defaultDataDir());
    // An encrypted store opens only with its passphrase (nothing is exported half-readable).
    const cipher = existsSync(storeKeyPath(dataDir))
      ? await storeCipher(dataDir, { encrypt: true, ...(options.keyFile ? { keyFile: options.keyFile } : {}) }, { env: process.env, ...(process.stdin.isTTY ? { ask: askHidden(process.stdin, process.stderr) } : {}) }, true)
      : undefined;
    const stored = await readRecords(dataDir, codebook, warn, cipher);
    const records = stored.records.map((record) => viewOf(record, site));
    const ctx: ExportContext = { codebook, name: options.name ?? "Base station", now: Date.now(), audit: stored.audit, ...(site ? { site } : {}), ...(options.language ? { language: options.language } : {}) };
    write(await exportText(records, options.format as ExportFormat, ctx, tableName as ExportTable));
    return 0;
  } catch (error) {
    if (error instanceof ExportError || error instanceof ConfigFileError || error instanceof KeyError) {
      warn(`meshaid: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
