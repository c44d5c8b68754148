// The base station's ingest path: a packet the radio heard -> records (a preset, typed text read
// confidently, or meshaid's own payload) -> the log -> the console. Text that is not read
// confidently is kept as a plain message. A record is shown only after it is on disk, and shown
// once however many times it is heard.
import type { Logger } from "pino";
import { PortNum, type LinkReason, type LinkStatus, type RadioEvent, type RadioNode, type RadioSource, type ReceivedPacket } from "../radio/index.ts";
import {
  CONFIDENT,
  decodePayload,
  describePlace,
  MESHAID_PORTNUM,
  packRecords,
  parseText,
  readPreset,
  type Codebook,
  type FieldRecord,
  type PresetTable,
  type RecordBody,
  type SitePlan,
  type SupplyStatus,
  WireError,
} from "../wire/index.ts";
import { StoreWriteError, type AppendResult, type AuditEntry, type AuditTrail, type RecordStore, type RosterEntry } from "../store/index.ts";
import { Boards, idKey } from "./boards/index.ts";
import { mayAct, type DecisionRights } from "./rights.ts";
import type { PriorityClass, TransmitScheduler } from "./scheduler.ts";
import type { ActionOutcome, ActionRequest, BoardName, BoardsEvent, BoardsSnapshot, RadioState, RecordView, StationBoardsView, StationEvent, StationSnapshot } from "./types.ts";

export interface StationOptions {
  name: string;
  radio: RadioSource;
  store: RecordStore;
  presets: PresetTable;
  codebook: Codebook;
  /** The site plan: places typed by name, landmark names on screen. */
  site?: SitePlan;
  logger: Logger;
  now?: () => number;
  /** How many recent records the feed keeps in memory. */
  feedSize?: number;
  /** The roster (nodes heard) the roster board shows. */
  roster?: { list(): RosterEntry[] };
  /** How long someone on shift may go without checking in before the shift board flags them. */
  checkinIntervalMs?: number;
  /** Who may take which action from which station (`act`); without it every action is refused. */
  rights?: DecisionRights;
  /** Where actions are recorded; without it every action is refused (nothing unaccounted is done). */
  audit?: AuditTrail;
  /** This station's node number, the origin of the records it writes; otherwise the radio's (my-node). */
  origin?: number;
  /** What the station puts on the air (replies to handhelds, its records to other stations); without it, nothing. */
  scheduler?: TransmitScheduler;
}

/** How often the station looks for check-ins that fell overdue. */
const OVERDUE_CHECK_MS = 60_000;

const STATUS_AT_START: { status: LinkStatus; reason: LinkReason } = { status: "connecting", reason: "starting" };

export class Station implements StationBoardsView {
  private readonly options: Required<Pick<StationOptions, "now" | "feedSize">>;
  private readonly boardState: Boards;
  private readonly roster: { list(): RosterEntry[] } | undefined;
  private readonly boardListeners = new Set<(event: BoardsEvent) => void>();
  private overdueTimer: ReturnType<typeof setInterval> | undefined;
  private overdueSeen = "";
  private readonly rights: DecisionRights | undefined;
  private readonly audit: AuditTrail | undefined;
  private origin: number | undefined;
  private readonly scheduler: TransmitScheduler | undefined;
  /** The last sequence number this station gave one of its own records. */
  private ownSeq: number | undefined;
  /** Actions run one at a time (each numbers its record). */
  private acting: Promise<unknown> = Promise.resolve();
  private readonly codebook: Codebook;
  private readonly site: SitePlan | undefined;
  /** Origins already told about a codebook mismatch. */
  private readonly codebookWarned = new Set<number>();
  private readonly name: string;
  private readonly radio: RadioSource;
  private readonly store: RecordStore;
  private readonly presets: PresetTable;
  private readonly log: Logger;
  private readonly listeners = new Set<(event: StationEvent) => void>();
  /** The roster so far: node number -> what the radio told us about it. */
  private readonly nodes = new Map<number, RadioNode>();
  private radioState: RadioState = STATUS_AT_START;
  /** The recent records, oldest first (trimmed to the feed size now and then, not on every record). */
  private feed: RecordView[] = [];
  private unsubscribeRadio: (() => void) | undefined;
  /** Packets are ingested one at a time, in the order heard. */
  /** What was heard, in order, waiting to be shown: a record being stored, or an event. */
  private pending: Array<{ record: FieldRecord; appended: Promise<AppendResult>; packet?: ReceivedPacket } | { event: StationEvent }> = [];
  private pendingHead = 0;
  /** The loop that shows what was heard, in order, as it reaches the disk. */
  private draining: Promise<void> | undefined;

