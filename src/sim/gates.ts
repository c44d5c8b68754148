// The gates the firmware's modules check before their own periodic traffic (airtime.cpp
// isTxAllowedChannelUtil / isTxAllowedAirUtil; PositionModule, DeviceTelemetryModule,
// NodeInfoModule): above 25 % channel utilisation a polite node holds its position and telemetry
// back (40 % for the roles allowed to be impolite), and in a duty-cycled region nothing periodic
// goes out once the node has used half of its hourly allowance. What a user sends is never gated.
import { DeviceRole } from "../radio/index.ts";

export const MAX_CHANNEL_UTIL_PERCENT = 40;
export const POLITE_CHANNEL_UTIL_PERCENT = 25;
/** Periodic traffic may use this share of the duty cycle. */
export const POLITE_DUTY_CYCLE_PERCENT = 50;

const ROLE_SENSOR = 6;
const ROLE_TAK_TRACKER = 10;
const ROLE_ROUTER_LATE = 11;

export type PeriodicTraffic = "position" | "telemetry" | "nodeinfo";

/** How long a module waits before it looks again once a gate held it back (ms); undefined: it skips until its next interval. */
export const PERIODIC_RETRY_MS: Readonly<Record<PeriodicTraffic, number | undefined>> = {
  position: 5_000, // PositionModule RUNONCE_INTERVAL
  telemetry: 60_000, // DeviceTelemetryModule sendToPhoneIntervalMs
  nodeinfo: undefined, // NodeInfoModule: the next broadcast interval
};

export function isTxAllowedChannelUtil(channelUtilizationPercent: number, polite: boolean): boolean {
  return channelUtilizationPercent < (polite ? POLITE_CHANNEL_UTIL_PERCENT : MAX_CHANNEL_UTIL_PERCENT);
}

/** Within half the region's duty cycle over the rolling hour (always, where there is none). */
export function isTxAllowedAirUtil(airUtilTxPercent: number, dutyCyclePercent: number): boolean {
  if (dutyCyclePercent >= 100) return true;
  return airUtilTxPercent < (dutyCyclePercent * POLITE_DUTY_CYCLE_PERCENT) / 100;
}

/** Whether a node of `role` sends its periodic `kind` now, given what it measures of the air. */
export function periodicAllowed(
  kind: PeriodicTraffic,
  role: number,
  air: { channelUtilization: number; airUtilTx: number },
  dutyCyclePercent: number,
): boolean {
  switch (kind) {
    case "position":
      return isTxAllowedChannelUtil(air.channelUtilization, role !== DeviceRole.TRACKER && role !== ROLE_TAK_TRACKER);
    case "telemetry": {
      const impolite = role === ROLE_SENSOR || role === DeviceRole.ROUTER || role === ROLE_ROUTER_LATE;
      return isTxAllowedChannelUtil(air.channelUtilization, !impolite) && isTxAllowedAirUtil(air.airUtilTx, dutyCyclePercent);
    }
    case "nodeinfo":
      return isTxAllowedAirUtil(air.airUtilTx, dutyCyclePercent);
  }
}
