// The real @meshtastic/core MeshDevice, as a client of the simulated radio: in process (through
// the real framing bytes) and over a real TCP socket.
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MeshDevice } from "@meshtastic/core";
import { createStreamTransport, type MyNodeInfo, type NodeInfo, type Transport } from "../../src/radio/index.ts";
import { DEMO_NODES, SimMesh, connectInProcess, createDemoMesh, mulberry32, serveTcp, type SimTcpServer } from "../../src/sim/index.ts";

const DEVICE_CONFIGURED = 7;
const MEDIC = ["NEED WATER", "INJURED 1"];
const MARSHAL = ["NEED MEDIC", "GAS"];

interface ChannelPacket {
  index: number;
  role: number;
  settings?: { psk: Uint8Array };
}

interface MessagePacket {
  id: number;
  from: number;
  to: number;
  type: string;
  channel: number;
  data: string;
}

interface Observed {
  device: MeshDevice;
  statuses: number[];
  myNodeInfo: MyNodeInfo[];
  nodeInfos: NodeInfo[];
  channels: ChannelPacket[];
  messages: MessagePacket[];
  configured: Promise<void>;
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function observe(transport: Transport): Observed {
  const device = new MeshDevice(transport);
  // MeshDevice logs through tslog to the console; keep the test output quiet.
  (device.log as { settings: { minLevel: number } }).settings.minLevel = 7;
  const observed: Omit<Observed, "configured"> = { device, statuses: [], myNodeInfo: [], nodeInfos: [], channels: [], messages: [] };
  const configured = new Promise<void>((resolve) => {
    device.events.onDeviceStatus.subscribe((status: number) => {
      observed.statuses.push(status);
      if (status === DEVICE_CONFIGURED) resolve();
    });
  });
  device.events.onMyNodeInfo.subscribe((info: MyNodeInfo) => observed.myNodeInfo.push(info));
  device.events.onNodeInfoPacket.subscribe((info: NodeInfo) => observed.nodeInfos.push(info));
  device.events.onChannelPacket.subscribe((channel: ChannelPacket) => observed.channels.push(channel));
  device.events.onMessagePacket.subscribe((message: MessagePacket) => observed.messages.push(message));
  cleanups.push(async () => {
    try {
      await device.disconnect();
    } catch {
      // already closed
    }
  });
  return { ...observed, configured };
}

function startMesh(): SimMesh {
  const mesh = createDemoMesh({
    presetsByRole: { medic: MEDIC, marshal: MARSHAL },
    random: mulberry32(2024),
    intervalMs: { min: 600_000, max: 600_000 }, // no random presets during the test
  });
  mesh.start();
  cleanups.push(() => {
    mesh.stop();
    mesh.baseRadio.close();
  });
  return mesh;
}

async function expectConfigured(observed: Observed): Promise<void> {
  // configure() waits for an ACK the device never sends for want_config_id; the status event is what counts.
  observed.device.configure().catch(() => undefined);
  await observed.configured;
  expect(observed.statuses).toContain(DEVICE_CONFIGURED);

  expect(observed.myNodeInfo).toHaveLength(1);
  expect(observed.myNodeInfo[0]?.myNodeNum).toBe(DEMO_NODES.base.num);

  const byNum = new Map(observed.nodeInfos.map((n) => [n.num, n]));
  expect([...byNum.keys()].sort()).toEqual(
    [DEMO_NODES.base.num, DEMO_NODES.medic1.num, DEMO_NODES.medic2.num, DEMO_NODES.marshal1.num].sort(),
  );
  expect(byNum.get(DEMO_NODES.base.num)?.user).toMatchObject({ id: "!2a6f1c01", longName: "Base Station", shortName: "BASE" });
  expect(byNum.get(DEMO_NODES.medic1.num)?.user).toMatchObject({ longName: "Medic 1", shortName: "M1" });
  expect(byNum.get(DEMO_NODES.marshal1.num)?.user).toMatchObject({ longName: "Marshal 1", shortName: "K1" });

  expect(observed.channels.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(observed.channels[0]).toMatchObject({ index: 0, role: 1 });
  expect([...(observed.channels[0]?.settings?.psk ?? [])]).toEqual([1]);
  expect(observed.channels.slice(1).every((c) => c.role === 0)).toBe(true);
}

async function expectPresetArrives(mesh: SimMesh, observed: Observed): Promise<void> {
  const id = mesh.sendFrom(DEMO_NODES.medic2.num, "INJURED 1");
  // Real time: the radio waits for a quiet channel (the handhelds' NodeInfo floods at start), and a
  // loaded machine adds its own delays; this is a cap, not a measure of speed.
  await expect.poll(() => observed.messages.find((m) => m.id === id), { timeout: 15_000 }).toBeDefined();
  expect(observed.messages.find((m) => m.id === id)).toMatchObject({
    from: DEMO_NODES.medic2.num,
    to: 0xffffffff,
    type: "broadcast",
    channel: 0,
    data: "INJURED 1",
  });
}

describe("@meshtastic/core MeshDevice against the simulated radio", () => {
  it("configures in process and receives a handheld's preset", async () => {
    const mesh = startMesh();
    const observed = observe(connectInProcess(mesh.baseRadio));
    await expectConfigured(observed);
    await expectPresetArrives(mesh, observed);
  });

  it("configures over TCP (meshtasticd framing) and receives a handheld's preset", async () => {
    const mesh = startMesh();
    const server: SimTcpServer = await serveTcp(mesh.baseRadio);
    cleanups.push(() => server.close());
    expect(server.url).toBe(`tcp://127.0.0.1:${server.port}`);
    const socket = connect(server.port, server.host);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const observed = observe(createStreamTransport(socket));
    await expectConfigured(observed);
    await expectPresetArrives(mesh, observed);
  });

  it("resolves sendText once a handheld relays the broadcast (the implicit ACK)", async () => {
    // A fast air keeps the test short (the default is LONG_FAST time on air).
    const fast = new SimMesh({
      base: DEMO_NODES.base,
      handhelds: [{ node: DEMO_NODES.medic1, presets: MEDIC }],
      intervalMs: { min: 600_000, max: 600_000 },
      random: mulberry32(99),
      preset: "SHORT_TURBO",
    });
    fast.start();
    cleanups.push(() => {
      fast.stop();
      fast.baseRadio.close();
    });
    const heard: string[] = [];
    fast.onAir((packet) => {
      if (packet.from === DEMO_NODES.base.num) heard.push(new TextDecoder().decode(packet.decoded.payload));
    });
    const observed = observe(connectInProcess(fast.baseRadio));
    observed.device.configure().catch(() => undefined);
    await observed.configured;
    const id = await observed.device.sendText("ACK WATER ETA 5M", "broadcast", true);
    expect(typeof id).toBe("number");
    expect(heard).toContain("ACK WATER ETA 5M");
  });
});
