// The errors the radio link reports for things that go wrong outside the program: a port that is
// missing or taken, a refused TCP connection, a radio that never finishes its handshake.
// Programming mistakes (bad arguments) stay plain TypeError/RangeError without a code.

export type RadioErrorCode =
  /** The serial device path does not exist. */
  | "RADIO_PORT_NOT_FOUND"
  /** Another process holds the serial port (or its lock). */
  | "RADIO_PORT_BUSY"
  /** The operating system refused access to the serial port. */
  | "RADIO_PORT_DENIED"
  /** The serial port exists but could not be opened for another reason. */
  | "RADIO_PORT_OPEN_FAILED"
  /** Auto-detection found no serial port that looks like a radio. */
  | "RADIO_NO_PORT"
  /** The ports could not be listed at all. */
  | "RADIO_PORT_LIST_FAILED"
  /** Nothing listens on the TCP host:port. */
  | "RADIO_TCP_REFUSED"
  /** The TCP host name does not resolve. */
  | "RADIO_TCP_HOST_NOT_FOUND"
  /** No answer from the TCP host in time, or no route to it. */
  | "RADIO_TCP_UNREACHABLE"
  /** Any other TCP connection failure. */
  | "RADIO_TCP_FAILED"
  /** The radio did not complete the configure handshake in time. */
  | "RADIO_HANDSHAKE_TIMEOUT"
  /** The byte stream ended (unplugged, socket closed) before the handshake completed. */
  | "RADIO_STREAM_ENDED"
  /** Writing to the radio failed. */
  | "RADIO_WRITE_FAILED"
  /** The link was closed by its owner before the handshake completed. */
  | "RADIO_CLOSED"
  /** A packet was offered to a link that is not connected (the queue keeps it). */
  | "RADIO_NOT_CONNECTED"
  /** The radio stopped sending frames although it answers heartbeats. */
  | "RADIO_IDLE_TIMEOUT"
  /** A text or record does not fit one Meshtastic packet. */
  | "RADIO_PAYLOAD_TOO_LARGE"
  /** send() was called with neither or both of text and record, or a bad destination/channel. */
  | "RADIO_BAD_REQUEST"
  /** The port chosen for meshaid records is not a free private port (258..511). */
  | "RADIO_BAD_RECORD_PORT";

/** An operational radio failure. `message` is one line naming the port or host and what to try. */
export class RadioError extends Error {
  override readonly name = "RadioError";
  readonly code: RadioErrorCode;

  constructor(code: RadioErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export function isRadioError(error: unknown, code?: RadioErrorCode): error is RadioError {
  return error instanceof RadioError && (code === undefined || error.code === code);
}
