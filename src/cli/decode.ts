// `meshaid decode [--key BASE64PSK] <hex | @file>`: one JSON object per packet from
//  - a serial capture (frames `94 C3 len` + FromRadio, and the console text between them),
//  - a FromRadio payload (a frame without its 4-byte header),
//  - an on-air LoRa frame (16-byte header + AES-CTR with the channel key; default key AQ==).
// A file of hex text is read one capture per line; any other file is one binary capture.
import { readFileSync } from "node:fs";
import {
  AIR_HEADER_BYTES,
  airNonce,
  cryptAirPayload,
  dataToJson,
  decodeData,
  decodeFromRadio,
  decodeToRadio,
  checkRecordPort,
  DEFAULT_RECORD_PORT,
  expandChannelKey,
  FrameDecoder,
  fromRadioToJson,
  PortNum,
  parseAirHeader,
  payloadToJson,
  portName,
  toRadioToJson,
  airFlags,
  type AirHeader,
  type Data,
} from "../radio/index.ts";
import { decodePayload, describeRecord, labelledRecord, type Codebook } from "../wire/index.ts";
import { DEFAULT_CODEBOOK_FILE, readCodebook } from "./field-config.ts";

export interface DecodeOptions {
  /** The channel PSK in base64 as in a channel URL (AQ== is the default key). */
  key?: string;
  /** Force how the bytes are read instead of guessing. */
  as?: "serial" | "from-radio" | "air";
  /** Meshaid records on this port are shown through `records` (default 300, the field protocol's port). */
  recordPort?: number;
  /** Decodes a meshaid payload into records (default: the field protocol with `codebook`). */
  records?: (payload: Uint8Array, from: number) => unknown;
  /** The codebook file for meshaid records (default firmware-config/codebook.yaml), read when first needed. */
  codebook?: string;
}

/** Meshaid records as the field protocol reads them, each with its codes, labels and words. */
export function wireRecords(codebook: Codebook): (payload: Uint8Array, from: number) => unknown {
  return (payload, from) => {
    const decoded = decodePayload(payload, codebook, from);
    if (!decoded.ok) return { error: decoded.error.message, code: decoded.error.code };
    return {
      ...(decoded.value.codebookMatches === undefined ? {} : { codebookMatches: decoded.value.codebookMatches }),
      records: decoded.value.records.map((record) => ({
        id: { origin: hex32(record.id.origin), seq: record.id.seq },
        text: describeRecord(record.body, { codebook }),
        ...labelledRecord(record.body, { codebook }),
      })),
    };
  };
}

type Json = Record<string, unknown>;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
const hex8 = (n: number): string => `0x${(n & 0xff).toString(16).padStart(2, "0")}`;

export class DecodeInputError extends Error {
  readonly code = "DECODE_BAD_INPUT";
}

/** Turns `<hex | @file>` into captures (one per hex line, or one binary file). */
export function readInput(input: string): Uint8Array[] {
  if (input.startsWith("@")) {
    const file = input.slice(1);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new DecodeInputError(`cannot read ${file}: ${(error as Error).message}. Give a hex string or @file.`);
    }
    const text = bytes.toString("latin1");
    if (/^[\s0-9a-fA-F:x,]*$/.test(text) && /[0-9a-fA-F]/.test(text)) {
      return text
        .split(/\r?\n/)
        .filter((line) => line.trim() !== "")
        .map((line, index) => parseHex(line, `${file} line ${index + 1}`));
    }
    return [new Uint8Array(bytes)];
  }
  return [parseHex(input, "the argument")];
}

function parseHex(text: string, where: string): Uint8Array {
  const digits = text.replace(/0x/gi, "").replace(/[\s:,]/g, "");
  if (!/^[0-9a-fA-F]*$/.test(digits) || digits.length % 2 !== 0 || digits.length === 0) {
    throw new DecodeInputError(`${where} is not hex bytes (e.g. "94c3000240 01"). Give a hex string or @file.`);
  }
  return new Uint8Array(Buffer.from(digits, "hex"));
}

