// Relay (issue 8): catch-up after an outage. Station "north" holds 100,000 records of its own
// (MESHAID_BENCH_RELAY_RECORDS) and publishes them while station "south" is offline (its
// persistent session keeps a place for them at the broker); then south comes back.
// - catchupSeconds: from south's restart until all of north's records are in south's store (on
//   disk, checked signatures, version vector moved). Target < 10 s.
// - baseline: the same bytes (north's envelopes, captured) published raw with QoS 1 through the
//   same broker to an offline persistent subscriber, from its reconnect until it has them all.
// The broker is aedes in process (the embedded broker of `meshaid start --relay embedded`).
// The stations run with the relay's own stall check (2 s), not the tests' quick one (0.3 s): on a
// loaded machine a 0.3 s pause mid catch-up has the owner fill the whole range again.
import mqtt from "mqtt";
import { keysFor, startAedes, startRig as startStation, type RigOptions } from "../helpers/relay.ts";
import { presetRecord } from "../helpers/records.ts";
import { tempDir } from "../helpers/tmp.ts";
import { result, type BenchResult } from "./result.ts";

const RECORDS = Number(process.env["MESHAID_BENCH_RELAY_RECORDS"] ?? 100_000);

async function waitFor(condition: () => boolean, what: string, limitMs = 300_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function relayCatchup(dir: string, url: string, captured: Buffer[]): Promise<number> {
  const keys = keysFor(["north", "south"]);
  const startRig = (options: Omit<RigOptions, "relay">) => startStation({ ...options, relay: { stallMs: 2000 } });
  // South subscribes once (a persistent session), then goes offline.
  let south = await startRig({ name: "south", dir, url, keys });
  await waitFor(() => south.relay.state().link === "up", "south to connect");
  await south.stop();
  const north = await startRig({ name: "north", dir, url, keys });
  const spy = await mqtt.connectAsync(url, { protocolVersion: 4 });
  spy.on("message", (_topic, payload) => captured.push(payload));
  await spy.subscribeAsync("meshaid/test/log/north", { qos: 1 });
  await Promise.all(Array.from({ length: RECORDS }, (_, i) => north.store.append(presetRecord(0x1000 + (i % 64), i + 1))));
  await waitFor(() => north.replica.head === RECORDS && north.relay.state().outboxPending === 0, "north's outbox to drain");
  await waitFor(() => captured.reduce((n, bytes) => n + bytes.length, 0) > 0 && captured.length >= north.relay.state().peers.length, "the spy");
  await spy.endAsync();
  const started = performance.now();
  south = await startRig({ name: "south", dir, url, keys });
  await waitFor(() => south.replica.held("north") === RECORDS, "south to catch up");
  const seconds = (performance.now() - started) / 1000;
  if (south.store.count !== RECORDS) throw new Error(`south stored ${south.store.count} of ${RECORDS}`);
  await south.stop();
  await north.stop();
  return seconds;
}

async function rawCatchup(url: string, payloads: Buffer[]): Promise<number> {
  const topic = "bench/raw";
  let received = 0;
  const options = { protocolVersion: 4 as const, clean: false, clientId: "bench-raw-sub" };
  const subscriber = await mqtt.connectAsync(url, options);
  await subscriber.subscribeAsync(topic, { qos: 1 });
  await subscriber.endAsync();
  const publisher = await mqtt.connectAsync(url, { protocolVersion: 4 });
  await Promise.all(payloads.map((payload) => publisher.publishAsync(topic, payload, { qos: 1 })));
  await publisher.endAsync();
  const started = performance.now();
  const again = mqtt.connect(url, options);
  again.on("message", () => (received += 1));
  await waitFor(() => received === payloads.length, "the raw subscriber");
  const seconds = (performance.now() - started) / 1000;
  await again.endAsync();
  return seconds;
}

export async function run(): Promise<BenchResult[]> {
  const dir = await tempDir("meshaid-bench-relay-");
  const broker = await startAedes();
  try {
    const captured: Buffer[] = [];
    const catchup = await relayCatchup(dir.path, broker.url, captured);
    const raw = await rawCatchup(broker.url, captured);
    const bytes = captured.reduce((n, payload) => n + payload.length, 0);
    return [
      result("relay", "catchupSeconds", catchup, "s", raw),
      result("relay", "catchupRecordsPerSecond", RECORDS / catchup, "records/s"),
      result("relay", "bytesPerRecord", bytes / RECORDS, "B"),
    ];
  } finally {
    await broker.close();
    await dir.remove();
  }
}
