// Any simulated node can be a station's radio: meshaid's RadioLink on a node two hops from the
// sender, in process through the real framing bytes, with the mesh on a virtual clock.
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { BROADCAST_NUM, PortNum, RadioLink, type RadioEvent, type ReceivedPacket } from "../../src/radio/index.ts";
import { connectInProcess } from "../../src/sim/index.ts";
import { node, rig, text } from "./net-helpers.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe("a station's radio link on any simulated node", () => {
  it("hears a handheld two hops away, relayed, and its own broadcast is relayed back as heard", async () => {
    const { net, clock } = rig();
    for (let i = 0; i < 3; i++) net.addNode({ node: node(0x7001 + i), position: { x: i * 2_000, y: 0 } });
    const link = new RadioLink({ transport: connectInProcess(net.radio(0x7003)), logger: pino({ level: "silent" }) });
    cleanups.push(() => link.close());
    const events: RadioEvent[] = [];
    link.subscribe((event) => events.push(event));
    await link.start();
    expect(link.status).toBe("connected");

    net.radio(0x7001).originate(text("NEED WATER"));
    clock.advance(60_000);
    await expect.poll(() => events.some((e) => e.type === "packet")).toBe(true);
    const packet = events.flatMap((e) => (e.type === "packet" ? [e.packet] : []))[0] as ReceivedPacket;
    expect(packet).toMatchObject({ from: 0x7001, to: BROADCAST_NUM, portnum: PortNum.TEXT_MESSAGE_APP, hopStart: 3, hopLimit: 2 }); // one relay on the way
    expect(new TextDecoder().decode(packet.payload)).toBe("NEED WATER");

    // The station answers on the air: the middle node relays it, and the far handheld gets it.
    const heardBy: number[] = [];
    net.onDelivery((receiver, p) => {
      if (p.from === 0x7003) heardBy.push(receiver);
    });
    await link.sendPacket({
      to: BROADCAST_NUM,
      id: 0x0abc0001,
      hopLimit: 3,
      wantAck: true,
      payloadVariant: { case: "decoded", value: { portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode("ACK WATER ETA 5M") } },
    });
    await expect.poll(() => net.get(0x7003).router.stats.originated).toBe(1); // the bytes reached the radio
    clock.advance(60_000);
    expect(heardBy.sort()).toEqual([0x7001, 0x7002]);
    await expect
      .poll(() => events.some((e) => e.type === "packet" && e.packet.portnum === PortNum.ROUTING_APP && e.packet.requestId === 0x0abc0001))
      .toBe(true); // the implicit ACK: the middle node's relay, heard back
  });
});