/** Decodes one capture into one JSON object per packet (or log line). */
export function decodeCapture(bytes: Uint8Array, options: DecodeOptions = {}): Json[] {
  const psk = options.key === undefined ? Uint8Array.of(1) : new Uint8Array(Buffer.from(options.key, "base64"));
  const key = expandChannelKey(psk);
  const as = options.as ?? guess(bytes, key, options);
  switch (as) {
    case "serial":
      return decodeSerial(bytes, options);
    case "from-radio":
      return [fromRadioObject(bytes, options)];
    case "air":
      return [airObject(bytes, key, options)];
  }
}

function guess(bytes: Uint8Array, key: Uint8Array | undefined, options: DecodeOptions): "serial" | "from-radio" | "air" {
  if (bytes[0] === 0x94 && bytes[1] === 0xc3) return "serial";
  if (containsFrameStart(bytes) && isText(bytes[0] ?? 0)) return "serial";
  const air = bytes.length > AIR_HEADER_BYTES ? tryAir(bytes, key, options) : undefined;
  if (air && !("error" in air)) return "air";
  if (cleanFromRadio(bytes)) return "from-radio";
  return bytes.length >= AIR_HEADER_BYTES ? "air" : "from-radio";
}

function containsFrameStart(bytes: Uint8Array): boolean {
  for (let i = 0; i + 1 < bytes.length; i++) if (bytes[i] === 0x94 && bytes[i + 1] === 0xc3) return true;
  return false;
}

function isText(byte: number): boolean {
  return byte === 0x1b || byte === 0x0a || byte === 0x0d || (byte >= 0x20 && byte < 0x7f);
}

function cleanFromRadio(bytes: Uint8Array): boolean {
  try {
    const message = decodeFromRadio(bytes) as { payloadVariant: { case?: string }; $unknown?: unknown[] };
    return message.payloadVariant.case !== undefined && (message.$unknown?.length ?? 0) === 0;
  } catch {
    return false;
  }
}

// --- serial captures ---------------------------------------------------------------------------

function decodeSerial(bytes: Uint8Array, options: DecodeOptions): Json[] {
  const decoder = new FrameDecoder();
  const out: Json[] = [];
  for (const event of [...decoder.push(bytes), ...decoder.flush()]) {
    if (event.type === "log") out.push({ kind: "log", line: event.line });
    else if (event.type === "discard") out.push({ kind: "discard", reason: event.reason, length: event.length });
    else out.push(fromRadioObject(event.payload, options));
  }
  return out;
}

function fromRadioObject(payload: Uint8Array, options: DecodeOptions): Json {
  if (cleanFromRadio(payload) || !cleanToRadio(payload)) {
    try {
      const json = fromRadioToJson(payload) as Json;
      const object: Json = { kind: "fromRadio", hex: hex(payload), fromRadio: json };
      const message = decodeFromRadio(payload);
      if (message.payloadVariant.case === "packet" && message.payloadVariant.value.payloadVariant.case === "decoded") {
        Object.assign(object, portFields(message.payloadVariant.value.payloadVariant.value, message.payloadVariant.value.from, options));
      }
      return object;
    } catch (error) {
      return { kind: "fromRadio", hex: hex(payload), error: `not a FromRadio: ${(error as Error).message}` };
    }
  }
  const object: Json = { kind: "toRadio", hex: hex(payload), toRadio: toRadioToJson(payload) };
  const message = decodeToRadio(payload);
  if (message.payloadVariant.case === "packet" && message.payloadVariant.value.payloadVariant.case === "decoded") {
    Object.assign(object, portFields(message.payloadVariant.value.payloadVariant.value, message.payloadVariant.value.from, options));
  }
  return object;
}

function cleanToRadio(bytes: Uint8Array): boolean {
  try {
    const message = decodeToRadio(bytes) as { payloadVariant: { case?: string }; $unknown?: unknown[] };
    return (message.$unknown?.length ?? 0) === 0;
  } catch {
    return false;
  }
}

// --- on-air frames -----------------------------------------------------------------------------

