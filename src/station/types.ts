import type { CheckinStatus, FieldRecord, Place, Priority, RecordBody, RecordId, Severity, SupplyLine, SupplyStatus } from "../wire/index.ts";
import type { SchedulerState } from "./scheduler.ts";
import type { NodeFlag } from "./node-watch.ts";
import type { DeliveryState, LinkReason, LinkStatus } from "../radio/index.ts";

/** A record with what the station knows about its sender, ready to show. */
export interface RecordView extends FieldRecord {
  /** The sender's callsign (its short name from the roster), or its node id when unknown. */
  sender: string;
  /** Where, in words (a landmark's name from the site plan, or an offset), when the record says. */
  place?: string;
  /** For a record this station sent on the air: where its delivery stands (latest attempt). */
  delivery?: RecordDelivery;
}

/** Where one of this station's own records stands on the air. */
export interface RecordDelivery {
  state: DeliveryState;
  /** The firmware's reason for failed, or why unknown. */
  reason?: string;
  /** How many times it was put on the air so far. */
  attempts: number;
  /** When the state last changed (ms since the epoch). */
  at: number;
  /** Which base stations hold it (their held ACKs), this one included, when others are known. */
  stations?: StationsHolding;
}

/** How many of the known base stations hold a record ("3/4 stations"), and the callsigns of those that do not. */
export interface StationsHolding {
  have: number;
  of: number;
  missing: string[];
}

/** The other base stations (`meshaid status`): heard on meshaid's port, and how much of this station's log each holds. */
export interface PeerStationStatus {
  num: number;
  callsign: string;
  lastHeard: number;
  /** The newest of its own seqs heard of. */
  latest: number;
  /** How many of this station's records it holds, and how many not. */
  holdsOurs: number;
  missingOurs: number;
}

/** Gap repair (`meshaid status`): records of other base stations asked for, and given up on. */
export interface GapStatus {
  /** Records asked for and not yet resent, per origin: seqs, and the requests so far. */
  asking: Array<{ origin: number; callsign: string; seqs: number[]; requests: number }>;
  /** Records asked for in vain as often as allowed (they may still come through the relay). */
  gaveUp: Array<{ origin: number; callsign: string; seqs: number[] }>;
  /** Records of this station resent on request so far. */
  resent: number;
  /** Holding digests (handheld records between base stations): digests sent and skipped, records pushed and asked for, records in the window, records wanted, records waiting to be pushed. */
  handheld?: { digests: number; skipped: number; pushed: number; pulled: number; window: number; wanted: number; pushing: number };
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
  /** Nodes flagged as behaving unlike their history, oldest first (when any). */
  suspects?: NodeFlag[];
}

export type StationEvent =
  /** `replaces`: the authenticated record that took the place of an unauthenticated one with its id (shown instead of it). */
  | { type: "record"; record: RecordView; recordCount: number; replaces?: true }
  | { type: "radio"; radio: RadioState }
  /** One of this station's own records moved on the air. */
  | { type: "delivery"; id: RecordId; delivery: RecordDelivery }
  | { type: "skipped"; reason: string }
  /** A node whose behaviour contradicts its history (another hardware or key, an impossible move, a bad tag). */
  | { type: "suspect"; flag: NodeFlag };

/** What the console needs from a station: a snapshot to start from and the changes after it. */
export interface StationView {
  snapshot(): StationSnapshot;
  subscribe(listener: (event: StationEvent) => void): () => void;
}

/**
 * Boards and actions, beside `StationView` (whose snapshot and events are unchanged): a console
 * that shows boards reads `boards()` once and again after each `{ type: "boards" }` event.
 */
export interface StationBoardsView extends StationView {
  /**
   * The boards now (`overdue` computed for now). The lists are new each call; the cards in them
   * are shared with the station until they change (a changed card is a new object): read only.
   */
  boards(): BoardsSnapshot;
  subscribeBoards(listener: (event: BoardsEvent) => void): () => void;
}

export type BoardsEvent =
  /** These boards changed (a record was stored, the roster changed, or a check-in fell overdue). */
  | { type: "boards"; boards: BoardName[] }
  /** A coordinator's action was done or refused (`Station.act`). */
  | { type: "action"; outcome: ActionOutcome };

// ---------------------------------------------------------------------------------------------
// Boards: projections of the log. Each is a pure function of the set of stored records (not of
// the order they arrived in), rebuilt at start and kept live as records are stored, so two
// stations holding the same records show the same boards.

