// The header's pure parts: the channel's utilisation sampled once a minute, its sparkline, the
// relay and the transmit queue in words.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { emptyUtilization, relayText, sampleUtilization, sparkline, UTILIZATION_SAMPLES } from "../../src/ui/index.ts";
import { queueText } from "../../src/ui/header.ts";
import { words } from "../../src/ui/i18n.ts";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 5, 14, 12, 0, 0);

describe("sampleUtilization", () => {
  test("keeps one sample a minute: later reads in the same minute change nothing", () => {
    let history = sampleUtilization(emptyUtilization, T0, 3);
    history = sampleUtilization(history, T0 + 59_000, 40);
    expect(history.samples).toEqual([3]);
    history = sampleUtilization(history, T0 + MINUTE, 5);
    expect(history.samples).toEqual([3, 5]);
  });

  test("keeps the last hour: the 61st sample drops the oldest", () => {
    let history = emptyUtilization;
    for (let minute = 0; minute <= UTILIZATION_SAMPLES; minute += 1) history = sampleUtilization(history, T0 + minute * MINUTE, minute);
    expect(history.samples).toHaveLength(UTILIZATION_SAMPLES);
    expect(history.samples[0]).toBe(1);
    expect(history.samples.at(-1)).toBe(UTILIZATION_SAMPLES);
  });

  test("a clock that goes back adds nothing, and a non-number counts as 0", () => {
    const history = sampleUtilization(emptyUtilization, T0, 7);
    expect(sampleUtilization(history, T0 - MINUTE, 9)).toBe(history);
    expect(sampleUtilization(history, T0 + MINUTE, Number.NaN).samples).toEqual([7, 0]);
  });

  test("property: never more than an hour of samples, each one a reading that was given", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 10 * 60 * MINUTE }), fc.double({ min: 0, max: 100, noNaN: true })), { maxLength: 200 }), (reads) => {
        let history = emptyUtilization;
        for (const [offset, percent] of reads.sort((a, b) => a[0] - b[0])) history = sampleUtilization(history, T0 + offset, percent);
        expect(history.samples.length).toBeLessThanOrEqual(UTILIZATION_SAMPLES);
        for (const sample of history.samples) expect(reads.some(([, percent]) => percent === sample)).toBe(true);
      }),
    );
  });
});

describe("sparkline", () => {
  test("an hour in twelve cells of five minutes, each the busiest minute it covers; empty cells are blank", () => {
    expect(sparkline([], 12)).toBe(" ".repeat(12));
    expect(sparkline([0], 12)).toBe(`${" ".repeat(11)}▁`);
    // 25 % and more (where the firmware holds its own traffic back) is a full bar.
    const hour = Array.from({ length: 60 }, (_, i) => (i === 2 ? 30 : i >= 55 ? 12.5 : 0));
    expect(sparkline(hour, 12)).toBe("█▁▁▁▁▁▁▁▁▁▁▅");
  });

  test("property: always `width` cells when the width divides the hour, only bars or blanks", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { maxLength: 60 }), fc.constantFrom(1, 6, 12, 20, 30, 60), (samples, width) => {
        const line = sparkline(samples, width);
        expect([...line]).toHaveLength(width);
        expect(line).toMatch(/^[ ▁▂▃▄▅▆▇█]*$/);
      }),
    );
  });
});

describe("relay and queue words", () => {
  const en = words("en");
  test("up: peers, pending and the last sync; down: the reason; off: only pending work", () => {
    expect(relayText({ link: "up", peers: 3, pending: 12, lastSyncAt: T0 - 5 * MINUTE }, T0, en)).toBe("relay up · 3 peers · 12 pending · sync 5 min");
    expect(relayText({ link: "down", peers: 0, pending: 4, reason: "broker refused the key" }, T0, en)).toBe("relay down (broker refused the key) · 0 peers · 4 pending");
    expect(relayText({ link: "off", peers: 0, pending: 0 }, T0, en)).toBe("relay off");
    // The outbox per peer: who lacks how much of this station's log.
    expect(relayText({ link: "up", peers: 2, pending: 0, behind: [{ station: "south", records: 50 }, { station: "east", records: 0 }] }, T0, en)).toBe("relay up · 2 peers · 0 pending · behind: south 50");
    expect(relayText({ link: "connecting", peers: 0, pending: 1 }, T0, words("es"))).toBe("enlace conectando · 0 pares · 1 pendientes");
  });

  test("the queue by priority, most urgent first, only classes with something queued", () => {
    expect(queueText({ checkin: 1, life_safety: 2, request: 0 }, en)).toBe("tx 3: life 2 chk 1");
    expect(queueText({}, en)).toBe("tx 0");
    expect(queueText({ life_safety: 1 }, words("es"))).toBe("tx 1: vida 1");
  });
});