function tryAir(bytes: Uint8Array, key: Uint8Array | undefined, options: DecodeOptions): Json | undefined {
  let header: AirHeader;
  try {
    header = parseAirHeader(bytes);
  } catch {
    return undefined;
  }
  const body = bytes.subarray(AIR_HEADER_BYTES);
  const object: Json = { kind: "air", hex: hex(bytes), len: bytes.length, header: headerJson(header) };
  if (header.channelHash === 0 && header.to !== 0xffffffff) {
    // PKI direct message: ciphertext ‖ 8-byte tag ‖ 4-byte extra nonce, AES-256-CCM with an X25519 key.
    return { ...object, pki: true, error: "a PKI direct message: it needs the recipient's private key, not a channel key" };
  }
  const plaintext = key ? cryptAirPayload(key, header.id, header.from, body) : body;
  if (key) object["aesCtrNonce"] = hex(airNonce(header.id, header.from));
  object["plaintextHex"] = hex(plaintext);
  let data: Data;
  try {
    data = decodeData(plaintext);
  } catch (error) {
    return { ...object, error: `the payload does not decrypt to a Data message with this key (${(error as Error).message}); try --key` };
  }
  if (data.portnum === 0) return { ...object, error: "the payload decrypts to portnum 0: wrong channel key; try --key" };
  object["data"] = dataToJson(plaintext);
  Object.assign(object, portFields(data, header.from, options));
  return object;
}

function airObject(bytes: Uint8Array, key: Uint8Array | undefined, options: DecodeOptions): Json {
  return tryAir(bytes, key, options) ?? { kind: "air", hex: hex(bytes), error: `an on-air frame has a ${AIR_HEADER_BYTES}-byte header; this has ${bytes.length} bytes` };
}

function headerJson(header: AirHeader): Json {
  return {
    to: hex32(header.to),
    from: hex32(header.from),
    id: hex32(header.id),
    flags: hex8(airFlags(header)),
    hopLimit: header.hopLimit,
    wantAck: header.wantAck,
    viaMqtt: header.viaMqtt,
    hopStart: header.hopStart,
    channelHash: hex8(header.channelHash),
    nextHop: hex8(header.nextHop),
    relayNode: hex8(header.relayNode),
  };
}

// --- what is inside a Data -----------------------------------------------------------------------

function portFields(data: Data, from: number, options: DecodeOptions): Json {
  const fields: Json = { port: portName(data.portnum) };
  if (data.portnum === PortNum.TEXT_MESSAGE_APP) {
    fields["text"] = new TextDecoder().decode(data.payload);
    return fields;
  }
  if (data.portnum === (options.recordPort ?? DEFAULT_RECORD_PORT)) {
    fields["meshaid"] = (options.records ?? defaultRecords(options))(data.payload, from);
    return fields;
  }
  try {
    const inner = payloadToJson(data.portnum, data.payload);
    if (inner !== undefined) fields["inner"] = inner;
  } catch (error) {
    fields["innerError"] = `the ${portName(data.portnum)} payload does not decode: ${(error as Error).message}`;
  }
  return fields;
}

function defaultRecords(options: DecodeOptions): (payload: Uint8Array, from: number) => unknown {
  const decode = wireRecords(readCodebook(options.codebook ?? DEFAULT_CODEBOOK_FILE));
  options.records = decode; // read the codebook once per run
  return decode;
}

/** The command: prints one JSON object a line; 0 on success, 1 when the input is not bytes. */
export function runDecode(
  input: string,
  cliOptions: Omit<DecodeOptions, "recordPort"> & { recordPort?: number | string },
  write: (line: string) => void,
  fail: (line: string) => void,
): number {
  let captures: Uint8Array[];
  let options: DecodeOptions;
  try {
    captures = readInput(input);
    if (cliOptions.key !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(cliOptions.key)) {
      throw new DecodeInputError(`--key ${cliOptions.key} is not base64 (e.g. AQ== for the default key).`);
    }
    const { recordPort, ...rest } = cliOptions;
    options = recordPort === undefined ? rest : { ...rest, recordPort: checkRecordPort(recordPort) };
  } catch (error) {
    fail(`meshaid: ${(error as Error).message}`);
    return 1;
  }
  try {
    for (const capture of captures) for (const object of decodeCapture(capture, options)) write(JSON.stringify(object));
  } catch (error) {
    // a codebook that cannot be read or parsed (ConfigFileError, WireError): one line, what to fix
    fail(`meshaid: ${(error as Error).message}`);
    return 1;
  }
  return 0;
}
