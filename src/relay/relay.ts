// Replication of every station's log to every peer over MQTT (see docs/relay.md).
//
// Sending: records this station heard on its radio or wrote itself are numbered into its own log
// (ReplicaStore.absorb) and published in order, in signed batches, on <root>/log/<me> with QoS 1.
// The outbox is everything above the last sequence the broker acknowledged (PUBACK), kept on
// disk: after a restart it is published again (a peer drops what it already holds).
//
// Receiving: a batch from a trusted peer is checked (signature, coalition, topic), records it
// already holds are dropped as replays, the rest go into the store through `accept` (the
// station), and only once they are on disk does the version vector move and the broker get its
// PUBACK. A batch that leaves a gap is held in memory and the gap is asked for (<root>/want/<owner>)
// from the owner, who answers from its LevelDB on <root>/fill/<me>/<owner>. Each station
// publishes its vector (retained) on connect and as it changes; a peer that is behind and makes
// no progress for `stallMs` asks for the rest. Nothing depends on the broker keeping everything.
import { createHash } from "node:crypto";
import type { MqttClient, IPublishPacket } from "mqtt";
import type { Logger } from "pino";
import type { RecordStore, ReplicaStore } from "../store/index.ts";
import type { FieldRecord } from "../wire/index.ts";
import { openEnvelope, readHeader, sealEnvelope, type BatchBody, type Envelope, type VectorBody, type WantBody } from "./envelope.ts";
import { Topics } from "./topics.ts";

export type RelayLink = "off" | "connecting" | "up" | "down";

export interface RelayPeerState {
  station: string;
  /** When this station last heard anything signed by that peer (ms since the epoch). */
  lastSeenAt?: number;
  /** Records of this station's log the peer does not hold yet (by its last version vector). */
  behind: number;
  /** Records of the peer's log this station does not hold yet (by the peer's last head). */
  missing: number;
}

export interface RelayState {
  link: RelayLink;
  broker: string;
  peers: RelayPeerState[];
  /** Records of this station's log the broker has not acknowledged yet. */
  outboxPending: number;
  reason?: string;
}

/** The trust list: station name -> its Ed25519 public key (32 bytes). */
export type TrustList = ReadonlyMap<string, Uint8Array>;

export interface RelayOptions {
  /**
   * An mqtt.js client with clean: false and a stable clientId (the broker keeps what this station
   * missed), made with manualConnect: true: start() connects it once it can store what the
   * session delivers (a message acknowledged before that would be lost).
   */
  client: MqttClient;
  /** Where the client connects, for the console and the log (no credentials). */
  broker: string;
  coalition: string;
  /** This station's name in the coalition (a topic level; its peers trust it under this name). */
  station: string;
  /** This station's Ed25519 secret key (32 bytes). */
  secretKey: Uint8Array;
  trust: TrustList;
  store: RecordStore;
  replica: ReplicaStore;
  /** Puts records from a peer into the local store (the station: dedup, boards, console); resolves once they are on disk. */
  accept: (records: FieldRecord[], from: string) => Promise<FieldRecord[] | void>;
  /** What this station's radio neighbourhood needs of the records peers send (src/relay/downlink.ts). */
  downlink?: { offer(records: readonly FieldRecord[], from: string): Promise<void> };
  logger: Logger;
  /** What leaves this station: a copy of the record with fields removed or coarsened, or undefined to keep it home. */
  redact?: (record: FieldRecord) => FieldRecord | undefined;
  now?: () => number;
  /** Records per MQTT message. */
  batchRecords?: number;
  /** MQTT messages of this station's log in flight (published, not yet acknowledged). */
  window?: number;
  /** How long a peer may be behind without progress before its owner is asked for the rest. */
  stallMs?: number;
  /** Records held in memory per peer while waiting for a gap to be filled. */
  maxPending?: number;
}

interface InFlight {
  first: number;
  last: number;
  acked: boolean;
}

const DEFAULTS = { batchRecords: 1000, window: 16, stallMs: 2000, maxPending: 200_000 };

