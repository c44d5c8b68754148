// Helpers for SimNet tests: nodes on a line with a deterministic channel (no shadowing, no fading).
import { PortNum } from "../../src/radio/index.ts";
import { SimNet, VirtualClock, type SimAirFrame, type SimNetOptions, type SimPacket } from "../../src/sim/index.ts";

export const CLIENT = 0;
export const CLIENT_MUTE = 1;
export const ROUTER = 2;

export function node(num: number, role = CLIENT): { num: number; longName: string; shortName: string; role: number; hwModel: number } {
  return { num, longName: `Node ${num.toString(16)}`, shortName: num.toString(16).slice(-4), role, hwModel: 9 };
}

export interface Rig {
  net: SimNet;
  clock: VirtualClock;
  frames: SimAirFrame[];
  /** Every first-time decode to a node's phone side: [receiver, packet]. */
  deliveries: Array<[number, SimPacket]>;
}

/** A SimNet on a virtual clock whose links depend on distance only. */
export function rig(options: Partial<SimNetOptions> = {}): Rig {
  const clock = new VirtualClock();
  const net = new SimNet({ clock, seed: 1, pathLoss: { shadowingDb: 0, fadingDb: 0 }, ...options });
  const frames: SimAirFrame[] = [];
  const deliveries: Array<[number, SimPacket]> = [];
  net.onFrame((frame) => frames.push(frame));
  net.onDelivery((receiver, packet) => deliveries.push([receiver, packet]));
  return { net, clock, frames, deliveries };
}

export function text(value: string): { portnum: number; payload: Uint8Array } {
  return { portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode(value) };
}

export function privatePayload(bytes = 12): { portnum: number; payload: Uint8Array } {
  return { portnum: PortNum.PRIVATE_APP, payload: new Uint8Array(bytes).fill(7) };
}
