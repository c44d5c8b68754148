// `meshaid start --relay embedded` and a second station pointed at it, as child processes (each
// with its simulated mesh): the hub prints its broker's port, and each holds the other's log
// (read from the signed, retained version vectors an outside MQTT client sees). A station taken
// off the hub's trust list (meshaid trust remove) is refused from then on, without a restart.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runMeshaid, spawnMeshaid, type MeshaidProcess } from "../helpers/cli.ts";
import { freePort } from "../helpers/mosquitto.ts";
import { stationDirs, watchVectors } from "../helpers/relay.ts";
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

/** A hub with the embedded broker and a field station pointed at it. */
async function hubAndField(): Promise<{ hub: MeshaidProcess; field: MeshaidProcess; port: number; stations: ReturnType<typeof stationDirs> }> {
  const stations = stationDirs(dir.path, ["hub", "field"]);
  const port = await freePort();
  const hub = spawnMeshaid(["start", "--db", stations.dirOf("hub"), "--name", "hub", "--relay", "embedded", "--relay-port", String(port), "--coalition", "drill"]);
  running.push(hub);
  await expect.poll(() => hub.stdout(), { timeout: 30_000 }).toContain(`relay: embedded MQTT broker listening on port ${port}`);
  const field = spawnMeshaid(["start", "--db", stations.dirOf("field"), "--name", "field", "--relay", `mqtt://127.0.0.1:${port}`, "--coalition", "drill"]);
  running.push(field);
  await expect.poll(() => field.stdout(), { timeout: 30_000 }).toContain("relay: mqtt://127.0.0.1:");
  return { hub, field, port, stations };
}

describe("meshaid start --relay", () => {
  it("a hub with the embedded broker and a station pointed at it replicate each other's logs", async () => {
    const { port, stations } = await hubAndField();
    const vectors = await watchVectors(`mqtt://127.0.0.1:${port}`, "drill", stations.keyBytes);
    try {
      // Each station's simulated mesh produces records; each ends up holding the other's log.
      await expect.poll(() => (vectors.held.get("hub")?.held["field"] ?? 0) > 0 && (vectors.held.get("field")?.held["hub"] ?? 0) > 0, { timeout: 45_000, interval: 500 }).toBe(true);
    } finally {
      await vectors.close();
    }
  });

  it("meshaid status shows the relay's link and each peer's backlog, as text and --json, through the control socket", async () => {
    const { port, stations } = await hubAndField();
    const vectors = await watchVectors(`mqtt://127.0.0.1:${port}`, "drill", stations.keyBytes);
    try {
      await expect.poll(() => vectors.held.get("field")?.held["hub"] ?? 0, { timeout: 45_000, interval: 500 }).toBeGreaterThan(0);
    } finally {
      await vectors.close();
    }
    type Report = { relay?: { link: string; broker: string; outboxPending: number; peers: Array<{ station: string; behind: number; missing: number; lastSeenAt?: number }> } };
    const report = (): Report => JSON.parse(runMeshaid(["status", "--json", "--db", stations.dirOf("hub")]).stdout) as Report;
    await expect.poll(() => report().relay?.peers.find((peer) => peer.station === "field")?.lastSeenAt, { timeout: 30_000, interval: 500 }).toBeGreaterThan(0);
    const relay = report().relay!;
    expect(relay.link).toBe("up");
    expect(relay.broker).toBe(`embedded broker on port ${port}`);
    const field = relay.peers.find((peer) => peer.station === "field")!;
    expect(field.behind).toBeGreaterThanOrEqual(0);
    expect(field.missing).toBeGreaterThanOrEqual(0);
    const text = runMeshaid(["status", "--db", stations.dirOf("hub")]);
    expect(text.stdout).toMatch(/^relay {5}up, embedded broker on port \d+, \d+ record\(s\) not yet acknowledged by the broker$/m);
    expect(text.stdout).toMatch(/^peer {6}field: lacks \d+ of our records, we lack \d+ of its; last heard \d+ s ago$/m);
  }, 180_000);

  it("a station removed from the trust list with meshaid trust remove is refused from then on, without a restart", async () => {
    const { hub, port, stations } = await hubAndField();
    const vectors = await watchVectors(`mqtt://127.0.0.1:${port}`, "drill", stations.keyBytes);
    try {
      await expect.poll(() => vectors.held.get("hub")?.held["field"] ?? 0, { timeout: 45_000, interval: 500 }).toBeGreaterThan(0);
      const removed = runMeshaid(["trust", "remove", "field", "--db", stations.dirOf("hub")]);
      expect(removed.stdout).toContain("removed field");
      await expect.poll(() => hub.stdout(), { timeout: 15_000 }).toContain("trust list");
      expect(hub.stdout()).toMatch(/relay: trust list .* reloaded: 0 trusted peers/);
      // The field station goes on publishing (its simulated mesh); the hub refuses it, with the reason.
      const hubLog = (): string => (existsSync(join(stations.dirOf("hub"), "meshaid.log")) ? readFileSync(join(stations.dirOf("hub"), "meshaid.log"), "utf8") : "");
      await expect.poll(hubLog, { timeout: 45_000, interval: 500 }).toContain('station \\"field\\" is not in the trust list');
    } finally {
      await vectors.close();
    }
  }, 180_000); // two stations start as child processes: slow on a loaded machine

  it("refuses --serves with a landmark the site plan lacks, in one line naming it", async () => {
    const stations = stationDirs(dir.path, ["north"]);
    const site = new URL("../../firmware-config/site.yaml", import.meta.url).pathname;
    const station = spawnMeshaid(["start", "--db", stations.dirOf("north"), "--name", "north", "--relay", "embedded", "--relay-port", String(await freePort()), "--site", site, "--serves", "North Gate,Nowhere"]);
    running.push(station);
    expect(await station.exit).toBe(1);
    expect(station.stderr()).toMatch(/^meshaid: --serves "Nowhere": the site plan "Example march, downtown" has no such landmark \(give a label, an alias or a code: 1 North Gate, /m);
  });

  it("refuses to start the relay without keys, in one line", async () => {
    const station = spawnMeshaid(["start", "--db", dir.path, "--name", "north", "--relay", "embedded", "--relay-port", String(await freePort())]);
    running.push(station);
    expect(await station.exit).toBe(1);
    expect(station.stderr()).toMatch(/^meshaid: cannot read the station signing key .*run `meshaid keygen` first/m);
  });
});
