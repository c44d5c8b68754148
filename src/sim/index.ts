// The simulator: Meshtastic radios that speak the same serial/TCP bytes as real ones, on a
// simulated LoRa mesh. Powers `npm start` without hardware, drills and the tests.
import type { Logger } from "pino";
import { DeviceRole } from "../radio/index.ts";
import { SimMesh } from "./mesh.ts";

export { SimRadio, SPECIAL_NONCE_ONLY_CONFIG, SPECIAL_NONCE_ONLY_NODES, MAX_TX_QUEUE, TO_PHONE_QUEUE_SIZE, IDLE_TIMEOUT_MS, NODEINFO_MIN_INTERVAL_MS, NODEINFO_REPLY_SUPPRESS_MS } from "./radio.ts";
export type { SimRadioOptions, AttachOptions } from "./radio.ts";
export { SimMesh } from "./mesh.ts";
export type { SimMeshOptions, HandheldSpec, SendFromOptions, AirListener } from "./mesh.ts";
export type { SimNode } from "./node.ts";
export { userId, lastByte, userOf } from "./node.ts";
export type { SimPacket, SimData } from "./packet.ts";
export { RoutingError, Priority, routingErrorOf } from "./packet.ts";
export { serveTcp } from "./tcp.ts";
export type { SimTcpServer, TcpServeOptions } from "./tcp.ts";
export { connectInProcess, duplexPair, SimUsbPort } from "./in-process.ts";
export { FirmwareStreamParser } from "./firmware-parser.ts";
export { serveSerial } from "./serial.ts";
export type { SerialServeOptions, SimSerialPort } from "./serial.ts";
export { mulberry32, createPacketIdGenerator } from "./random.ts";
export { airtimeMs, MODEM_PRESETS } from "./airtime.ts";
export type { LoraParams } from "./airtime.ts";
export { SIM_FIRMWARE_VERSION } from "./device-config.ts";
export { VirtualClock, realClock } from "./clock.ts";
export type { SimClock, SimTimer } from "./clock.ts";
export {
  airtimeMs as loraAirtimeMs,
  presetParams,
  sensitivityDbm,
  noiseFloorDbm,
  demodulationFloorSnr,
  slotTimeMs,
  snrContentionWindow,
  rebroadcastDelayMs,
  rebroadcastDelayWorstMs,
  retransmissionMs,
  REGION_DUTY_CYCLE,
} from "./airtime.ts";
export { encodeAirFrame as encodeSimAirFrame, decodeAirPayload, encodeData as encodeSimData, decodeData as decodeSimData, defaultChannel } from "./air.ts";
export type { AirChannel } from "./air.ts";
export { SimChannel, AirtimeMeter, DEFAULT_PATH_LOSS } from "./channel.ts";
export type { Position, PathLossModel, Jammer, ChannelStats, Transmission } from "./channel.ts";
export { SimRouter, RebroadcastMode, CORE_PORTNUMS, DUTY_CYCLE_LIMIT, defaultRebroadcastMode, emptyRouterStats } from "./router.ts";
export { TxQueue } from "./tx-queue.ts";
export type { TxEntry } from "./tx-queue.ts";
export { periodicAllowed, isTxAllowedChannelUtil, isTxAllowedAirUtil, PERIODIC_RETRY_MS } from "./gates.ts";
export type { PeriodicTraffic } from "./gates.ts";
export type { RouterStats } from "./router.ts";
export { SimNet } from "./net.ts";
export type { SimNetOptions, NetNodeSpec, NetNode, AirFrame as SimAirFrame, DeliveryListener } from "./net.ts";
export type { RadioAir, OriginateOptions } from "./radio.ts";

/** HardwareModel numbers used by the demo nodes. */
const HW = { T_ECHO: 7, RAK4631: 9, STATION_G2: 31, T_DECK: 50 } as const;

/** The demo net's node numbers (shaped like real ones: the last 4 bytes of a MAC). */
export const DEMO_NODES = {
  base: { num: 0x2a6f1c01, longName: "Base Station", shortName: "BASE", role: DeviceRole.CLIENT_BASE, hwModel: HW.STATION_G2 },
  medic1: { num: 0x9e3b7a42, longName: "Medic 1", shortName: "M1", role: DeviceRole.CLIENT, hwModel: HW.T_ECHO },
  medic2: { num: 0x5c1d88e3, longName: "Medic 2", shortName: "M2", role: DeviceRole.CLIENT, hwModel: HW.RAK4631 },
  marshal1: { num: 0xd4a2f06b, longName: "Marshal 1", shortName: "K1", role: DeviceRole.CLIENT, hwModel: HW.T_DECK },
} as const;

export interface DemoMeshOptions {
  /** The canned messages per role, from firmware-config/presets.yaml (read by the cli). */
  presetsByRole: { medic: readonly string[]; marshal: readonly string[] };
  random?: () => number;
  logger?: Logger;
  /** Default 3–8 s. */
  intervalMs?: { min: number; max: number };
  consoleLogs?: boolean;
}

/** The `npm start` net: a base radio, two medics and a marshal, a preset every 3–8 s from each. */
export function createDemoMesh(options: DemoMeshOptions): SimMesh {
  return new SimMesh({
    base: { ...DEMO_NODES.base },
    handhelds: [
      { node: { ...DEMO_NODES.medic1 }, presets: options.presetsByRole.medic },
      { node: { ...DEMO_NODES.medic2 }, presets: options.presetsByRole.medic },
      { node: { ...DEMO_NODES.marshal1 }, presets: options.presetsByRole.marshal },
    ],
    intervalMs: options.intervalMs ?? { min: 3_000, max: 8_000 },
    ...(options.random ? { random: options.random } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.consoleLogs !== undefined ? { consoleLogs: options.consoleLogs } : {}),
  });
}
export { parseScenario, parseDuration, ScenarioError, OPERATOR_VERBS, INCIDENT_VERBS } from "./scenario.ts";
export type { Scenario, ScenarioNode, ScenarioTraffic, ScenarioFault, TrafficFormat, ScenarioOperator, OperatorVerb } from "./scenario.ts";
export { runDrill, runStationDrill, percentile, DRAIN_MS, DEADLINE_MS, OPERATOR_GAP_MS } from "./drill.ts";
export type { RunDrillOptions, StationDrillOptions, DrillStation, DrillStationFactory, DrillActOutcome, DrillTimers, StoredDetail } from "./drill.ts";
export type { DrillResult, KindStats, Undelivered } from "./drill.ts";
export { formatDrillReport, drillJson, plot } from "./report.ts";
export { SimAdmin, MemorySettingsStore, FileSettingsStore } from "./admin.ts";
export type { SimAdminOptions, SimSettings, SettingsStore, AdminOutcome } from "./admin.ts";
