// The station's local control protocol: JSON lines over any duplex stream (the cli serves it on
// the Unix socket <data folder>/meshaid.sock). The daemon owns the radio; `meshaid status`,
// `meshaid send` and a console in another terminal talk to the station through this, never to
// the radio.
//
// A request is one JSON object on one line, with an optional `id` the reply repeats:
//   {"id":1,"op":"status"}                              -> {"id":1,"ok":true,"status":{...}}
//   {"id":2,"op":"send","text":"NEED WATER","to":"M1"}  -> {"id":2,"ok":true,"outcome":{...}}
//   {"id":3,"op":"act","action":{"verb":"acknowledge","actor":{...},"target":{...}}}
//   {"id":4,"op":"subscribe"}                           -> {"id":4,"ok":true,"snapshot":{...},"boards":{...}}
//     then events: {"event":"station","data":StationEvent}, {"event":"boards","data":BoardsEvent,"boards":{...}},
//     {"event":"transmit","data":SchedulerState}
//   {"id":5,"op":"boards"}                              -> {"id":5,"ok":true,"boards":{...}}
// A line that is not a request gets {"id":null,"ok":false,"error":"..."}; the connection stays open.
import type { Duplex } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { Logger } from "pino";
import type { Place, RecordBody } from "../wire/index.ts";
import type { SchedulerState } from "./scheduler.ts";
import {
  ACTION_VERBS,
  type ActionOutcome,
  type ActionRequest,
  type BoardsEvent,
  type BoardsSnapshot,
  type OutgoingRequest,
  type SendOutcome,
  type StationBoardsView,
  type StationEvent,
  type StationSnapshot,
  type RelayStatusReport,
  type StationStatus,
} from "./types.ts";

/** What the control protocol drives: a station. */
export interface ControlTarget extends StationBoardsView {
  status(): StationStatus;
  send(request: OutgoingRequest): Promise<SendOutcome>;
  act(action: ActionRequest): Promise<ActionOutcome>;
}

export type ControlRequest =
  | { id: RequestId; op: "status" }
  | { id: RequestId; op: "boards" }
  | { id: RequestId; op: "subscribe" }
  | { id: RequestId; op: "send"; send: OutgoingRequest }
  | { id: RequestId; op: "act"; action: ActionRequest };

type RequestId = number | string | null;

export type ControlReply =
  | { id: RequestId; ok: false; error: string }
  | { id: RequestId; ok: true; status: StationStatus }
  | { id: RequestId; ok: true; boards: BoardsSnapshot }
  | { id: RequestId; ok: true; snapshot: StationSnapshot; boards: BoardsSnapshot }
  | { id: RequestId; ok: true; outcome: SendOutcome | ActionOutcome };

export type ControlEvent =
  | { event: "station"; data: StationEvent }
  | { event: "boards"; data: BoardsEvent; boards?: BoardsSnapshot }
  | { event: "transmit"; data: SchedulerState };

/** The longest request line read (longer ones are answered with an error and skipped). */
export const MAX_LINE_BYTES = 256 * 1024;

const OPS = ["status", "boards", "subscribe", "send", "act"] as const;

/** Reads one request line. Never throws: what is not a request is an error naming what is wrong. */
export function parseControlLine(line: string): { ok: true; request: ControlRequest } | { ok: false; id: RequestId; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { ok: false, id: null, error: `not JSON: ${(error as Error).message}` };
  }
  if (!isObject(value)) return { ok: false, id: null, error: "a request is a JSON object with an `op`" };
  const rawId = value["id"];
  const id: RequestId = typeof rawId === "number" || typeof rawId === "string" ? rawId : null;
  if (rawId !== undefined && rawId !== null && id === null) return { ok: false, id: null, error: "`id` must be a number or a string" };
  const fail = (error: string) => ({ ok: false as const, id, error });
  const op = value["op"];
  if (typeof op !== "string" || !(OPS as readonly string[]).includes(op)) return fail(`unknown op ${JSON.stringify(op) ?? "(none)"}: one of ${OPS.join(", ")}`);
  switch (op as (typeof OPS)[number]) {
    case "status":
    case "boards":
    case "subscribe":
      return { ok: true, request: { id, op: op as "status" | "boards" | "subscribe" } };
    case "send": {
      const send = readSend(value);
      return typeof send === "string" ? fail(`send: ${send}`) : { ok: true, request: { id, op: "send", send } };
    }
    case "act": {
      const action = readAction(value["action"]);
      return typeof action === "string" ? fail(`act: ${action}`) : { ok: true, request: { id, op: "act", action } };
    }
  }
}

