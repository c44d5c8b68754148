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
  /** No frame from the radio for too long although it answers heartbeats: the session stalled. */
  | "idle-timeout"
  /** The serial port is gone (reconnecting waits for it to come back). */
  | "unplugged"
  /** Opening the port or socket again failed (reconnecting retries with backoff). */
  | "open-failed"
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
  /** The node's public key (hex, 32 bytes) when its NODEINFO carries one (firmware 2.5+). */
  publicKey?: string;
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
  /** Data.want_response, when set. */
  wantResponse?: boolean;
  /** Data.bitfield, when the sender wrote one (bit 0: its owner allows it on MQTT, OK_TO_MQTT). */
  bitfield?: number;
  /** The radio got it from an MQTT broker (via_mqtt): never uploaded again. */
  viaMqtt?: boolean;
}

/** How a packet reached us: the radio's receive metadata. */
export interface HeardVia {
  /** Device receive time in ms since the epoch, when the device clock is set. */
  rxTimeMs?: number;
  rxSnr: number;
  rxRssi: number;
  /** hop_start - hop_limit, when the packet carries a hop_start. */
  hopsAway?: number;
}

/** A node's position (POSITION_APP), degrees and metres. */
export interface NodePosition {
  latitude: number;
  longitude: number;
  altitude?: number;
  /** When the fix was taken (ms since the epoch), when the node says. */
  timeMs?: number;
  /** Bits of precision the sender kept (32 = exact); 0 when unknown. */
  precisionBits: number;
}

/** A node's device telemetry (TELEMETRY_APP device_metrics). Absent fields were not reported. */
export interface DeviceTelemetry {
  /** 0..100, 101 = on external power. */
  batteryLevel?: number;
  voltage?: number;
  /** Channel utilisation seen by the node, percent. */
  channelUtilization?: number;
  /** The node's own transmit airtime in the last hour, percent. */
  airUtilTx?: number;
  uptimeSeconds?: number;
}

/** Where a send stands. Each state says only what the radio has evidence for. */
export type DeliveryState =
  /** In meshaid's outbox, not yet accepted by the radio. */
  | "queued"
  /** The radio accepted it into its transmit queue (QueueStatus res 0 for its packet id). */
  | "sent"
  /** A neighbour rebroadcast it (implicit ACK: Routing NONE from our own node). Not proof the destination has it. */
  | "heard"
  /** The destination acknowledged it (Routing NONE from the destination). */
  | "confirmed"
  /** The firmware reported a failure; `reason` names it (MAX_RETRANSMIT, DUTY_CYCLE_LIMIT, ...). */
  | "failed"
  /** No ACK or NAK arrived in time: nobody knows whether it arrived. */
  | "unknown";

export interface DeliveryUpdate {
  /** The id send() returned. */
  id: string;
  state: DeliveryState;
  /** The Meshtastic packet id of the (latest) attempt, once one was written to the radio. */
  packetId?: number;
  /** For failed: the firmware's reason (Routing.Error name or QueueStatus result); for unknown: why. */
  reason?: string;
}

export type RadioEvent =
  | { type: "status"; status: LinkStatus; reason: LinkReason }
  | { type: "my-node"; num: number }
  | { type: "node"; node: RadioNode; heard?: HeardVia }
  | { type: "packet"; packet: ReceivedPacket }
  | { type: "log"; line: string }
  | { type: "position"; from: number; position: NodePosition; heard: HeardVia }
  | { type: "telemetry"; from: number; telemetry: DeviceTelemetry; heard: HeardVia }
  /** The radio's transmit queue (QueueStatus): after each packet we write, and on heartbeats. */
  | { type: "queue-status"; res: number; free: number; maxlen: number; packetId: number }
  | { type: "delivery"; delivery: DeliveryUpdate };

export type RadioListener = (event: RadioEvent) => void;

/** What the station needs from a radio link. Implemented by RadioLink. */
export interface RadioSource {
  readonly status: LinkStatus;
  subscribe(listener: RadioListener): () => void;
}

/** What to send. Exactly one of `text` and `record`. */
export interface SendRequest {
  /** Text for handhelds (TEXT_MESSAGE_APP), at most 200 bytes of UTF-8. */
  text?: string;
  /** A meshaid record (encoded bytes) for the configured private port, at most 231 bytes. */
  record?: Uint8Array;
  /** Destination node number; default broadcast. */
  to?: number;
  /** Channel index 0..7; default 0 (primary). */
  channel?: number;
  /** Ask for an ACK; default true for direct messages, false for broadcasts. */
  wantAck?: boolean;
  /** hop_limit for this packet (0..7; 0: no node relays it), instead of the radio's configured one. Without want_ack only: the firmware raises 0 to its default for want_ack. */
  hopLimit?: number;
  /** MeshPacket.priority for the radio's transmit queue (1..127; 70 is what a want_ack packet gets, 100 a text), instead of the firmware's choice. */
  priority?: number;
}

/** A radio that sends: returns the id its `delivery` events carry. */
export interface RadioSender {
  send(request: SendRequest): Promise<string>;
}
