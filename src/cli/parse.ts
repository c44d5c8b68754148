// `meshaid parse "<text>"`: how the station would read a preset or a typed line: the records,
// their wire bytes and count, and the confidence. An operator checks presets and phrasing with it.
import { existsSync } from "node:fs";
import { CONFIDENT, describeRecord, labelledRecord, packRecords, parseText, WireError, type Codebook, type RecordBody, type SitePlan } from "../wire/index.ts";
import type { ParseOptions } from "./main.ts";
import { ConfigFileError, DEFAULT_CODEBOOK_FILE, DEFAULT_SITE_FILE, readCodebook, readPresetTable, readSitePlan } from "./field-config.ts";
import { DEFAULT_PRESETS_FILE } from "./paths.ts";

/** The sequence number the printed bytes use (a real sender numbers its own records). */
const EXAMPLE_SEQ = 1;

function wire(bodies: readonly RecordBody[], codebook: Codebook): { bytes: number; hex: string } | { error: string } {
  const packed = packRecords(bodies.map((body, index) => ({ seq: EXAMPLE_SEQ + index, body })), codebook);
  if (!packed.ok) return { error: packed.error.message };
  return { bytes: packed.value.reduce((sum, payload) => sum + payload.length, 0), hex: packed.value.map((payload) => Buffer.from(payload).toString("hex")).join(" ") };
}

export function runParse(text: string, options: ParseOptions): number {
  // `meshaid parse ... | head` closes the pipe early: that is not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  let codebook: Codebook;
  let site: SitePlan | undefined;
  let presets;
  try {
    codebook = readCodebook(options.codebook ?? DEFAULT_CODEBOOK_FILE);
    const siteFile = options.site ?? (existsSync(DEFAULT_SITE_FILE) ? DEFAULT_SITE_FILE : undefined);
    site = siteFile === undefined ? undefined : readSitePlan(siteFile);
    presets = readPresetTable(options.presets ?? DEFAULT_PRESETS_FILE, codebook);
  } catch (error) {
    if (error instanceof WireError || error instanceof ConfigFileError) {
      process.stderr.write(`meshaid: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const parsed = parseText(text, { codebook, presets, ...(site ? { site } : {}) });
  const confident = parsed.records.length > 0 && parsed.confidence >= CONFIDENT;
  // What the station files: the records when confident, else the text as a plain message.
  const records: RecordBody[] = confident ? parsed.records : [{ kind: "message", text }];
  const describe = { codebook, ...(site ? { site } : {}) };
  const total = wire(records, codebook);

  if (options.json) {
    out(
      JSON.stringify({
        text,
        confidence: parsed.confidence,
        confident,
        codebook: codebook.hash,
        records: records.map((body) => ({ ...labelledRecord(body, describe), ...renamed(wire([body], codebook)) })),
        ...renamed(total),
        notes: parsed.notes,
        unread: parsed.unread,
      }),
    );
    return 0;
  }
  if (!confident) out(`not read confidently (confidence ${parsed.confidence.toFixed(2)}): the station keeps it as a plain message`);
  for (const body of records) {
    const bytes = wire([body], codebook);
    out(describeRecord(body, describe));
    out("error" in bytes ? `  wire: ${bytes.error}` : `  wire: ${bytes.bytes} bytes  ${bytes.hex}`);
  }
  if (records.length > 1 && !("error" in total)) out(`packed: ${total.bytes} bytes  ${total.hex}`);
  if (confident) out(`confidence ${parsed.confidence.toFixed(2)}`);
  for (const note of parsed.notes) out(`note: ${note}`);
  if (parsed.unread.length > 0) out(`not understood: ${parsed.unread.join(" ")}`);
  out(`text: ${Buffer.byteLength(text, "utf8")} bytes as Meshtastic plain text`);
  return 0;
}

function renamed(result: { bytes: number; hex: string } | { error: string }): Record<string, unknown> {
  return "error" in result ? { wireError: result.error } : { wireBytes: result.bytes, wireHex: result.hex };
}