function readSend(value: Record<string, unknown>): OutgoingRequest | string {
  const out: OutgoingRequest = {};
  const { text, bodies, sender, stations, to } = value;
  if (text !== undefined) {
    if (typeof text !== "string") return "`text` must be a string";
    out.text = text;
  }
  if (bodies !== undefined) {
    if (!Array.isArray(bodies) || bodies.length === 0 || !bodies.every((body) => isObject(body) && typeof body["kind"] === "string")) return "`bodies` must be a list of records, each with a `kind`";
    out.bodies = bodies as RecordBody[];
  }
  if (out.text === undefined && out.bodies === undefined) return "give `text` or `bodies`";
  if (sender !== undefined) {
    if (typeof sender !== "string" || sender === "") return "`sender` must be a callsign";
    out.sender = sender;
  }
  if (stations !== undefined) {
    if (typeof stations !== "boolean") return "`stations` must be true or false";
    out.stations = stations;
  }
  if (to !== undefined) {
    if (to === "channel") out.to = "channel";
    else if (typeof to === "string" && to !== "") out.to = { callsign: to };
    else if (typeof to === "number" && Number.isInteger(to) && to > 0 && to <= 0xffffffff) out.to = { node: to };
    else return "`to` must be a callsign, a node number or \"channel\"";
  }
  return out;
}

function readAction(value: unknown): ActionRequest | string {
  if (!isObject(value)) return "`action` must be an object with verb and actor";
  const { verb, actor, target, etaMin, purchase, shift } = value;
  if (typeof verb !== "string" || !(ACTION_VERBS as readonly string[]).includes(verb)) return `unknown verb ${JSON.stringify(verb) ?? "(none)"}: one of ${ACTION_VERBS.join(", ")}`;
  if (!isObject(actor) || typeof actor["callsign"] !== "string" || typeof actor["role"] !== "string") return "`actor` must be { callsign, role }";
  const out: ActionRequest = { verb: verb as ActionRequest["verb"], actor: { callsign: actor["callsign"], role: actor["role"] } };
  if (target !== undefined) {
    if (!isObject(target) || !isU32(target["origin"]) || !isU32(target["seq"])) return "`target` must be { origin, seq } (whole numbers)";
    out.target = { origin: target["origin"], seq: target["seq"] };
  }
  if (etaMin !== undefined) {
    if (typeof etaMin !== "number" || !Number.isInteger(etaMin) || etaMin < 0 || etaMin > 100_000) return "`etaMin` must be whole minutes (0..100000)";
    out.etaMin = etaMin;
  }
  if (purchase !== undefined) {
    if (!isObject(purchase) || typeof purchase["item"] !== "string" || typeof purchase["quantity"] !== "number" || typeof purchase["cost"] !== "number") return "`purchase` must be { item, quantity, cost }";
    out.purchase = { item: purchase["item"], quantity: purchase["quantity"], cost: purchase["cost"] };
    if (typeof purchase["currency"] === "string") out.purchase.currency = purchase["currency"];
    if (typeof purchase["note"] === "string") out.purchase.note = purchase["note"];
  }
  if (shift !== undefined) {
    if (!isObject(shift) || typeof shift["callsign"] !== "string") return "`shift` must be { callsign, role?, place? }";
    out.shift = { callsign: shift["callsign"] };
    if (typeof shift["role"] === "string") out.shift.role = shift["role"];
    if (shift["place"] !== undefined) {
      const place = readPlace(shift["place"]);
      if (!place) return "`shift.place` must be { landmark } or { east, north } or { lat, lon }";
      out.shift.place = place;
    }
  }
  return out;
}

