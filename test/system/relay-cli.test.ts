// `meshaid start --relay embedded` and a second station pointed at it, as child processes (each
// with its simulated mesh): the hub prints its broker's port, and each holds the other's log
// (read from the signed, retained version vectors an outside MQTT client sees).
import { join } from "node:path";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { generateKeys, trustAdd } from "../../src/cli/keys.ts";
import { openEnvelope, type VectorBody } from "../../src/relay/index.ts";
import { spawnMeshaid, type MeshaidProcess } from "../helpers/cli.ts";
import { freePort } from "../helpers/mosquitto.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-relay-cli-");
let running: MeshaidProcess[] = [];

afterEach(async () => {
  for (const station of running) {
    station.child.kill("SIGTERM");
    await station.exit;
  }
  running = [];
});

describe("meshaid start --relay", () => {
  it("a hub with the embedded broker and a station pointed at it replicate each other's logs", async () => {
    const hubDir = join(dir.path, "hub");
    const fieldDir = join(dir.path, "field");
    const hubKey = generateKeys(hubDir).publicKey;
    const fieldKey = generateKeys(fieldDir).publicKey;
    trustAdd(join(hubDir, "trust.yaml"), "field", fieldKey);
    trustAdd(join(fieldDir, "trust.yaml"), "hub", hubKey);
    const port = await freePort();

    const hub = spawnMeshaid(["start", "--db", hubDir, "--name", "hub", "--relay", "embedded", "--relay-port", String(port), "--coalition", "drill"]);
    running.push(hub);
    await expect.poll(() => hub.stdout(), { timeout: 30_000 }).toContain(`relay: embedded MQTT broker listening on port ${port}`);
    const field = spawnMeshaid(["start", "--db", fieldDir, "--name", "field", "--relay", `mqtt://127.0.0.1:${port}`, "--coalition", "drill"]);
    running.push(field);
    await expect.poll(() => field.stdout(), { timeout: 30_000 }).toContain("relay: mqtt://127.0.0.1:");

    const vectors = new Map<string, VectorBody>();
    const keys = new Map([
      ["hub", new Uint8Array(Buffer.from(hubKey, "base64"))],
      ["field", new Uint8Array(Buffer.from(fieldKey, "base64"))],
    ]);
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4 });
    watcher.on("message", (_topic, payload) => {
      const opened = openEnvelope(payload, (station) => keys.get(station));
      if (opened.ok && opened.envelope.kind === "vector") vectors.set(opened.envelope.station, opened.envelope.body);
    });
    await watcher.subscribeAsync("meshaid/drill/vector/+", { qos: 1 });
    try {
      // Each station's simulated mesh produces records; each ends up holding the other's log.
      await expect.poll(() => (vectors.get("hub")?.held["field"] ?? 0) > 0 && (vectors.get("field")?.held["hub"] ?? 0) > 0, { timeout: 45_000, interval: 500 }).toBe(true);
    } finally {
      await watcher.endAsync();
    }
  });

  it("refuses to start the relay without keys, in one line", async () => {
    const station = spawnMeshaid(["start", "--db", dir.path, "--name", "north", "--relay", "embedded", "--relay-port", String(await freePort())]);
    running.push(station);
    expect(await station.exit).toBe(1);
    expect(station.stderr()).toMatch(/^meshaid: cannot read the station signing key .*run `meshaid keygen` first/m);
  });
});
