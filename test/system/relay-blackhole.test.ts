// The network to the broker silently dropped (a blackhole: packets vanish, no connection is
// closed) for many keepalive periods, then restored. Between one station and a REAL Mosquitto sits
// a TCP proxy the test controls. "Minutes" are compressed: keepalive 1 s and a connect timeout
// of 1 s make the 20 s outage 20 keepalive periods, as a 20-minute outage is with the default 60 s.
// During it the relay says the link is down, why, and how many records wait; afterwards every
// record heard on either side is in both stores exactly once.
// (A broker restart, SIGTERM and kill -9, is covered by relay.test.ts: "link flapping and a broker restart".)
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { consoleRelayStatus } from "../../src/cli/start.ts";
import { relayText } from "../../src/ui/header.ts";
import { words } from "../../src/ui/i18n.ts";
import { freePort, Mosquitto } from "../helpers/mosquitto.ts";
import { idsIn, keysFor, startRig, type RelayRig } from "../helpers/relay.ts";
import { useTempDir } from "../helpers/tmp.ts";

const OUTAGE_MS = 20_000;

/** A TCP proxy that can swallow everything in both directions while keeping every socket open. */
class BlackholeProxy {
  blackholed = false;
  dropped = 0;
  url = "";
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(upstreamPort: number) {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: "127.0.0.1", port: upstreamPort });
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(from);
        from.on("data", (chunk: Buffer) => {
          if (this.blackholed) this.dropped += chunk.length;
          else to.write(chunk);
        });
        // A socket ends only when its side ends it: the blackhole itself closes nothing.
        from.on("close", () => {
          this.sockets.delete(from);
          to.destroy();
        });
        from.on("error", () => to.destroy());
      }
    });
  }

  static async start(upstreamPort: number): Promise<BlackholeProxy> {
    const proxy = new BlackholeProxy(upstreamPort);
    const port = await freePort();
    await new Promise<void>((resolve) => proxy.server.listen(port, "127.0.0.1", () => resolve()));
    proxy.url = `mqtt://127.0.0.1:${port}`;
    return proxy;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const dir = useTempDir("meshaid-relay-blackhole-");
let broker: Mosquitto | undefined;
let proxy: BlackholeProxy | undefined;
let rigs: RelayRig[] = [];

afterEach(async () => {
  for (const rig of rigs) await rig.stop().catch(() => undefined);
  rigs = [];
  await proxy?.stop();
  proxy = undefined;
  await broker?.stop("SIGKILL");
  broker = undefined;
});

function hear(rig: RelayRig, from: number, count: number, firstId: number): void {
  for (let i = 0; i < count; i += 1) rig.radio.hear(from, firstId + i, i % 2 ? "NEED WATER" : "INJURED 1");
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("relay: the network to the broker blackholed, then restored", () => {
  it("shows the link down with the reason and the backlog, recovers, and loses or repeats nothing", async () => {
    broker = await Mosquitto.start(dir.path);
    proxy = await BlackholeProxy.start(broker.port);
    const keys = keysFor(["north", "south"]);
    const fast = { keepalive: 1, connectTimeout: 1000, reconnectPeriod: 200 };
    const north = await startRig({ name: "north", dir: dir.path, url: proxy.url, keys, protocolVersion: 5, client: fast });
    const south = await startRig({ name: "south", dir: dir.path, url: broker.url, keys, protocolVersion: 5, client: fast });
    rigs = [north, south];
    const w = words("en");
    const header = (): string => relayText(consoleRelayStatus(north.relay.state()), Date.now(), w);

    hear(north, 0x11, 20, 1);
    hear(south, 0x22, 10, 1);
    for (const rig of rigs) await expect.poll(() => rig.store.count, { timeout: 30_000 }).toBe(30);
    expect(north.relay.state().link).toBe("up");

    proxy.blackholed = true;
    const started = Date.now();
    hear(north, 0x11, 40, 100); // heard while nothing reaches the broker
    hear(south, 0x22, 15, 100);
    // Silence is noticed within a few keepalive periods: down, with a reason, and the backlog.
    await expect.poll(() => north.relay.state().link, { timeout: 15_000 }).not.toBe("up");
    await expect.poll(() => north.relay.state().outboxPending, { timeout: 15_000 }).toBeGreaterThan(0);
    const during = north.relay.state();
    expect(during.reason, "the relay says why the link is down").toMatch(/timeout/i);
    expect(header()).toMatch(/^relay (down|connecting) \(.*timeout\) · \d+ peers · [1-9]\d* pending/i);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - started)));
    // The whole outage long nothing got through and nothing was lost from the outbox.
    expect(north.relay.state().link).not.toBe("up");
    expect(proxy.dropped).toBeGreaterThan(0);
    expect(south.store.count).toBe(45);
    const outage = { seconds: Math.round((Date.now() - started) / 1000), droppedBytes: proxy.dropped, pendingAtEnd: north.relay.state().outboxPending, reason: north.relay.state().reason };

    proxy.blackholed = false;
    const restored = Date.now();
    for (const rig of rigs) await expect.poll(() => rig.store.count, { timeout: 60_000 }).toBe(85);
    await expect.poll(() => north.relay.state().link, { timeout: 20_000 }).toBe("up");
    await expect.poll(() => north.relay.state().outboxPending, { timeout: 20_000 }).toBe(0);
    const recoveredSeconds = Math.round((Date.now() - restored) / 100) / 10;
    expect(header()).toMatch(/^relay up · 1 peers · 0 pending/);

    const northIds = (await idsIn(north.store)).sort();
    expect(new Set(northIds).size).toBe(85);
    expect((await idsIn(south.store)).sort()).toEqual(northIds);
    // The figures for the issue note.
    process.stdout.write(`blackhole: ${JSON.stringify({ ...outage, recoveredSeconds, records: 85 })}\n`);
  }, 180_000);
});