export interface ServeControlOptions {
  logger: Logger;
  /** The scheduler's state, sent to subscribers every `transmitEveryMs` when it changed. */
  transmit?: () => SchedulerState | undefined;
  transmitEveryMs?: number;
  /** The internet relay's state, added to `status` replies when the station runs one. */
  relay?: () => RelayStatusReport | undefined;
  /** Boards changes within this many ms go to a subscriber as one event with one snapshot. */
  boardsDelayMs?: number;
  /** A subscriber that has this much unread is cut off (it can reconnect and start from a snapshot). */
  maxBacklogBytes?: number;
}

/**
 * Serves the control protocol on one connection until it ends. Bad lines get an error reply;
 * errors of the station are replies too: nothing a client sends stops the station.
 */
export function serveControl(stream: Duplex, target: ControlTarget, options: ServeControlOptions): void {
  const log = options.logger;
  const maxBacklog = options.maxBacklogBytes ?? 16 * 1024 * 1024;
  const cleanups: Array<() => void> = [];
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const cleanup of cleanups.splice(0)) cleanup();
  };
  const write = (message: ControlReply | ControlEvent): void => {
    if (closed || stream.destroyed || !stream.writable) return;
    if (stream.writableLength > maxBacklog) {
      log.warn({ backlog: stream.writableLength }, "control client reads too slowly; disconnected");
      close();
      stream.destroy();
      return;
    }
    stream.write(`${JSON.stringify(message)}\n`);
  };

  let subscribed = false;
  const subscribe = (id: RequestId): void => {
    if (subscribed) return write({ id, ok: false, error: "already subscribed on this connection" });
    subscribed = true;
    write({ id, ok: true, snapshot: target.snapshot(), boards: target.boards() });
    cleanups.push(target.subscribe((event) => write({ event: "station", data: event })));
    // Boards changes are joined: a burst of records is one event and one snapshot.
    let changed = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    cleanups.push(
      target.subscribeBoards((event) => {
        if (event.type === "action") return write({ event: "boards", data: event });
        for (const name of event.boards) changed.add(name);
        timer ??= setTimeout(() => {
          timer = undefined;
          const boards = [...changed] as Extract<BoardsEvent, { type: "boards" }>["boards"];
          changed = new Set();
          write({ event: "boards", data: { type: "boards", boards }, boards: target.boards() });
        }, options.boardsDelayMs ?? 100);
      }),
    );
    cleanups.push(() => clearTimeout(timer));
    if (options.transmit) {
      let last = "";
      const tick = setInterval(() => {
        const state = options.transmit?.();
        const text = JSON.stringify(state);
        if (state && text !== last) {
          last = text;
          write({ event: "transmit", data: state });
        }
      }, options.transmitEveryMs ?? 1000);
      tick.unref?.();
      cleanups.push(() => clearInterval(tick));
    }
  };

  const handle = async (request: ControlRequest): Promise<void> => {
    const { id } = request;
    try {
      switch (request.op) {
        case "status":
        {
          const relay = options.relay?.();
          return write({ id, ok: true, status: relay ? { ...target.status(), relay } : target.status() });
        }
        case "boards":
          return write({ id, ok: true, boards: target.boards() });
        case "subscribe":
          return subscribe(id);
        case "send":
          return write({ id, ok: true, outcome: await target.send(request.send) });
        case "act":
          return write({ id, ok: true, outcome: await target.act(request.action) });
      }
    } catch (error) {
      log.warn({ err: error, op: request.op }, "control request failed");
      write({ id, ok: false, error: (error as Error).message ?? String(error) });
    }
  };

  const lines = new LineReader(MAX_LINE_BYTES);
  stream.on("data", (chunk: Buffer | string) => {
    for (const line of lines.push(chunk)) {
      if (line === undefined) {
        write({ id: null, ok: false, error: `request line longer than ${MAX_LINE_BYTES} bytes; skipped` });
        continue;
      }
      if (line.trim() === "") continue;
      const parsed = parseControlLine(line);
      if (!parsed.ok) write({ id: parsed.id, ok: false, error: parsed.error });
      else void handle(parsed.request);
    }
  });
  stream.on("error", (error) => {
    log.debug({ err: error }, "control connection error");
    close();
  });
  stream.on("close", close);
  stream.on("end", () => {
    close();
    stream.end();
  });
}

