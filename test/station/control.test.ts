// The control protocol: its line parser (property tests: a malformed line is an error, never a
// crash) and a real station served over a real Unix socket.
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { Level } from "level";
import pino from "pino";
import {
  ControlClient,
  LineReader,
  parseControlLine,
  parseDecisionRights,
  RemoteStation,
  serveControl,
  Station,
  TransmitScheduler,
  type BoardsEvent,
  type StationEvent,
} from "../../src/station/index.ts";
import { AuditTrail, RecordStore, SendLog } from "../../src/store/index.ts";
import type { RadioSender } from "../../src/radio/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, configText, presets, site } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const logger = pino({ level: "silent" });
const BASE = 0xba5e0001;
const MEDIC = 0x2a6f1c02;

describe("parseControlLine", () => {
  it("never throws: any line is a request or an error naming what is wrong", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((value) => JSON.stringify(value))), (line) => {
        const parsed = parseControlLine(line);
        if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on requests with the right op and arbitrary fields", () => {
    const ops = fc.constantFrom("status", "boards", "subscribe", "send", "act", "nope");
    fc.assert(
      fc.property(ops, fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue(), (op, fields, action) => {
        const parsed = parseControlLine(JSON.stringify({ ...fields, op, action }));
        if (parsed.ok) expect(parsed.request.op).toBe(op);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads each op, and names what is wrong", () => {
    expect(parseControlLine('{"id":1,"op":"status"}')).toEqual({ ok: true, request: { id: 1, op: "status" } });
    expect(parseControlLine('{"op":"send","text":"NEED WATER","to":"M1"}')).toEqual({ ok: true, request: { id: null, op: "send", send: { text: "NEED WATER", to: { callsign: "M1" } } } });
    expect(parseControlLine('{"id":"a","op":"send","text":"hi","to":"channel"}')).toMatchObject({ ok: true, request: { send: { to: "channel" } } });
    expect(parseControlLine('{"id":2,"op":"act","action":{"verb":"dispatch","actor":{"callsign":"C1","role":"coordinator"},"target":{"origin":1,"seq":2},"etaMin":8}}')).toEqual({
      ok: true,
      request: { id: 2, op: "act", action: { verb: "dispatch", actor: { callsign: "C1", role: "coordinator" }, target: { origin: 1, seq: 2 }, etaMin: 8 } },
    });
    expect(parseControlLine("{nope")).toMatchObject({ ok: false, id: null, error: expect.stringMatching(/^not JSON/) as unknown });
    expect(parseControlLine("[1]")).toEqual({ ok: false, id: null, error: "a request is a JSON object with an `op`" });
    expect(parseControlLine('{"id":3,"op":"fly"}')).toEqual({ ok: false, id: 3, error: 'unknown op "fly": one of status, boards, subscribe, send, act' });
    expect(parseControlLine('{"id":4,"op":"send"}')).toEqual({ ok: false, id: 4, error: "send: give `text` or `bodies`" });
    expect(parseControlLine('{"id":5,"op":"act","action":{"verb":"fly","actor":{}}}')).toMatchObject({ ok: false, id: 5, error: expect.stringMatching(/^act: unknown verb "fly"/) as unknown });
    expect(parseControlLine('{"id":{},"op":"status"}')).toEqual({ ok: false, id: null, error: "`id` must be a number or a string" });
  });
});

describe("LineReader", () => {
  it("gives back the same lines however the bytes are cut, and one undefined per over-long line", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 30 }).filter((line) => !line.includes("\n") && !line.endsWith("\r"))), fc.array(fc.nat(), { maxLength: 8 }), (lines, cuts) => {
        const bytes = Buffer.from(lines.map((line) => `${line}\n`).join(""));
        const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
        const reader = new LineReader(40);
        const out: Array<string | undefined> = [];
        let from = 0;
        for (const point of [...points, bytes.length]) {
          out.push(...reader.push(bytes.subarray(from, point)));
          from = point;
        }
        expect(out).toEqual(lines.map((line) => (Buffer.byteLength(line) > 40 ? undefined : line)));
      }),
    );
  });
});