  constructor(options: StationOptions) {
    this.name = options.name;
    this.radio = options.radio;
    this.store = options.store;
    this.presets = options.presets;
    this.codebook = options.codebook;
    this.site = options.site;
    this.log = options.logger.child({ module: "station" });
    this.options = { now: options.now ?? Date.now, feedSize: options.feedSize ?? 200 };
    this.boardState = new Boards(options.checkinIntervalMs === undefined ? {} : { checkinIntervalMs: options.checkinIntervalMs });
    this.roster = options.roster;
    this.rights = options.rights;
    this.audit = options.audit;
    this.origin = options.origin;
    this.scheduler = options.scheduler;
    this.radioState = { status: options.radio.status, reason: "starting" };
  }

  /** Loads the feed from the log, rebuilds the boards from it, then starts listening to the radio. */
  async start(): Promise<void> {
    const onCorrupt = (entry: { key: string; reason: string }): void =>
      this.log.error({ key: entry.key, reason: entry.reason }, "stored record does not decode; kept on disk, not shown");
    const stored = await this.store.recent(this.options.feedSize, onCorrupt);
    for await (const page of this.store.all(onCorrupt)) for (const record of page) this.boardState.add(record);
    this.overdueSeen = this.overdueKey();
    this.overdueTimer = setInterval(() => this.checkOverdue(), OVERDUE_CHECK_MS);
    this.overdueTimer.unref();
    this.feed = stored.map((record) => this.view(record)).reverse();
    if (this.store.codebookChangedFrom !== undefined) {
      this.log.warn({ was: this.store.codebookChangedFrom, now: this.codebook.hash }, "the codebook changed since the log was last written; older records read with the new one");
    }
    this.unsubscribeRadio = this.radio.subscribe((event) => this.onRadioEvent(event));
    this.log.info({ records: this.store.count }, "station started");
  }

  /** Stops listening and waits for what is being ingested to be stored. */
  async stop(): Promise<void> {
    this.unsubscribeRadio?.();
    this.unsubscribeRadio = undefined;
    if (this.overdueTimer) clearInterval(this.overdueTimer);
    this.overdueTimer = undefined;
    await this.idle();
  }

  /** Resolves when everything heard so far has been ingested (for tests and shutdown). */
  idle(): Promise<void> {
    return this.draining ?? Promise.resolve();
  }