/** Splits a byte stream into lines of at most `max` bytes; an over-long line comes out as undefined, once. */
export class LineReader {
  private readonly decoder = new StringDecoder("utf8");
  private buffer = "";
  private skipping = false;
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  push(chunk: Buffer | string): Array<string | undefined> {
    const out: Array<string | undefined> = [];
    let text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    for (;;) {
      const newline = text.indexOf("\n");
      if (newline < 0) break;
      const piece = text.slice(0, newline);
      text = text.slice(newline + 1);
      if (this.skipping) {
        this.skipping = false;
        this.buffer = "";
        continue;
      }
      const line = this.buffer + piece;
      this.buffer = "";
      if (Buffer.byteLength(line) > this.max) out.push(undefined);
      else out.push(line.endsWith("\r") ? line.slice(0, -1) : line);
    }
    if (!this.skipping) {
      this.buffer += text;
      if (Buffer.byteLength(this.buffer) > this.max) {
        out.push(undefined);
        this.buffer = "";
        this.skipping = true;
      }
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// The client side: requests with replies matched by id, events to listeners, and a station view
// (snapshot, boards, events) kept from a subscription, for a console in another terminal.

export class ControlError extends Error {
  readonly code = "STATION_CONTROL";
  constructor(message: string) {
    super(message);
    this.name = "ControlError";
  }
}

export class ControlClient {
  private readonly stream: Duplex;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (reply: ControlReply & { ok: true }) => void; reject: (error: Error) => void }>();
  private readonly listeners = new Set<(event: ControlEvent) => void>();
  private readonly closeListeners = new Set<() => void>();
  private ended = false;

  constructor(stream: Duplex) {
    this.stream = stream;
    const lines = new LineReader(64 * 1024 * 1024);
    stream.on("data", (chunk: Buffer | string) => {
      for (const line of lines.push(chunk)) if (line) this.onLine(line);
    });
    const end = (): void => {
      if (this.ended) return;
      this.ended = true;
      for (const pending of this.waiting.values()) pending.reject(new ControlError("the station closed the connection"));
      this.waiting.clear();
      for (const listener of this.closeListeners) listener();
    };
    stream.on("close", end);
    stream.on("end", end);
    stream.on("error", end);
  }

  request(op: "status"): Promise<{ status: StationStatus }>;
  request(op: "boards"): Promise<{ boards: BoardsSnapshot }>;
  request(op: "subscribe"): Promise<{ snapshot: StationSnapshot; boards: BoardsSnapshot }>;
  request(op: "send", body: { send: OutgoingRequest }): Promise<{ outcome: SendOutcome }>;
  request(op: "act", body: { action: ActionRequest }): Promise<{ outcome: ActionOutcome }>;
  request(op: ControlRequest["op"], body: Record<string, unknown> = {}): Promise<unknown> {
    if (this.ended) return Promise.reject(new ControlError("the connection to the station is closed"));
    const id = this.nextId++;
    const line = op === "send" ? { id, op, ...sendLine(body["send"] as OutgoingRequest) } : { id, op, ...body };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.stream.write(`${JSON.stringify(line)}\n`);
    });
  }

  onEvent(listener: (event: ControlEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    this.stream.end();
  }

  private onLine(line: string): void {
    let message: ControlReply | ControlEvent;
    try {
      message = JSON.parse(line) as ControlReply | ControlEvent;
    } catch {
      return;
    }
    if ("event" in message) {
      for (const listener of this.listeners) listener(message);
      return;
    }
    const pending = typeof message.id === "number" ? this.waiting.get(message.id) : undefined;
    if (!pending || typeof message.id !== "number") return;
    this.waiting.delete(message.id);
    if (message.ok) pending.resolve(message);
    else pending.reject(new ControlError(message.error));
  }
}

/**
 * A station in another process, as the console sees one: the snapshot and boards from a
 * subscription, kept current by its events. Acts and sends through the connection.
 */
export class RemoteStation implements StationBoardsView {
  private readonly client: ControlClient;
  private current: StationSnapshot;
  private currentBoards: BoardsSnapshot;
  private transmitState: SchedulerState | undefined;
  private readonly listeners = new Set<(event: StationEvent) => void>();
  private readonly boardListeners = new Set<(event: BoardsEvent) => void>();
  private readonly feedSize: number;
  /** Events that came before the first snapshot was taken in (applied on top of it). */
  private early: ControlEvent[] | undefined = [];

