import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RadioSender, SendRequest } from "../../src/radio/index.ts";
import { TransmitScheduler, type SchedulerEvent } from "../../src/station/index.ts";

/** A radio that records when each send reached it. */
class RecordingSender implements RadioSender {
  readonly sent: Array<{ at: number; request: SendRequest }> = [];
  send(request: SendRequest): Promise<string> {
    this.sent.push({ at: Date.now(), request });
    return Promise.resolve(String(this.sent.length));
  }
}

describe("TransmitScheduler", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_750_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends one packet per 2 s, highest class first: a flood of low-priority work cannot delay a life-safety record", async () => {
    const sender = new RecordingSender();
    const scheduler = new TransmitScheduler({ sender, now: Date.now, dutyCycle: 1 });
    for (let i = 0; i < 200; i += 1) scheduler.enqueue("checkin", { text: `CHK ${i}` });
    for (let i = 0; i < 50; i += 1) scheduler.enqueue("request", { text: `REQ ${i}` });
    await vi.advanceTimersByTimeAsync(5_000);
    const t = Date.now();
    scheduler.enqueue("life_safety", { text: "EMERGENCY M1" });
    await vi.advanceTimersByTimeAsync(2_000);
    const emergency = sender.sent.find((entry) => entry.request.text === "EMERGENCY M1");
    expect(emergency).toBeDefined();
    expect(emergency!.at - t).toBeLessThanOrEqual(2_000);
    // Pacing held throughout, and requests went before check-ins.
    for (let i = 1; i < sender.sent.length; i += 1) expect(sender.sent[i]!.at - sender.sent[i - 1]!.at).toBeGreaterThanOrEqual(2_000);
    expect(sender.sent.filter((entry) => entry.request.text?.startsWith("CHK"))).toEqual([]);
    scheduler.close();
  });

  it("asks a send with a refresh what to send as its turn comes (a held ACK says what is held then), and drops it when there is nothing left to say", async () => {
    const sender = new RecordingSender();
    const scheduler = new TransmitScheduler({ sender, now: Date.now, dutyCycle: 1 });
    let held = 1;
    let cancelled = false;
    scheduler.enqueue("request", { text: "FIRST" });
    scheduler.enqueue("status", { record: Uint8Array.of(held) }, "held", () => ({ record: Uint8Array.of(held) }));
    scheduler.enqueue("status", { record: Uint8Array.of(9) }, undefined, () => (cancelled ? undefined : { record: Uint8Array.of(9) }));
    scheduler.enqueue("checkin", { text: "LAST" });
    held = 3; // what is held changed while it waited
    cancelled = true; // another base put it on the air meanwhile
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sender.sent.map((entry) => entry.request.text ?? [...(entry.request.record ?? [])])).toEqual(["FIRST", [3], "LAST"]);
    // The dropped one took no turn: LAST went one pacing interval after the held ACK.
    expect(sender.sent[2]!.at - sender.sent[1]!.at).toBeLessThan(4_000);
    scheduler.close();
  });

  it("paces on the clock and timers it is given (a drill's virtual clock), not the process's", async () => {
    // A discrete clock: time moves only when the test runs the next timer.
    let now = 0;
    const due: Array<{ at: number; callback: () => void }> = [];
    const timers = {
      setTimeout: (callback: () => void, ms: number) => {
        const entry = { at: now + ms, callback };
        due.push(entry);
        return entry;
      },
      clearTimeout: (handle: unknown) => {
        const index = due.indexOf(handle as (typeof due)[number]);
        if (index >= 0) due.splice(index, 1);
      },
    };
    const runNext = async (): Promise<void> => {
      due.sort((a, b) => a.at - b.at);
      const next = due.shift();
      if (!next) return;
      now = next.at;
      next.callback();
      await vi.advanceTimersByTimeAsync(0); // the send's promise settles
    };
    const sentAt: number[] = [];
    const scheduler = new TransmitScheduler({ sender: { send: () => Promise.resolve(String(sentAt.push(now))) }, now: () => now, timers, dutyCycle: 1 });
    for (let i = 0; i < 3; i += 1) scheduler.enqueue("request", { text: `REQ ${i}` });
    await vi.advanceTimersByTimeAsync(60_000); // the process's timers send nothing
    expect(sentAt).toEqual([]);
    for (let i = 0; i < 3; i += 1) await runNext();
    expect(sentAt).toEqual([0, 2_000, 4_000]);
    scheduler.close();
  });

  it("never exceeds the duty-cycle budget, and keeps a reserve that only life safety may use", async () => {
    const sender = new RecordingSender();
    // 1 % of 100 s = 1000 ms of airtime; each packet costs 300 ms; 20 % reserve: 800 ms for the rest.
    const scheduler = new TransmitScheduler({ sender, now: Date.now, dutyCycle: 0.01, windowMs: 100_000, airtimeMs: () => 300 });
    for (let i = 0; i < 10; i += 1) scheduler.enqueue("request", { text: `REQ ${i}` });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(sender.sent).toHaveLength(2);
    expect(scheduler.state().airtimeUsedMs).toBe(600);
    scheduler.enqueue("life_safety", { text: "EMERGENCY" });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sender.sent.at(-1)?.request.text).toBe("EMERGENCY");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sender.sent).toHaveLength(3);
    // The window moves on: airtime frees up and the requests go again, within budget.
    await vi.advanceTimersByTimeAsync(200_000);
    const windows = sender.sent.map((entry) => sender.sent.filter((other) => other.at > entry.at - 100_000 && other.at <= entry.at).length * 300);
    expect(Math.max(...windows)).toBeLessThanOrEqual(1_000);
    expect(sender.sent.length).toBeGreaterThan(3);
    scheduler.close();
  });

  it("backs off as channel utilisation rises, but not for life safety", async () => {
    const sender = new RecordingSender();
    const scheduler = new TransmitScheduler({ sender, now: Date.now, dutyCycle: 1 });
    scheduler.setChannelUtilization(50);
    for (let i = 0; i < 3; i += 1) scheduler.enqueue("status", { text: `S${i}` });
    await vi.advanceTimersByTimeAsync(16_001);
    expect(sender.sent.map((entry) => entry.request.text)).toEqual(["S0", "S1", "S2"]);
    expect(sender.sent[1]!.at - sender.sent[0]!.at).toBe(8_000);
    scheduler.enqueue("life_safety", { text: "SOS" });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sender.sent.at(-1)?.request.text).toBe("SOS");
    scheduler.close();
  });

  it("batches acknowledgements to one handheld into one text while they wait", async () => {
    const sender = new RecordingSender();
    const scheduler = new TransmitScheduler({ sender, now: Date.now, dutyCycle: 1 });
    scheduler.enqueue("incident", { text: "INCIDENT" });
    scheduler.enqueue("status", { text: "ACK WATER", to: 7 }, "ack");
    scheduler.enqueue("status", { text: "ACK GAUZE ETA 5", to: 7 }, "ack");
    scheduler.enqueue("status", { text: "ACK FOOD", to: 8 }, "ack");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sender.sent.map((entry) => [entry.request.to, entry.request.text])).toEqual([
      [undefined, "INCIDENT"],
      [7, "ACK WATER ACK GAUZE ETA 5"],
      [8, "ACK FOOD"],
    ]);
    scheduler.close();
  });
  it("tells subscribers the radio's id for each send it handed over, or that the radio link refused it", async () => {
    let calls = 0;
    const sender: RadioSender = { send: () => (++calls === 2 ? Promise.reject(new Error("The radio connection is closed")) : Promise.resolve(`radio-${calls}`)) };
    const scheduler = new TransmitScheduler({ sender, now: Date.now, dutyCycle: 1 });
    const events: SchedulerEvent[] = [];
    scheduler.subscribe((event) => events.push(event));
    const first = scheduler.enqueue("request", { text: "ONE" });
    const second = scheduler.enqueue("request", { text: "TWO" });
    await vi.advanceTimersByTimeAsync(4_001);
    expect(events.map((event) => [event.type, event.item.id, event.type === "sent" ? event.radioId : (event.error as Error).message])).toEqual([
      ["sent", first, "radio-1"],
      ["refused", second, "The radio connection is closed"],
    ]);
    scheduler.close();
  });
});
