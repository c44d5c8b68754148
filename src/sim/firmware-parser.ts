// The DEVICE's receive parser for the stream framing, reproduced exactly (reference 1.2,
// fw27 src/mesh/StreamAPI.cpp readStream()). It deliberately differs from the host's
// FrameDecoder in src/radio: a byte that breaks START2 is NOT looked at again as START1, so
// `94 94 C3 ...` loses the frame; there is no timeout and no CRC; a length above 512 restarts
// the hunt for START1.

const START1 = 0x94;
const START2 = 0xc3;
const HEADER_LEN = 4;
/** MAX_TO_FROM_RADIO_SIZE (fw27 src/mesh/PhoneAPI.h). */
export const MAX_TO_FROM_RADIO_SIZE = 512;

export class FirmwareStreamParser {
  private readonly rxBuf = new Uint8Array(MAX_TO_FROM_RADIO_SIZE + HEADER_LEN);
  private rxPtr = 0;

  /** Feeds bytes in; returns the payloads of the frames they completed (handleToRadio calls). */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (const c of chunk) {
      const ptr = this.rxPtr;
      this.rxPtr++;
      this.rxBuf[ptr] = c;
      if (ptr === 0) {
        if (c !== START1) this.rxPtr = 0;
      } else if (ptr === 1) {
        if (c !== START2) this.rxPtr = 0;
      } else if (ptr >= HEADER_LEN - 1) {
        const len = ((this.rxBuf[2] ?? 0) << 8) | (this.rxBuf[3] ?? 0);
        if (ptr === HEADER_LEN - 1 && len > MAX_TO_FROM_RADIO_SIZE) this.rxPtr = 0;
        if (this.rxPtr !== 0 && ptr + 1 >= len + HEADER_LEN) {
          this.rxPtr = 0;
          frames.push(this.rxBuf.slice(HEADER_LEN, HEADER_LEN + len));
        }
      }
    }
    return frames;
  }

  /** Forgets a partial frame (a new connection on the same port does not reset it in the firmware). */
  reset(): void {
    this.rxPtr = 0;
  }
}
