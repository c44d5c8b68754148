// `meshaid start` as a user runs it: the real composition root in a child process (simulated
// mesh over loopback TCP, LevelDB on disk), headless because stdin is not a terminal.
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { DEMO_NODES, mulberry32, serveTcp, SimMesh } from "../../src/sim/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { MESHAID_PORTNUM, packRecords, type RecordBody } from "../../src/wire/index.ts";
import { codebook } from "../helpers/records.ts";
import { tempDir } from "../helpers/tmp.ts";
import { spawnMeshaid as meshaid, type MeshaidProcess as Run } from "../helpers/cli.ts";

const RECORD_LINE = /^\S+Z (M1|M2|K1) (supply_request|incident|shift) .+$/m;

describe("meshaid start", () => {
  const running: Run[] = [];
  afterEach(() => {
    for (const run of running) run.child.kill("SIGKILL");
    running.length = 0;
  });

  it("runs the station on a simulated mesh, stores what it hears, and shows it again after a restart", async () => {
    const dir = await tempDir();
    try {
      const first = meshaid(["start", "--db", dir.path]);
      running.push(first);
      await expect.poll(first.stdout, { timeout: 15_000 }).toContain(`meshaid: data in ${dir.path}`);
      await expect.poll(first.stdout, { timeout: 15_000 }).toContain("radio: connected (handshake-complete)");
      await expect.poll(first.stdout, { timeout: 20_000, interval: 100 }).toMatch(RECORD_LINE);
      first.child.kill("SIGINT");
      expect(await first.exit, first.stderr()).toBe(0);
      const heard = first.stdout().match(new RegExp(RECORD_LINE.source, "gm")) ?? [];
      expect(heard.length).toBeGreaterThan(0);

      const second = meshaid(["start", "--db", dir.path]);
      running.push(second);
      await expect.poll(second.stdout, { timeout: 15_000 }).toContain(heard[0]!);
      second.child.kill("SIGINT");
      expect(await second.exit, second.stderr()).toBe(0);
    } finally {
      await dir.remove();
    }
  }, 60_000);

  it("purges records past their retention limit once the radio is connected, not on the way to it", async () => {
    const dir = await tempDir();
    try {
      const now = Date.now();
      const store = await RecordStore.open(new Level<string, Uint8Array>(join(dir.path, "db"), { valueEncoding: "view" }), codebook);
      await store.append({ id: { origin: 0x100, seq: 1 }, receivedAt: now - 4 * 86_400_000, body: { kind: "message", text: "old" } });
      await store.append({ id: { origin: 0x100, seq: 2 }, receivedAt: now - 60_000, body: { kind: "message", text: "new" } });
      await store.close();
      const run = meshaid(["start", "--no-ui", "--db", dir.path]);
      running.push(run);
      await expect.poll(run.stdout, { timeout: 20_000, interval: 100 }).toContain("records past their retention limit purged");
      const lines = run.stdout().split("\n").filter(Boolean).map((line) => JSON.parse(line) as { msg: string; status?: string; purged?: number; left?: number });
      const connected = lines.findIndex((line) => line.msg === "radio status" && line.status === "connected");
      const purged = lines.findIndex((line) => line.msg === "records past their retention limit purged");
      expect(connected).toBeGreaterThanOrEqual(0);
      expect(purged).toBeGreaterThan(connected);
      expect(lines[purged]).toMatchObject({ purged: 1 });
      run.child.kill("SIGTERM");
      expect(await run.exit, run.stderr()).toBe(0);
      const after = await RecordStore.open(new Level<string, Uint8Array>(join(dir.path, "db"), { valueEncoding: "view" }), codebook);
      expect(await after.get({ origin: 0x100, seq: 1 })).toBeUndefined();
      expect(await after.get({ origin: 0x100, seq: 2 })).toMatchObject({ body: { text: "new" } });
      await after.close();
    } finally {
      await dir.remove();
    }
  }, 60_000);

  it("says in one line what is wrong with a missing serial port", async () => {
    const dir = await tempDir();
    try {
      const run = meshaid(["start", "--db", dir.path, "--port", `${dir.path}/ttyNOPE`]);
      expect(await run.exit).toBe(1);
      expect(run.stderr()).toBe(`meshaid: Serial port ${dir.path}/ttyNOPE not found. Plug the radio in, or run \`meshaid ports\` to list candidates.\n`);
    } finally {
      await dir.remove();
    }
  });

  it("reads and sends meshaid records on the private port --record-port names, and refuses one that is not free", async () => {
    const dir = await tempDir();
    const mesh = new SimMesh({ base: { ...DEMO_NODES.base }, handhelds: [{ node: { ...DEMO_NODES.medic1 }, presets: [] }], intervalMs: { min: 1e7, max: 1e7 }, random: mulberry32(5) });
    const server = await serveTcp(mesh.baseRadio);
    try {
      const bad = meshaid(["start", "--db", dir.path, "--port", server.url, "--record-port", "256"]);
      expect(await bad.exit).toBe(1);
      expect(bad.stderr()).toBe("meshaid: Record port 256 is not a free Meshtastic private port: use one of 258..511 (default 300), the same at every station.\n");

      const run = meshaid(["start", "--db", dir.path, "--port", server.url, "--record-port", "287"]);
      running.push(run);
      await expect.poll(run.stdout, { timeout: 15_000 }).toContain("radio: connected");
      const packed = (seq: number, kind: "checkin" | "request"): Uint8Array => {
        const body: RecordBody = kind === "checkin" ? { kind: "checkin", status: "ok", battery: 60 } : { kind: "supply_request", lines: [{ item: "water" }], priority: "normal" };
        const result = packRecords([{ seq, body }], codebook);
        if (!result.ok) throw result.error;
        return result.value[0]!;
      };
      const medic = mesh.net.radio(DEMO_NODES.medic1.num);
      medic.originate({ portnum: MESHAID_PORTNUM, payload: packed(61, "request") }); // the default port: not ours here
      medic.originate({ portnum: 287, payload: packed(62, "checkin") });
      await expect.poll(run.stdout, { timeout: 20_000, interval: 100 }).toMatch(/ checkin /);
      expect(run.stdout()).not.toMatch(/ supply_request /); // heard first, so it would show first
      // What the station composes goes to the other base stations on the same port.
      const onAir: Array<{ from: number; portnum: number }> = [];
      mesh.onAir((packet) => onAir.push({ from: packet.from, portnum: packet.decoded.portnum }));
      const sent = meshaid(["send", "--db", dir.path, "NEED WATER"]);
      expect(await sent.exit).toBe(0);
      await expect.poll(() => onAir.filter((p) => p.from === DEMO_NODES.base.num).map((p) => p.portnum), { timeout: 20_000, interval: 100 }).toContain(287);
      expect(onAir.filter((p) => p.from === DEMO_NODES.base.num && p.portnum === MESHAID_PORTNUM)).toEqual([]);
      run.child.kill("SIGINT");
      expect(await run.exit).toBe(0);
    } finally {
      await server.close();
      mesh.baseRadio.close();
      await dir.remove();
    }
  }, 60_000);

  it("refuses a second station on the same data folder with a clear line", async () => {
    const dir = await tempDir();
    try {
      const first = meshaid(["start", "--db", dir.path]);
      running.push(first);
      await expect.poll(first.stdout, { timeout: 15_000 }).toContain("radio: connected");
      const second = meshaid(["start", "--db", dir.path]);
      expect(await second.exit).toBe(1);
      expect(second.stderr()).toMatch(/^meshaid: the database .* is in use: is another meshaid running with this data folder\?/);
      first.child.kill("SIGINT");
      expect(await first.exit).toBe(0);
    } finally {
      await dir.remove();
    }
  }, 30_000);

  it("logs and skips what a TCP radio garbles (a length over 512, an undecodable FromRadio) and keeps running", async () => {
    const dir = await tempDir();
    const sockets: Socket[] = [];
    // A radio that answers the handshake with a header claiming 0xffff bytes, then a frame whose payload is not a FromRadio.
    const radio = createServer((socket) => {
      sockets.push(socket);
      socket.on("error", () => undefined);
      socket.write(Buffer.from([0x94, 0xc3, 0xff, 0xff, 0x94, 0xc3, 0x00, 0x03, 0xff, 0xff, 0xff]));
    });
    await new Promise<void>((resolve) => radio.listen(0, "127.0.0.1", resolve));
    const { port } = radio.address() as { port: number };
    try {
      const run = meshaid(["start", "--no-ui", "--db", dir.path, "--port", `tcp://127.0.0.1:${port}`]);
      running.push(run);
      await expect.poll(run.stdout, { timeout: 15_000 }).toContain("discarded a frame header with a length over 512");
      await expect.poll(run.stdout, { timeout: 15_000 }).toContain("undecodable FromRadio payload skipped");
      expect(run.child.exitCode).toBeNull();
      run.child.kill("SIGINT");
      expect(await run.exit).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => radio.close(() => resolve()));
      await dir.remove();
    }
  }, 30_000);

  it("lists its commands with --help", async () => {
    const run = meshaid(["--help"]);
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toMatch(/Commands:[\s\S]*start[\s\S]*ports/);
  });
});
