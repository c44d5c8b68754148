// The codebook (firmware-config/codebook.yaml): code <-> name for items, incident types, hazards,
// roles, triage categories and priorities, with labels per language and the words people type.
// Pure: the caller reads the file and passes its text.
import { createHash } from "node:crypto";
import { parseYamlText } from "./yaml.ts";
import { WireError } from "./errors.ts";
import { PRIORITIES, SEVERITIES, type Severity } from "./types.ts";

export const CODEBOOK_CATEGORIES = ["items", "incidents", "hazards", "roles", "triage", "priorities"] as const;
export type CodebookCategory = (typeof CODEBOOK_CATEGORIES)[number];

export interface CodebookEntry {
  code: number;
  /** Stable key used by records ("water"). */
  name: string;
  /** Labels by language code. */
  labels: Readonly<Record<string, string>>;
  /** What people type for it, lower case. */
  words: readonly string[];
  /** Items: the unit of issue ("bottle", "person"). */
  unit?: string;
  /** Incident types: the severity when nobody says otherwise. */
  severity?: Severity;
}

export interface CodeList {
  readonly entries: readonly CodebookEntry[];
  readonly byCode: ReadonlyMap<number, CodebookEntry>;
  readonly byName: ReadonlyMap<string, CodebookEntry>;
}

export interface Codebook {
  version: number;
  languages: readonly string[];
  /** Short hash of every (category, code, name): two stations agree on meanings when it matches. */
  hash: string;
  lists: Readonly<Record<CodebookCategory, CodeList>>;
}

const TRIAGE_NAMES = ["immediate", "delayed", "minor", "expectant", "dead"];
const NAME = /^[a-z][a-z0-9_]*$/;
const ENTRY_KEYS = new Set(["name", "words", "unit", "severity"]);
/** The largest code a list may use (codes travel as varints; 1..127 take one byte). */
export const MAX_CODE = 0xffff;

/** Parses and validates a codebook; a WireError names the entry and what is wrong with it. */
export function parseCodebook(yamlText: string, source = "codebook.yaml"): Codebook {
  return codebookFromData(codebookData(yamlText, source), source);
}

/** A codebook's YAML as plain data, not yet validated (what codebookFromData reads); a WireError when it is not YAML. */
export function codebookData(yamlText: string, source = "codebook.yaml"): unknown {
  try {
    return parseYamlText(yamlText);
  } catch (cause) {
    throw new WireError("CODEBOOK_INVALID", `${source}: not valid YAML: ${String(cause)}`, { cause });
  }
}

/**
 * Validates a codebook read as plain data (codebookData's, or the same data kept as JSON) and
 * builds its lookup maps; a WireError names the entry and what is wrong with it.
 */
