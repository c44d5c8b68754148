// The radio link: everything between a Meshtastic radio's bytes and the station.
export { encodeFrame, FrameDecoder, MAX_FRAME_PAYLOAD } from "./framing.ts";
export type { FrameEvent } from "./framing.ts";
export * from "./protocol.ts";
export type * from "./types.ts";
export { createStreamTransport } from "./transport.ts";
export type { Transport, DeviceOutput, StreamTransportOptions } from "./transport.ts";
