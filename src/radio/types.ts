// What the radio link tells the layers above it. Nothing above src/radio sees frames or
// Meshtastic protobufs: they see these plain objects.

/** The link's lifecycle (an explicit state machine; see docs/architecture.md). */
export type LinkStatus = "connecting" | "configuring" | "connected" | "reconnecting" | "closed";

export type LinkReason =
  | "starting"
  | "handshake-complete"
  | "device-rebooted"
  | "stream-ended"
  | "read-error"
  | "write-error"
  | "handshake-timeout"
  | "user";

/** A node the radio knows about (from the handshake's NodeInfo or a NODEINFO_APP packet). */
export interface RadioNode {
  num: number;
  /** "!a1b2c3d4", the Meshtastic user id. */
  userId: string;
  longName: string;
  /** Up to 4 characters: the callsign shown on screens. */
  shortName: string;
  /** Config.DeviceConfig.Role number. */
  role: number;
  hwModel: number;
  /** When the node was last heard (device clock, ms since the epoch), when the radio knows. */
  lastHeardMs?: number;
}

/** An application packet the radio heard (decoded by the radio with the channel key). */
export interface ReceivedPacket {
  /** Sender node number (the mesh header's `from`). */
  from: number;
  to: number;
  /** The sender's packet id: the same for every copy and retransmission of one send. */
  id: number;
  channel: number;
  portnum: number;
  payload: Uint8Array;
  /** Device receive time in ms since the epoch, or undefined when the device clock is unset. */
  rxTimeMs: number | undefined;
  rxSnr: number;
  rxRssi: number;
  hopLimit: number;
  hopStart: number;
  /**
   * On a ROUTING_APP packet (an ACK or NAK), the id of the packet it answers; on a reply to a
   * want_response request, the request's id. Absent when zero.
   */
  requestId?: number;
  /** The id of the message this one replies to (a reaction or threaded reply). Absent when zero. */
  replyId?: number;
}

export type RadioEvent =
  | { type: "status"; status: LinkStatus; reason: LinkReason }
  | { type: "my-node"; num: number }
  | { type: "node"; node: RadioNode }
  | { type: "packet"; packet: ReceivedPacket }
  | { type: "log"; line: string };

export type RadioListener = (event: RadioEvent) => void;

/** What the station needs from a radio link. Implemented by RadioLink. */
export interface RadioSource {
  readonly status: LinkStatus;
  subscribe(listener: RadioListener): () => void;
}
