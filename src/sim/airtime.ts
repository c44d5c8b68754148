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

/** CSMA slot time (RadioInterface::computeSlotTimeMsec): 2.5 symbols + 7.6 ms, truncated to whole ms. */
export function slotTimeMs(params: LoraParams = MODEM_PRESETS.LONG_FAST): number {
  return Math.floor(2.5 * symbolMs(params) + 7.6);
}

export type ModemPresetName = keyof typeof MODEM_PRESETS;

export function presetParams(name: string): LoraParams {
  const params = (MODEM_PRESETS as Record<string, LoraParams | undefined>)[name];
  if (!params) throw new RangeError(`unknown modem preset "${name}" (known: ${Object.keys(MODEM_PRESETS).join(", ")})`);
  return params;
}

/**
 * The lowest SNR (dB) at which a LoRa demodulator still decodes a frame at this spreading factor
 * (SX126x/SX127x datasheets: -7.5 dB at SF7, 2.5 dB less per SF step, -20 dB at SF12).
 */
export function demodulationFloorSnr({ sf }: LoraParams): number {
  return -7.5 - 2.5 * (sf - 7);
}

/** Thermal noise in the channel plus a 6 dB receiver noise figure, in dBm. */
export function noiseFloorDbm({ bw }: LoraParams): number {
  return -174 + 10 * Math.log10(bw * 1000) + 6;
}

/** The weakest signal the radio decodes, in dBm (LONG_FAST: about -131.5). */
export function sensitivityDbm(params: LoraParams): number {
  return noiseFloorDbm(params) + demodulationFloorSnr(params);
}

export const CW_MIN = 3;
export const CW_MAX = 8;
const SNR_MIN = -20;
const SNR_MAX = 10;

/** Arduino map() with integer arithmetic, as the firmware uses it. */
function arduinoMap(x: number, inMin: number, inMax: number, outMin: number, outMax: number): number {
  return Math.trunc(((Math.trunc(x) - inMin) * (outMax - outMin)) / (inMax - inMin)) + outMin;
}

/** The contention window exponent for a relay: map(SNR, -20..10 -> 3..8); far (low SNR) = small window. */
export function snrContentionWindow(snr: number): number {
  return arduinoMap(Math.min(SNR_MAX, Math.max(SNR_MIN, snr)), SNR_MIN, SNR_MAX, CW_MIN, CW_MAX);
}

/** The contention window exponent for a packet we originate: map(channel utilisation %, 0..100 -> 3..8). */
export function utilizationContentionWindow(utilizationPercent: number): number {
  return arduinoMap(Math.min(100, Math.max(0, utilizationPercent)), 0, 100, CW_MIN, CW_MAX);
}

/**
 * When a node rebroadcasts a packet heard at `snr` (RadioInterface::getTxDelayMsecWeighted):
 * a ROUTER within random(0, 2*CW) slots; every other role after the routers' 2*CWmax slots plus
 * random(0, 2^CW) slots. Low SNR (far away) means a shorter wait.
 */
export function rebroadcastDelayMs(snr: number, router: boolean, random: () => number, params: LoraParams = MODEM_PRESETS.LONG_FAST): number {
  const cw = snrContentionWindow(snr);
  const slot = slotTimeMs(params);
  if (router) return Math.floor(random() * 2 * cw) * slot;
  return 2 * CW_MAX * slot + Math.floor(random() * 2 ** cw) * slot;
}

/** The latest a non-router relay can go (getTxDelayMsecWeightedWorst): 2*CWmax slots plus 2^CW(snr) slots. */
export function rebroadcastDelayWorstMs(snr: number, params: LoraParams = MODEM_PRESETS.LONG_FAST): number {
  const slot = slotTimeMs(params);
  return 2 * CW_MAX * slot + 2 ** snrContentionWindow(snr) * slot;
}

/** The wait before a packet we originate: random(0, 2^CW(utilisation)) slots. */
export function originDelayMs(utilizationPercent: number, random: () => number, params: LoraParams = MODEM_PRESETS.LONG_FAST): number {
  return Math.floor(random() * 2 ** utilizationContentionWindow(utilizationPercent)) * slotTimeMs(params);
}

/** Region duty-cycle limits the firmware enforces over a rolling hour (percent; 100 = none). */
export const REGION_DUTY_CYCLE: Readonly<Record<string, number>> = {
  US: 100,
  EU_868: 10,
  EU_433: 10,
  TH: 10,
  UA_433: 10,
  ANZ: 100,
  CN: 100,
  JP: 100,
  KR: 100,
  TW: 100,
  IN: 100,
  RU: 100,
};

/** How long the originator waits for an ACK before retransmitting (RadioInterface::getRetransmissionMsec); the window grows with channel utilisation. */
export function retransmissionMs(onAirBytes: number, params: LoraParams = MODEM_PRESETS.LONG_FAST, utilizationPercent = 0): number {
  const cw = utilizationContentionWindow(utilizationPercent);
  return (
    2 * airtimeMs(onAirBytes, params) +
    (2 ** cw + 2 * CW_MAX + 2 ** Math.floor((CW_MAX + CW_MIN) / 2)) * slotTimeMs(params) +
    4500
  );
}

/** The random CSMA wait before a transmission on an idle channel: 0 .. 2^CWmin slots. */
export function csmaDelayMs(random: () => number, params: LoraParams = MODEM_PRESETS.LONG_FAST): number {
  return Math.floor(random() * 2 ** CW_MIN) * slotTimeMs(params);
}
