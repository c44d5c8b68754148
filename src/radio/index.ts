// The radio link: everything between a Meshtastic radio's bytes and the station.
export { encodeFrame, FrameDecoder, MAX_FRAME_PAYLOAD } from "./framing.ts";
export type { FrameEvent } from "./framing.ts";
export * from "./protocol.ts";
export type * from "./types.ts";
export { createStreamTransport } from "./transport.ts";
export type { Transport, DeviceOutput, StreamTransportOptions } from "./transport.ts";
export { DEVICE_DISCONNECTED } from "./transport.ts";
export { RadioError, isRadioError } from "./errors.ts";
export type { RadioErrorCode } from "./errors.ts";
export { openSerialTransport, SERIAL_WAKE_BYTES, SERIAL_WAKE_DELAY_MS } from "./serial.ts";
export type { SerialTransportOptions } from "./serial.ts";
export { connectTcpTransport, MESHTASTIC_TCP_PORT } from "./tcp.ts";
export type { TcpTransportOptions } from "./tcp.ts";
export { RadioLink, SPECIAL_NONCE_ONLY_CONFIG, SPECIAL_NONCE_ONLY_NODES } from "./link.ts";
export type { RadioLinkOptions } from "./link.ts";
export { chooseRadioPort, findRadioPort, scanRadioPorts, loadBoards, listSerialPorts, DEFAULT_BOARDS_FILE } from "./ports.ts";
export type { Board, UsbId, PortInfo, PortVerdict, PortChoice, ScanOptions, FoundPort } from "./ports.ts";
export { RadioConnection, connectRadio } from "./connection.ts";
export type { RadioConnectionOptions } from "./connection.ts";
export { SendQueue, maxPayloadBytes, checkRecordPort, DEFAULT_RECORD_PORT } from "./send-queue.ts";
export type { SendQueueOptions, PacketWriter } from "./send-queue.ts";
export { MemoryOutbox, createPacketIds } from "./outbox.ts";
export type { OutboxEntry, OutboxStore } from "./outbox.ts";
export {
  AIR_HEADER_BYTES,
  MAX_AIR_FRAME,
  DEFAULT_CHANNEL_KEY,
  parseAirHeader,
  encodeAirHeader,
  airFlags,
  expandChannelKey,
  airNonce,
  cryptAirPayload,
  channelHash,
  lastByteOf,
  splitAirFrame,
  encodeAirFrame,
} from "./air.ts";
export type { AirHeader, AirFrame } from "./air.ts";
export { AdminClient, AdminSession, AdminError } from "./admin.ts";
export type { AdminClientOptions, AdminSessionOptions, AdminErrorCode } from "./admin.ts";