  private enqueue(item: Station["pending"][number]): void {
    this.pending.push(item);
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    await Promise.resolve(); // `draining` is set before the loop can finish
    while (this.pendingHead < this.pending.length) {
      const item = this.pending[this.pendingHead] as Station["pending"][number];
      this.pendingHead += 1;
      if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
        this.pending = this.pending.slice(this.pendingHead);
        this.pendingHead = 0;
      }
      if ("event" in item) {
        this.emit(item.event);
        continue;
      }
      const { record, appended, packet } = item;
      try {
        this.stored(record, await appended, packet);
      } catch (error) {
        this.log.error({ err: error, from: packet?.from ?? record.id.origin, id: packet?.id, seq: record.id.seq }, "ingest failed; record not stored");
        const why = error instanceof StoreWriteError ? `: ${error.message}` : "";
        this.emit({ type: "skipped", reason: `could not store a ${packet ? "packet" : "relayed record"} from ${this.callsign(packet?.from ?? record.id.origin)}${why}` });
      }
    }
    this.draining = undefined;
  }

  snapshot(): StationSnapshot {
    return { name: this.name, radio: this.radioState, recordCount: this.store.count, recent: this.feed.slice(-this.options.feedSize).reverse() };
  }

  boards(): BoardsSnapshot {
    return this.boardState.snapshot(this.options.now(), this.roster?.list() ?? []);
  }

  subscribeBoards(listener: (event: BoardsEvent) => void): () => void {
    this.boardListeners.add(listener);
    return () => this.boardListeners.delete(listener);
  }

  private emitBoards(event: BoardsEvent): void {
    for (const listener of this.boardListeners) listener(event);
  }

  private boardsChanged(boards: BoardName[]): void {
    if (boards.length > 0) this.emitBoards({ type: "boards", boards });
  }

  /** Flags (and unflags) overdue check-ins as time passes, not only when records arrive. */
  private checkOverdue(): void {
    const key = this.overdueKey();
    if (key === this.overdueSeen) return;
    this.overdueSeen = key;
    this.boardsChanged(["shifts"]);
  }

  private overdueKey(): string {
    return this.boardState.shifts
      .cards(this.options.now())
      .filter((card) => card.overdue)
      .map((card) => card.callsign)
      .join("\n");
  }

  subscribe(listener: (event: StationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Emits after what was heard before it has been stored and shown. */
  private emitInOrder(event: StationEvent): void {
    this.enqueue({ event });
  }

  private emit(event: StationEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private onRadioEvent(event: RadioEvent): void {
    switch (event.type) {
      case "status":
        this.radioState = { status: event.status, reason: event.reason };
        this.log.info(this.radioState, "radio status");
        this.emit({ type: "radio", radio: this.radioState });
        return;
      case "node":
        this.nodes.set(event.node.num, event.node);
        if (this.roster) this.boardsChanged(["roster"]);
        return;
      case "telemetry":
        // Our own radio's view of the channel: the transmitter backs off as it fills.
        if (event.from === this.origin && event.telemetry.channelUtilization !== undefined) this.scheduler?.setChannelUtilization(event.telemetry.channelUtilization);
        if (this.roster) this.boardsChanged(["roster"]);
        return;
      case "position":
        if (this.roster) this.boardsChanged(["roster"]);
        return;
      case "packet":
        this.ingest(event.packet);
        return;
      case "log":
        // The firmware's console repeats text messages it hears ("msg=..."): those stay out of the log.
        this.log.debug({ device: redactDeviceLine(event.line) }, "radio console");
        return;
      case "my-node":
        this.origin ??= event.num;
        return;
      case "queue-status":
      case "delivery":
        return;
    }
  }

  /**
   * Reads a packet into records and hands them to the store at once (the store writes what
   * arrives together in one synced batch); each is shown, in the order heard, once it is on disk.
   */
  private ingest(packet: ReceivedPacket): void {
    let records: FieldRecord[];
    try {
      records = this.readPacket(packet);
    } catch (error) {
      this.log.error({ err: error, from: packet.from, id: packet.id }, "packet could not be read; skipped");
      this.emitInOrder({ type: "skipped", reason: `could not read a packet from ${this.callsign(packet.from)}` });
      return;
    }
    for (const record of records) {
      const sender = this.nodes.get(packet.from)?.shortName;
      if (sender) record.sender = sender;
      const appended = this.store.append(record);
      appended.catch(() => undefined); // handled, in order, by drain()
      this.enqueue({ record, appended, packet });
    }
  }

  /**
   * Records a peer station relayed over the internet: stored marked as that peer's (so the relay
   * does not send them on as this station's own) and shown, in order, like records heard on the
   * radio. Resolves once they are on disk, with the ones this station did not hold before; a
   * record the codebook cannot store is logged and skipped, any other failure rejects (the relay
   * then does not acknowledge them).
   */
  async acceptRelayed(records: FieldRecord[], fromStation: string): Promise<FieldRecord[]> {
    const appends = records.map((record) => {
      const appended = this.store.append(record, { via: fromStation });
      appended.catch(() => undefined); // shown (or logged), in order, by drain()
      this.enqueue({ record, appended });
      return appended;
    });
    const fresh: FieldRecord[] = [];
    for (const [index, outcome] of (await Promise.allSettled(appends)).entries()) {
      if (outcome.status === "rejected" && !(outcome.reason instanceof WireError)) throw outcome.reason;
      if (outcome.status === "fulfilled" && outcome.value.stored) fresh.push(records[index] as FieldRecord);
    }
    return fresh;
  }

  /** The records a packet says (none for a port the station does not read). */
  private readPacket(packet: ReceivedPacket): FieldRecord[] {
    if (packet.portnum === MESHAID_PORTNUM) return this.readPayload(packet);
    if (packet.portnum !== PortNum.TEXT_MESSAGE_APP) {
      this.log.info({ from: packet.from, portnum: packet.portnum }, "packet on a port the station does not read yet; skipped");
      return [];
    }
    const text = new TextDecoder().decode(packet.payload);
    const preset = readPreset(this.presets, text);
    let bodies: RecordBody[];
    if (preset) bodies = [preset];
    else {
      const parsed = parseText(text, { codebook: this.codebook, ...(this.site ? { site: this.site } : {}) });
      if (parsed.records.length > 0 && parsed.confidence >= CONFIDENT) {
        // Counts and kinds only: what people type may name people (nothing personal in logs).
        this.log.info({ from: packet.from, id: packet.id, records: parsed.records.map((record) => record.kind), confidence: parsed.confidence, unread: parsed.unread.length, notes: parsed.notes.length }, "typed text read into records");
        bodies = parsed.records;
      } else {
        // Never a silent guess: what is not read confidently is kept as a plain message.
        this.log.info({ from: packet.from, id: packet.id, bytes: packet.payload.length, confidence: parsed.confidence }, "text kept as a plain message");
        bodies = [{ kind: "message", text: clipUtf8(text, MAX_MESSAGE_BYTES) }];
      }
    }
    // One text may say two things (an incident and a request): each gets its own id, the packet
    // id plus its position, which every station that hears the packet computes alike.
    const receivedAt = this.options.now();
    return bodies.map((body, index): FieldRecord => ({ id: { origin: packet.from, seq: (packet.id + index) >>> 0 }, receivedAt, body, text }));
  }

  private readPayload(packet: ReceivedPacket): FieldRecord[] {
    const decoded = decodePayload(packet.payload, this.codebook, packet.from);
    if (!decoded.ok) {
      this.log.warn({ from: packet.from, code: decoded.error.code, err: decoded.error }, "meshaid payload does not decode; skipped");
      this.emitInOrder({ type: "skipped", reason: `${this.callsign(packet.from)}: ${decoded.error.message}` });
      return [];
    }
    if (decoded.value.codebookMatches === false && !this.codebookWarned.has(packet.from)) {
      this.codebookWarned.add(packet.from);
      this.log.warn({ from: packet.from, theirs: decoded.value.codebook, ours: this.codebook.hash }, "sender uses a different codebook");
      this.emitInOrder({ type: "skipped", reason: `${this.callsign(packet.from)} uses codebook ${decoded.value.codebook ?? "?"}, this station ${this.codebook.hash}: its words may differ` });
    }
    const receivedAt = this.options.now();
    return decoded.value.records.map(({ id, body }): FieldRecord => ({ id, receivedAt, body }));
  }

  private stored(record: FieldRecord, result: AppendResult, packet?: ReceivedPacket): void {
    if (!result.stored) {
      this.log.debug({ from: packet?.from, id: packet?.id, seq: record.id.seq }, "record heard again; already stored");
      return;
    }
    const view = this.view(record);
    this.feed.push(view);
    if (this.feed.length >= 2 * this.options.feedSize) this.feed = this.feed.slice(-this.options.feedSize);
    this.emit({ type: "record", record: view, recordCount: result.count });
    this.boardsChanged(this.boardState.add(record));
  }

  /**
   * A coordinator's action: checked against the decision rights, then written to the log as a
   * record from this station (its node number, its next sequence number) and to the audit trail.
   * Refused (with the reason, and in the audit trail as refused) without the right, for a record
   * the boards do not know, or while the station does not know its node number.
   */
  act(action: ActionRequest): Promise<ActionOutcome> {
    const run = this.acting.then(() => this.runAction(action));
    this.acting = run.catch(() => undefined);
    return run;
  }

  private async runAction(action: ActionRequest): Promise<ActionOutcome> {
    const refuse = async (reason: string): Promise<ActionOutcome> => {
      await this.audit?.append(this.auditEntry(action, { outcome: "refused", reason }));
      this.log.info({ action: action.verb, actor: action.actor, reason }, "action refused");
      const outcome: ActionOutcome = { ok: false, action, reason };
      this.emitBoards({ type: "action", outcome });
      return outcome;
    };
    if (!this.audit) return refuse("this station keeps no audit trail, so it takes no actions");
    if (!this.rights) return refuse("this station has no decision rights configured (firmware-config/decision-rights.yaml)");
    const allowed = mayAct(this.rights, action.verb, action.actor.role, this.name);
    if (!allowed.ok) return refuse(allowed.reason);
    const body = this.actionBody(action);
    if (typeof body === "string") return refuse(body);
    let recordId: FieldRecord["id"] | undefined;
    if (body) {
      if (this.origin === undefined) return refuse("this station does not know its node number yet (the radio has not connected)");
      this.ownSeq ??= (await this.store.lastSeq(this.origin)) ?? 0;
      const record: FieldRecord = { id: { origin: this.origin, seq: (this.ownSeq + 1) >>> 0 }, receivedAt: this.options.now(), body, sender: action.actor.callsign };
      const result = await this.store.append(record);
      this.ownSeq = record.id.seq;
      recordId = record.id;
      await this.idle();
      this.stored(record, result);
      this.transmit(record, action);
    }
    const entry = await this.audit.append(this.auditEntry(action, { outcome: "done", ...(recordId ? { record: recordId } : {}) }));
    this.log.info({ action: action.verb, actor: action.actor, record: recordId }, "action done");
    const outcome: ActionOutcome = { ok: true, action, audit: entry.n, ...(recordId ? { record: recordId } : {}) };
    this.emitBoards({ type: "action", outcome });
    return outcome;
  }

  /**
   * Puts an action's record on the air: to other base stations on meshaid's port, and, for a
   * status about a handheld's request, a short reply it can read ("ACK WATER ETA 8").
   */
  private transmit(record: FieldRecord, action: ActionRequest): void {
    const scheduler = this.scheduler;
    if (!scheduler) return;
    const body = record.body;
    const priority: PriorityClass = body.kind === "ack" ? "incident" : body.kind === "shift" ? "shift" : "status";
    const packed = packRecords([{ seq: record.id.seq, body }], this.codebook);
    if (packed.ok) for (const bytes of packed.value) scheduler.enqueue(priority, { record: bytes });
    else this.log.error({ err: packed.error, record: record.id }, "action record does not pack; not sent to other stations");
    if (body.kind === "supply_status" && body.ref) {
      const request = this.boardState.requests.get(idKey(body.ref));
      if (request) scheduler.enqueue("status", { text: replyText(body.status, request.lines.map((line) => line.item), body.etaMin), to: request.id.origin }, "ack");
    }
    this.log.debug({ action: action.verb, record: record.id }, "action queued for the air");
  }

  /** The record an action writes, undefined for one only the audit trail keeps, or why it cannot be done. */
  private actionBody(action: ActionRequest): RecordBody | undefined | string {
    const target = action.target;
    const request = target ? this.boardState.requests.get(idKey(target)) : undefined;
    const incident = target ? this.boardState.incidents.incidentOfReport(idKey(target)) : undefined;
    const needRequest = (): string => (target ? `no supply request ${idKey(target)} on the board` : `${action.verb} needs the request it is about`);
    switch (action.verb) {
      case "acknowledge":
        if (request && target) return { kind: "supply_status", status: "acknowledged", ref: { ...target } };
        if (incident && target) return { kind: "ack", code: "received", refs: [{ ...target }] };
        return target ? `no request or incident report ${idKey(target)} on the boards` : "acknowledge needs the record it is about";
      case "dispatch":
        if (!request || !target) return needRequest();
        return { kind: "supply_status", status: "en_route", ref: { ...target }, ...(action.etaMin !== undefined ? { etaMin: action.etaMin } : {}) };
      case "deliver":
        if (!request || !target) return needRequest();
        return { kind: "supply_status", status: "delivered", ref: { ...target } };
      case "cancel":
        if (!request || !target) return needRequest();
        return { kind: "supply_status", status: "cancelled", ref: { ...target } };
      case "close":
        if (!incident || !target) return target ? `no incident report ${idKey(target)} on the board (a request is cancelled or delivered, not closed)` : "close needs the incident report it is about";
        return { kind: "ack", code: "complete", refs: [{ ...target }] };
      case "approve_purchase": {
        const purchase = action.purchase;
        if (!purchase || !(purchase.quantity > 0) || !(purchase.cost >= 0) || purchase.item.trim() === "") return "a purchase needs an item, a quantity above 0 and a cost";
        return undefined;
      }
      case "assign_shift":
        if (!action.shift) return "assign shift needs the callsign";
        return { kind: "shift", action: "handoff", to: action.shift.callsign, ...(action.shift.role ? { role: action.shift.role } : {}), ...(action.shift.place ? { place: action.shift.place } : {}) };
      case "end_shift":
        if (!action.shift) return "end shift needs the callsign";
        return { kind: "shift", action: "handoff", from: action.shift.callsign };
    }
  }

  private auditEntry(action: ActionRequest, result: Pick<AuditEntry, "outcome" | "reason" | "record">): Omit<AuditEntry, "n"> {
    const entry: Omit<AuditEntry, "n"> = { at: this.options.now(), station: this.name, actor: { ...action.actor }, action: action.verb, ...result };
    if (action.target) entry.target = { ...action.target };
    if (action.purchase && action.verb === "approve_purchase") entry.purchase = { ...action.purchase };
    const detail: Record<string, unknown> = {};
    if (action.etaMin !== undefined) detail["etaMin"] = action.etaMin;
    if (action.shift) detail["shift"] = action.shift;
    if (Object.keys(detail).length > 0) entry.detail = detail;
    return entry;
  }

  private view(record: FieldRecord): RecordView {
    const view: RecordView = { ...record, sender: record.sender ?? this.callsign(record.id.origin) };
    const place = "place" in record.body ? record.body.place : undefined;
    if (place) view.place = describePlace(place, this.site);
    return view;
  }

  private callsign(num: number): string {
    return this.nodes.get(num)?.shortName || `!${(num >>> 0).toString(16).padStart(8, "0")}`;
  }
}

/** A radio console line without the message text the firmware prints after "msg=". */
function redactDeviceLine(line: string): string {
  return line.replace(/\bmsg=.*$/i, "msg=<text not logged>");
}

const REPLY_WORDS: Record<SupplyStatus, string> = { acknowledged: "ACK", en_route: "ENRT", delivered: "DLVD", cancelled: "CNCL", unable: "UNABLE" };

/** A reply a handheld can show: "ACK WATER ETA 8", "DLVD WATER+GAUZE". */
export function replyText(status: SupplyStatus, items: string[], etaMin?: number): string {
  const what = items.map((item) => item.toUpperCase().replace(/_/g, " ")).join("+");
  return clipUtf8([REPLY_WORDS[status], what, etaMin !== undefined ? `ETA ${etaMin}` : ""].filter(Boolean).join(" "), 200);
}

/** The longest a plain message kept from text may be (a Meshtastic text payload is at most 233 bytes). */
const MAX_MESSAGE_BYTES = 233;

function clipUtf8(text: string, maxBytes: number): string {
  let out = "";
  for (const char of text) {
    if (Buffer.byteLength(out + char, "utf8") > maxBytes) break;
    out += char;
  }
  return out || "?";
}