/** Who did something, and when (the record that says so). */
export interface BoardAct {
  /** The record's id. */
  id: RecordId;
  /** The callsign of the record's sender, or its node id ("!2a6f1c02") when unknown. */
  by: string;
  /** When the record was heard (ms since the epoch, the storing station's clock). */
  at: number;
}

/** Where a supply request stands. `open` until a status record refers to it. */
export type RequestState = "open" | "acknowledged" | "en_route" | "delivered" | "cancelled" | "unable";

/** One supply request with every status change about it folded in. */
export interface RequestCard {
  /** The request record's id; `key` is its log key ("<origin>!<seq>", 8 hex digits each). */
  id: RecordId;
  key: string;
  requested: BoardAct;
  lines: SupplyLine[];
  priority: Priority;
  place?: Place;
  needByMin?: number;
  state: RequestState;
  /** The status change that decided `state` (absent while open). */
  decidedBy?: BoardAct;
  /** En route: the promised minutes and when that makes arrival (ms since the epoch). */
  etaMin?: number;
  etaAt?: number;
  /** Every status change about it, in the boards' order (time heard, then id). */
  history: Array<BoardAct & { status: SupplyStatus; etaMin?: number }>;
  /** While open or acknowledged: an offer that could fill it (same item, enough quantity, nearest first). */
  match?: RequestMatch;
}

/** An offer (or stock on hand) suggested for a request. */
export interface RequestMatch {
  /** The offer record. */
  offer: BoardAct;
  item: string;
  /** What the offer has (absent: it did not say). */
  quantity?: number;
  place?: Place;
  /** Between the request's place and the offer's, when both are known. */
  distanceM?: number;
}

/** One incident: the reports of one sender about one incident type, folded into one. */
export interface IncidentCard {
  /** "<origin 8 hex>:<incident type>". */
  key: string;
  incident: string;
  state: "open" | "closed";
  /** The first report. */
  reported: BoardAct;
  /** The latest report (its severity, casualties, triage and place are the incident's). */
  updated: BoardAct;
  severity: Severity;
  casualties: number;
  triage: Record<string, number>;
  /** Every hazard any report named. */
  hazards: string[];
  people?: number;
  responderOnScene: boolean;
  place?: Place;
  /** How many reports were folded in. */
  reports: number;
  /** Who acknowledged it (an ack "received"/"wilco" naming one of its reports). */
  acknowledged?: BoardAct;
  /** Who closed it (an ack "complete" naming one of its reports, later than the latest report). */
  closed?: BoardAct;
}

/** One person (callsign) on the shift board. */
export interface ShiftCard {
  callsign: string;
  onShift: boolean;
  role?: string;
  /** The post. */
  place?: Place;
  /** Since when on (or off) shift. */
  since: BoardAct;
  /** The latest check-in. */
  lastCheckin?: BoardAct & { status: CheckinStatus; battery?: number };
  /** On shift and neither checked in nor started within the check-in interval (at `asOf`). */
  overdue: boolean;
}

export interface HandoffCard {
  key: string;
  from: string;
  to: string;
  role?: string;
  place?: Place;
  at: BoardAct;
  /** Callsigns that sent this handoff (both sides confirmed when it holds `from` and `to`). */
  confirmedBy: string[];
  confirmed: boolean;
}

/** One node heard on the mesh (from the roster). */
export interface RosterCard {
  num: number;
  callsign: string;
  role?: number;
  batteryLevel?: number;
  lastHeardMs?: number;
  snr?: number;
  rssi?: number;
  hopsAway?: number;
}

/** All boards at one moment. Lists are sorted (requests and incidents newest first). */
export interface BoardsSnapshot {
  requests: RequestCard[];
  incidents: IncidentCard[];
  shifts: ShiftCard[];
  handoffs: HandoffCard[];
  roster: RosterCard[];
  /** The moment `overdue` was computed for (ms since the epoch). */
  asOf: number;
}

export type BoardName = "requests" | "incidents" | "shifts" | "roster";

// ---------------------------------------------------------------------------------------------
// Actions: what a coordinator does at a station, checked against the coalition's decision rights
// (firmware-config/decision-rights.yaml) and written to the log and the audit trail.

/** What a coordinator may do. */
export type ActionVerb =
  | "acknowledge"
  | "dispatch"
  | "deliver"
  | "cancel"
  | "close"
  | "approve_purchase"
  | "assign_shift"
  | "end_shift";