describe("the control socket", () => {
  const dir = useTempDir();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function serve(): Promise<{ station: Station; radio: ScriptedRadio; path: string }> {
    const db = new Level<string, Uint8Array>(join(dir.path, "db"), { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const audit = await AuditTrail.open(db);
    const sends = await SendLog.open(db);
    const radio = new ScriptedRadio();
    const sender: RadioSender = { send: () => Promise.resolve("r1") };
    const scheduler = new TransmitScheduler({ sender, minIntervalMs: 0, dutyCycle: 1 });
    const rights = parseDecisionRights(configText("decision-rights.yaml"), codebook);
    const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger, audit, rights, scheduler, sends });
    await station.start();
    radio.emit({ type: "my-node", num: BASE });
    const path = join(dir.path, "meshaid.sock");
    const connections = new Set<Socket>();
    const server: Server = createServer((socket) => {
      connections.add(socket);
      serveControl(socket, station, { logger, transmit: () => scheduler.state(), transmitEveryMs: 20, boardsDelayMs: 5 });
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    cleanups.push(async () => {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      scheduler.close();
      await station.stop();
      await sends.flush();
      await store.close();
    });
    return { station, radio, path };
  }

  async function connect(path: string): Promise<ControlClient> {
    const socket = createConnection(path);
    await new Promise((resolve) => socket.once("connect", resolve));
    const client = new ControlClient(socket);
    cleanups.push(() => client.close());
    return client;
  }

  it("answers status, send and act, and errors for bad lines without closing", async () => {
    const { radio, station, path } = await serve();
    radio.hear(MEDIC, 0x100, "NEED WATER");
    await station.idle();
    const client = await connect(path);
    const { status } = await client.request("status");
    expect(status).toMatchObject({ name: "Base", origin: BASE, recordCount: 1, boards: { requests: { open: 1 } }, transmit: { airtimeUsedMs: 0 } });

    const sent = await client.request("send", { send: { text: "INJURED 1" } });
    expect(sent.outcome).toMatchObject({ ok: true, records: [{ origin: BASE, seq: 1 }], read: "preset" });
    const acted = await client.request("act", { action: { verb: "acknowledge", actor: { callsign: "C1", role: "coordinator" }, target: { origin: MEDIC, seq: 0x100 } } });
    expect(acted.outcome).toMatchObject({ ok: true, record: { origin: BASE, seq: 2 } });
    expect(station.boards().requests[0]?.state).toBe("acknowledged");

    // Raw lines on the same kind of socket: garbage gets an error line, the connection lives on.
    const raw = createConnection(path);
    cleanups.push(() => void raw.destroy());
    let replies = "";
    raw.on("data", (chunk: Buffer) => (replies += chunk.toString()));
    raw.write('not json\n{"id":7,"op":"dance"}\n' + "x".repeat(300_000) + '\n{"id":8,"op":"status"}\n');
    await expect.poll(() => replies.split("\n").filter(Boolean).length).toBe(4);
    const lines = replies.split("\n").filter(Boolean).map((line) => JSON.parse(line) as { id: unknown; ok: boolean; error?: string });
    expect(lines.map((line) => [line.id, line.ok])).toEqual([
      [null, false],
      [7, false],
      [null, false],
      [8, true],
    ]);
    expect(lines[2]?.error).toMatch(/longer than/);
  });

  it("answers every line with one reply, whatever the line, and keeps serving (property)", async () => {
    const { path } = await serve();
    const socket = createConnection(path);
    cleanups.push(() => void socket.destroy());
    await new Promise((resolve) => socket.once("connect", resolve));
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
    const replies = (): Array<{ id?: unknown; ok?: boolean; event?: string }> =>
      received
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { id?: unknown; ok?: boolean; event?: string })
        .filter((message) => message.event === undefined);
    const op = fc.constantFrom("status", "boards", "send", "act", "fly");
    const line = fc.oneof(
      fc.string({ maxLength: 40 }).map((text) => text.replace(/[\r\n]/g, " ")),
      fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
      fc.record({ op, text: fc.string({ maxLength: 30 }), to: fc.jsonValue({ maxDepth: 1 }), action: fc.jsonValue({ maxDepth: 2 }), bodies: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: ["op"] }).map((value) => JSON.stringify(value)),
    );
    let expected = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 5 }), async (lines) => {
        const nonEmpty = lines.filter((text) => text.trim() !== "");
        socket.write(lines.map((text) => `${text}\n`).join(""));
        expected += nonEmpty.length;
        await expect.poll(() => replies().length, { timeout: 5_000 }).toBe(expected);
      }),
      { numRuns: 60 },
    );
    socket.write('{"id":"last","op":"status"}\n');
    await expect.poll(() => replies().at(-1)).toMatchObject({ id: "last", ok: true });
  });

  it("streams station and boards events to a subscriber; a RemoteStation keeps the console's view", async () => {
    const { radio, station, path } = await serve();
    radio.hear(MEDIC, 0x100, "NEED WATER");
    await station.idle();
    const remote = await RemoteStation.attach(await connect(path));
    expect(remote.snapshot()).toMatchObject({ name: "Base", recordCount: 1, recent: [{ id: { origin: MEDIC, seq: 0x100 } }] });
    expect(remote.boards().requests).toHaveLength(1);
    const events: StationEvent[] = [];
    const boardsEvents: BoardsEvent[] = [];
    remote.subscribe((event) => events.push(event));
    remote.subscribeBoards((event) => boardsEvents.push(event));

    radio.hear(MEDIC, 0x200, "HEAT CASE");
    await expect.poll(() => events.some((event) => event.type === "record")).toBe(true);
    await expect.poll(() => remote.boards().incidents.length).toBe(1);
    expect(boardsEvents).toContainEqual({ type: "boards", boards: ["incidents"] });
    expect(remote.snapshot().recordCount).toBe(2);

    const outcome = await remote.act({ verb: "dispatch", actor: { callsign: "C1", role: "coordinator" }, target: { origin: MEDIC, seq: 0x100 }, etaMin: 8 });
    expect(outcome.ok).toBe(true);
    await expect.poll(() => remote.boards().requests[0]?.state).toBe("en_route");
    expect(boardsEvents.some((event) => event.type === "action" && event.outcome.ok)).toBe(true);
    await expect.poll(() => events.some((event) => event.type === "delivery")).toBe(true);
    await expect.poll(() => remote.transmit()?.airtimeUsedMs ?? 0).toBeGreaterThan(0);
    expect(await remote.send({ text: "ETA 5", to: { callsign: "NOPE" } })).toMatchObject({ ok: false });
  });
});
