// The send queue's delivery state machine against a scripted radio: the test plays the radio's
// QueueStatus and Routing answers, and the fake clock drives pacing and timeouts.
import fc from "fast-check";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  BROADCAST_NUM,
  checkRecordPort,
  createPacketIds,
  DEFAULT_RECORD_PORT,
  encodeRouting,
  MemoryOutbox,
  PortNum,
  RadioError,
  SendQueue,
  type DeliveryUpdate,
  type PacketWriter,
  type ProtoInit,
  type RadioEvent,
  type SendQueueOptions,
} from "../../src/radio/index.ts";

const ME = 0x2a6f1c01;
const MEDIC = 0x9e3b7a42;

interface Written {
  to: number;
  id: number;
  from: number;
  channel: number;
  wantAck: boolean;
  hopLimit: number;
  priority?: number;
  portnum: number;
  payload: Uint8Array;
}

class ScriptedWriter implements PacketWriter {
  myNodeNum: number | undefined = ME;
  readonly written: Written[] = [];
  fail = false;
  sendPacket(packet: ProtoInit): Promise<void> {
    if (this.fail) return Promise.reject(new RadioError("RADIO_WRITE_FAILED", "gone"));
    const p = packet as unknown as Omit<Written, "portnum" | "payload"> & { payloadVariant: { value: { portnum: number; payload: Uint8Array } } };
    this.written.push({
      to: p.to,
      id: p.id,
      from: p.from,
      channel: p.channel,
      wantAck: p.wantAck,
      hopLimit: p.hopLimit,
      ...((p as { priority?: number }).priority !== undefined ? { priority: (p as { priority?: number }).priority } : {}),
      portnum: p.payloadVariant.value.portnum,
      payload: p.payloadVariant.value.payload,
    });
    return Promise.resolve();
  }
  last(): Written {
    const w = this.written.at(-1);
    if (!w) throw new Error("nothing written");
    return w;
  }
}

