// A trust list changed while the relay runs (Relay.setTrust, what start does when trust.yaml
// changes): a station removed is refused from its next envelope on, what it sent before stays;
// trusted again, it is followed again.
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { keysFor, useRelayRigs } from "../helpers/relay.ts";
import { presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-relay-trust-");
const relays = useRelayRigs();

describe("trust list changes without a restart", () => {
  it("a removed station's envelopes are refused from then on; trusted again, it is caught up", async () => {
    const broker = await relays.broker();
    const keys = keysFor(["north", "south"]);
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "info" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(...chunk.toString().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)), done()) }));
    const north = await relays.rig({ name: "north", dir: dir.path, url: broker.url, keys });
    const south = await relays.rig({ name: "south", dir: dir.path, url: broker.url, keys, logger });
    await north.store.append(presetRecord(0x11, 1));
    await expect.poll(() => south.replica.held("north"), { timeout: 10_000 }).toBe(1);

    south.relay.setTrust(new Map());
    expect(lines.some((line) => line["msg"] === "trust list changed")).toBe(true);
    expect(south.relay.state().peers.map((peer) => peer.station)).not.toContain("north");
    await north.store.append(presetRecord(0x11, 2));
    await expect.poll(() => lines.filter((line) => line["msg"] === "relayed envelope rejected" && String(line["reason"]).includes('"north" is not in the trust list')).length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(south.replica.held("north")).toBe(1);
    expect(south.store.count).toBe(1); // what north sent before stays

    // Trusted again: the next check asks north for what was refused meanwhile.
    south.relay.setTrust(new Map([["north", keys.get("north")!.publicKey]]));
    await north.store.append(presetRecord(0x11, 3));
    await expect.poll(() => south.replica.held("north"), { timeout: 15_000 }).toBe(3);
    expect(south.store.count).toBe(3);
  });
});
