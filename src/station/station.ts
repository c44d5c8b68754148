// The base station's ingest path: a packet the radio heard -> a preset -> a record -> the log
// -> the console. A record is shown only after it is on disk, and shown once however many
// times it is heard.
import type { Logger } from "pino";
import { PortNum, type LinkReason, type LinkStatus, type RadioEvent, type RadioNode, type RadioSource, type ReceivedPacket } from "../radio/index.ts";
import { readPreset, type FieldRecord, type PresetTable } from "../wire/index.ts";
import type { RecordStore } from "../store/index.ts";
import type { RadioState, RecordView, StationEvent, StationSnapshot, StationView } from "./types.ts";

export interface StationOptions {
  name: string;
  radio: RadioSource;
  store: RecordStore;
  presets: PresetTable;
  logger: Logger;
  now?: () => number;
  /** How many recent records the feed keeps in memory. */
  feedSize?: number;
}

const STATUS_AT_START: { status: LinkStatus; reason: LinkReason } = { status: "connecting", reason: "starting" };

export class Station implements StationView {
  private readonly options: Required<Omit<StationOptions, "radio" | "store" | "presets" | "logger" | "name">>;
  private readonly name: string;
  private readonly radio: RadioSource;
  private readonly store: RecordStore;
  private readonly presets: PresetTable;
  private readonly log: Logger;
  private readonly listeners = new Set<(event: StationEvent) => void>();
  /** The roster so far: node number -> what the radio told us about it. */
  private readonly nodes = new Map<number, RadioNode>();
  private radioState: RadioState = STATUS_AT_START;
  private feed: RecordView[] = [];
  private unsubscribeRadio: (() => void) | undefined;
  /** Packets are ingested one at a time, in the order heard. */
  private ingesting: Promise<void> = Promise.resolve();

  constructor(options: StationOptions) {
    this.name = options.name;
    this.radio = options.radio;
    this.store = options.store;
    this.presets = options.presets;
    this.log = options.logger.child({ module: "station" });
    this.options = { now: options.now ?? Date.now, feedSize: options.feedSize ?? 200 };
    this.radioState = { status: options.radio.status, reason: "starting" };
  }

  /** Loads the feed from the log, then starts listening to the radio. */
  async start(): Promise<void> {
    const stored = await this.store.recent(this.options.feedSize, (entry) =>
      this.log.error({ key: entry.key, reason: entry.reason }, "stored record does not decode; kept on disk, not shown"),
    );
    this.feed = stored.map((record) => this.view(record));
    this.unsubscribeRadio = this.radio.subscribe((event) => this.onRadioEvent(event));
    this.log.info({ records: this.store.count }, "station started");
  }

  /** Stops listening and waits for what is being ingested to be stored. */
  async stop(): Promise<void> {
    this.unsubscribeRadio?.();
    this.unsubscribeRadio = undefined;
    await this.ingesting;
  }

  /** Resolves when everything heard so far has been ingested (for tests and shutdown). */
  idle(): Promise<void> {
    return this.ingesting;
  }

  snapshot(): StationSnapshot {
    return { name: this.name, radio: this.radioState, recordCount: this.store.count, recent: [...this.feed] };
  }

  subscribe(listener: (event: StationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
        return;
      case "packet": {
        const packet = event.packet;
        this.ingesting = this.ingesting.then(() => this.ingest(packet)).catch((error: unknown) => {
          this.log.error({ err: error, from: packet.from, id: packet.id }, "ingest failed; packet not stored");
          this.emit({ type: "skipped", reason: `could not store a packet from ${this.callsign(packet.from)}` });
        });
        return;
      }
      case "log":
        this.log.debug({ device: event.line }, "radio console");
        return;
      case "my-node":
        return;
    }
  }

  private async ingest(packet: ReceivedPacket): Promise<void> {
    if (packet.portnum !== PortNum.TEXT_MESSAGE_APP) {
      this.log.info({ from: packet.from, portnum: packet.portnum }, "packet on a port the station does not read yet; skipped");
      return;
    }
    const text = new TextDecoder().decode(packet.payload);
    const body = readPreset(this.presets, text);
    if (body === undefined) {
      this.log.warn({ from: packet.from, text }, "text is not a known preset; skipped");
      this.emit({ type: "skipped", reason: `not a preset from ${this.callsign(packet.from)}: "${text.slice(0, 40)}"` });
      return;
    }
    const record: FieldRecord = {
      id: { origin: packet.from, seq: packet.id },
      receivedAt: this.options.now(),
      body,
      text,
    };
    const sender = this.nodes.get(packet.from)?.shortName;
    if (sender) record.sender = sender;
    const result = await this.store.append(record);
    if (!result.stored) {
      this.log.debug({ from: packet.from, id: packet.id }, "record heard again; already stored");
      return;
    }
    const view = this.view(record);
    this.feed = [view, ...this.feed].slice(0, this.options.feedSize);
    this.emit({ type: "record", record: view, recordCount: result.count });
  }

  private view(record: FieldRecord): RecordView {
    return { ...record, sender: record.sender ?? this.callsign(record.id.origin) };
  }

  private callsign(num: number): string {
    return this.nodes.get(num)?.shortName || `!${(num >>> 0).toString(16).padStart(8, "0")}`;
  }
}
