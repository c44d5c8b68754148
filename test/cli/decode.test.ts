// `meshaid decode` against the golden vectors of ../shared/reference/meshtastic-vectors.json (a
// verbatim copy lives in test/fixtures so the tests run from the repository alone):
// every on-air frame marked OK decodes to every field given there; FromRadio payloads and
// frames decode to what the schema says; serial captures keep their log text.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeCapture, readInput, runDecode } from "../../src/cli/decode.ts";
import { readCodebook, DEFAULT_CODEBOOK_FILE } from "../../src/cli/field-config.ts";
import { DEFAULT_CHANNEL_KEY, DEFAULT_RECORD_PORT, encodeAirFrame, encodeAirHeader, encodeData } from "../../src/radio/index.ts";
import { encodePayload } from "../../src/wire/index.ts";
import { tempDir } from "../helpers/tmp.ts";

interface OnAirVector {
  hex: string;
  len: number;
  status: string;
  header: Record<string, unknown>;
  aesCtrNonce?: string;
  plaintextHex?: string;
  data?: Record<string, unknown>;
  inner?: Record<string, unknown>;
  text?: string;
}

interface Vectors {
  onAir: OnAirVector[];
  mqtt: Array<{ serviceEnvelopeJson: { packet: { from: number; id: number } }; encryptedHex: string; aesCtrNonce: string; plaintextHex: string }>;
  fromRadioPayloads: Array<{ label: string; hex: string; framed: string; decodedWith2_7_18: Record<string, unknown> }>;
  frames: Array<{ label: string; bytes: string }>;
}

const VECTORS = new URL("../fixtures/meshtastic-vectors.json", import.meta.url);
const vectors = JSON.parse(readFileSync(VECTORS, "utf8")) as Vectors;
const ok = vectors.onAir.filter((v) => v.status === "OK");

const one = (hex: string, options = {}): Record<string, unknown> => {
  const objects = decodeCapture(readInput(hex)[0]!, options);
  expect(objects).toHaveLength(1);
  return objects[0]!;
};

describe("meshaid decode: on-air frames", () => {
  it("has the 68 OK vectors the reference promises", () => {
    expect(ok).toHaveLength(68);
  });

  it.each(ok.map((v, i) => [i, v] as const))("vector %i decodes to every field the reference gives", (_i, vector) => {
    const decoded = one(vector.hex);
    expect(decoded["kind"]).toBe("air");
    expect(decoded["len"]).toBe(vector.len);
    expect(decoded["header"]).toEqual(vector.header);
    expect(decoded["aesCtrNonce"]).toBe(vector.aesCtrNonce);
    expect(decoded["plaintextHex"]).toBe(vector.plaintextHex);
    expect(decoded["data"]).toEqual(vector.data);
    if (vector.inner) expect(decoded["inner"]).toEqual(vector.inner);
    if (vector.text !== undefined) expect(decoded["text"]).toBe(vector.text);
    expect(decoded["port"]).toBe(vector.data?.["portnum"]);
  });

  it("says which frames it cannot read instead of inventing fields", () => {
    const pki = vectors.onAir.find((v) => v.status.startsWith("PKI"))!;
    expect(one(pki.hex)).toMatchObject({ kind: "air", pki: true, header: pki.header });
    const garbled = vectors.onAir.find((v) => v.status.startsWith("DECRYPTS BUT"))!;
    const decoded = one(garbled.hex, { as: "air" });
    expect(decoded).toMatchObject({ kind: "air", header: garbled.header, plaintextHex: garbled.plaintextHex });
    expect(decoded["error"]).toMatch(/key/);
    expect(decoded["data"]).toBeUndefined();
    // the right frame with the wrong key
    expect(one(ok[0]!.hex, { key: "Ag==", as: "air" })["error"]).toMatch(/try --key/);
  });

  it("decrypts with a given key: the MQTT vector re-framed on air with --key 1PG7OiApB1nwvP+rz05pAQ==", () => {
    const m = vectors.mqtt[0]!;
    const header = encodeAirHeader({ to: 0xffffffff, from: m.serviceEnvelopeJson.packet.from, id: m.serviceEnvelopeJson.packet.id, hopLimit: 3, hopStart: 3, wantAck: false, viaMqtt: false, channelHash: 8, nextHop: 0, relayNode: 0 });
    const frame = Buffer.concat([header, Buffer.from(m.encryptedHex, "hex")]).toString("hex");
    const decoded = one(frame, { key: "1PG7OiApB1nwvP+rz05pAQ==" });
    expect(decoded).toMatchObject({ aesCtrNonce: m.aesCtrNonce, plaintextHex: m.plaintextHex, port: "NODEINFO_APP" });
    expect(decoded["inner"]).toMatchObject({ id: "!fa8165a4", longName: "Meshtastic 65a4", shortName: "65a4", hwModel: "HELTEC_V3" });
  });
});

