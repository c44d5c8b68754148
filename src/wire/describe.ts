// Records in words, with the codebook's labels in a language (English by default) and the site
// plan's landmark names: for `meshaid parse`, exports and logs.
import { codeOf, labelOf, type Codebook, type CodebookCategory } from "./codebook.ts";
import { describePlace, landmarkByCode, type SitePlan } from "./site.ts";
import { PRIORITIES, type Place, type RecordBody, type SupplyLine } from "./types.ts";

export interface DescribeOptions {
  codebook: Codebook;
  site?: SitePlan;
  language?: string;
}

function lines(list: readonly SupplyLine[], options: DescribeOptions): string {
  return list.map((line) => `${labelOf(options.codebook, "items", line.item, options.language)}${line.quantity === undefined ? "" : ` ×${line.quantity}`}`).join(", ");
}

function at(place: Place | undefined, site: SitePlan | undefined): string {
  return place === undefined ? "" : ` at ${describePlace(place, site)}`;
}

/** "urgent request: drinking water ×20 at North Gate". */
export function describeRecord(body: RecordBody, options: DescribeOptions): string {
  const label = (category: CodebookCategory, name: string): string => labelOf(options.codebook, category, name, options.language);
  switch (body.kind) {
    case "supply_request":
      return `${body.priority === "normal" ? "" : `${label("priorities", body.priority)} `}request: ${lines(body.lines, options)}${at(body.place, options.site)}${body.needByMin ? ` within ${body.needByMin} min` : ""}`;
    case "supply_offer":
      return `offer: ${lines(body.lines, options)}${at(body.place, options.site)}`;
    case "supply_status":
      return `supply ${body.status.replace("_", " ")}${body.lines ? `: ${lines(body.lines, options)}` : ""}${at(body.place, options.site)}${body.etaMin ? `, ETA ${body.etaMin} min` : ""}${body.ref ? ` (re !${(body.ref.origin >>> 0).toString(16)}:${body.ref.seq})` : ""}`;
    case "incident": {
      const parts = [`${body.severity} incident: ${label("incidents", body.incident)}${at(body.place, options.site)}`];
      if (body.casualties > 0) {
        const triage = Object.entries(body.triage ?? {}).map(([name, count]) => `${count} ${name}`);
        parts.push(`${body.casualties} ${body.casualties === 1 ? "casualty" : "casualties"}${triage.length > 0 ? ` (${triage.join(", ")})` : ""}`);
      }
      if (body.people) parts.push(`${body.people} people`);
      if (body.hazards) parts.push(`hazards: ${body.hazards.map((hazard) => label("hazards", hazard)).join(", ")}`);
      if (body.responderOnScene) parts.push("responder on scene");
      return parts.join("; ");
    }
    case "shift": {
      const what = body.action === "handoff" ? "handoff" : body.action === "on" ? "on shift" : "off shift";
      const who = body.from || body.to ? ` ${body.from ?? "?"} -> ${body.to ?? "?"}` : "";
      const extra = [body.openItems ? `${body.openItems} open items` : "", body.lowStock ? `low on ${body.lowStock.map((item) => label("items", item)).join(", ")}` : ""].filter(Boolean);
      return `${what}${body.role ? ` (${label("roles", body.role)})` : ""}${who}${at(body.place, options.site)}${extra.length > 0 ? `; ${extra.join("; ")}` : ""}`;
    }
    case "checkin":
      return `check-in: ${body.status.replace("_", " ")}${body.team ? `, team ${body.team}` : ""}${body.battery === undefined ? "" : `, battery ${body.battery}%`}${at(body.place, options.site)}`;
    case "ack":
      return `ack (${body.code}): ${body.refs.map((ref) => `!${(ref.origin >>> 0).toString(16)}:${ref.seq}`).join(" ")}`;
    case "message":
      return `message: ${body.text}`;
  }
}

interface Coded {
  code: number | null;
  name: string;
  label: string;
}

/** A body with every code next to its English label, for JSON output. */
export function labelledRecord(body: RecordBody, options: DescribeOptions): Record<string, unknown> {
  const coded = (category: CodebookCategory, name: string): Coded => ({ code: codeOf(options.codebook, category, name) ?? null, name, label: labelOf(options.codebook, category, name, options.language) });
  const place = (value: Place | undefined): unknown => {
    if (value === undefined) return undefined;
    if ("landmark" in value) return { landmark: value.landmark, label: (options.site && landmarkByCode(options.site, value.landmark)?.label) ?? null };
    return { ...value, label: describePlace(value, options.site) };
  };
  const out: Record<string, unknown> = { ...body };
  if ("lines" in body && body.lines) out["lines"] = body.lines.map((line) => ({ item: coded("items", line.item), quantity: line.quantity ?? null }));
  if ("place" in body && body.place) out["place"] = place(body.place);
  if (body.kind === "supply_request") out["priority"] = { code: PRIORITIES.indexOf(body.priority), name: body.priority, label: labelOf(options.codebook, "priorities", body.priority, options.language) };
  if (body.kind === "incident") {
    out["incident"] = coded("incidents", body.incident);
    if (body.hazards) out["hazards"] = body.hazards.map((hazard) => coded("hazards", hazard));
    if (body.triage) out["triage"] = Object.entries(body.triage).map(([name, count]) => ({ ...coded("triage", name), count }));
  }
  if (body.kind === "shift") {
    if (body.role) out["role"] = coded("roles", body.role);
    if (body.lowStock) out["lowStock"] = body.lowStock.map((item) => coded("items", item));
  }
  return out;
}