export class Relay {
  private readonly client: MqttClient;
  private readonly topics: Topics;
  private readonly me: string;
  private readonly coalition: string;
  private readonly secretKey: Uint8Array;
  private trust: TrustList;
  private readonly store: RecordStore;
  private readonly replica: ReplicaStore;
  private readonly accept: RelayOptions["accept"];
  private readonly downlink: RelayOptions["downlink"];
  private readonly log: Logger;
  private readonly redact: (record: FieldRecord) => FieldRecord | undefined;
  private readonly now: () => number;
  private readonly batchRecords: number;
  private readonly windowSize: number;
  private readonly stallMs: number;
  private readonly maxPending: number;
  private readonly brokerName: string;

  private link: RelayLink = "off";
  private reason: string | undefined;
  private readonly listeners = new Set<(state: RelayState) => void>();
  private stopped = false;
  private unsubscribeStore: (() => void) | undefined;
  private stallTimer: ReturnType<typeof setInterval> | undefined;

  // Sending this station's log.
  private nextToPublish: number;
  private inFlight: InFlight[] = [];
  /** Bumped when what is in flight is abandoned (a publish failed): late callbacks are ignored. */
  private generation = 0;
  private pumping = false;
  private pumpAgain = false;

  // What peers said and sent.
  /** Peer -> the head of its log it last announced or sent. */
  private readonly heads = new Map<string, number>();
  /** Peer -> stall checks in a row without progress (from the second, anyone holding its log is asked). */
  private readonly stalls = new Map<string, number>();
  private readonly lastSeen = new Map<string, number>();
  /** Peer -> records beyond a gap, waiting for it to be filled. */
  private readonly pending = new Map<string, Map<number, FieldRecord | null>>();
  /** Peer -> how far it holds each station's log, by its last signed vector (who can answer an ask). */
  private readonly peerHeld = new Map<string, Readonly<Record<string, number>>>();
  /** Peer -> what `held` was at the last stall check. */
  private readonly heldAtCheck = new Map<string, number>();
  /** Fill requests from peers, served one at a time per peer. */
  private readonly serving = new Map<string, Promise<void>>();
  /** Fill requests waiting for the one being served, per peer (merged). */
  private readonly queuedWants = new Map<string, { from: number; to: number }>();
  private vectorDirty = true;

  constructor(options: RelayOptions) {
    this.client = options.client;
    this.topics = new Topics(options.coalition);
    this.me = options.station;
    this.coalition = options.coalition;
    this.secretKey = options.secretKey;
    this.trust = options.trust;
    this.store = options.store;
    this.replica = options.replica;
    this.accept = options.accept;
    this.downlink = options.downlink;
    this.brokerName = options.broker;
    this.log = options.logger.child({ module: "relay", broker: options.broker, coalition: options.coalition });
    this.redact = options.redact ?? ((record) => record);
    this.now = options.now ?? Date.now;
    this.batchRecords = options.batchRecords ?? DEFAULTS.batchRecords;
    this.windowSize = options.window ?? DEFAULTS.window;
    this.stallMs = options.stallMs ?? DEFAULTS.stallMs;
    this.maxPending = options.maxPending ?? DEFAULTS.maxPending;
    this.nextToPublish = this.replica.acked + 1;
  }

  /** Starts replicating: numbers what the store holds into the own log, subscribes, publishes. */
  async start(): Promise<void> {
    await this.replica.absorb(this.store);
    // A peer taken off the trust list while the station was stopped no longer holds anything back.
    for (const station of this.replica.peerHoldings().keys()) if (!this.trust.has(station)) await this.replica.forgetPeer(station);
    this.nextToPublish = this.replica.acked + 1;
    this.unsubscribeStore = this.store.subscribeArrivals((written) => {
      if (written.relayedOnly) this.replica.skipRelayed(written.first, written.last);
      else this.onStored();
    });
    // PUBACK for a peer's record goes to the broker only after it is on disk.
    this.client.handleMessage = (packet, done) => {
      this.receive(packet).then(
        () => done(),
        (error: unknown) => {
          this.log.error({ err: error, topic: packet.topic }, "relayed message could not be stored; not acknowledged (the broker sends it again)");
          done(error as Error);
        },
      );
    };
    // The last failure stays the reason while the link flaps between closed and reconnecting
    // (a silent network shows as "Keepalive timeout", then "connack timeout" on every attempt).
    let lastError: string | undefined;
    this.client.on("connect", (connack) => {
      lastError = undefined;
      this.onConnect(connack.sessionPresent);
    });
    this.client.on("close", () => this.setLink("down", lastError ?? "connection closed"));
    this.client.on("offline", () => this.setLink("down", lastError ?? "broker unreachable"));
    this.client.on("reconnect", () => this.setLink("connecting", lastError ? `reconnecting after ${lastError}` : "reconnecting"));
    this.client.on("error", (error) => {
      this.log.warn({ err: error }, "relay link error");
      lastError = error.message;
      this.reason = error.message;
      this.emit();
    });
    this.setLink(this.client.connected ? "up" : "connecting", this.client.connected ? undefined : "connecting");
    if (this.client.connected) this.onConnect(false);
    else if (this.client.options.manualConnect) this.client.connect();
    this.stallTimer = setInterval(() => this.checkStalls(), this.stallMs);
    this.stallTimer.unref();
  }

