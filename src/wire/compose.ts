// What a station (or a phone app) would send for a line of text: the records the text reads as,
// or a plain message when it reads as none, packed into one meshaid payload.
import { encodePayload } from "./records.ts";
import { CONFIDENT, parseText, type ParseOptions } from "./parse.ts";
import type { Result } from "./errors.ts";

/** Encodes `text` as one payload whose records are numbered from `seq`. */
export function payloadForText(text: string, options: ParseOptions, seq: number): Result<Uint8Array> {
  const parsed = parseText(text, options);
  const confident = parsed.records.length > 0 && parsed.confidence >= CONFIDENT;
  const bodies = confident ? parsed.records : [{ kind: "message" as const, text }];
  return encodePayload(
    bodies.map((body, index) => ({ seq: seq + index, body })),
    options.codebook,
  );
}
