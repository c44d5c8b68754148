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
  landmarkByCode,
  placeFor,
  MESHAID_PORTNUM,
  packRecords,
  parseText,
  readPreset,
  type Codebook,
  type FieldRecord,
  type Place,
  type PresetTable,
  type RecordBody,
  type SitePlan,
  type SupplyStatus,
  type AuthKey,
  appliesToBoards,
  changesSharedState,
  WireError,
} from "../wire/index.ts";
import { NodeWatch } from "./node-watch.ts";
import { recordKey, StoreWriteError, type AppendReceiver, type AppendResult, type AuditEntry, type AuditTrail, type PeerLog, type RecordStore, type RosterEntry, type SendLog, type WatchLog } from "../store/index.ts";
import { Boards, idKey } from "./boards/index.ts";
import { mayAct, type DecisionRights } from "./rights.ts";
import type { PriorityClass, TransmitScheduler } from "./scheduler.ts";
import { DeliveryTracker, type DeliveryOptions } from "./delivery.ts";
import { PeerExchange, type PeerExchangeTuning } from "./peer-exchange.ts";
import { every, processTimers, type StationTimers } from "./timers.ts";
import type {
  ActionOutcome,
  ActionRequest,
  BoardName,
  BoardsEvent,
  BoardsSnapshot,
  OutgoingRequest,
  RadioState,
  RecordDelivery,
  RecordView,
  SendOutcome,
  StationBoardsView,
  StationEvent,
  StationSnapshot,
  StationStatus,
} from "./types.ts";

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
  /** Where its timers (retries, held ACKs, gap repair, overdue checks) come from: default the process's; a drill passes its virtual clock's. */
  timers?: StationTimers;
  /** How many recent records the feed keeps in memory. */
  feedSize?: number;
  /** The roster (nodes heard) the roster board shows; a handheld's last position places its records that name no place. */
  roster?: StationRoster;
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
  /** Where the station keeps its sends and their delivery across restarts (with `scheduler`). */
  sends?: SendLog;
  /** Delivery: attempts in all, the first wait before a retry (doubling after), when silence means unknown, how many settled sends to remember. */
  delivery?: Pick<DeliveryOptions, "maxAttempts" | "retryBaseMs" | "staleMs" | "keepSettled">;
  /** The private port meshaid records are heard on (the radio's `recordPort`; default MESHAID_PORTNUM, 300). */
  recordPort?: number;
  /** Where the station keeps the other base stations and what each holds of its records (group delivery). */
  peers?: PeerLog;
  /** Group delivery and gap repair: timings and bounds (defaults in group-delivery.ts, gap-repair.ts). */
  peerTuning?: Partial<PeerExchangeTuning>;
  /**
   * The coalition key: this station tags its payloads with it, and a state change from another
   * base station without a valid tag is kept and shown but not applied to the boards. Without
   * it nothing is checked (every record applies, none is marked).
   */
  auth?: AuthKey;
  /** Where the node watch keeps each node's history and the flags raised, across restarts. */
  watchLog?: WatchLog;
}

/** How often the station looks for check-ins that fell overdue. */
const OVERDUE_CHECK_MS = 60_000;

/** How often the codebook's hash rides along to the other base stations (on the first payload after start, then at most this often). */
const CODEBOOK_HASH_EVERY_MS = 600_000;

const STATUS_AT_START: { status: LinkStatus; reason: LinkReason } = { status: "connecting", reason: "starting" };
/** Preset texts kept once (presetText), at most: the texts a coalition's presets are written as, with their variants. */
const MAX_PRESET_TEXTS = 1024;

export class Station implements StationBoardsView {
  private readonly options: Required<Pick<StationOptions, "now" | "feedSize">>;
  private boardState: Boards;
  /** How the boards are built (again, when a forgery that moved them is replaced). */
  private readonly boardOptions: ConstructorParameters<typeof Boards>[0];
  private readonly roster: StationRoster | undefined;
  private readonly boardListeners = new Set<(event: BoardsEvent) => void>();
  private readonly timers: StationTimers;
  private stopOverdueCheck: (() => void) | undefined;
  private overdueSeen = "";
  private readonly rights: DecisionRights | undefined;
  private readonly audit: AuditTrail | undefined;
  private origin: number | undefined;
  private readonly scheduler: TransmitScheduler | undefined;
  /** Follows (and retries) what this station puts on the air, per record. */
  private readonly deliveries: DeliveryTracker | undefined;
  private readonly sendLog: SendLog | undefined;
  /** Which base stations hold which records: held ACKs and resend requests (group delivery, gap repair). */
  private readonly peerExchange: PeerExchange;
  private readonly peerLog: PeerLog | undefined;
  /** The last sequence number this station gave one of its own records. */
  private ownSeq: number | undefined;
  /** Actions run one at a time (each numbers its record). */
  private acting: Promise<unknown> = Promise.resolve();
  private readonly codebook: Codebook;
  private readonly site: SitePlan | undefined;
  /** Origins already told about a codebook mismatch. */
  private readonly codebookWarned = new Set<number>();
  private codebookSentAt: number | undefined;
  private readonly name: string;
  private readonly authKey: AuthKey | undefined;
  /** Nodes whose behaviour contradicts their history. */
  private readonly watch: NodeWatch;
  private readonly watchLog: WatchLog | undefined;
  /** Records heard without authentication, and the state changes among them not applied. */
  private readonly unauthenticated = { records: 0, notApplied: 0, replaced: 0 };
  private readonly radio: RadioSource;
  private readonly store: RecordStore;
  private readonly presets: PresetTable;
  private readonly recordPort: number;
  private readonly log: Logger;
  private readonly listeners = new Set<(event: StationEvent) => void>();
  /** The roster so far: node number -> what the radio told us about it. */
  private readonly nodes = new Map<number, RadioNode>();
  private radioState: RadioState = STATUS_AT_START;
  /** What reading each preset's text gives (shared: see readText), and the preset texts heard (presetText). */
  private readonly presetReads = new Map<RecordBody, TextRead>();
  private readonly presetTexts = new Map<string, string>();
  /** The recent records, oldest first (trimmed to the feed size now and then, not on every record; views built when shown). */
  private feed: FieldRecord[] = [];
  private unsubscribeRadio: (() => void) | undefined;
  /** Packets are ingested one at a time, in the order heard. */
  /** What was heard, in order, waiting to be shown: a record being stored, or an event. */
  private pending: Array<PendingRecord | { event: StationEvent }> = [];
  private pendingHead = 0;
  /** A run of `showStored` is due (one per write that settles records, not one per record). */
  private showScheduled = false;
  /** Callers of idle() waiting for the queue to empty. */
  private idleWaiters: Array<() => void> = [];
  /** What a settled record calls: the queue is looked at again once this turn's work is done. */
  private readonly wake = (): void => {
    if (this.showScheduled) return;
    this.showScheduled = true;
    queueMicrotask(() => this.showStored());
  };

