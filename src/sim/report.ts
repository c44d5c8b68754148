// The after-action report of a drill: a terminal table (formats side by side), a plot of channel
// utilisation over time, and what failed and why; or one JSON object.
import type { DrillResult, KindStats } from "./drill.ts";

const FORMAT_LABEL: Record<string, string> = { meshaid: "meshaid records", text: "plain text" };

/** The JSON `meshaid drill --json` prints: the first format's figures at the top, every run under `runs`, and `baseline` (plain text) when both ran. */
export function drillJson(results: readonly DrillResult[]): Record<string, unknown> {
  const [first] = results;
  if (!first) throw new RangeError("no drill results");
  const baseline = results.find((r) => r.format === "text" && r !== first);
  return { ...first, ...(baseline ? { baseline } : {}), runs: results.map((r) => r.format) };
}

export function formatDrillReport(results: readonly DrillResult[]): string {
  const [first] = results;
  if (!first) throw new RangeError("no drill results");
  const lines: string[] = [];
  const speed = results.map((r) => `${r.wallSeconds.toFixed(2)} s (${Math.round(r.speedup)}x)`).join(", ");
  lines.push(`Drill: ${first.scenario}`);
  lines.push(
    `${first.nodes} nodes (${first.bases} base station${first.bases === 1 ? "" : "s"}), ${first.preset}, region ${first.region}, seed ${first.seed}; ` +
      `${formatDuration(first.simulatedSeconds * 1000)} simulated in ${speed}`,
  );
  lines.push("");
  const header = ["", ...results.map((r) => FORMAT_LABEL[r.format] ?? r.format)];
  const rows: string[][] = [
    ["sent", ...results.map((r) => String(r.sent))],
    [results[0]?.deliveredAt === "radio" ? "decoded by every base radio" : "stored by every base station", ...results.map((r) => String(r.delivered))],
    ["delivery ratio", ...results.map((r) => pct(r.deliveryRatio))],
    ["  within 2 minutes", ...results.map((r) => pct(r.deliveredWithin2MinRatio))],
    ["latency p50", ...results.map((r) => ms(r.latencyP50Ms))],
    ["latency p95", ...results.map((r) => ms(r.latencyP95Ms))],
    ["airtime per record", ...results.map((r) => ms(r.airtimePerRecordMs))],
    ["airtime, all frames", ...results.map((r) => ms(r.airtimeMs))],
    ["peak channel utilisation", ...results.map((r) => `${r.peakChannelUtilization.toFixed(1)} %`)],
  ];
  lines.push(...table([header, ...rows]));
  lines.push("");
  lines.push("Per record kind:");
  const kindRows: string[][] = [["kind", "format", "sent", "delivered", "ratio", "p50", "p95", "airtime/record"]];
  const kinds = [...new Set(results.flatMap((r) => Object.keys(r.kinds)))].sort();
  for (const kind of kinds) {
    for (const r of results) {
      const k: KindStats | undefined = r.kinds[kind];
      if (!k) continue;
      kindRows.push([kind, r.format, String(k.sent), String(k.delivered), pct(k.deliveryRatio), ms(k.latencyP50Ms), ms(k.latencyP95Ms), ms(k.airtimePerRecordMs)]);
    }
  }
  lines.push(...table(kindRows).map((line) => `  ${line}`));
  if (results.some((r) => r.downlink.sent > 0)) {
    lines.push("");
    lines.push("From the base stations (operators' actions: status records to the other bases, replies to the handheld that asked):");
    for (const r of results) {
      const d = r.downlink;
      lines.push(`  ${FORMAT_LABEL[r.format] ?? r.format}: ${d.sent} sent, ${d.delivered} delivered (${pct(d.deliveryRatio)}), p95 ${ms(d.latencyP95Ms)}, ${ms(d.airtimePerRecordMs)} airtime each${d.refused > 0 ? `; ${d.refused} actions refused by the station` : ""}`);
    }
  }
  if (results.some((r) => r.paths.internet > 0 || r.outages.length > 0)) {
    lines.push("");
    lines.push("The internet relay between the stations:");
    for (const r of results) {
      lines.push(`  ${FORMAT_LABEL[r.format] ?? r.format}: records reached base stations ${r.paths.air} times over the air, ${r.paths.internet} over the internet`);
      for (const o of r.outages) {
        const back = o.forS === null ? "never came back" : `back after ${formatDuration(o.forS * 1000)}: ${o.caughtUp} records caught up in ${o.catchUpWallMs ?? "?"} ms (real time; the drill's clock waits)`;
        lines.push(`    ${o.station} lost its internet link at ${formatDuration(o.fromS * 1000)}, ${back}`);
      }
    }
  }
  lines.push("");
  lines.push(`Rosters (nodes each base radio holds a NodeInfo for, of ${first.nodes - 1}); NodeInfo on the air:`);
  for (const r of results) {
    const rosters = Object.entries(r.rosters).map(([base, roster]) => `${base} ${roster.known}`).join(", ");
    lines.push(`  ${FORMAT_LABEL[r.format] ?? r.format}: ${rosters}; ${r.nodeInfo.frames} NodeInfo frames, ${ms(r.nodeInfo.airtimeMs)} of airtime`);
  }
  for (const r of results) {
    lines.push("");
    lines.push(`Channel utilisation, ${FORMAT_LABEL[r.format] ?? r.format} (highest any node reported, per minute; peak ${r.peakChannelUtilization.toFixed(1)} %):`);
    lines.push(...plot(r.utilizationPerMinute).map((line) => `  ${line}`));
  }
  lines.push("");
  lines.push("What failed and why:");
  for (const r of results) {
    const label = FORMAT_LABEL[r.format] ?? r.format;
    const counts = Object.entries(r.failures.counts);
    lines.push(`  ${label}: ${counts.length === 0 ? "nothing; every record reached every base station" : counts.map(([reason, n]) => `${n} ${reason}`).join("; ")}`);
    const c = r.channel;
    lines.push(
      `    on the air: ${c.transmissions} transmissions, ${c.collisions} receptions lost to collisions, ${c.halfDuplex} while transmitting or off, ` +
        `${c.linkLoss} to link loss; ${r.routers.relayed} relays, ${r.routers.cancelled} relays cancelled (heard another), ` +
        `${r.routers.delayedLate} moved to the late window, ${r.routers.dutyCycleDrops} duty-cycle drops, ${r.routers.queueDrops} TX-queue drops; ` +
        `${r.backgroundHeldBack} periodic packets held back by the channel-utilisation gates`,
    );
    const t = r.transmissionsPerRecord;
    lines.push(`    per record sent: ${t.originals} original, ${t.retransmissions} retransmissions by its sender, ${t.relays} relays`);
    for (const example of r.failures.examples.slice(0, 5)) {
      lines.push(`    e.g. ${example.kind} from ${example.from} at ${formatDuration(example.sentAtS * 1000)}: ${example.reason}${example.missing.length > 0 ? ` (missing at ${example.missing.join(", ")})` : ""}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function table(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ").trimEnd());
}

const BARS = " ▁▂▃▄▅▆▇█";

/** A sparkline-style bar chart, one column per minute (bucketed to at most 60 columns), with a scale. */
export function plot(values: readonly number[], height = 4): string[] {
  if (values.length === 0) return ["(no samples)"];
  const columns = Math.min(60, values.length);
  const per = Math.ceil(values.length / columns);
  const buckets: number[] = [];
  for (let i = 0; i < values.length; i += per) buckets.push(Math.max(...values.slice(i, i + per)));
  const top = Math.max(1, ...buckets);
  const out: string[] = [];
  for (let row = height - 1; row >= 0; row--) {
    const line = buckets
      .map((v) => {
        const level = (v / top) * height - row;
        if (level >= 1) return BARS[8];
        if (level <= 0) return " ";
        return BARS[Math.max(1, Math.round(level * 8))];
      })
      .join("");
    const label = row === height - 1 ? `${top.toFixed(0).padStart(3)} % |` : "      |";
    out.push(`${label}${line}`);
  }
  out.push(`    0 +${"-".repeat(buckets.length)} ${Math.round((values.length * 1))} min`);
  return out;
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

function ms(value: number | null): string {
  if (value === null) return "-";
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function formatDuration(msValue: number): string {
  const s = Math.round(msValue / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}