  private constructor(client: ControlClient, first: { snapshot: StationSnapshot; boards: BoardsSnapshot }) {
    this.client = client;
    this.current = first.snapshot;
    this.currentBoards = first.boards;
    this.feedSize = Math.max(first.snapshot.recent.length, 200);
    client.onEvent((event) => this.onEvent(event));
  }

  /** Subscribes on `client` and resolves once the first snapshot is in. */
  static async attach(client: ControlClient): Promise<RemoteStation> {
    const station = new RemoteStation(client, { snapshot: emptySnapshot(), boards: { requests: [], incidents: [], shifts: [], handoffs: [], roster: [], asOf: 0 } });
    const first = await client.request("subscribe");
    station.current = first.snapshot;
    station.currentBoards = first.boards;
    const early = station.early ?? [];
    station.early = undefined;
    for (const event of early) station.onEvent(event);
    return station;
  }

  snapshot(): StationSnapshot {
    return { ...this.current, recent: [...this.current.recent] };
  }

  boards(): BoardsSnapshot {
    return this.currentBoards;
  }

  /** The station's transmit scheduler, as last told. */
  transmit(): SchedulerState | undefined {
    return this.transmitState;
  }

  subscribe(listener: (event: StationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribeBoards(listener: (event: BoardsEvent) => void): () => void {
    this.boardListeners.add(listener);
    return () => this.boardListeners.delete(listener);
  }

  async act(action: ActionRequest): Promise<ActionOutcome> {
    return (await this.client.request("act", { action })).outcome;
  }

  async send(request: OutgoingRequest): Promise<SendOutcome> {
    return (await this.client.request("send", { send: request })).outcome;
  }

  private onEvent(event: ControlEvent): void {
    if (this.early) {
      this.early.push(event);
      return;
    }
    switch (event.event) {
      case "station": {
        const data = event.data;
        if (data.type === "record") this.current = { ...this.current, recordCount: data.recordCount, recent: [data.record, ...this.current.recent].slice(0, this.feedSize) };
        else if (data.type === "radio") this.current = { ...this.current, radio: data.radio };
        else if (data.type === "suspect") this.current = { ...this.current, suspects: [...(this.current.suspects ?? []), data.flag].slice(-200) };
        else if (data.type === "delivery") {
          const at = this.current.recent.findIndex((record) => record.id.origin === data.id.origin && record.id.seq === data.id.seq);
          if (at >= 0) {
            const recent = [...this.current.recent];
            recent[at] = { ...(recent[at] as StationSnapshot["recent"][number]), delivery: data.delivery };
            this.current = { ...this.current, recent };
          }
        }
        for (const listener of this.listeners) listener(data);
        return;
      }
      case "boards":
        if (event.boards) this.currentBoards = event.boards;
        for (const listener of this.boardListeners) listener(event.data);
        return;
      case "transmit":
        this.transmitState = event.data;
        return;
    }
  }
}

/** A send request as the protocol writes it: `to` is a callsign, a node number or "channel". */
function sendLine(request: OutgoingRequest): Record<string, unknown> {
  const { to, ...rest } = request;
  if (to === undefined) return rest;
  return { ...rest, to: to === "channel" ? "channel" : "node" in to ? to.node : to.callsign };
}

function emptySnapshot(): StationSnapshot {
  return { name: "", radio: { status: "connecting", reason: "starting" }, recordCount: 0, recent: [] };
}

function readPlace(value: unknown): Place | undefined {
  if (!isObject(value)) return undefined;
  const finite = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n);
  if (Number.isInteger(value["landmark"]) && (value["landmark"] as number) >= 1 && (value["landmark"] as number) <= 255) return { landmark: value["landmark"] as number };
  if (finite(value["east"]) && finite(value["north"])) return { east: value["east"], north: value["north"] };
  if (finite(value["lat"]) && finite(value["lon"]) && Math.abs(value["lat"]) <= 90 && Math.abs(value["lon"]) <= 180) return { lat: value["lat"], lon: value["lon"] };
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isU32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}