  constructor(options: StationOptions) {
    this.name = options.name;
    this.radio = options.radio;
    this.store = options.store;
    this.presets = options.presets;
    this.recordPort = options.recordPort ?? MESHAID_PORTNUM;
    this.codebook = options.codebook;
    this.site = options.site;
    this.log = options.logger.child({ module: "station" });
    this.options = { now: options.now ?? Date.now, feedSize: options.feedSize ?? 200 };
    this.timers = options.timers ?? processTimers;
    const site = options.site;
    this.boardOptions = {
      ...(options.checkinIntervalMs === undefined ? {} : { checkinIntervalMs: options.checkinIntervalMs }),
      ...(site ? { distance: (a: Place, b: Place) => placeDistance(site, a, b) } : {}),
    };
    this.boardState = new Boards(this.boardOptions);
    this.roster = options.roster;
    this.rights = options.rights;
    this.audit = options.audit;
    this.origin = options.origin;
    this.scheduler = options.scheduler;
    this.radioState = { status: options.radio.status, reason: "starting" };
    this.sendLog = options.sends;
    this.authKey = options.auth;
    this.watchLog = options.watchLog;
    const memory = options.watchLog ? { log: options.watchLog, onError: (error: unknown) => this.log.error({ err: error }, "could not keep a node's history; it is kept in memory") } : undefined;
    this.watch = new NodeWatch((flag) => {
      this.log.warn({ node: flag.num, reason: flag.reason, detail: flag.detail }, "node behaves unlike its history");
      this.emit({ type: "suspect", flag });
    }, memory);
    if (options.scheduler) {
      this.deliveries = new DeliveryTracker({
        scheduler: options.scheduler,
        ...(options.sends ? { log: options.sends } : {}),
        ...options.delivery,
        now: this.options.now,
        timers: this.timers,
        logger: this.log,
        onChange: (id, delivery) => this.emit({ type: "delivery", id, delivery: this.withStations(id, delivery) }),
      });
    }
    this.peerLog = options.peers;
    this.peerExchange = new PeerExchange({
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      ...(options.peers ? { peers: options.peers } : {}),
      ...(options.peerTuning ? { tuning: options.peerTuning } : {}),
      store: options.store,
      codebook: options.codebook,
      ...(options.auth ? { auth: options.auth } : {}),
      now: this.options.now,
      timers: this.timers,
      logger: this.log,
      self: () => this.origin,
      latestOwn: () => this.ownSeq ?? 0,
      callsign: (num) => this.callsign(num),
      classOf: priorityOf,
      onHeld: (_station, added) => this.heldElsewhere(added),
      onGaveUp: (origin, seqs) =>
        this.emit({ type: "skipped", reason: `gave up asking ${this.callsign(origin)} to resend ${seqs.length} record(s) (seq ${seqs.slice(0, 5).join(", ")}${seqs.length > 5 ? " ..." : ""}): they may still come through the relay` }),
    });
  }

  /** A record's delivery with which base stations hold it. */
  private withStations(id: FieldRecord["id"], delivery: RecordDelivery): RecordDelivery {
    const stations = this.peerExchange.holding(id);
    return stations ? { ...delivery, stations } : delivery;
  }

  /** Another base station now holds these of our records: the feed's show it. */
  private heldElsewhere(added: Array<[number, number]>): void {
    for (const { id } of this.feed) {
      if (id.origin !== this.origin || !added.some(([from, to]) => id.seq >= from && id.seq <= to)) continue;
      const delivery = this.deliveries?.delivery(id);
      if (delivery) this.emit({ type: "delivery", id, delivery: this.withStations(id, delivery) });
    }
  }

  /** This station's newest own seq, once its node number is known (announced to other stations). */
  private async loadOwnSeq(): Promise<void> {
    if (this.origin === undefined || this.ownSeq !== undefined) return;
    const last = (await this.store.lastSeq(this.origin)) ?? 0;
    this.ownSeq ??= last;
  }

