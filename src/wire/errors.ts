export type WireErrorCode =
  | "WIRE_TRUNCATED"
  | "WIRE_MALFORMED"
  | "WIRE_UNKNOWN_CODE"
  | "WIRE_NO_BODY"
  | "PRESET_TABLE_INVALID";

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
