import type { FieldRecord } from "../wire/index.ts";
import type { LinkReason, LinkStatus } from "../radio/index.ts";

/** A record with what the station knows about its sender, ready to show. */
export interface RecordView extends FieldRecord {
  /** The sender's callsign (its short name from the roster), or its node id when unknown. */
  sender: string;
  /** Where, in words (a landmark's name from the site plan, or an offset), when the record says. */
  place?: string;
}

export interface RadioState {
  status: LinkStatus;
  reason: LinkReason;
}

export interface StationSnapshot {
  name: string;
  radio: RadioState;
  recordCount: number;
  /** Newest first, at most the station's feed size. */
  recent: RecordView[];
}

export type StationEvent =
  | { type: "record"; record: RecordView; recordCount: number }
  | { type: "radio"; radio: RadioState }
  | { type: "skipped"; reason: string };

/** What the console needs from a station: a snapshot to start from and the changes after it. */
export interface StationView {
  snapshot(): StationSnapshot;
  subscribe(listener: (event: StationEvent) => void): () => void;
}