  /** Loads the feed from the log, rebuilds the boards from it, then starts listening to the radio. */
  async start(): Promise<void> {
    const onCorrupt = (entry: { key: string; reason: string }): void =>
      this.log.error({ key: entry.key, reason: entry.reason }, "stored record does not decode; kept on disk, not shown");
    // The feed's records are read while the boards are rebuilt (LevelDB reads on its own thread).
    const [stored] = await Promise.all([this.store.recent(this.options.feedSize, onCorrupt), this.replayLog(onCorrupt)]);
    await this.loadOwnSeq();
    this.peerExchange.loaded();
    // What the watch kept and the roster remembers of each node is its history: a restart does not forget who was who.
    if (this.watchLog) {
      const kept = await this.watchLog.load((key, reason) => this.log.error({ key, reason }, "a node's kept history does not read; the node starts without it"));
      this.watch.restore(kept.nodes, kept.flags);
    }
    for (const entry of this.roster?.list() ?? []) if (!this.watch.knows(entry.num)) this.watch.remember(entry.num, { ...(entry.hwModel !== undefined ? { hwModel: entry.hwModel } : {}), ...(entry.role !== undefined ? { role: entry.role } : {}) });
    this.overdueSeen = this.overdueKey();
    this.stopOverdueCheck = every(this.timers, OVERDUE_CHECK_MS, () => this.checkOverdue());
    this.feed = stored.reverse();
    if (this.store.codebookChangedFrom !== undefined) {
      this.log.warn({ was: this.store.codebookChangedFrom, now: this.codebook.hash }, "the codebook changed since the log was last written; older records read with the new one");
    }
    await this.deliveries?.load();
    this.unsubscribeRadio = this.radio.subscribe((event) => this.onRadioEvent(event));
    this.log.info({ records: this.store.count }, "station started");
  }

  /** Rebuilds the boards (and what other stations hold) from every record in the log. */
  private async replayLog(onCorrupt: (entry: { key: string; reason: string }) => void): Promise<void> {
    await this.peerExchange.load();
    await this.foldLog(this.boardState, (record) => this.peerExchange.noteStored(record), onCorrupt);
  }

  /** Folds every record in the log into `boards` (those that apply to them), handing each to `each` too. */
  private async foldLog(boards: Boards, each?: (record: FieldRecord) => void, onCorrupt?: (entry: { key: string; reason: string }) => void): Promise<void> {
    for await (const page of this.store.all(onCorrupt)) {
      for (const record of page) {
        if (appliesToBoards(record)) boards.add(record);
        each?.(record);
      }
    }
  }

  /** Stops listening and waits for what is being ingested to be stored. */
  async stop(): Promise<void> {
    this.unsubscribeRadio?.();
    this.unsubscribeRadio = undefined;
    this.stopOverdueCheck?.();
    this.stopOverdueCheck = undefined;
    this.deliveries?.close();
    this.peerExchange.close();
    await this.idle();
    await this.acting;
    await this.sendLog?.flush(); // the last delivery states, before the caller closes the database
    await this.peerLog?.flush();
    await this.watchLog?.flush();
  }

  /** Resolves when everything heard so far has been ingested (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.pendingHead >= this.pending.length && !this.showScheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(item: Station["pending"][number]): void {
    this.pending.push(item);
    this.wake();
  }

  /** Shows what was heard, in order, as far as it has reached the disk (a record still being written holds back what follows it). */
  private showStored(): void {
    this.showScheduled = false;
    while (this.pendingHead < this.pending.length) {
      const item = this.pending[this.pendingHead] as Station["pending"][number];
      if (item instanceof PendingRecord && !item.settled) break;
      this.pendingHead += 1;
      if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
        this.pending = this.pending.slice(this.pendingHead);
        this.pendingHead = 0;
      }
      const record = item instanceof PendingRecord ? item.record : undefined;
      const packet = item instanceof PendingRecord ? item.packet : undefined;
      try {
        if (!(item instanceof PendingRecord)) this.emit(item.event);
        else if (item.state === "failed") throw item.failure;
        else if (item.state === "held" && packet && this.authKey && isAuthentic(item.record) && item.record.id.origin === packet.from) {
          // (A record with another origin's id, heard again, never replaces what the store holds: its original came through the relay.)
          // Heard again, or the genuine record whose id a forgery took: finding out reads the
          // store, so what follows waits (still shown in the order heard; idle() waits too).
          this.showScheduled = true;
          const { record: heard, count } = item;
          const from = packet;
          this.replacePreempted(heard)
            .then((replaced) => {
              if (!replaced) this.stored(heard, false, count, from);
            })
            .catch((error: unknown) => this.log.error({ err: error, from: from.from, seq: heard.id.seq }, "could not replace a pre-empted record"))
            .finally(() => this.showStored());
          return;
        } else this.stored(item.record, item.state === "written", item.count, packet);
      } catch (error) {
        if (!record) {
          this.log.error({ err: error }, "a listener failed on a station event");
          continue;
        }
        this.log.error({ err: error, from: packet?.from ?? record.id.origin, id: packet?.id, seq: record.id.seq }, "ingest failed; record not stored");
        const why = error instanceof StoreWriteError ? `: ${error.message}` : "";
        this.emit({ type: "skipped", reason: `could not store a ${packet ? "packet" : "relayed record"} from ${this.callsign(packet?.from ?? record.id.origin)}${why}` });
      }
    }
    if (this.pendingHead < this.pending.length) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  snapshot(): StationSnapshot {
    const recent = this.feed.slice(-this.options.feedSize).reverse();
    const snapshot: StationSnapshot = { name: this.name, radio: this.radioState, recordCount: this.store.count, recent: recent.map((record) => this.withDelivery(this.view(record))) };
    const suspects = this.watch.flags();
    if (suspects.length > 0) snapshot.suspects = suspects;
    return snapshot;
  }