describe("meshaid decode: meshaid records", () => {
  it("shows the records of a meshaid payload on the record port, with codes, labels and words", () => {
    const codebook = readCodebook(DEFAULT_CODEBOOK_FILE);
    const payload = encodePayload([{ seq: 7, body: { kind: "supply_request", lines: [{ item: "water", quantity: 20 }], priority: "urgent" } }], codebook, { origin: 0x9e3b7a42 });
    if (!payload.ok) throw payload.error;
    const data = encodeData({ portnum: DEFAULT_RECORD_PORT, payload: payload.value, bitfield: 1 });
    const frame = encodeAirFrame({ to: 0xffffffff, from: 0x9e3b7a42, id: 0x1234abcd, hopLimit: 3, hopStart: 3, wantAck: false, viaMqtt: false, channelHash: 0x08, nextHop: 0, relayNode: 0x42 }, data, DEFAULT_CHANNEL_KEY);
    const decoded = one(Buffer.from(frame).toString("hex"));
    expect(decoded).toMatchObject({ kind: "air", port: "300" });
    expect(decoded["meshaid"]).toMatchObject({
      records: [{ id: { origin: "0x9e3b7a42", seq: 7 }, kind: "supply_request", lines: [{ item: { name: "water", label: "drinking water" }, quantity: 20 }] }],
    });
    expect((decoded["meshaid"] as { records: Array<{ text: string }> }).records[0]!.text).toMatch(/drinking water ×20/);
    // a foreign payload on the same port is named, not guessed at
    const foreign = encodeAirFrame({ to: 0xffffffff, from: 0x9e3b7a42, id: 0x1234abce, hopLimit: 3, hopStart: 3, wantAck: false, viaMqtt: false, channelHash: 0x08, nextHop: 0, relayNode: 0x42 }, encodeData({ portnum: DEFAULT_RECORD_PORT, payload: Uint8Array.of(1, 2, 3) }), DEFAULT_CHANNEL_KEY);
    expect(one(Buffer.from(foreign).toString("hex"))["meshaid"]).toMatchObject({ code: "WIRE_FOREIGN" });
  });
});

describe("meshaid decode --record-port", () => {
  it("reads meshaid records on the port given, and refuses one that is not a free private port in one line", () => {
    const codebook = readCodebook(DEFAULT_CODEBOOK_FILE);
    const payload = encodePayload([{ seq: 9, body: { kind: "checkin", status: "ok", battery: 55 } }], codebook, { origin: 0x9e3b7a42 });
    if (!payload.ok) throw payload.error;
    const frame = encodeAirFrame({ to: 0xffffffff, from: 0x9e3b7a42, id: 0x1234abcf, hopLimit: 3, hopStart: 3, wantAck: false, viaMqtt: false, channelHash: 0x08, nextHop: 0, relayNode: 0x42 }, encodeData({ portnum: 287, payload: payload.value }), DEFAULT_CHANNEL_KEY);
    const hex = Buffer.from(frame).toString("hex");
    const run = (options: { recordPort?: string }): { code: number; out: string[]; err: string[] } => {
      const out: string[] = [];
      const err: string[] = [];
      const code = runDecode(hex, options, (line) => out.push(line), (line) => err.push(line));
      return { code, out, err };
    };
    const mine = run({ recordPort: "287" });
    expect(mine.code).toBe(0);
    expect(JSON.parse(mine.out[0]!)).toMatchObject({ port: "287", meshaid: { records: [{ id: { seq: 9 }, kind: "checkin" }] } });
    expect((JSON.parse(run({}).out[0]!) as Record<string, unknown>)["meshaid"]).toBeUndefined(); // port 287 is not the default 300
    expect(run({ recordPort: "1" })).toEqual({ code: 1, out: [], err: ["meshaid: Record port 1 is not a free Meshtastic private port: use one of 258..511 (default 300), the same at every station."] });
  });
});

