export type WireErrorCode =
  /** The bytes end in the middle of a record. */
  | "WIRE_TRUNCATED"
  /** The bytes are not a valid record (bad protobuf, a value out of range, a missing field). */
  | "WIRE_MALFORMED"
  /** A payload on the port that is not meshaid's (wrong leading tag byte). */
  | "WIRE_FOREIGN"
  /** meshaid's tag, but a protocol version this station does not read. */
  | "WIRE_VERSION"
  /** A code (state, severity ...) this station's protocol does not know. */
  | "WIRE_UNKNOWN_CODE"
  | "WIRE_NO_BODY"
  /** A record that cannot be encoded as it stands (a name the codebook lacks, a value out of range). */
  | "WIRE_INVALID_RECORD"
  /** A record too large for one radio payload, even alone. */
  | "WIRE_TOO_LARGE"
  | "PRESET_TABLE_INVALID"
  | "CODEBOOK_INVALID"
  | "SITE_PLAN_INVALID";

/** Bad input to the field protocol: what was wrong, never a crash. */
export class WireError extends Error {
  readonly code: WireErrorCode;
  constructor(code: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WireError";
    this.code = code;
  }
}

/** Expected failures are values, not exceptions. */
export type Result<T, E = WireError> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function err<T = never>(code: WireErrorCode, message: string, cause?: unknown): Result<T> {
  return { ok: false, error: new WireError(code, message, cause === undefined ? undefined : { cause }) };
}