export function codebookFromData(document: unknown, source = "codebook.yaml"): Codebook {
  const fail = (where: string, what: string): never => {
    throw new WireError("CODEBOOK_INVALID", `${source}: ${where}: ${what}`);
  };
  if (!isObject(document)) return fail("top level", "expected a mapping with version, languages and the code lists");
  const version = document["version"];
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) return fail("version", "expected a whole number >= 1");
  const languages = document["languages"];
  if (!Array.isArray(languages) || !languages.includes("en") || !languages.every((l) => typeof l === "string")) {
    return fail("languages", "expected a list of language codes that includes en");
  }
  const lists = {} as Record<CodebookCategory, CodeList>;
  for (const category of CODEBOOK_CATEGORIES) {
    const raw = document[category];
    if (!isObject(raw)) return fail(category, "expected a mapping of code -> entry");
    const entries: CodebookEntry[] = [];
    const byCode = new Map<number, CodebookEntry>();
    const byName = new Map<string, CodebookEntry>();
    for (const [key, value] of Object.entries(raw)) {
      const code = Number(key);
      const where = `${category}.${key}`;
      const zeroAllowed = category === "priorities";
      if (!Number.isInteger(code) || code < (zeroAllowed ? 0 : 1) || code > MAX_CODE) {
        fail(where, `codes are whole numbers ${zeroAllowed ? 0 : 1}..${MAX_CODE} (0 is each field's default)`);
      }
      if (!isObject(value)) return fail(where, "expected a mapping with name, en and words");
      // A stray key is usually a label cut at an unquoted comma ("en: a (b, c)"): say so.
      for (const key of Object.keys(value)) {
        if (!ENTRY_KEYS.has(key) && !(languages as unknown[]).includes(key)) fail(where, `unknown key "${key}" (quote labels that contain a comma)`);
      }
      const name = value["name"];
      if (typeof name !== "string" || !NAME.test(name)) return fail(where, "`name` must be snake_case (a-z, 0-9, _)");
      if (byName.has(name)) fail(where, `name "${name}" is used twice`);
      const labels: Record<string, string> = {};
      for (const language of languages) {
        const label = value[language];
        if (label === undefined) continue;
        if (typeof label !== "string" || label.trim() === "") return fail(where, `label ${language} must be a non-empty string`);
        labels[language] = label;
      }
      if (labels["en"] === undefined) fail(where, "an English label (`en`) is required: it is the fallback");
      const words = value["words"] ?? [];
      if (!Array.isArray(words) || !words.every((w) => typeof w === "string" || typeof w === "number")) return fail(where, "`words` must be a list of strings");
      const entry: CodebookEntry = { code, name, labels, words: words.map((w) => String(w).toLowerCase()) };
      const unit = value["unit"];
      if (unit !== undefined) entry.unit = typeof unit === "string" ? unit : fail(where, "`unit` must be a word");
      const severity = value["severity"];
      if (severity !== undefined) {
        if (!SEVERITIES.includes(severity as Severity)) fail(where, `severity must be one of ${SEVERITIES.join(", ")}`);
        entry.severity = severity as Severity;
      }
      entries.push(entry);
      byCode.set(code, entry);
      byName.set(name, entry);
    }
    lists[category] = { entries, byCode, byName };
  }
  PRIORITIES.forEach((name, code) => {
    if (lists.priorities.byCode.get(code)?.name !== name) fail(`priorities.${code}`, `must be named ${name} (the protocol fixes priorities 0..3)`);
  });
  TRIAGE_NAMES.forEach((name, index) => {
    if (lists.triage.byCode.get(index + 1)?.name !== name) fail(`triage.${index + 1}`, `must be named ${name}`);
  });
  return { version, languages: languages, hash: codebookHash(lists), lists };
}

function codebookHash(lists: Record<CodebookCategory, CodeList>): string {
  const canonical = CODEBOOK_CATEGORIES.map((category) =>
    [category, [...lists[category].entries].sort((a, b) => a.code - b.code).map((e) => [e.code, e.name])],
  );
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 8);
}

/** The code for a name ("#57" names code 57 as such), or undefined when the codebook lacks it. */
export function codeOf(codebook: Codebook, category: CodebookCategory, name: string): number | undefined {
  const unknown = /^#(\d{1,5})$/.exec(name);
  if (unknown) {
    const code = Number(unknown[1]);
    return code >= 1 && code <= MAX_CODE ? code : undefined;
  }
  return codebook.lists[category].byName.get(name)?.code;
}

/** The name for a code; "#57" for a code this codebook does not know (shown, never dropped). */
export function nameOf(codebook: Codebook, category: CodebookCategory, code: number): string {
  return codebook.lists[category].byCode.get(code)?.name ?? `#${code}`;
}

/** A name's label in a language, falling back to English, then to the name itself. */
export function labelOf(codebook: Codebook, category: CodebookCategory, name: string, language = "en"): string {
  const entry = codebook.lists[category].byName.get(name);
  if (!entry) return name.startsWith("#") ? `unknown ${category.replace(/s$/, "")} ${name}` : name.replaceAll("_", " ");
  return entry.labels[language] ?? entry.labels["en"] ?? name;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