  /** Stops and closes the client (what is unacknowledged stays in the outbox on disk). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeStore?.();
    // Number what was stored last into the own log (it is sent after the next start).
    await this.replica.absorb(this.store).catch((error: unknown) => this.log.error({ err: error }, "could not number the last records into the relay log"));
    if (this.stallTimer) clearInterval(this.stallTimer);
    await this.endClient();
    await Promise.allSettled([...this.serving.values()]);
    this.setLink("off", "stopped");
  }

  /**
   * Closes the connection: politely (waiting for acknowledgements in flight) while the link is
   * up, for at most a few seconds; at once when it is down (mqtt.js would otherwise wait forever
   * for acknowledgements that cannot come). What is unacknowledged stays in the outbox on disk.
   */
  private async endClient(): Promise<void> {
    if (!this.client.connected) {
      await this.client.endAsync(true);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), 3000);
      timer.unref();
    });
    const timedOutFirst = await Promise.race([this.client.endAsync().then(() => false), timedOut]);
    clearTimeout(timer);
    if (timedOutFirst) this.client.stream.destroy();
  }

  /**
   * Replaces the trust list while running (trust.yaml changed). From now on a removed station's
   * envelopes are refused, and what it sent that waits for a gap is dropped; what is already
   * stored stays. A station added is asked for its log at the next check.
   */
  setTrust(trust: TrustList): void {
    const removed = [...this.trust.keys()].filter((station) => !trust.has(station));
    const added = [...trust.keys()].filter((station) => !this.trust.has(station));
    const changed = [...trust.keys()].filter((station) => this.trust.has(station) && Buffer.compare(Buffer.from(trust.get(station) as Uint8Array), Buffer.from(this.trust.get(station) as Uint8Array)) !== 0);
    this.trust = trust;
    for (const station of [...removed, ...changed]) {
      this.peerHeld.delete(station);
      this.pending.delete(station);
      this.heads.delete(station);
      this.heldAtCheck.delete(station);
      this.stalls.delete(station);
    }
    for (const station of removed) this.replica.forgetPeer(station).catch((error: unknown) => this.log.error({ err: error, station }, "could not forget a peer's vector"));
    if (removed.length + added.length + changed.length === 0) return;
    this.log.info({ added, removed, changed }, "trust list changed");
    this.emit();
  }

  state(): RelayState {
    const stations = new Set<string>([...this.trust.keys(), ...this.heads.keys()]);
    stations.delete(this.me);
    const peers = [...stations].sort().map((station): RelayPeerState => {
      const seen = this.lastSeen.get(station);
      return {
        station,
        ...(seen === undefined ? {} : { lastSeenAt: seen }),
        behind: Math.max(0, this.replica.head - this.replica.peerHolds(station)),
        missing: Math.max(0, (this.heads.get(station) ?? 0) - this.replica.held(station)),
      };
    });
    return { link: this.link, broker: this.brokerName, peers, outboxPending: this.replica.head - this.replica.acked, ...(this.reason === undefined ? {} : { reason: this.reason }) };
  }

  subscribe(listener: (state: RelayState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const state = this.state();
    for (const listener of this.listeners) listener(state);
  }

  private setLink(link: RelayLink, reason: string | undefined): void {
    if (this.stopped && link !== "off") return;
    if (link === this.link && reason === this.reason) return;
    this.link = link;
    this.reason = reason;
    this.log.info({ link, reason }, "relay link");
    this.emit();
  }

  // ---- the own log, out --------------------------------------------------------------------

  private onStored(): void {
    this.replica.absorb(this.store).then(
      () => this.pump(),
      (error: unknown) => this.log.error({ err: error }, "could not number new records into the relay log"),
    );
  }

  private onConnect(sessionPresent: boolean): void {
    if (this.stopped) return;
    this.setLink("up", undefined);
    this.log.info({ sessionPresent }, "relay connected");
    const v5 = this.client.options.protocolVersion === 5;
    this.client.subscribe(this.topics.subscriptions(this.me), { qos: 1, ...(v5 ? { nl: true } : {}) }, (error) => {
      if (error) this.log.error({ err: error }, "relay subscribe failed");
    });
    this.vectorDirty = true;
    this.publishVector();
    this.pump();
  }

  /** Publishes the own log from the outbox, keeping at most `window` messages in flight. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pumpLoop().finally(() => {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.pump();
      }
    });
  }

  private async pumpLoop(): Promise<void> {
    try {
      while (!this.stopped && this.client.connected && this.inFlight.length < this.windowSize && this.nextToPublish <= this.replica.head) {
        const entries = await this.replica.ownEntries(this.store, this.nextToPublish, this.replica.head, this.batchRecords);
        if (entries.length === 0) break;
        const first = this.nextToPublish;
        const last = first + entries.length - 1;
        // Entries are contiguous (the own log has no holes); a record redaction keeps home goes as null so the sequence stays whole.
        const records = entries.map((entry) => this.redact(entry.record) ?? null);
        const bytes = sealEnvelope({ kind: "batch", coalition: this.coalition, station: this.me, body: { log: this.replica.log, first, records } }, this.secretKey);
        const flight: InFlight = { first, last, acked: false };
        this.inFlight.push(flight);
        this.nextToPublish = last + 1;
        const generation = this.generation;
        this.client.publish(this.topics.log(this.me), Buffer.from(bytes), { qos: 1 }, (error) => {
          if (generation !== this.generation) return;
          if (error) {
            this.log.warn({ err: error, first, last }, "publish not acknowledged; the outbox sends it again on the next connection");
            this.abandonInFlight();
            return;
          }
          flight.acked = true;
          this.settleAcked();
        });
      }
    } catch (error) {
      this.log.error({ err: error }, "could not read the relay outbox");
    }
  }

  private abandonInFlight(): void {
    this.generation += 1;
    this.inFlight = [];
    this.nextToPublish = this.replica.acked + 1;
  }

  /** Moves the outbox past every batch acknowledged in order; on disk before more is published. */
  private settleAcked(): void {
    let acked = this.replica.acked;
    while (this.inFlight[0]?.acked) acked = (this.inFlight.shift() as InFlight).last;
    const generation = this.generation;
    this.replica.setAcked(acked).then(
      () => {
        if (generation === this.generation) this.vectorDirty = true;
        this.emit();
        this.pump();
      },
      (error: unknown) => this.log.error({ err: error }, "could not record the broker's acknowledgement; sent again later"),
    );
  }

  private publishVector(): void {
    if (!this.vectorDirty || !this.client.connected) return;
    this.vectorDirty = false;
    const body: VectorBody = { log: this.replica.log, head: this.replica.head, held: Object.fromEntries(this.replica.vector()) };
    const bytes = sealEnvelope({ kind: "vector", coalition: this.coalition, station: this.me, body }, this.secretKey);
    this.client.publish(this.topics.vector(this.me), Buffer.from(bytes), { qos: 1, retain: true }, (error) => {
      if (error) this.vectorDirty = true;
    });
  }

  // ---- peers' logs, in -----------------------------------------------------------------------

  private async receive(packet: IPublishPacket): Promise<void> {
    const topic = this.topics.parse(packet.topic);
    if (!topic) return;
    const bytes = typeof packet.payload === "string" ? new TextEncoder().encode(packet.payload) : new Uint8Array(packet.payload.buffer, packet.payload.byteOffset, packet.payload.byteLength);
    const asking = topic.kind === "want" || topic.kind === "ask";
    // Our own log and vector coming back (MQTT 3.1.1 has no "no local"): nothing to check.
    if (!asking && topic.station === this.me) return;
    const header = readHeader(bytes);
    if (header.ok && header.header.station === this.me) {
      if (!asking) this.reject(packet.topic, `claims to be signed by this station (${this.me})`);
      return; // our own request, back
    }
    const checked = openEnvelope(bytes, (station) => this.trust.get(station));
    if (!checked.ok) return this.reject(packet.topic, checked.reason);
    const envelope = checked.envelope;
    if (envelope.coalition !== this.coalition) return this.reject(packet.topic, `signed for coalition "${envelope.coalition}"`);
    if (!asking && envelope.station !== topic.station) return this.reject(packet.topic, `signed by "${envelope.station}" on the topic of "${topic.station}"`);
    // A fill answers a request about the log followed now: it never switches logs (an old log's batches, forwarded, would otherwise reset what is held).
    const known = envelope.kind === "want" ? undefined : this.replica.peerLog(envelope.station);
    if (topic.kind === "fill" && envelope.kind === "batch" && known !== undefined && known !== envelope.body.log) return this.reject(packet.topic, `a fill from another log of "${envelope.station}" than the one followed`);
    if (topic.kind !== "fill") this.lastSeen.set(envelope.station, this.now());
    if (envelope.kind !== "want") await this.followLog(envelope.station, envelope.body.log);
    switch (envelope.kind) {
      case "batch":
        if (topic.kind !== "log" && topic.kind !== "fill") return this.reject(packet.topic, "a log batch on the wrong topic");
        await this.receiveBatch(envelope.station, envelope.body, bytes);
        break;
      case "vector":
        if (topic.kind !== "vector") return this.reject(packet.topic, "a version vector on the wrong topic");
        await this.receiveVector(envelope.station, envelope.body);
        break;
      case "want":
        if (!asking || envelope.body.station !== topic.station) return this.reject(packet.topic, "a fill request on the topic of another station");
        if (envelope.body.station === this.me) this.serve(envelope.station, envelope.body);
        // An ask names the one station that answers (older stations name none: then anyone holding the range does).
        else if (topic.kind === "ask" && this.trust.has(envelope.body.station) && (envelope.body.by === undefined || envelope.body.by === this.me)) this.serve(envelope.station, envelope.body);
        break;
    }
    this.emit();
  }

  private reject(topic: string, reason: string): void {
    this.log.warn({ topic, reason }, "relayed envelope rejected");
  }

  /** A peer seen with another log id than before began a new log (its data was wiped or replaced): follow that one from its start. */
  private async followLog(station: string, log: string): Promise<void> {
    const known = this.replica.peerLog(station);
    if (known === log) return;
    if (known !== undefined) this.log.warn({ station, was: known, now: log }, "a peer began a new log (its data was wiped or replaced); following it from the start");
    this.pending.delete(station);
    this.heads.delete(station);
    this.heldAtCheck.delete(station);
    await this.replica.followLog(station, log, known !== undefined);
  }

  private async receiveBatch(station: string, body: BatchBody, bytes: Uint8Array): Promise<void> {
    const last = body.first + body.records.length - 1;
    this.noteHead(station, last);
    let held = this.replica.held(station);
    if (last <= held) {
      this.log.info({ station, first: body.first, last, held }, "relayed envelope rejected: replayed (every sequence already held)");
      return;
    }
    // The owner's signed bytes, kept to forward unchanged to a peer that lacks them while the owner is away.
    const kept = this.replica.keepEnvelope(station, body.log, body.first, last, bytes).catch((error: unknown) => this.log.warn({ err: error, station }, "could not keep a copy of a peer's batch to forward"));
    const waiting = this.pendingOf(station);
    for (const [index, record] of body.records.entries()) {
      const seq = body.first + index;
      if (seq > held && waiting.size < this.maxPending) waiting.set(seq, record);
    }
    if (body.first > held + 1) {
      this.log.info({ station, held, first: body.first }, "gap in a peer's log; asking its owner");
      this.want(station, held + 1, body.first - 1);
    }
    // Store the run that continues what is held, in order.
    const run: Array<FieldRecord | null> = [];
    while (waiting.has(held + 1 + run.length)) {
      const seq = held + 1 + run.length;
      run.push(waiting.get(seq) ?? null);
      waiting.delete(seq);
    }
    if (run.length === 0) return void (await kept);
    const accepted = run.filter((record): record is FieldRecord => record !== null);
    const [fresh] = await Promise.all([accepted.length > 0 ? this.accept(accepted, station) : [], kept]);
    held += run.length;
    // Not waited for: the records are on disk; a vector that lags after a crash only brings them again (dropped as held).
    this.replica.setHeld(station, held).catch((error: unknown) => this.log.error({ err: error, station }, "could not record the version vector"));
    this.vectorDirty = true;
    if (this.downlink && fresh && fresh.length > 0) await this.downlink.offer(fresh, station).catch((error: unknown) => this.log.error({ err: error, station }, "downlink failed; records stored, not put on the air"));
  }

  private pendingOf(station: string): Map<number, FieldRecord | null> {
    let waiting = this.pending.get(station);
    if (!waiting) {
      waiting = new Map();
      this.pending.set(station, waiting);
    }
    return waiting;
  }

  private noteHead(station: string, head: number): void {
    if (head > (this.heads.get(station) ?? 0)) this.heads.set(station, head);
  }

  private async receiveVector(station: string, body: VectorBody): Promise<void> {
    this.noteHead(station, body.head);
    // What a peer holds of a third station's log is a head too: with that station offline, the
    // gap is asked of anyone (ask/<owner>), and the peer that holds it answers.
    for (const [owner, seq] of Object.entries(body.held)) if (owner !== this.me && owner !== station && this.trust.has(owner)) this.noteHead(owner, seq);
    this.peerHeld.set(station, body.held);
    // The peer's signed word on how far it holds this station's log: its outbox shrinks only by it.
    await this.replica.setPeerHolds(station, body.held[this.me] ?? 0);
  }

  /**
   * Asks `owner` for its log entries `from`..`to`; or, with `ask`, asks on ask/<owner> the
   * station it names (anyone who holds the range when it names none).
   */
  private want(owner: string, from: number, to: number, ask?: { by: string | undefined }): void {
    if (!this.client.connected || to < from) return;
    const whom = ask ? "ask" : "want";
    const body: WantBody = { station: owner, from, to, ...(ask?.by === undefined ? {} : { by: ask.by }) };
    const bytes = sealEnvelope({ kind: "want", coalition: this.coalition, station: this.me, body }, this.secretKey);
    // Not QoS 1 for ask: a request to whoever is there now is worth nothing later (it is asked again).
    this.client.publish(whom === "ask" ? this.topics.ask(owner) : this.topics.want(owner), Buffer.from(bytes), { qos: whom === "ask" ? 0 : 1 }, (error) => {
      if (error) this.log.warn({ err: error, owner }, "fill request not sent; asked again at the next check");
    });
  }

  /** Peers that are behind and made no progress since the last check are asked for the rest; the vector goes out if it changed. */
  private checkStalls(): void {
    this.publishVector();
    for (const [station, head] of this.heads) {
      const held = this.replica.held(station);
      if (held < head && held === this.heldAtCheck.get(station)) {
        this.want(station, held + 1, head);
        // The owner did not answer the last request either: ask anyone who holds its log.
        const stalls = (this.stalls.get(station) ?? 0) + 1;
        this.stalls.set(station, stalls);
        if (stalls >= 2) this.want(station, held + 1, head, { by: this.answerer(station, held, stalls - 2) });
      } else this.stalls.delete(station);
      this.heldAtCheck.set(station, held);
    }
  }

  /**
   * Which station answers an ask for `owner`'s log past `held`: one peer whose signed vector says
   * it holds more of that log, so that one station sends the range rather than every holder.
   * Peers are ranked by how much they hold, then by a hash of (owner, asker, peer), so different
   * askers spread over the holders; each further ask without progress goes to the next in rank.
   * Undefined when no peer is known to hold more: then anyone holding the range answers.
   */
  private answerer(owner: string, held: number, attempt: number): string | undefined {
    const rank = (peer: string): string => createHash("sha256").update(`${owner}/${this.me}/${peer}`).digest("hex");
    const holders = [...this.peerHeld]
      .filter(([peer, vector]) => peer !== owner && peer !== this.me && this.trust.has(peer) && (vector[owner] ?? 0) > held)
      .map(([peer, vector]) => ({ peer, holds: vector[owner] ?? 0, rank: rank(peer) }))
      .sort((a, b) => b.holds - a.holds || (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
    return holders[attempt % Math.max(1, holders.length)]?.peer;
  }

  /**
   * Answers a peer's fill request from this station's LevelDB, in order, one fill at a time per
   * peer. Requests that wait (a peer asks again while the owner was away, and the broker kept
   * every request) are merged into one.
   */
  private serve(peer: string, want: WantBody): void {
    const owner = want.station;
    const slot = `${peer}/${owner}`;
    const queued = this.queuedWants.get(slot);
    if (queued) {
      queued.from = Math.min(queued.from, want.from);
      queued.to = Math.max(queued.to, want.to);
      return;
    }
    const range = { from: want.from, to: want.to };
    this.queuedWants.set(slot, range);
    const previous = this.serving.get(slot) ?? Promise.resolve();
    const run = previous.then(() => {
      this.queuedWants.delete(slot);
      if (owner === this.me) return this.fill(peer, range.from, Math.min(range.to, this.replica.head));
      return this.forward(peer, owner, range.from, Math.min(range.to, this.replica.held(owner)));
    });
    const tracked = run.catch((error: unknown) => this.log.warn({ err: error, peer }, "fill to a peer stopped; it asks again"));
    this.serving.set(slot, tracked);
    void tracked.finally(() => {
      if (this.serving.get(slot) === tracked) this.serving.delete(slot);
    });
  }

  /**
   * Fills a peer's gap in a third station's log while its owner is away: the owner's batches as
   * the owner signed them (copies kept on receipt), so the peer checks the owner's signature and
   * no station can slip in records of its own.
   */
  private async forward(peer: string, owner: string, from: number, to: number): Promise<void> {
    const log = this.replica.peerLog(owner);
    if (log === undefined || to < from || peer === owner) return;
    this.log.info({ peer, owner, from, to }, "filling a peer's gap in another station's log with its signed batches");
    const inFlight = new Set<Promise<void>>();
    let next = from;
    while (next <= to && !this.stopped && this.client.connected) {
      const copies = await this.replica.envelopesCovering(owner, log, next, to, this.windowSize);
      if (copies.length === 0) break;
      for (const copy of copies) {
        // Past a range this station has no copy of, the peer could not store anything (it holds a log contiguously): stop there.
        if (copy.first > next) return void (await Promise.all(inFlight));
        const sent = this.client.publishAsync(this.topics.fill(peer, owner), Buffer.from(copy.bytes), { qos: 1 }).then(() => undefined);
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent)).catch(() => undefined);
        if (inFlight.size >= this.windowSize) await Promise.race(inFlight);
        next = Math.max(next, copy.last + 1);
      }
    }
    await Promise.all(inFlight);
  }

  private async fill(peer: string, from: number, to: number): Promise<void> {
    this.log.info({ peer, from, to }, "filling a peer's gap from the log");
    let next = from;
    const inFlight = new Set<Promise<void>>();
    while (next <= to && !this.stopped && this.client.connected) {
      const entries = await this.replica.ownEntries(this.store, next, to, this.batchRecords);
      if (entries.length === 0) break;
      const records = entries.map((entry) => this.redact(entry.record) ?? null);
      const bytes = sealEnvelope({ kind: "batch", coalition: this.coalition, station: this.me, body: { log: this.replica.log, first: next, records } }, this.secretKey);
      next += entries.length;
      const sent = this.client.publishAsync(this.topics.fill(peer, this.me), Buffer.from(bytes), { qos: 1 }).then(() => undefined);
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent)).catch(() => undefined);
      if (inFlight.size >= this.windowSize) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  }
}

export type { Envelope };
