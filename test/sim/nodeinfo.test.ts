// The firmware's NodeInfo exchange on a SimNet (MeshService::handleFromRadio, NodeInfoModule):
// a node that hears an unknown node greets it with its NodeInfo asking for a reply, the reply
// comes back, both rate limits hold, and a base (CLIENT_BASE) never greets but answers.
import { describe, expect, it } from "vitest";
import { DeviceRole, PortNum } from "../../src/radio/index.ts";
import { NODEINFO_MIN_INTERVAL_MS } from "../../src/sim/index.ts";
import { CLIENT, node, rig, text } from "./net-helpers.ts";

const nodeInfoFrames = (frames: ReturnType<typeof rig>["frames"]) =>
  frames.filter((f) => f.packet?.decoded.portnum === PortNum.NODEINFO_APP && f.transmitter === f.header.from);

describe("the NodeInfo exchange", () => {
  it("a node that hears an unknown node sends it its NodeInfo with want_response, and gets one back", () => {
    const r = rig({ nodeInfoExchange: true });
    r.net.addNode({ node: node(0x2001, CLIENT), position: { x: 0, y: 0 } });
    r.net.addNode({ node: node(0x2002, CLIENT), position: { x: 500, y: 0 } });
    r.net.radio(0x2001).originate(text("NEED WATER"));
    r.clock.advance(60_000);
    const [greeting, reply, ...rest] = nodeInfoFrames(r.frames);
    expect(greeting?.header.from).toBe(0x2002);
    expect(greeting?.header.to).toBe(0x2001);
    expect(greeting?.packet?.decoded.wantResponse).toBe(true);
    expect(reply?.header.from).toBe(0x2001);
    expect(reply?.header.to).toBe(0x2002);
    expect(reply?.packet?.decoded.wantResponse === true).toBe(false);
    expect(rest).toEqual([]); // the reply does not ask again, and the greeter knows 0x2001 now
    expect(r.net.radio(0x2001).knownUsers()).toBe(1);
    expect(r.net.radio(0x2002).knownUsers()).toBe(1);
  });

  it("sends its NodeInfo at most once in 10 minutes, however many new nodes it hears", () => {
    const r = rig({ nodeInfoExchange: true });
    r.net.addNode({ node: node(0x3001, CLIENT), position: { x: 0, y: 0 } });
    for (let i = 0; i < 4; i++) r.net.addNode({ node: node(0x3002 + i, DeviceRole.CLIENT_MUTE), position: { x: 300 + 100 * i, y: 0 } });
    r.net.setOnline(0x3005, false);
    for (let i = 0; i < 3; i++) {
      r.net.radio(0x3002 + i).originate(text(`NEED ${i}`));
      r.clock.advance(30_000);
    }
    const greetings = () => nodeInfoFrames(r.frames).filter((f) => f.header.from === 0x3001 && f.packet?.decoded.wantResponse === true).map((f) => f.header.to);
    expect(greetings()).toEqual([0x3002]); // the other two came within the 10 minutes
    r.clock.advance(NODEINFO_MIN_INTERVAL_MS);
    for (let i = 0; i < 3; i++) r.net.setOnline(0x3002 + i, false); // nobody else to greet it first
    r.net.setOnline(0x3005, true);
    r.net.radio(0x3005).originate(text("NEED ICE"));
    r.clock.advance(30_000);
    expect(greetings()).toEqual([0x3002, 0x3005]);
  });

  it("a CLIENT_BASE does not greet new nodes, but answers a node that greets it: both rosters fill", () => {
    const r = rig({ nodeInfoExchange: true });
    r.net.addNode({ node: node(0x4001, DeviceRole.CLIENT_BASE), position: { x: 0, y: 0 } });
    r.net.addNode({ node: node(0x4002, CLIENT), position: { x: 500, y: 0 } });
    r.net.radio(0x4002).originate(text("NEED WATER"));
    r.clock.advance(60_000);
    expect(nodeInfoFrames(r.frames)).toEqual([]); // the base heard an unknown node and says nothing
    expect(r.net.radio(0x4001).knownUsers()).toBe(0);
    r.net.radio(0x4001).originate(text("ACK WATER"));
    r.clock.advance(60_000);
    expect(nodeInfoFrames(r.frames).map((f) => [f.header.from, f.header.to, f.packet?.decoded.wantResponse === true])).toEqual([
      [0x4002, 0x4001, true], // the handheld greets the base it did not know
      [0x4001, 0x4002, false], // and the base answers
    ]);
    expect(r.net.radio(0x4001).knownUsers()).toBe(1);
    expect(r.net.radio(0x4002).knownUsers()).toBe(1);
  });

  it("is off unless asked for (frame-counting tests see only their own traffic)", () => {
    const r = rig();
    r.net.addNode({ node: node(0x5001, CLIENT), position: { x: 0, y: 0 } });
    r.net.addNode({ node: node(0x5002, CLIENT), position: { x: 500, y: 0 } });
    r.net.radio(0x5001).originate(text("NEED WATER"));
    r.clock.advance(60_000);
    expect(nodeInfoFrames(r.frames)).toEqual([]);
  });
});
