// meshaid's own records, as the rest of the program handles them.

/**
 * A record's identity: where it was first said and that origin's sequence number. It survives
 * retries, relays and reconnects. For text heard from a stock handheld the sequence number is
 * the sender's Meshtastic packet id, the only thing every base station that hears it agrees on.
 */
export interface RecordId {
  /** The originating node number. */
  origin: number;
  seq: number;
}

export type Priority = "normal" | "urgent";

export type RecordBody =
  | { kind: "supply_request"; item: string; quantity: number; priority: Priority }
  | { kind: "incident"; incident: string; casualties: number }
  | { kind: "shift"; action: "on" | "off" };

export type RecordKind = RecordBody["kind"];

/** A record as heard and stored by a base station. */
export interface FieldRecord {
  id: RecordId;
  /** When this base station first heard it (ms since the epoch, the station's clock). */
  receivedAt: number;
  body: RecordBody;
  /** The text it was read from, when it came as a preset or typed text. */
  text?: string;
  /** The sender's callsign, when the station knew it on arrival. */
  sender?: string;
}
