// Time on air against the tables in ../shared/reference/lora-airtime.md (Semtech formula,
// preamble 16, explicit header, CRC on, LDRO when a symbol lasts 16 ms or more).
import { describe, expect, it } from "vitest";
import {
  loraAirtimeMs,
  presetParams,
  rebroadcastDelayMs,
  sensitivityDbm,
  slotTimeMs,
  snrContentionWindow,
} from "../../src/sim/index.ts";

// §5 table 1: ToA of the smallest text frame (23 B) and the largest (255 B), ms.
const TABLE_1: Array<[string, number, number]> = [
  ["SHORT_TURBO", 17.5, 102.0],
  ["SHORT_FAST", 34.9, 203.9],
  ["SHORT_SLOW", 64.8, 361.7],
  ["MEDIUM_FAST", 119.3, 641.5],
  ["MEDIUM_SLOW", 218.1, 1180.7],
  ["LONG_TURBO", 279.6, 1655.8],
  ["LONG_FAST", 436.2, 2156.5],
  ["LONG_MODERATE", 1249.3, 7934.0],
  ["LONG_SLOW", 2236.4, 14295.0],
];

// §5 table 3, the "Semtech float" column: [preset, LoRa payload bytes, ms].
const TABLE_3: Array<[string, number, number]> = [
  ["SHORT_FAST", 22, 32.4],
  ["SHORT_FAST", 64, 63.1],
  ["SHORT_FAST", 128, 111.7],
  ["MEDIUM_FAST", 22, 119.3],
  ["MEDIUM_FAST", 64, 211.5],
  ["MEDIUM_FAST", 128, 354.8],
  ["LONG_FAST", 22, 395.3],
  ["LONG_FAST", 64, 722.9],
  ["LONG_FAST", 128, 1214.5],
  ["LONG_FAST", 255, 2156.5],
];

describe("time on air", () => {
  it.each(TABLE_1)("%s: 23 B and 255 B frames as in table 1", (preset, small, large) => {
    expect(loraAirtimeMs(23, presetParams(preset))).toBeCloseTo(small, 1);
    expect(loraAirtimeMs(255, presetParams(preset))).toBeCloseTo(large, 1);
  });

  it.each(TABLE_3)("%s: %i B as in table 3", (preset, bytes, ms) => {
    expect(loraAirtimeMs(bytes, presetParams(preset))).toBeCloseTo(ms, 1);
  });

  it("the 59-byte supply request text (81 B on air) costs 846 ms at LONG_FAST and 76 ms at SHORT_FAST (§0)", () => {
    expect(Math.round(loraAirtimeMs(81, presetParams("LONG_FAST")))).toBe(846);
    expect(Math.round(loraAirtimeMs(81, presetParams("SHORT_FAST")))).toBe(76);
    expect(Math.round(loraAirtimeMs(81, presetParams("LONG_SLOW")))).toBe(5382);
  });

  it("rejects an unknown preset", () => {
    expect(() => presetParams("LONG_WHATEVER")).toThrow(/unknown modem preset/);
  });
});

describe("MAC timing and sensitivity", () => {
  it("slot times are the firmware's whole milliseconds (§8)", () => {
    expect(slotTimeMs(presetParams("LONG_FAST"))).toBe(28);
    expect(slotTimeMs(presetParams("SHORT_FAST"))).toBe(8);
  });

  it("maps SNR -20..10 dB to a contention window of 3..8, far nodes first", () => {
    expect(snrContentionWindow(-20)).toBe(3);
    expect(snrContentionWindow(10)).toBe(8);
    expect(snrContentionWindow(-5)).toBe(5);
    expect(snrContentionWindow(-40)).toBe(3);
    const slot = slotTimeMs(presetParams("LONG_FAST"));
    // a ROUTER goes within 2*CW slots; everyone else after 16 slots
    expect(rebroadcastDelayMs(10, true, () => 0.999)).toBeLessThan(16 * slot);
    expect(rebroadcastDelayMs(-20, false, () => 0)).toBe(16 * slot);
    expect(rebroadcastDelayMs(-20, false, () => 0.999)).toBe(16 * slot + 7 * slot);
  });

  it("sensitivity follows the spreading factor and bandwidth", () => {
    expect(sensitivityDbm(presetParams("LONG_FAST"))).toBeCloseTo(-131.5, 0);
    expect(sensitivityDbm(presetParams("SHORT_FAST"))).toBeCloseTo(-121.5, 0);
    expect(sensitivityDbm(presetParams("LONG_SLOW"))).toBeLessThan(sensitivityDbm(presetParams("LONG_FAST")));
  });
});
