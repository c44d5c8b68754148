// Every configuration reader (codebook, preset table, site plan, decision rights) fed damaged
// and hostile YAML: it returns a value or throws its own typed error, never anything else.
import fc from "fast-check";
import { stringify } from "yaml";
import { expect } from "vitest";
import { DecisionRightsError, parseDecisionRights } from "../../src/station/index.ts";
import { parseRetention, RetentionError } from "../../src/store/index.ts";
import { parseCodebook, parsePresetTable, parseSitePlan, WireError, type WireErrorCode } from "../../src/wire/index.ts";
import { codebook, configText } from "../helpers/records.ts";
import type { FuzzInput } from "./fuzz.ts";

export type ConfigKind = "codebook" | "presets" | "site" | "rights" | "retention";

export const FILES: Record<ConfigKind, string> = { codebook: "codebook.yaml", presets: "presets.yaml", site: "site.yaml", rights: "decision-rights.yaml", retention: "retention.yaml" };
const CODES: Record<Exclude<ConfigKind, "rights" | "retention">, WireErrorCode> = { codebook: "CODEBOOK_INVALID", presets: "PRESET_TABLE_INVALID", site: "SITE_PLAN_INVALID" };

export function read(kind: ConfigKind, text: string): unknown {
  switch (kind) {
    case "codebook":
      return parseCodebook(text, "fuzz.yaml");
    case "presets":
      return parsePresetTable(text, codebook, "fuzz.yaml");
    case "site":
      return parseSitePlan(text, "fuzz.yaml");
    case "rights":
      return parseDecisionRights(text, codebook);
    case "retention":
      return parseRetention(text, "fuzz.yaml");
  }
}

/** The reader returns, or throws its own typed error with a one-line message. */
export function configHolds(kind: ConfigKind, input: FuzzInput): void {
  const text = "text" in input ? input.text : new TextDecoder().decode(input.bytes);
  try {
    read(kind, text);
  } catch (error) {
    if (kind === "rights") expect(error).toBeInstanceOf(DecisionRightsError);
    else if (kind === "retention") expect(error).toBeInstanceOf(RetentionError);
    else {
      expect(error).toBeInstanceOf(WireError);
      expect((error as WireError).code).toBe(CODES[kind]);
    }
  }
}

/** The shipped file with lines deleted, duplicated, swapped or with characters changed. */
function damaged(original: string): fc.Arbitrary<string> {
  const lines = original.split("\n");
  const edit = fc.oneof(
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("swap" as const), at: fc.nat(), with: fc.nat() }),
    fc.record({ kind: fc.constant("char" as const), at: fc.nat(), text: fc.string({ unit: "binary", maxLength: 4 }) }),
    fc.record({ kind: fc.constant("value" as const), at: fc.nat(), value: fc.oneof(fc.constant("-1"), fc.constant("99999999999"), fc.constant("null"), fc.constant("[]"), fc.constant("{}"), fc.constant("*a"), fc.constant("!!binary x"), fc.constant("1e999"), fc.constant("''")) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 5 }).map((edits) => {
    const out = [...lines];
    for (const e of edits) {
      const at = e.at % out.length;
      if (e.kind === "delete") out.splice(at, 1);
      else if (e.kind === "duplicate") out.splice(at, 0, out[at]!);
      else if (e.kind === "swap") [out[at], out[e.with % out.length]] = [out[e.with % out.length]!, out[at]!];
      else if (e.kind === "char") {
        const line = out[at]!;
        const col = line.length === 0 ? 0 : e.at % line.length;
        out[at] = line.slice(0, col) + e.text + line.slice(col + 1);
      } else {
        const line = out[at]!;
        const colon = line.lastIndexOf(":");
        if (colon >= 0) out[at] = `${line.slice(0, colon + 1)} ${e.value}`;
      }
      if (out.length === 0) out.push("");
    }
    return out.join("\n");
  });
}

export function configInputs(kind: ConfigKind): fc.Arbitrary<FuzzInput> {
  return fc
    .oneof(
      { weight: 4, arbitrary: damaged(configText(FILES[kind])) },
      { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
      { weight: 2, arbitrary: fc.anything({ maxDepth: 3 }).map((value) => stringify(value) ?? "") },
    )
    .map((text) => ({ text }));
}