function setup(options: Partial<SendQueueOptions> = {}) {
  const outbox = new MemoryOutbox();
  const deliveries: DeliveryUpdate[] = [];
  const queue = new SendQueue({ outbox, logger: pino({ level: "silent" }), random: seeded(7), ...options }, (event) => {
    if (event.type === "delivery") deliveries.push(event.delivery);
  });
  const writer = new ScriptedWriter();
  const states = (id: string): string[] => deliveries.filter((d) => d.id === id).map((d) => (d.reason ? `${d.state}:${d.reason}` : d.state));
  const queueStatus = (res: number, packetId: number, free = 15): void =>
    queue.onEvent({ type: "queue-status", res, free, maxlen: 16, packetId });
  const routing = (from: number, requestId: number, error: number): void => {
    const event: RadioEvent = {
      type: "packet",
      packet: {
        from,
        to: ME,
        id: 0x777,
        channel: 0,
        portnum: PortNum.ROUTING_APP,
        payload: encodeRouting(error),
        rxTimeMs: undefined,
        rxSnr: 0,
        rxRssi: 0,
        hopLimit: 0,
        hopStart: 0,
        requestId,
      },
    };
    queue.onEvent(event);
  };
  return { outbox, queue, writer, deliveries, states, queueStatus, routing };
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("SendQueue", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
    vi.setSystemTime(1_750_000_000_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("queued -> sent -> confirmed for a DM: ACK from the destination, never before the radio accepted it", async () => {
    const s = setup();
    const id = await s.queue.send({ record: Uint8Array.of(1, 2, 3), to: MEDIC });
    expect(s.states(id)).toEqual(["queued"]);
    expect(await s.outbox.list()).toHaveLength(1);
    s.queue.attach(s.writer);
    const w = s.writer.last();
    expect(w).toMatchObject({ to: MEDIC, from: ME, wantAck: true, hopLimit: 3, portnum: DEFAULT_RECORD_PORT, payload: Uint8Array.of(1, 2, 3) });
    s.routing(ME, w.id, 0); // an implicit ACK before QueueStatus is not evidence of anything yet
    expect(s.states(id)).toEqual(["queued"]);
    s.queueStatus(0, w.id);
    await flush();
    expect(await s.outbox.list()).toHaveLength(0);
    s.routing(ME, w.id, 0);
    s.routing(MEDIC, w.id, 0);
    s.routing(MEDIC, w.id, 0); // a second ACK changes nothing
    expect(s.states(id)).toEqual(["queued", "sent", "heard", "confirmed"]);
  });

  it("a broadcast is at best heard (implicit ACK); an ACK from another node is not a confirmation", async () => {
    const s = setup();
    s.queue.attach(s.writer);
    const id = await s.queue.send({ text: "ALL MEDICS TO C", wantAck: true });
    const w = s.writer.last();
    expect(w).toMatchObject({ to: BROADCAST_NUM, wantAck: true, portnum: PortNum.TEXT_MESSAGE_APP });
    s.queueStatus(0, w.id);
    s.routing(MEDIC, w.id, 0);
    expect(s.states(id)).toEqual(["queued", "sent"]);
    s.routing(ME, w.id, 0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(s.states(id)).toEqual(["queued", "sent", "heard"]);
  });

  it.each([
    [5, "MAX_RETRANSMIT"],
    [9, "DUTY_CYCLE_LIMIT"],
    [38, "RATE_LIMIT_EXCEEDED"],
    [6, "NO_CHANNEL"],
    [39, "PKI_SEND_FAIL_PUBLIC_KEY"],
  ])("reports a NAK (error %i) as failed with the firmware's reason %s", async (error, name) => {
    const s = setup();
    s.queue.attach(s.writer);
    const id = await s.queue.send({ record: Uint8Array.of(9), to: MEDIC });
    s.queueStatus(0, s.writer.last().id);
    s.routing(ME, s.writer.last().id, error);
    expect(s.states(id)).toEqual(["queued", "sent", `failed:${name}`]);
  });

  it("reports a QueueStatus refusal as failed and drops the entry; a full TX queue waits instead", async () => {
    const s = setup({ queueFullRetryMs: 1_000 });
    s.queue.attach(s.writer);
    const a = await s.queue.send({ record: Uint8Array.of(1) });
    s.queueStatus(7, s.writer.last().id);
    await flush();
    expect(s.states(a)).toEqual(["queued", "failed:TOO_LARGE"]);
    const b = await s.queue.send({ record: Uint8Array.of(2) });
    const first = s.writer.last().id;
    s.queueStatus(32, first, 0);
    expect(s.writer.written).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.writer.written).toHaveLength(3);
    const second = s.writer.last().id;
    expect(second).not.toBe(first);
    s.queueStatus(0, second);
    await flush();
    expect(s.states(b)).toEqual(["queued", "sent"]);
    expect(await s.outbox.list()).toEqual([]);
  });

  it("after a want_ack send nobody answers, the state is unknown, not delivered", async () => {
    const s = setup({ ackTimeoutMs: 60_000 });
    s.queue.attach(s.writer);
    const id = await s.queue.send({ record: Uint8Array.of(1), to: MEDIC });
    s.queueStatus(0, s.writer.last().id);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(s.states(id)).toEqual(["queued", "sent"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.states(id)).toEqual(["queued", "sent", "unknown:no ACK within 60 s"]);
  });

  it("writes one packet at a time, waits while the radio has no free slot, and paces texts 2.1 s apart", async () => {
    const s = setup();
    s.queue.attach(s.writer);
    await s.queue.send({ text: "one" });
    await s.queue.send({ text: "two" });
    await s.queue.send({ record: Uint8Array.of(3) });
    expect(s.writer.written).toHaveLength(1); // waiting for the first QueueStatus
    expect(s.queue.waitingForTime).toBe(false); // waiting for the radio's answer, not for time
    s.queueStatus(0, s.writer.last().id, 0); // accepted, but the TX queue is now full
    expect(s.writer.written).toHaveLength(1);
    expect(s.queue.waitingForTime).toBe(true); // only the radio transmitting (time) frees a slot
    s.queueStatus(0, 0, 4); // space freed (mesh_packet_id 0)
    expect(s.writer.written).toHaveLength(1); // the second text must wait for the rate limit
    expect(s.queue.waitingForTime).toBe(true);
    await vi.advanceTimersByTimeAsync(2_099);
    expect(s.writer.written).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.queue.waitingForTime).toBe(false);
    expect(s.writer.written.map((w) => new TextDecoder().decode(w.payload))).toEqual(["one", "two"]);
    s.queueStatus(0, s.writer.last().id);
    expect(s.writer.written).toHaveLength(3); // a record is not rate-limited
  });

  it("keeps entries queued while the link is down, writes them again with the same id, and an unanswered one with a fresh id", async () => {
    const s = setup({ queueStatusTimeoutMs: 5_000 });
    const id = await s.queue.send({ record: Uint8Array.of(5) });
    expect(s.writer.written).toHaveLength(0);
    s.queue.attach(s.writer);
    const first = s.writer.last().id;
    s.queue.attach(undefined); // the link dropped before the radio answered
    s.queue.attach(s.writer);
    const second = s.writer.last().id;
    expect(second).toBe(first); // if the radio got the first write, it drops this one as a repeat
    await vi.advanceTimersByTimeAsync(5_000); // no QueueStatus: written again
    const third = s.writer.last().id;
    expect(third).not.toBe(first);
    await vi.advanceTimersByTimeAsync(5_000);
    const fourth = s.writer.last().id;
    expect(new Set([first, third, fourth]).size).toBe(3);
    s.queueStatus(0, first); // a stale answer for an abandoned id settles nothing
    expect(s.states(id)).toEqual(["queued"]);
    s.queueStatus(0, fourth);
    await flush();
    expect(s.states(id)).toEqual(["queued", "sent"]);
    expect(s.writer.written).toHaveLength(4);
  });

  it("after a reboot, writes again with the same id, so the radio's answer to the first write settles it once", async () => {
    const s = setup();
    s.queue.attach(s.writer);
    const id = await s.queue.send({ record: Uint8Array.of(0xbd) });
    const written = s.writer.last().id;
    s.queue.rebooted();
    s.queue.attach(undefined);
    s.queue.attach(s.writer); // handshake complete before the radio's answer to the first write
    expect(s.writer.last().id).toBe(written);
    s.queueStatus(0, written); // the radio had it; it drops the repeat without answering
    await flush();
    expect(s.states(id)).toEqual(["queued", "sent"]);
    expect(s.queue.queued).toBe(0);
  });

  it("takes a late QueueStatus for a write it had given up on as the radio's answer, and does not write it again", async () => {
    // The radio reboots as a record is written: the rebooted radio accepts it, but its QueueStatus
    // arrives after the `rebooted` frame, while the link is re-configuring.
    const s = setup();
    s.queue.attach(s.writer);
    const id = await s.queue.send({ record: Uint8Array.of(0xbe) });
    const written = s.writer.last().id;
    s.queue.rebooted();
    s.queue.attach(undefined); // configuring again
    s.queueStatus(0, written);
    await flush();
    expect(s.states(id)).toEqual(["queued", "sent"]);
    expect(s.queue.queued).toBe(0);
    expect(await s.outbox.list()).toHaveLength(0);
    s.queue.attach(s.writer); // the handshake completed
    expect(s.writer.written).toHaveLength(1);
  });

  it("keeps a given-up write queued when its late QueueStatus says the radio's queue was full", async () => {
    const s = setup();
    s.queue.attach(s.writer);
    const id = await s.queue.send({ record: Uint8Array.of(0xbf) });
    const written = s.writer.last().id;
    s.queue.rebooted();
    s.queue.attach(undefined);
    s.queueStatus(32, written, 0);
    expect(s.queue.queued).toBe(1);
    s.queue.attach(s.writer);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(s.writer.written).toHaveLength(2);
    s.queueStatus(0, s.writer.last().id);
    await flush();
    expect(s.states(id)).toEqual(["queued", "sent"]);
  });

  it("sends records on the configured private port, texts on TEXT_MESSAGE_APP, and refuses a port that is not a free private one", async () => {
    const s = setup({ recordPort: 287 });
    s.queue.attach(s.writer);
    await s.queue.send({ record: Uint8Array.of(1) });
    expect(s.writer.last().portnum).toBe(287);
    s.queueStatus(0, s.writer.last().id);
    await s.queue.send({ text: "hi" });
    expect(s.writer.last().portnum).toBe(PortNum.TEXT_MESSAGE_APP);
    expect(checkRecordPort("511")).toBe(511);
    for (const bad of [256, 257, 512, 1, "80", "3OO", "300.5", ""]) {
      expect(() => checkRecordPort(bad)).toThrow(expect.objectContaining({ code: "RADIO_BAD_RECORD_PORT", message: `Record port ${bad} is not a free Meshtastic private port: use one of 258..511 (default 300), the same at every station.` }));
    }
    expect(() => setup({ recordPort: PortNum.TEXT_MESSAGE_APP })).toThrow(RadioError);
  });

  it("uses the radio's configured hop limit when it has said one", async () => {
    const s = setup();
    s.queue.attach({ ...s.writer, hopLimit: 5, sendPacket: (p: ProtoInit) => s.writer.sendPacket(p) });
    await s.queue.send({ record: Uint8Array.of(1) });
    expect(s.writer.last().hopLimit).toBe(5);
  });

  it("a send may ask for its own hop limit and transmit priority (base stations' control: no further than the other bases), kept in the outbox until the radio takes it", async () => {
    const s = setup();
    s.queue.attach({ ...s.writer, hopLimit: 5, sendPacket: (p: ProtoInit) => s.writer.sendPacket(p) });
    await s.queue.send({ record: Uint8Array.of(1), wantAck: false, hopLimit: 0, priority: 70 });
    expect(s.writer.last()).toMatchObject({ hopLimit: 0, priority: 70, wantAck: false });
    expect((await s.outbox.list())[0]).toMatchObject({ hopLimit: 0, priority: 70 });
    await expect(s.queue.send({ record: Uint8Array.of(3), hopLimit: 8 })).rejects.toMatchObject({ code: "RADIO_BAD_REQUEST" });
    await expect(s.queue.send({ record: Uint8Array.of(3), priority: 128 })).rejects.toMatchObject({ code: "RADIO_BAD_REQUEST" });
  });

  it("keeps an entry queued when writing it fails, and writes it once the link is back", async () => {
    const s = setup();
    s.writer.fail = true;
    s.queue.attach(s.writer);
    const id = await s.queue.send({ record: Uint8Array.of(0x42) });
    await flush();
    expect(s.writer.written).toHaveLength(0);
    expect(s.queue.queued).toBe(1);
    expect(await s.outbox.list()).toHaveLength(1);
    s.queue.attach(undefined);
    s.writer.fail = false;
    s.queue.attach(s.writer);
    expect(s.writer.written).toHaveLength(1);
    s.queueStatus(0, s.writer.last().id);
    await flush();
    expect(s.states(id)).toEqual(["queued", "sent"]);
    expect(await s.outbox.list()).toHaveLength(0);
  });

  it("picks up what the outbox held before a restart, in order, before new sends", async () => {
    const outbox = new MemoryOutbox();
    await outbox.put({ id: "0000000000000002", portnum: PortNum.PRIVATE_APP, payload: Uint8Array.of(2), to: BROADCAST_NUM, channel: 0, wantAck: false, queuedAt: 1 });
    await outbox.put({ id: "0000000000000001", portnum: PortNum.PRIVATE_APP, payload: Uint8Array.of(1), to: BROADCAST_NUM, channel: 0, wantAck: false, queuedAt: 1 });
    const s = setup({ outbox });
    expect(await s.queue.load()).toBe(2);
    const fresh = await s.queue.send({ record: Uint8Array.of(3) });
    expect(fresh > "0000000000000002").toBe(true);
    s.queue.attach(s.writer);
    for (let i = 0; i < 3; i++) s.queueStatus(0, s.writer.last().id);
    expect(s.writer.written.map((w) => w.payload[0])).toEqual([1, 2, 3]);
  });

  it("marks accepted-but-unproven want_ack sends unknown when the radio reboots", async () => {
    const s = setup();
    s.queue.attach(s.writer);
    const id = await s.queue.send({ record: Uint8Array.of(1), to: MEDIC });
    s.queueStatus(0, s.writer.last().id);
    s.queue.rebooted();
    expect(s.states(id)).toEqual(["queued", "sent", "unknown:radio rebooted before an ACK"]);
  });

  it("refuses what cannot be one packet, with a coded error, and queues nothing", async () => {
    const s = setup();
    await expect(s.queue.send({ text: "x".repeat(233) })).rejects.toMatchObject({ code: "RADIO_PAYLOAD_TOO_LARGE" });
    await expect(s.queue.send({ record: new Uint8Array(220), to: MEDIC })).rejects.toMatchObject({ code: "RADIO_PAYLOAD_TOO_LARGE" });
    await expect(s.queue.send({ text: "a", record: Uint8Array.of(1) })).rejects.toMatchObject({ code: "RADIO_BAD_REQUEST" });
    await expect(s.queue.send({ text: "a", channel: 8 })).rejects.toMatchObject({ code: "RADIO_BAD_REQUEST" });
    await expect(s.queue.send({ record: new Uint8Array(231) })).resolves.toMatch(/^\d{16}$/);
    expect(await s.outbox.list()).toHaveLength(1);
  });
});

describe("createPacketIds", () => {
  it("never gives 0 or an id it gave in the last 20, and keeps the firmware's counter in the low 10 bits", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (seed) => {
        const next = createPacketIds(seeded(seed));
        const ids = Array.from({ length: 200 }, next);
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i]!;
          if (id === 0 || id > 0xffff_ffff) return false;
          if (ids.slice(Math.max(0, i - 20), i).includes(id)) return false;
          if (i > 0 && (id & 0x3ff) !== ((ids[i - 1]! + 1) & 0x3ff) && (id & 0x3ff) !== ((ids[i - 1]! + 2) & 0x3ff)) return false;
        }
        return true;
      }),
    );
  });

  it("cannot repeat an id even when the random source always gives the same number", () => {
    const next = createPacketIds(() => 0);
    const ids = Array.from({ length: 2048 }, next);
    for (let i = 20; i < ids.length; i++) expect(ids.slice(i - 20, i)).not.toContain(ids[i]);
    expect(ids).not.toContain(0);
  });
});