export const ACTION_VERBS: readonly ActionVerb[] = ["acknowledge", "dispatch", "deliver", "cancel", "close", "approve_purchase", "assign_shift", "end_shift"];

/** A coordinator's action at this station. */
export interface ActionRequest {
  verb: ActionVerb;
  /** Who acts: a callsign (never a name) and a role from the codebook. */
  actor: { callsign: string; role: string };
  /**
   * The record acted on: a supply request (acknowledge, dispatch, deliver, cancel) or an incident
   * report (acknowledge, close). Not needed for purchases and shifts.
   */
  target?: RecordId;
  /** dispatch: minutes until it arrives. */
  etaMin?: number;
  /** approve_purchase: what was bought (a procurement entry in the audit trail). */
  purchase?: { item: string; quantity: number; cost: number; currency?: string; note?: string };
  /** assign_shift / end_shift: whose shift, and (assign) the role and post. */
  shift?: { callsign: string; role?: string; place?: Place };
}

export type ActionOutcome =
  | {
      ok: true;
      action: ActionRequest;
      /** The record this station wrote to the log for it (absent for a purchase, which only the audit trail keeps). */
      record?: RecordId;
      /** Its place in the audit trail. */
      audit: number;
    }
  | { ok: false; action: ActionRequest; reason: string };

// ---------------------------------------------------------------------------------------------
// Sending: records this station composes (at the console, or `meshaid send`), logged with this
// station as origin, then put on the air (`Station.send`).

/** What to send. */
export interface OutgoingRequest {
  /** Records composed at this station. Without them, `text` is read: a preset or typed text, else a plain message. */
  bodies?: RecordBody[];
  /** The text: read into records when there are no `bodies`, and what a handheld gets. */
  text?: string;
  /** Who says it (a callsign, never a name). */
  sender?: string;
  /** The records to other base stations on meshaid's port (default: true unless `to` is given). */
  stations?: boolean;
  /** The text to one handheld (its node number or callsign), or to everyone on the channel. */
  to?: { node: number } | { callsign: string } | "channel";
}

export type SendOutcome =
  | {
      ok: true;
      /** The records written to the log, in order. */
      records: RecordId[];
      /** How the text was read (absent when records were given). */
      read?: "preset" | "typed" | "message";
      /** How many packets went to the transmit scheduler. */
      packets: number;
    }
  | { ok: false; reason: string };

/** The internet relay at a glance: its link and, per peer, what it still lacks of this station's log. */
export interface RelayStatusReport {
  link: "off" | "connecting" | "up" | "down";
  /** Where it connects (no credentials). */
  broker: string;
  reason?: string;
  /** Records of this station's log the broker has not acknowledged yet. */
  outboxPending: number;
  peers: Array<{
    station: string;
    /** When that peer last signed anything this station heard (ms since the epoch). */
    lastSeenAt?: number;
    /** Records of this station's log the peer does not hold yet (its outbox, by its last signed vector). */
    behind: number;
    /** Records of the peer's log this station does not hold yet. */
    missing: number;
  }>;
}

/** The station at a glance (`meshaid status`). */
export interface StationStatus {
  name: string;
  /** This station's node number, once the radio said it. */
  origin?: number;
  radio: RadioState;
  recordCount: number;
  transmit?: SchedulerState;
  /** This station's sends by delivery state. */
  deliveries?: Record<DeliveryState, number>;
  /** This station's records whose delivery failed or is unknown, newest first (at most 20). */
  troubled?: Array<{ id: RecordId; delivery: RecordDelivery }>;
  /** The other base stations heard, and what each holds of this station's records. */
  stations?: PeerStationStatus[];
  /** Gap repair: what is being asked for, and what was given up on. */
  gaps?: GapStatus;
  /**
   * With a coalition key: its fingerprint, records heard unauthenticated, state changes not
   * applied, forgeries replaced by the authenticated record with their id, the latest flagged nodes.
   */
  auth?: { key: string; records: number; notApplied: number; replaced: number; suspects: NodeFlag[] };
  /** With --relay: the internet relay (the cli adds src/relay's state; the station knows nothing of it). */
  relay?: RelayStatusReport;
  boards: {
    requests: Record<RequestState, number>;
    incidentsOpen: number;
    onShift: number;
    overdue: number;
    nodes: number;
    /** Open requests an offer could fill. */
    matches: number;
  };
}
