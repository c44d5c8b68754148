// Group delivery and gap repair (issue 6): three real stations on an in-process air that loses
// 20 % of packets at each receiver (seeded). Station A sends 200 records (one to three a packet);
// B and C repair what they miss by asking A. Measured: the share of A's records every station
// ends up holding, and the airtime (LONG_FAST, from each payload's bytes) that held ACKs, resend
// requests and resends cost, against the airtime of A's first transmissions of its records.
import { airtimeMs, MODEM_PRESETS, mulberry32 } from "../../src/sim/index.ts";
import { packControl, type RecordBody } from "../../src/wire/index.ts";
import { Air, type AirStation } from "../helpers/air.ts";
import { tempDir } from "../helpers/tmp.ts";
import { result, type BenchResult } from "./result.ts";

const A = 0xba5e000a;
const STATIONS = [A, 0xba5e000b, 0xba5e000c];
const RECORDS = 200;
const LOSS = 0.2;
const SPEEDUP = 100;

/** LONG_FAST time on air of a payload on meshaid's port (16-byte header, Data around it). */
const airtime = (payloadBytes: number): number => airtimeMs(16 + 2 + 3 + 2 + payloadBytes, MODEM_PRESETS.LONG_FAST);

export async function run(): Promise<BenchResult[]> {
  const dir = await tempDir("meshaid-bench-peers-");
  const air = new Air();
  const random = mulberry32(6);
  air.lose = () => random() < LOSS;
  const nodes = new Map<number, AirStation>();
  for (const num of STATIONS) {
    // Time runs 100x faster than in the field (every wait / 100): the airtime counts come from bytes, not the clock.
    const node = await air.startStation(num, {
      dir: dir.path,
      minIntervalMs: 2000 / SPEEDUP,
      // The defaults (group-delivery.ts, gap-repair.ts), 100x faster.
      peerTuning: { heldDelayMs: 30_000 / SPEEDUP, firstAnnounceMs: 3000 / SPEEDUP, announceMs: 600_000 / SPEEDUP, graceMs: 10_000 / SPEEDUP, retryBaseMs: 30_000 / SPEEDUP, resendWindowMs: 20_000 / SPEEDUP },
    });
    nodes.set(num, node);
  }
  const a = nodes.get(A)!;
  for (let i = 0; i < RECORDS; ) {
    const count = 1 + (i % 3);
    const bodies: RecordBody[] = Array.from({ length: Math.min(count, RECORDS - i) }, (_, k) => ({ kind: "supply_request", lines: [{ item: "water", quantity: i + k + 1 }], priority: "normal", place: { landmark: 1 } }));
    const sent = await a.station.send({ bodies });
    if (!sent.ok) throw new Error(sent.reason);
    i += bodies.length;
  }
  // Wait (at most 2 minutes, over 3 hours in the field) for every station to hold every record of A.
  const started = Date.now();
  const deadline = started + 120_000;
  let held = 0;
  while (Date.now() < deadline) {
    held = 0;
    for (const num of STATIONS.slice(1)) for (let seq = 1; seq <= RECORDS; seq += 1) if (await nodes.get(num)!.store.get({ origin: A, seq })) held += 1;
    if (held === RECORDS * (STATIONS.length - 1)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const fieldSeconds = ((Date.now() - started) * SPEEDUP) / 1000;
  // Airtime by what it carried.
  const firstSent = new Set<number>();
  let recordsMs = 0;
  let resendsMs = 0;
  let heldMs = 0;
  let requestsMs = 0;
  for (const [num, node] of nodes) {
    for (const { request, decoded } of node.sent) {
      const ms = airtime(request.record?.length ?? 0);
      if (decoded?.control?.kind === "held") heldMs += ms;
      else if (decoded?.control?.kind === "resend") requestsMs += ms;
      else if (num === A && decoded && decoded.records.every((record) => !firstSent.has(record.id.seq))) {
        for (const record of decoded.records) firstSent.add(record.id.seq);
        recordsMs += ms;
      } else resendsMs += ms;
    }
  }
  const fourStations = packControl({ kind: "held", latest: 1234, holdings: STATIONS.concat(0xba5e000d).map((origin) => ({ origin, runs: [[1, 1200]] })) });
  const heldBytes = fourStations.ok ? fourStations.value[0]!.length : Number.NaN;
  for (const node of nodes.values()) await node.close();
  await dir.remove();
  return [
    result("peers", "heldByAllStations", held / (RECORDS * (STATIONS.length - 1)), "share"),
    result("peers", "allHeldAfterFieldSeconds", fieldSeconds, "s"),
    result("peers", "repairAirtimeRatio", (resendsMs + requestsMs + heldMs) / recordsMs, "ratio", 1),
    result("peers", "resendAirtimeMs", resendsMs, "ms", recordsMs),
    result("peers", "requestAirtimeMs", requestsMs, "ms", recordsMs),
    result("peers", "heldAckAirtimeMs", heldMs, "ms", recordsMs),
    result("peers", "heldAckBytes4Stations", heldBytes, "bytes", 231),
  ];
}
