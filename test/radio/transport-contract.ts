// The conformance suite every byte-stream Transport passes (in-process pipe, TCP, serial pty).
// The fixture gives the transport under test and the device's end of the same byte stream.
import type { Duplex } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DEVICE_DISCONNECTED,
  encodeFrame,
  FrameDecoder,
  type DeviceOutput,
  type Transport,
} from "../../src/radio/index.ts";
import { collect, concat } from "./helpers.ts";

export interface TransportFixture {
  transport: Transport;
  /** The device's end: the test writes device bytes to it and reads the host's bytes from it. */
  device: Duplex;
  /** Bytes the transport sends before its first frame (the serial wake-up), if any. */
  wakeBytes?: Uint8Array;
  /** Ends the stream from the device's side (cable pulled, socket closed, pty gone). */
  endFromDevice(): Promise<void> | void;
  /** Releases everything the fixture made. */
  close(): Promise<void>;
}

const pollOptions = { timeout: 10_000, interval: 5 };

function payload(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

export function runTransportContract(name: string, factory: () => Promise<TransportFixture>): void {
  describe(`Transport contract: ${name}`, () => {
    let fixture: TransportFixture;
    let hostBytes: Buffer[];

    beforeEach(async () => {
      fixture = await factory();
      hostBytes = [];
      fixture.device.on("data", (chunk: Buffer) => hostBytes.push(chunk));
    });

    afterEach(async () => {
      await fixture.close();
    });

    const received = (): Uint8Array => concat(hostBytes);

    it("writes each host payload as one frame, after the wake-up bytes if any", async () => {
      const payloads = [payload(2, 1), payload(0, 0), payload(300, 7), Uint8Array.of(0x94, 0xc3, 0x01, 0x00)];
      const writer = fixture.transport.toDevice.getWriter();
      for (const p of payloads) await writer.write(p);
      const expected = concat([fixture.wakeBytes ?? new Uint8Array(0), ...payloads.map(encodeFrame)]);
      await expect.poll(() => received().length, pollOptions).toBeGreaterThanOrEqual(expected.length);
      expect(Buffer.from(received()).toString("hex")).toBe(Buffer.from(expected).toString("hex"));
      writer.releaseLock();
    });

    it("delivers device frames as packets and console text as debug lines, in order", async () => {
      const { outputs } = collect(fixture.transport.fromDevice);
      const p1 = Uint8Array.of(0x40, 0x01);
      const p2 = payload(512, 3);
      const p3 = Uint8Array.of(0x08, 0x94, 0xc3, 0x00, 0x02); // contains 94 C3: still one valid frame
      fixture.device.write(concat([Buffer.from("INFO  | boot\r\n"), encodeFrame(p1), encodeFrame(p2), Buffer.from("WARN  | a—b\r\n"), encodeFrame(p3)]));
      const expected: DeviceOutput[] = [
        { type: "debug", data: "INFO  | boot" },
        { type: "packet", data: p1 },
        { type: "packet", data: p2 },
        { type: "debug", data: "WARN  | a—b" },
        { type: "packet", data: p3 },
      ];
      await expect.poll(() => outputs.length, pollOptions).toBe(expected.length);
      expect(outputs).toEqual(expected);
    });

    it("does not care where the stream is cut", async () => {
      const { outputs } = collect(fixture.transport.fromDevice);
      const frames = [payload(5, 9), payload(200, 4), payload(1, 2)];
      const bytes = concat(frames.map(encodeFrame));
      // one byte at a time, each write awaited so the pieces travel separately
      for (let i = 0; i < bytes.length; i += 1 + (i % 7)) {
        const piece = bytes.subarray(i, i + 1 + (i % 7));
        await new Promise<void>((resolve, reject) => fixture.device.write(piece, (error) => (error ? reject(error) : resolve())));
      }
      await expect.poll(() => outputs.length, pollOptions).toBe(frames.length);
      expect(outputs).toEqual(frames.map((data) => ({ type: "packet", data })));
    });

    it("ends with a disconnected status when the device side goes away", async () => {
      const { outputs, state } = collect(fixture.transport.fromDevice);
      fixture.device.write(encodeFrame(Uint8Array.of(0x40, 0x01)));
      await expect.poll(() => outputs.length, pollOptions).toBe(1);
      await fixture.endFromDevice();
      await expect.poll(() => state.done, pollOptions).toBe(true);
      const last = outputs.at(-1);
      expect(last?.type).toBe("status");
      expect(last?.type === "status" && last.data.status).toBe(DEVICE_DISCONNECTED);
      expect(outputs.filter((output) => output.type === "status")).toHaveLength(1);
    });

    it("disconnect() resolves and ends fromDevice", async () => {
      const { outputs, state } = collect(fixture.transport.fromDevice);
      await fixture.transport.disconnect();
      await expect.poll(() => state.done, pollOptions).toBe(true);
      expect(outputs.at(-1)).toMatchObject({ type: "status", data: { status: DEVICE_DISCONNECTED } });
      await fixture.transport.disconnect(); // twice is fine
    });

    it("feeds the device bytes a FrameDecoder reads back (no stray bytes between frames)", async () => {
      const writer = fixture.transport.toDevice.getWriter();
      const payloads = Array.from({ length: 20 }, (_, i) => payload(i * 25, i));
      for (const p of payloads) await writer.write(p);
      const total = (fixture.wakeBytes?.length ?? 0) + payloads.reduce((sum, p) => sum + p.length + 4, 0);
      await expect.poll(() => received().length, pollOptions).toBe(total);
      const frames = new FrameDecoder()
        .push(received().subarray(fixture.wakeBytes?.length ?? 0))
        .filter((event) => event.type === "frame");
      expect(frames.map((event) => event.type === "frame" && Buffer.from(event.payload).toString("hex"))).toEqual(
        payloads.map((p) => Buffer.from(p).toString("hex")),
      );
      writer.releaseLock();
    });
  });
}