describe("meshaid decode: FromRadio payloads and serial captures", () => {
  const modern = vectors.fromRadioPayloads.filter((v) => !/legacy/.test(v.label));

  it.each(modern.map((v) => [v.label, v] as const))("FromRadio payload %s", (_label, vector) => {
    expect(one(vector.hex)).toMatchObject({ kind: "fromRadio", fromRadio: vector.decodedWith2_7_18 });
    expect(one(vector.framed)).toMatchObject({ kind: "fromRadio", fromRadio: vector.decodedWith2_7_18 });
  });

  it("reads the canonical frames: FromRadio from the radio, ToRadio from the host", () => {
    const frame = (label: RegExp): string => vectors.frames.find((f) => label.test(f.label))!.bytes;
    expect(one(frame(/^FromRadio\{rebooted/))).toMatchObject({ kind: "fromRadio", fromRadio: { rebooted: true } });
    expect(one(frame(/queueStatus:\{res:0,free:15/))).toMatchObject({ fromRadio: { queueStatus: { free: 15, maxlen: 16, meshPacketId: 0x0a0b0c0d } } });
    expect(one(frame(/NAK MAX_RETRANSMIT/))).toMatchObject({ port: "ROUTING_APP", inner: { errorReason: "MAX_RETRANSMIT" } });
    expect(one(frame(/received broadcast text "halo"/))).toMatchObject({ port: "TEXT_MESSAGE_APP", text: "halo" });
    expect(one(frame(/^ToRadio\{want_config_id: 0x12345678/))).toMatchObject({ kind: "toRadio", toRadio: { wantConfigId: 0x12345678 } });
    expect(one(frame(/^ToRadio\{packet: broadcast TEXT "hello"/))).toMatchObject({ kind: "toRadio", text: "hello" });
  });

  it("splits a serial capture into log lines and packets, even with 0x94 inside the text", async () => {
    const capture = Buffer.concat([
      Buffer.from("\x1b[32mINFO \x1b[0m| ??:??:?? 3 [Main] boot — ok\r\n", "utf8"),
      Buffer.from("94c300024001", "hex"),
      Buffer.from("DEBUG | 12:00:01 4 [Router] tx\r\n"),
      Buffer.from("94c3000638a5d7ccf209", "hex"),
    ]);
    const dir = await tempDir();
    try {
      const file = join(dir.path, "capture.bin");
      writeFileSync(file, capture);
      const objects = decodeCapture(readInput(`@${file}`)[0]!);
      expect(objects).toEqual([
        { kind: "log", line: "INFO | ??:??:?? 3 [Main] boot — ok" },
        { kind: "fromRadio", hex: "4001", fromRadio: { rebooted: true } },
        { kind: "log", line: "DEBUG | 12:00:01 4 [Router] tx" },
        { kind: "fromRadio", hex: "38a5d7ccf209", fromRadio: { configCompleteId: 2656250789 } },
      ]);
    } finally {
      await dir.remove();
    }
  });

  it("runs as a command: a hex file is one capture per line, bad input is one clear line", async () => {
    const dir = await tempDir();
    try {
      const file = join(dir.path, "frames.txt");
      writeFileSync(file, `${ok[0]!.hex}\n\n${ok[1]!.hex}\n`);
      const bin = new URL("../../src/cli/bin.js", import.meta.url).pathname;
      const run = spawnSync(process.execPath, [bin, "decode", `@${file}`], { encoding: "utf8" });
      expect(run.status).toBe(0);
      const lines = run.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.map((l) => l["header"])).toEqual([ok[0]!.header, ok[1]!.header]);
      const bad = spawnSync(process.execPath, [bin, "decode", "xyz"], { encoding: "utf8" });
      expect(bad.status).toBe(1);
      expect(bad.stderr).toBe('meshaid: the argument is not hex bytes (e.g. "94c3000240 01"). Give a hex string or @file.\n');
    } finally {
      await dir.remove();
    }
  });
});
