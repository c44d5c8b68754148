// Radio framing (issue 4 metric framesPerSecond): a serial capture (FromRadio frames with console
// text between them, as a USB radio sends) through meshaid's FrameDecoder and the FromRadio
// decode, frames per second, against a plain Buffer scan (indexOf of 94 C3) over the same bytes
// in the same run. MESHAID_BENCH_FRAMES sets the count.
import { BROADCAST_NUM, decodeFromRadio, encodeFrame, encodeFromRadio, FrameDecoder, PortNum, type FromRadioInit } from "../../src/radio/index.ts";
import { result, type BenchResult } from "./result.ts";

const FRAMES = Number(process.env["MESHAID_BENCH_FRAMES"] ?? 100_000);
const ROUNDS = 5;

/** A capture of `count` frames: text packets, queue statuses and position packets, a log line every 10. */
function capture(count: number): Buffer {
  const parts: Uint8Array[] = [];
  const log = Buffer.from("\x1b[34mDEBUG\x1b[0m | 12:00:00 3601 [Router] Lora RX (id=0x1a2b3c4d fr=0x9e3b7a42 to=0xffffffff, WantAck=0, HopLim=2 Ch=0x8)\r\n");
  for (let i = 0; i < count; i++) {
    let variant: FromRadioInit;
    if (i % 3 === 0) variant = { case: "queueStatus", value: { res: 0, free: 15, maxlen: 16, meshPacketId: 0x0a0b0c00 + i } };
    else {
      const text = i % 3 === 1;
      variant = {
        case: "packet",
        value: {
          from: 0x9e3b7a42,
          to: BROADCAST_NUM,
          id: 0x1a2b0000 + i,
          rxTime: 1_750_000_000 + i,
          rxSnr: 6.25,
          rxRssi: -97,
          hopLimit: 2,
          hopStart: 3,
          payloadVariant: {
            case: "decoded",
            value: text
              ? { portnum: PortNum.TEXT_MESSAGE_APP, payload: Buffer.from("NEED WATER SECTOR C"), bitfield: 1 }
              : { portnum: PortNum.PRIVATE_APP, payload: Uint8Array.from({ length: 40 }, (_, k) => (k * 37 + i) & 0xff) },
          },
        },
      };
    }
    parts.push(encodeFrame(encodeFromRadio(variant)));
    if (i % 10 === 9) parts.push(log);
  }
  return Buffer.concat(parts);
}

/** Bytes as a serial port delivers them: chunks of up to 64 bytes. */
function chunks(bytes: Buffer, size = 64): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) out.push(bytes.subarray(offset, offset + size));
  return out;
}

function framed(pieces: Buffer[]): number {
  const decoder = new FrameDecoder();
  let frames = 0;
  for (const piece of pieces) {
    for (const event of decoder.push(piece)) {
      if (event.type !== "frame") continue;
      if (decodeFromRadio(event.payload).payloadVariant.case !== undefined) frames++;
    }
  }
  return frames;
}

function scanned(bytes: Buffer): number {
  const marker = Buffer.from([0x94, 0xc3]);
  let found = 0;
  for (let at = bytes.indexOf(marker); at !== -1; at = bytes.indexOf(marker, at + 2)) found++;
  return found;
}

function best(run: () => number, expected: number): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    const count = run();
    fastest = Math.min(fastest, performance.now() - started);
    if (count < expected) throw new Error(`found ${count} of ${expected} frames`);
  }
  return expected / (fastest / 1000);
}

export function run(): Promise<BenchResult[]> {
  const bytes = capture(FRAMES);
  const pieces = chunks(bytes);
  const baseline = best(() => scanned(bytes), FRAMES);
  const value = best(() => framed(pieces), FRAMES);
  return Promise.resolve([result("radio", "framesPerSecond", value, "frames/s", baseline)]);
}