  /** The station at a glance: radio, records, transmitter, deliveries, boards. */
  status(): StationStatus {
    const boards = this.boards();
    const requests = { open: 0, acknowledged: 0, en_route: 0, delivered: 0, cancelled: 0, unable: 0 };
    for (const card of boards.requests) requests[card.state] += 1;
    const status: StationStatus = {
      name: this.name,
      radio: this.radioState,
      recordCount: this.store.count,
      boards: {
        requests,
        incidentsOpen: boards.incidents.filter((card) => card.state === "open").length,
        onShift: boards.shifts.filter((card) => card.onShift).length,
        overdue: boards.shifts.filter((card) => card.overdue).length,
        nodes: boards.roster.length,
        matches: boards.requests.filter((card) => card.match !== undefined).length,
      },
    };
    if (this.origin !== undefined) status.origin = this.origin;
    if (this.scheduler) status.transmit = this.scheduler.state();
    if (this.deliveries) {
      status.deliveries = this.deliveries.counts();
      status.troubled = this.deliveries.troubled(20);
    }
    status.stations = this.peerExchange.stations();
    status.gaps = this.peerExchange.gaps();
    if (this.authKey) status.auth = { key: this.authKey.fingerprint, ...this.unauthenticated, suspects: this.watch.flags().slice(-20) };
    return status;
  }

