// LoRa time on air for the Meshtastic modem presets, and the firmware's retransmission timeout.
// Reference: ../shared/reference/meshtastic-protocol.md 3.6 and airtime.mjs (Semtech AN1200.13:
// preamble 16 symbols, explicit header, CRC on, LDRO when a symbol lasts 16 ms or more).

export interface LoraParams {
  /** Spreading factor. */
  sf: number;
  /** Bandwidth in kHz. */
  bw: number;
  /** Coding rate denominator, 5..8 (4/5 .. 4/8). */
  cr: number;
}

/** fw27 src/mesh/MeshRadio.h modemPresetToParams. */
export const MODEM_PRESETS = {
  LONG_FAST: { sf: 11, bw: 250, cr: 5 },
  LONG_SLOW: { sf: 12, bw: 125, cr: 8 },
  LONG_MODERATE: { sf: 11, bw: 125, cr: 8 },
  LONG_TURBO: { sf: 11, bw: 500, cr: 8 },
  MEDIUM_SLOW: { sf: 10, bw: 250, cr: 5 },
  MEDIUM_FAST: { sf: 9, bw: 250, cr: 5 },
  SHORT_SLOW: { sf: 8, bw: 250, cr: 5 },
  SHORT_FAST: { sf: 7, bw: 250, cr: 5 },
  SHORT_TURBO: { sf: 7, bw: 500, cr: 5 },
} as const satisfies Record<string, LoraParams>;

/** The 16-byte PacketHeader that precedes every Meshtastic LoRa payload. */
export const ON_AIR_HEADER_BYTES = 16;
const PREAMBLE_SYMBOLS = 16;

function symbolMs({ sf, bw }: LoraParams): number {
  return 2 ** sf / bw;
}

/** Time on air in ms of a LoRa frame of `onAirBytes` (header included). */
export function airtimeMs(onAirBytes: number, params: LoraParams = MODEM_PRESETS.LONG_FAST): number {
  const { sf, cr } = params;
  const ts = symbolMs(params);
  const ldro = ts >= 16 ? 1 : 0;
  const payloadSymbols = 8 + Math.max(Math.ceil((8 * onAirBytes - 4 * sf + 28 + 16) / (4 * (sf - 2 * ldro))) * cr, 0);
  return (PREAMBLE_SYMBOLS + 4.25) * ts + payloadSymbols * ts;
}

/** CSMA slot time (RadioInterface::computeSlotTimeMsec). */
export function slotTimeMs(params: LoraParams = MODEM_PRESETS.LONG_FAST): number {
  return 2.5 * symbolMs(params) + 7.6;
}

const CW_MIN = 3;
const CW_MAX = 8;

/** How long the originator waits for an ACK before retransmitting (RadioInterface::getRetransmissionMsec), idle channel. */
export function retransmissionMs(onAirBytes: number, params: LoraParams = MODEM_PRESETS.LONG_FAST): number {
  const cw = CW_MIN;
  return (
    2 * airtimeMs(onAirBytes, params) +
    (2 ** cw + 2 * CW_MAX + 2 ** ((CW_MAX + CW_MIN) / 2)) * slotTimeMs(params) +
    4500
  );
}

/** The random CSMA wait before a transmission on an idle channel: 0 .. 2^CWmin slots. */
export function csmaDelayMs(random: () => number, params: LoraParams = MODEM_PRESETS.LONG_FAST): number {
  return Math.floor(random() * 2 ** CW_MIN) * slotTimeMs(params);
}