  private withDelivery(view: RecordView): RecordView {
    if (view.id.origin !== this.origin) return view;
    const delivery = this.deliveries?.delivery(view.id);
    return delivery ? { ...view, delivery: this.withStations(view.id, delivery) } : view;
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

  private boardsChanged(boards: readonly BoardName[]): void {
    // A copy for the listeners: the boards answer with shared lists.
    if (boards.length > 0 && this.boardListeners.size > 0) this.emitBoards({ type: "boards", boards: [...boards] });
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
        this.watch.node(event.node, this.options.now());
        this.nodes.set(event.node.num, event.node);
        if (this.roster) this.boardsChanged(["roster"]);
        return;
      case "telemetry":
        // Our own radio's view of the channel: the transmitter backs off as it fills.
        if (event.from === this.origin && event.telemetry.channelUtilization !== undefined) this.scheduler?.setChannelUtilization(event.telemetry.channelUtilization);
        if (this.roster) this.boardsChanged(["roster"]);
        return;
      case "position":
        this.watch.position(event.from, event.position, this.options.now());
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
        this.loadOwnSeq().catch((error: unknown) => this.log.error({ err: error }, "could not read this station's newest sequence number"));
        return;
      case "delivery":
        this.deliveries?.onRadioDelivery(event.delivery);
        return;
      case "queue-status":
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
    if (records.length === 0) return;
    const sender = this.nodes.get(packet.from)?.shortName;
    for (const record of records) {
      if (sender) record.sender = sender;
      // What showing it needs of the packet, not the packet: a burst of thousands waits for its write.
      const pending = new PendingRecord(record, this.wake, packet);
      this.enqueue(pending);
      this.store.appendTo(record, pending); // shown, in order, by showStored()
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
    // One store write for the whole batch (a catch-up brings 100,000 records).
    const written = this.store.appendMany(records, { via: fromStation });
    // Shown (or logged), in order, by showStored(): one reaction for the batch, none per record.
    const pending = records.map((record) => new PendingRecord(record, this.wake));
    for (const item of pending) this.enqueue(item);
    written.then(
      (outcomes) => {
        for (const [index, item] of pending.entries()) {
          const outcome = outcomes[index];
          if (outcome === undefined || outcome instanceof Error) item.reject(outcome ?? new Error("not stored"));
          else item.resolve(outcome.stored, outcome.count);
        }
      },
      (error: unknown) => {
        for (const item of pending) item.reject(error);
      },
    );
    const fresh: FieldRecord[] = [];
    const held: FieldRecord[] = [];
    for (const [index, outcome] of (await written).entries()) {
      if (outcome instanceof Error && !(outcome instanceof WireError)) throw outcome;
      if (!(outcome instanceof Error) && outcome.stored) fresh.push(records[index] as FieldRecord);
      else if (!(outcome instanceof Error) && this.authKey && isAuthentic(records[index] as FieldRecord)) held.push(records[index] as FieldRecord);
    }
    // Authenticated records already held: one read finds the few whose id a forgery took (a
    // catch-up brings thousands heard on the air here too). Replaced before the relay acknowledges.
    if (held.length > 0) {
      const stored = await this.store.getKeys(held.map((record) => recordKey(record.id)));
      for (const [index, record] of held.entries()) if (stored[index] && isUnauthenticated(stored[index])) await this.replacePreempted(record, fromStation);
    }
    return fresh;
  }

  /** The records a packet says (none for a port the station does not read). */
  private readPacket(packet: ReceivedPacket): FieldRecord[] {
    if (packet.portnum === this.recordPort) return this.readPayload(packet);
    if (packet.portnum !== PortNum.TEXT_MESSAGE_APP) {
      this.log.info({ from: packet.from, portnum: packet.portnum }, "packet on a port the station does not read yet; skipped");
      return [];
    }
    const heard = UTF8.decode(packet.payload);
    const near = this.landmarkNear(packet.from);
    const { bodies, read } = this.readText(heard, packet.from);
    const text = read === "preset" ? this.presetText(heard) : heard;
    const receivedAt = this.options.now();
    this.watch.text(packet.from);
    // One loop, no copies, an array of the exact size: every text heard comes through here.
    const records = new Array<FieldRecord>(bodies.length);
    for (let index = 0; index < bodies.length; index += 1) {
      const read = bodies[index] as RecordBody;
      // A copy: a preset's body belongs to the preset table.
      const body = near && PLACED_KINDS.has(read.kind) && !("place" in read && read.place) ? ({ ...read, place: near } as RecordBody) : read;
      // One text may say two things (an incident and a request): each gets its own id, the packet
      // id plus its position, which every station that hears the packet computes alike.
      const record: FieldRecord = { id: { origin: packet.from, seq: (packet.id + index) >>> 0 }, receivedAt, body, text };
      // A stock handheld cannot authenticate: marked, and applied (the boards are for its reports).
      if (this.authKey) record.auth = "handheld";
      records[index] = record;
    }
    return records;
  }

  /** A preset's text as kept once: the records of a burst of thousands share a few strings. */
  private presetText(text: string): string {
    const kept = this.presetTexts.get(text);
    if (kept !== undefined) return kept;
    if (this.presetTexts.size < MAX_PRESET_TEXTS) this.presetTexts.set(text, text);
    return text;
  }

  /** Text as records: a preset, typed text read confidently, or else a plain message (never a guess). */
  private readText(text: string, from: number): TextRead {
    const preset = readPreset(this.presets, text);
    if (preset) {
      // One shared answer per preset: most of what a station hears is a preset.
      let read = this.presetReads.get(preset);
      if (!read) this.presetReads.set(preset, (read = Object.freeze({ bodies: Object.freeze([preset]), read: "preset" as const })));
      return read;
    }
    const parsed = parseText(text, { codebook: this.codebook, ...(this.site ? { site: this.site } : {}) });
    if (parsed.records.length > 0 && parsed.confidence >= CONFIDENT) {
      // Counts and kinds only: what people type may name people (nothing personal in logs).
      this.log.info({ from, records: parsed.records.map((record) => record.kind), confidence: parsed.confidence, unread: parsed.unread.length, notes: parsed.notes.length }, "typed text read into records");
      return { bodies: parsed.records, read: "typed" };
    }
    this.log.info({ from, bytes: Buffer.byteLength(text), confidence: parsed.confidence }, "text kept as a plain message");
    return { bodies: [{ kind: "message", text: clipUtf8(text, MAX_MESSAGE_BYTES) }], read: "message" };
  }

  private readPayload(packet: ReceivedPacket): FieldRecord[] {
    const decoded = decodePayload(packet.payload, this.codebook, packet.from, this.authKey);
    if (!decoded.ok) {
      this.log.warn({ from: packet.from, code: decoded.error.code, err: decoded.error }, "meshaid payload does not decode; skipped");
      this.emitInOrder({ type: "skipped", reason: `${this.callsign(packet.from)}: ${decoded.error.message}` });
      return [];
    }
    this.peerExchange.heard(packet.from, decoded.value, hopsAway(packet));
    if (decoded.value.codebookMatches === false && !this.codebookWarned.has(packet.from)) {
      this.codebookWarned.add(packet.from);
      this.log.warn({ from: packet.from, theirs: decoded.value.codebook, ours: this.codebook.hash }, "sender uses a different codebook");
      this.emitInOrder({ type: "skipped", reason: `${this.callsign(packet.from)} uses codebook ${decoded.value.codebook ?? "?"}, this station ${this.codebook.hash}: its words may differ` });
    }
    const receivedAt = this.options.now();
    const tag = decoded.value.auth ?? "absent";
    this.watch.payload(packet.from, tag, decoded.value.records.some(({ body }) => changesSharedState(body)), receivedAt, this.authKey ? decoded.value.control?.kind : undefined);
    if (!this.authKey) return decoded.value.records.map(({ id, body }): FieldRecord => ({ id, receivedAt, body }));
    const auth = tag === "valid" ? "mac" : "none";
    const records: FieldRecord[] = [];
    for (const { id, body } of decoded.value.records) {
      if (id.origin === packet.from) records.push({ id, receivedAt, body, auth });
      else if (tag === "valid") records.push({ id, receivedAt, body, auth: "station" }); // another origin's record, vouched for by the base station that put it on the air
      else {
        // Without a valid tag anyone could claim any node's id this way: not stored.
        this.log.warn({ from: packet.from, origin: id.origin, seq: id.seq, tag }, "a record with another origin's id without a valid coalition tag; skipped");
        this.emitInOrder({ type: "skipped", reason: `${this.callsign(packet.from)}: a record under !${(id.origin >>> 0).toString(16)}'s id without a valid coalition tag` });
      }
    }
    return records;
  }

  /**
   * Sequence pre-emption: anyone with the channel key can send a record under a base station's
   * number and its next seq before the station does, and the genuine record would then be
   * dropped as a duplicate. An authenticated record (a valid coalition tag, this station's own,
   * or relayed by a trusted peer) whose id holds an unauthenticated one replaces it: the store
   * keeps the forgery as evidence, the audit trail says so, the boards and the feed show the
   * genuine record, and the relay publishes it. True when it replaced one.
   */
  private async replacePreempted(record: FieldRecord, via?: string): Promise<boolean> {
    if (!this.authKey || !isAuthentic(record)) return false;
    // Most are simply heard again: a read, without the store's write lock, tells.
    const current = await this.store.get(record.id);
    if (!current || !isUnauthenticated(current)) return false;
    const replaced = await this.store.replace(record, isUnauthenticated, via === undefined ? {} : { via });
    if (!replaced) return false;
    const at = this.options.now();
    this.unauthenticated.replaced += 1;
    this.log.warn({ origin: record.id.origin, seq: record.id.seq, kind: record.body.kind, forged: replaced.body.kind, via }, "an unauthenticated record had taken a base station's id; replaced by the authenticated one, kept as evidence");
    this.watch.preempted(record.id.origin, record.id.seq, at);
    await this.audit
      ?.append({ at, station: this.name, actor: { callsign: this.name, role: "station" }, action: "replace_preempted", outcome: "done", target: record.id, detail: { forgedKind: replaced.body.kind, forgedAuth: replaced.auth, auth: record.auth, ...(via === undefined ? {} : { via }) } })
      .catch((error: unknown) => this.log.error({ err: error, seq: record.id.seq }, "could not write the replacement to the audit trail"));
    const view = this.view(record);
    const index = this.feed.findIndex((shown) => shown.id.origin === record.id.origin && shown.id.seq === record.id.seq);
    if (index >= 0) this.feed[index] = view;
    else this.feed.push(view);
    this.emit({ type: "record", record: view, recordCount: this.store.count, replaces: true });
    if (appliesToBoards(replaced)) {
      // The forgery moved the boards: they are built again from the log, which now holds the genuine record.
      const boards = new Boards(this.boardOptions);
      await this.foldLog(boards);
      this.boardState = boards;
      this.boardsChanged(["requests", "incidents", "shifts"]);
    } else if (appliesToBoards(record)) this.boardsChanged(this.boardState.add(record));
    return true;
  }

  /** A record the store took: `written` now (its `count` the records stored), or held already. */
  private stored(record: FieldRecord, written: boolean, count: number, packet?: HeardPacket): void {
    if (!written) {
      this.log.debug({ from: packet?.from, id: packet?.id, seq: record.id.seq }, "record heard again; already stored");
      return;
    }
    this.peerExchange.stored(record, packet !== undefined);
    this.feed.push(record);
    if (this.feed.length >= 2 * this.options.feedSize) this.feed = this.feed.slice(-this.options.feedSize);
    // A view (callsign, place in words) only for someone listening: at 20,000 records/s it costs.
    if (this.listeners.size > 0) this.emit({ type: "record", record: this.view(record), recordCount: count });
    if (record.auth === "none" || record.auth === "handheld") this.unauthenticated.records += 1;
    if (appliesToBoards(record)) this.boardsChanged(this.boardState.add(record));
    else {
      this.unauthenticated.notApplied += 1;
      this.log.warn({ from: record.id.origin, seq: record.id.seq, kind: record.body.kind }, "a state change without a valid coalition tag; stored, not applied to the boards");
    }
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
      const [record] = await this.writeOwn([body], { sender: action.actor.callsign });
      if (!record) return refuse("the record could not be written");
      recordId = record.id;
      await this.transmit(record, action);
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
  private async transmit(record: FieldRecord, action: ActionRequest): Promise<void> {
    const deliveries = this.deliveries;
    if (!deliveries) return;
    const body = record.body;
    const packets = this.toStations([record]);
    if (typeof packets === "string") this.log.error({ reason: packets, record: record.id }, "action record does not pack; not sent to other stations");
    else for (const packet of packets) await deliveries.transmit(packet);
    if (body.kind === "supply_status" && body.ref) {
      const request = this.boardState.requests.get(idKey(body.ref));
      if (request) await deliveries.transmit({ records: [record.id], priority: "status", request: { text: replyText(body.status, request.lines.map((line) => line.item), body.etaMin), to: request.id.origin }, batch: "ack" });
    }
    this.log.debug({ action: action.verb, record: record.id }, "action queued for the air");
  }

  /**
   * Records this station composed (at the console, `meshaid send`): written to the log with this
   * station as origin and its next sequence numbers, shown, then put on the air through the
   * transmit scheduler: packed on meshaid's port to other base stations, and/or the text to a
   * handheld. Refused, with the reason and nothing written, when it cannot all be done.
   */
  send(request: OutgoingRequest): Promise<SendOutcome> {
    const run = this.acting.then(() => this.runSend(request));
    this.acting = run.catch(() => undefined);
    return run;
  }

  /**
   * A peer's record put on the air as it is (the relay's downlink): packed for the base stations
   * here with its own id (Record fields 32, 33) at chain place 0, tagged with the coalition key;
   * nothing is written (the store holds it already). False when it cannot go.
   */
  async sendAsIs(record: FieldRecord): Promise<boolean> {
    const deliveries = this.deliveries;
    if (!deliveries || this.origin === undefined || record.id.origin === this.origin) return false;
    const packed = packRecords([{ seq: 0, body: record.body, id: record.id }], this.codebook, { origin: this.origin, ...(this.authKey ? { auth: this.authKey } : {}) });
    if (!packed.ok || packed.value.length !== 1) {
      this.log.info({ record: record.id, reason: packed.ok ? "several payloads" : packed.error.message }, "peer's record does not pack; not put on the air");
      return false;
    }
    await deliveries.transmit({ records: [record.id], priority: priorityOf([record.body]), request: { record: packed.value[0]!, wantAck: true } });
    return true;
  }

  private async runSend(request: OutgoingRequest): Promise<SendOutcome> {
    const refuse = (reason: string): SendOutcome => {
      this.log.info({ reason }, "send refused");
      return { ok: false, reason };
    };
    const deliveries = this.deliveries;
    if (!deliveries) return refuse("this station has no transmitter");
    if (this.origin === undefined) return refuse("this station does not know its node number yet (the radio has not connected)");
    const text = request.text?.trim();
    let bodies: readonly RecordBody[] | undefined = request.bodies;
    let read: "preset" | "typed" | "message" | undefined;
    if (!bodies) {
      if (!text) return refuse("nothing to send: give a text or records");
      ({ bodies, read } = this.readText(text, this.origin));
    }
    if (bodies.length === 0) return refuse("nothing to send: no records");
    let to: number | undefined;
    if (request.to !== undefined) {
      if (!text) return refuse("a text to a handheld needs the text");
      if (Buffer.byteLength(text) > MAX_TEXT_BYTES) return refuse(`the text is ${Buffer.byteLength(text)} bytes; a handheld gets at most ${MAX_TEXT_BYTES}`);
      if (request.to === "channel") to = undefined;
      else if ("node" in request.to) to = request.to.node;
      else {
        const callsign = request.to.callsign;
        to = this.nodeOf(callsign);
        if (to === undefined) return refuse(`no node with callsign ${callsign} has been heard: check the Nodes tab, or send to the channel`);
      }
    }
    const stations = request.stations ?? request.to === undefined;
    // Through the wire and back before writing: a record it cannot carry is refused with nothing
    // in the log, and what is logged is exactly what goes on the air (nothing a client added).
    const canonical = this.canonical(bodies);
    if (typeof canonical === "string") return refuse(canonical);
    const records = await this.writeOwn(canonical, { ...(request.sender ? { sender: request.sender } : {}), ...(read && text ? { text } : {}) });
    const ids = records.map((record) => record.id);
    let packets = 0;
    if (stations) {
      const out = this.toStations(records);
      if (typeof out !== "string") for (const packet of out) await deliveries.transmit(packet);
      packets += typeof out === "string" ? 0 : out.length;
    }
    if (request.to !== undefined && text) {
      await deliveries.transmit({ records: ids, priority: priorityOf(bodies), request: { text, ...(to !== undefined ? { to } : {}), wantAck: true } });
      packets += 1;
    }
    this.log.info({ records: ids, read, stations, to }, "records sent");
    return { ok: true, records: ids, packets, ...(read ? { read } : {}) };
  }

  /** Bodies as the wire carries them (packed and read back), or why they cannot go. */
  private canonical(bodies: readonly RecordBody[]): RecordBody[] | string {
    let packed;
    try {
      packed = packRecords(bodies.map((body, index) => ({ seq: index + 1, body })), this.codebook);
    } catch (error) {
      return `not a record: ${(error as Error).message}`;
    }
    if (!packed.ok) return packed.error.message;
    const out: RecordBody[] = [];
    for (const payload of packed.value) {
      const decoded = decodePayload(payload, this.codebook, 0);
      if (!decoded.ok) return decoded.error.message;
      out.push(...decoded.value.records.map((record) => record.body));
    }
    return out.length === bodies.length ? out : "the records did not survive packing";
  }

  private async nextOwnSeq(): Promise<number> {
    this.ownSeq ??= (await this.store.lastSeq(this.origin as number)) ?? 0;
    return (this.ownSeq + 1) >>> 0;
  }

  /** Writes records this station says (the caller runs one at a time), shows them, and returns them. */
  private async writeOwn(bodies: RecordBody[], extra: { sender?: string; text?: string }): Promise<FieldRecord[]> {
    const first = await this.nextOwnSeq();
    const receivedAt = this.options.now();
    const auth = this.authKey ? { auth: "station" as const } : {};
    const records = bodies.map((body, index): FieldRecord => ({ id: { origin: this.origin as number, seq: (first + index) >>> 0 }, receivedAt, body, ...extra, ...auth }));
    const results = await Promise.allSettled(records.map((record) => this.store.append(record)));
    // These numbers are spent even if a write failed: never give one to two records.
    this.ownSeq = (records.at(-1) as FieldRecord).id.seq;
    await this.idle();
    for (const [index, record] of records.entries()) {
      const result = results[index] as PromiseSettledResult<AppendResult>;
      if (result.status === "rejected") throw result.reason;
      if (!result.value.stored && (await this.replacePreempted(record))) continue;
      this.stored(record, result.value.stored, result.value.count);
    }
    return records;
  }

  /** Records packed for other base stations (several to a packet), each packet with the records it carries; or why not. */
  private toStations(records: FieldRecord[]): Array<{ records: FieldRecord["id"][]; priority: PriorityClass; request: { record: Uint8Array; wantAck: true } }> | string {
    const origin = records[0]?.id.origin ?? 0;
    // Now and then the codebook's hash goes too, so a station reading with another codebook says so.
    const now = this.options.now();
    const withCodebookHash = this.codebookSentAt === undefined || now - this.codebookSentAt >= CODEBOOK_HASH_EVERY_MS;
    const packed = packRecords(
      records.map((record) => ({ seq: record.id.seq, body: record.body })),
      this.codebook,
      { withCodebookHash, ...(this.authKey ? { origin, auth: this.authKey } : {}) },
    );
    if (!packed.ok) return packed.error.message;
    if (withCodebookHash) this.codebookSentAt = now;
    const bySeq = new Map(records.map((record) => [record.id.seq, record]));
    return packed.value.map((payload) => {
      const decoded = decodePayload(payload, this.codebook, origin);
      const carried = decoded.ok ? decoded.value.records.map((record) => record.id) : records.map((record) => record.id);
      const bodies = carried.map((id) => bySeq.get(id.seq)?.body).filter((body): body is RecordBody => body !== undefined);
      // Broadcast with want_ack: the firmware retries until a neighbour relays it (heard) or reports MAX_RETRANSMIT.
      return { records: carried, priority: priorityOf(bodies), request: { record: payload, wantAck: true as const } };
    });
  }

  /**
   * The site-plan landmark nearest a handheld's last known position (the roster), when one is
   * within LANDMARK_NEAR_M: its records that name no place are placed there.
   */
  private landmarkNear(num: number): Place | undefined {
    const position = this.site ? this.roster?.get?.(num)?.lastPosition : undefined;
    if (!position || !this.site) return undefined;
    const place = placeFor(this.site, position.latitude, position.longitude, LANDMARK_NEAR_M);
    return "landmark" in place ? place : undefined;
  }

  private nodeOf(callsign: string): number | undefined {
    const wanted = callsign.toLowerCase();
    for (const node of this.nodes.values()) if (node.shortName.toLowerCase() === wanted) return node.num;
    return this.roster?.list().find((entry) => entry.callsign?.toLowerCase() === wanted)?.num;
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

/** What a text says: its records' bodies (shared, not to be changed), and how they were read. */
interface TextRead {
  readonly bodies: readonly RecordBody[];
  readonly read: "preset" | "typed" | "message";
}

/** The packet a record was read from: its sender and packet id. */
interface HeardPacket {
  readonly from: number;
  readonly id: number;
}

/** A record heard (or relayed) waiting in the station's queue for its write: the store tells it how the write ended. */
class PendingRecord implements AppendReceiver {
  /** How its append ended so far (a burst of thousands waits here: few objects, few fields). */
  state: "waiting" | "written" | "held" | "failed" = "waiting";
  /** The records stored when it was written (or found held). */
  count = 0;
  failure: unknown;

  readonly record: FieldRecord;
  /**
   * The packet it was read from, kept in fields rather than an object of its own, as signed 32-bit
   * numbers (a node number or packet id above 2^31 would take a heap number each).
   */
  private readonly onAir: boolean;
  private readonly from: number;
  private readonly packetId: number;
  private readonly wake: () => void;

  constructor(record: FieldRecord, wake: () => void, packet?: HeardPacket) {
    this.record = record;
    this.wake = wake;
    this.onAir = packet !== undefined;
    this.from = packet ? packet.from | 0 : 0;
    this.packetId = packet ? packet.id | 0 : 0;
  }

  /** The packet it was read from; undefined for a record relayed over the internet. */
  get packet(): HeardPacket | undefined {
    return this.onAir ? { from: this.from >>> 0, id: this.packetId >>> 0 } : undefined;
  }

  get settled(): boolean {
    return this.state !== "waiting";
  }

  resolve(written: boolean, count: number): void {
    this.state = written ? "written" : "held";
    this.count = count;
    this.wake();
  }

  reject(error: unknown): void {
    this.state = "failed";
    this.failure = error;
    this.wake();
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

/** What the station needs of the roster: the nodes, and one node's last position. */
export interface StationRoster {
  list(): RosterEntry[];
  get?(num: number): RosterEntry | undefined;
}

/** Record kinds that say where. */
const PLACED_KINDS = new Set<RecordBody["kind"]>(["supply_request", "supply_offer", "supply_status", "incident", "shift", "checkin"]);
/** How near a landmark a handheld must be for its records to be placed there. */
const LANDMARK_NEAR_M = 100;
const METRES_PER_DEGREE = 111_320;

/** Metres between two places on a site (landmarks, offsets from its origin, coordinates). */
export function placeDistance(site: SitePlan, a: Place, b: Place): number | undefined {
  const pa = coordinates(site, a);
  const pb = coordinates(site, b);
  if (!pa || !pb) return undefined;
  const east = (pb.lon - pa.lon) * METRES_PER_DEGREE * Math.cos((site.origin.lat * Math.PI) / 180);
  return Math.hypot(east, (pb.lat - pa.lat) * METRES_PER_DEGREE);
}

function coordinates(site: SitePlan, place: Place): { lat: number; lon: number } | undefined {
  if ("landmark" in place) return landmarkByCode(site, place.landmark);
  if ("east" in place) return { lat: site.origin.lat + place.north / METRES_PER_DEGREE, lon: site.origin.lon + place.east / (METRES_PER_DEGREE * Math.cos((site.origin.lat * Math.PI) / 180)) };
  return { lat: place.lat, lon: place.lon };
}

const UTF8 = new TextDecoder();

/** The longest text a handheld gets (the radio link's limit). */
const MAX_TEXT_BYTES = 200;

/** The transmit class of records sent together: the most urgent of them. */
function priorityOf(bodies: readonly RecordBody[]): PriorityClass {
  const order: readonly PriorityClass[] = ["life_safety", "incident", "request", "status", "shift", "checkin"];
  let best = order.length - 1;
  for (const body of bodies) best = Math.min(best, order.indexOf(classOf(body)));
  return order[best] as PriorityClass;
}

function classOf(body: RecordBody): PriorityClass {
  switch (body.kind) {
    case "incident":
      return body.severity === "extreme" || (body.triage?.["immediate"] ?? 0) > 0 ? "life_safety" : "incident";
    case "checkin":
      return body.status === "emergency" ? "life_safety" : body.status === "need_assist" ? "incident" : "checkin";
    case "supply_request":
      return body.priority === "urgent" ? "incident" : "request";
    case "ack":
      return "incident";
    case "shift":
      return "shift";
    case "supply_offer":
      return "request";
    case "supply_status":
    case "message":
      return "status";
  }
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

/**
 * How many hops a packet came over: hop_start - hop_limit. A packet sent with hop limit 0 comes
 * with both 0 (heard directly); firmware older than 2.3 sends no hop_start (then below hop_limit: unknown).
 */
function hopsAway(packet: ReceivedPacket): number | undefined {
  return packet.hopStart >= packet.hopLimit ? packet.hopStart - packet.hopLimit : undefined;
}

/** A record whose sender is known: a valid coalition tag, this station's own, or relayed by a trusted peer as its own. */
function isAuthentic(record: FieldRecord): boolean {
  return record.auth === "mac" || record.auth === "station";
}

/** A record heard without a valid coalition tag (a meshaid payload under anyone's number, or a handheld's text). */
function isUnauthenticated(record: FieldRecord): boolean {
  return record.auth === "none" || record.auth === "handheld";
}
