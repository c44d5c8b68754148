// Typed text -> records: a tolerant reader for what people type on phones and keyboards, in
// English and Spanish. Items, incident types, hazards, roles, priorities and triage words come
// from the codebook; places from the site plan. It never guesses silently: every record comes
// with a confidence, and the words it could not read are listed. Pure; never throws.
import type { Codebook, CodebookCategory } from "./codebook.ts";
import { readPreset, type PresetTable } from "./presets.ts";
import { describePlace, placeFor, type SitePlan } from "./site.ts";
import type { CheckinStatus, IncidentBody, Place, Priority, RecordBody, Severity, ShiftBody, SupplyLine, SupplyStatus } from "./types.ts";

export interface ParseOptions {
  codebook: Codebook;
  site?: SitePlan;
  /** Exact preset texts are read first (confidence 1). */
  presets?: PresetTable;
}

export interface ParsedText {
  records: RecordBody[];
  /** 0..1: how sure the reading is. Below CONFIDENT a station keeps the text as a plain message. */
  confidence: number;
  /** What the reader did that a person should check ("read 'nort gate' as North Gate"). */
  notes: string[];
  /** Words it did not understand. */
  unread: string[];
}

/** The confidence at or above which a station files the records instead of a plain message. */
export const CONFIDENT = 0.6;
const MAX_TEXT = 1000;

interface Token {
  word: string;
  raw: string;
  /** Punctuation (, . ; : ( ) / !) between this token and the one before. */
  gap: boolean;
  used: boolean;
  /** Inside parentheses: a description ("approx 7, red jacket"), never a count. */
  aside: boolean;
}

interface Entry {
  category: CodebookCategory | "place" | "cue";
  name: string;
  phrase: string[];
}

interface Match {
  start: number;
  end: number;
  entries: Entry[];
  fuzzy: boolean;
}

const STOP = new Set(
  "the a an at to in on of is are was we i it for and with by from our my this that there near some please pls de la el en los las y con para por al del un una que se me nos es hay o or be been being has have".split(" "),
);
const UNITS = new Set(
  "bottle bottles box boxes pack packs packet packets pair pairs case cases bag bags unit units roll rolls kit kits piece pieces pcs litre litres liter liters person persons people botella botellas caja cajas paquete paquetes bolsa bolsas unidad unidades par pares persona personas".split(" "),
);
const NOT_QUANTITY_AFTER = new Set("min mins minute minutes minutos hour hours hr hrs h horas % m km meters metres am pm yo years anos".split(" "));
const NOT_QUANTITY_BEFORE = new Set("team equipo base tent carpa gate eta by at until hasta p".split(" "));
const SMALL: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12, thirteen: 13,
  fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19, dozen: 12, couple: 2,
  cero: 0, uno: 1, dos: 2, tres: 3, cuatro: 4, cinco: 5, seis: 6, siete: 7, ocho: 8, nueve: 9, diez: 10, once: 11, doce: 12, trece: 13,
  catorce: 14, quince: 15, dieciseis: 16, diecisiete: 17, dieciocho: 18, diecinueve: 19, veinte: 20,
};
const TENS: Record<string, number> = {
  twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90, hundred: 100,
  treinta: 30, cuarenta: 40, cincuenta: 50, sesenta: 60, setenta: 70, ochenta: 80, noventa: 90, cien: 100, ciento: 100, doscientos: 200,
};
["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"].forEach((unit, i) => (SMALL[`veinti${unit}`] = 21 + i));
SMALL["veintiun"] = 21;

// Words that tell what kind of message it is (normalized: lower case, no accents).
const CUES: Record<string, string[]> = {
  request: ["need", "needs", "needed", "req", "request", "send", "bring", "want", "wanted", "require", "required", "necesitamos", "necesito", "necesita", "necesitan", "falta", "faltan", "hace falta", "manden", "traer", "traigan", "out of", "run out", "ran out", "running out"],
  offer: ["available", "offer", "offering", "spare", "can give", "can bring", "has", "have", "got extra", "tenemos", "disponible", "disponibles", "sobran", "ofrecemos"],
  status_ack: ["ack", "acknowledged", "copy", "roger", "recibido", "copiado"],
  status_en_route: ["en route", "on the way", "on our way", "leaving now", "coming", "eta", "en camino", "vamos", "llegamos en"],
  status_delivered: ["delivered", "dropped off", "received", "entregado", "entregados", "entregadas", "recibimos"],
  status_cancelled: ["cancel", "cancelled", "canceled", "no longer needed", "not needed", "cancelar", "cancelado", "ya no"],
  status_unable: ["unable", "cannot", "can't", "cant", "no podemos", "sin stock", "none left"],
  shift_on: ["on shift", "checking in", "starting shift", "entro", "empiezo turno", "de turno"],
  shift_off: ["off shift", "signing off", "ending shift", "salgo", "fin de turno", "termino turno"],
  handoff: ["handoff", "hand off", "handover", "hand over", "handing", "handing over", "taking over", "relieved by", "moving from", "cambio de turno", "relevo"],
  checkin_ok: ["ok", "all ok", "all good", "okay", "fine", "todo bien", "estamos bien", "bien"],
  checkin_relief: ["need relief", "needs relief", "relief", "been on", "exhausted", "necesitamos relevo", "cansados"],
  checkin_assist: ["need assistance", "need help", "help", "ayuda", "not ok", "not okay", "not good", "no estamos bien"],
  checkin_emergency: ["mayday", "sos", "emergencia"],
  battery: ["battery", "batt", "bateria"],
  severe: ["serious", "severe", "bad", "grave", "many casualties"],
  extreme: ["major incident", "mass casualty", "multiple casualties", "incidente mayor", "muchos heridos"],
  minor: ["small", "minor", "under control", "being put out", "pequeno", "controlado"],
  on_scene: ["on scene", "on site", "with them", "en el lugar", "en escena"],
  casualties: ["casualties", "casualty", "injured", "hurt", "affected", "patients", "heridos", "afectados", "afectadas", "pacientes"],
  people: ["people", "persons", "person", "personas", "gente"],
  about: ["about", "approx", "approximately", "around", "aprox", "unos", "unas", "cerca de", "~"],
  open: ["open", "pending", "pendiente", "pendientes"],
  low: ["low on", "stock low on", "running low on", "short on", "poco", "queda poco"],
};

export function normalize(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/&/g, " and ")
    .replace(/@/g, " at ");
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /[a-z0-9]+(?:'[a-z]+)?|%|\+|~|!|[,.;:()/?-]/g;
  let gap = false;
  let depth = 0;
  for (const match of normalize(text).matchAll(pattern)) {
    const word = match[0];
    if (word === "(") depth += 1;
    if (word === ")") depth = Math.max(0, depth - 1);
    if (/^[,.;:()/?!]$/.test(word)) {
      gap = true;
      continue;
    }
    if (word === "-") continue; // a hyphen joins words: "counter-protesters" reads as "counter protesters"
    const aside = depth > 0;
    const x = /^x(\d+)$/.exec(word);
    if (x) {
      tokens.push({ word: "x", raw: "x", gap, used: false, aside }, { word: x[1]!, raw: x[1]!, gap: false, used: false, aside });
    } else {
      const split = /^(\d+)(x)$/.exec(word);
      if (split) tokens.push({ word: split[1]!, raw: split[1]!, gap, used: false, aside }, { word: "x", raw: "x", gap: false, used: false, aside });
      else tokens.push({ word, raw: word, gap, used: false, aside });
    }
    gap = false;
  }
  return tokens;
}

function phraseOf(text: string): string[] {
  return tokenize(text).map((token) => token.word);
}

/** Whether the edit distance (insert, delete, substitute, swap two neighbours) is at most `max`. */
function editDistanceAtMost(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j += 1) {
      let value = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, before[j - 2]! + 1);
      row.push(value);
      best = Math.min(best, value);
    }
    if (best > max) return false;
    before = previous;
    previous = row;
  }
  return previous[b.length]! <= max;
}

/** 0: different, 1: the same word (or its plural), 2: a likely typo of it. */
function sameWord(typed: string, known: string, fuzzy: boolean): 0 | 1 | 2 {
  if (typed === known || typed === `${known}s` || known === `${typed}s` || typed === `${known}es` || known === `${typed}es`) return 1;
  if (!fuzzy || typed[0] !== known[0] || /\d/.test(typed) || /\d/.test(known) || known.length < 5 || typed.length < 4) return 0;
  return editDistanceAtMost(typed, known, known.length >= 9 ? 2 : 1) ? 2 : 0;
}

const dictionaries = new WeakMap<Codebook, WeakMap<object, Entry[]>>();
const NO_SITE = {};

function dictionary(codebook: Codebook, site: SitePlan | undefined): Entry[] {
  const bySite = dictionaries.get(codebook) ?? new WeakMap<object, Entry[]>();
  dictionaries.set(codebook, bySite);
  const cached = bySite.get(site ?? NO_SITE);
  if (cached) return cached;
  const entries: Entry[] = [];
  const add = (category: Entry["category"], name: string, text: string): void => {
    const phrase = phraseOf(text);
    if (phrase.length > 0) entries.push({ category, name, phrase });
  };
  for (const category of ["items", "incidents", "hazards", "roles", "triage", "priorities"] as const) {
    for (const entry of codebook.lists[category].entries) {
      add(category, entry.name, entry.name.replaceAll("_", " "));
      for (const word of entry.words) add(category, entry.name, word);
    }
  }
  for (const landmark of site?.landmarks ?? []) {
    add("place", String(landmark.code), landmark.label);
    for (const alias of landmark.aliases) add("place", String(landmark.code), alias);
  }
  for (const [cue, words] of Object.entries(CUES)) for (const word of words) add("cue", cue, word);
  // Longest phrases first, so "gas leak" wins over "gas" and "phone batteries" over "batteries".
  entries.sort((a, b) => b.phrase.length - a.phrase.length);
  bySite.set(site ?? NO_SITE, entries);
  return entries;
}

/** Phrase matches over unused tokens, longest first, left to right. Marks the tokens used. */
function findMatches(tokens: Token[], entries: Entry[], categories: ReadonlySet<Entry["category"]>): Match[] {
  const matches: Match[] = [];
  for (let start = 0; start < tokens.length; start += 1) {
    if (tokens[start]!.used) continue;
    let found: Match | undefined;
    for (const entry of entries) {
      if (!categories.has(entry.category)) continue;
      if (found && entry.phrase.length < found.end - found.start) break;
      const end = start + entry.phrase.length;
      if (end > tokens.length) continue;
      let fuzzy = false;
      let ok = true;
      for (let i = 0; i < entry.phrase.length && ok; i += 1) {
        const token = tokens[start + i]!;
        if (token.used || (i > 0 && token.gap && entry.category !== "place")) ok = false;
        else {
          const same = sameWord(token.word, entry.phrase[i]!, entry.category !== "cue" && entry.category !== "priorities");
          if (same === 0) ok = false;
          else if (same === 2) fuzzy = true;
        }
      }
      if (!ok) continue;
      if (found && !fuzzy && found.fuzzy && found.end - found.start === entry.phrase.length) found = undefined; // an exact reading beats a typo reading
      if (!found) found = { start, end, entries: [entry], fuzzy };
      else if (found.end - found.start === entry.phrase.length && fuzzy === found.fuzzy && !found.entries.some((e) => e.category === entry.category && e.name === entry.name)) {
        found.entries.push(entry);
      }
    }
    if (found) {
      for (let i = found.start; i < found.end; i += 1) tokens[i]!.used = true;
      matches.push(found);
      start = found.end - 1;
    }
  }
  return matches;
}

interface NumberToken {
  index: number;
  value: number;
  /** The index of the last token of the number. */
  last: number;
}

function readNumbers(tokens: Token[]): NumberToken[] {
  const numbers: NumberToken[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i]!;
    if (token.used || token.aside) continue;
    let value: number | undefined;
    let last = i;
    if (/^\d{1,6}$/.test(token.word)) value = Number(token.word);
    else if (TENS[token.word] !== undefined) {
      value = TENS[token.word]!;
      const next = tokens[i + 1];
      const afterY = next?.word === "y" ? tokens[i + 2] : next;
      const unit = afterY && !afterY.gap ? SMALL[afterY.word] : undefined;
      if (unit !== undefined && unit < 10) {
        value += unit;
        last = afterY === next ? i + 1 : i + 2;
      }
    } else if (SMALL[token.word] !== undefined) value = SMALL[token.word];
    if (value === undefined) continue;
    const after = tokens[last + 1];
    const before = tokens[i - 1];
    if (after && NOT_QUANTITY_AFTER.has(after.word) && !after.gap) continue;
    if (before && NOT_QUANTITY_BEFORE.has(before.word) && !token.gap) continue;
    if (after?.word === ":" || /^\d+:\d+$/.test(token.raw)) continue;
    numbers.push({ index: i, value, last });
    i = last;
  }
  return numbers;
}

function has(matches: Match[], category: Entry["category"], name?: string): Match | undefined {
  return matches.find((match) => match.entries.some((entry) => entry.category === category && (name === undefined || entry.name === name)));
}

function names(match: Match, category: Entry["category"]): string[] {
  return match.entries.filter((entry) => entry.category === category).map((entry) => entry.name);
}

/** Reads typed text into records. Never throws; an unreadable text gives no records and confidence 0. */
export function parseText(text: string, options: ParseOptions): ParsedText {
  try {
    return parse(text, options);
  } catch (error) {
    return { records: [], confidence: 0, notes: [`could not read: ${String(error)}`], unread: [] };
  }
}

/** What one text holds once its words are matched: shared by the readers of each record kind. */
interface Reading {
  /** The text in normalized form (lower case, no accents). */
  said: string;
  codebook: Codebook;
  site: SitePlan | undefined;
  tokens: Token[];
  matches: Match[];
  numbers: NumberToken[];
  usedNumbers: Set<number>;
  notes: string[];
  place: Place | undefined;
  /** "team 4" -> 4 (the first team named), and every "team N" in order. */
  team: number | undefined;
  teams: string[];
  callsigns: string[];
}

function cue(r: Reading, name: string): boolean {
  return has(r.matches, "cue", name) !== undefined;
}

function take(r: Reading, number: NumberToken): number {
  r.usedNumbers.add(number.index);
  for (let i = number.index; i <= number.last; i += 1) r.tokens[i]!.used = true;
  return number.value;
}

function numberAt(r: Reading, index: number): NumberToken | undefined {
  return r.numbers.find((n) => n.last === index || n.index === index);
}

const STATUS_CUES = ["status_delivered", "status_cancelled", "status_unable", "status_en_route", "status_ack"] as const;
const MINUTES = ["min", "mins", "minute", "minutes", "minutos"];

function parse(input: string, options: ParseOptions): ParsedText {
  const text = typeof input === "string" ? input.slice(0, MAX_TEXT) : "";
  if (options.presets) {
    const preset = readPreset(options.presets, text);
    if (preset) return { records: [preset], confidence: 1, notes: ["a preset"], unread: [] };
  }
  const r = read(text, options);
  const lines = readLines(r);
  const priority = readPriority(r);

  const records: RecordBody[] = [];
  let essential = true;
  const incidentMatch = r.matches.find((match) => names(match, "incidents").length > 0);
  const statusCue = STATUS_CUES.find((name) => cue(r, name));
  const shiftCue = cue(r, "handoff") ? "handoff" : cue(r, "shift_off") ? "off" : cue(r, "shift_on") ? "on" : undefined;
  const roleMatch = r.matches.find((match) => names(match, "roles").length > 0 && names(match, "items").length === 0);
  const callsignHandoff = r.callsigns.length >= 2 || r.teams.length >= 2;

  if (statusCue && (lines.length > 0 || cue(r, "status_en_route") || /\brequest\b/.test(r.said))) records.push(statusRecord(r, statusCue, lines));
  else if (shiftCue || (callsignHandoff && (cue(r, "shift_on") || cue(r, "shift_off") || roleMatch))) records.push(shiftRecord(r, shiftCue ?? "handoff", roleMatch));
  else if (incidentMatch) {
    records.push(incidentRecord(r, incidentMatch));
    // "... need ambulances", "legal observers needed": a request that rides along.
    if (cue(r, "request") && lines.length > 0) records.push(withPlace({ kind: "supply_request", lines, priority: priority === "normal" ? "high" : priority }, r.place));
  } else if (lines.length > 0 && cue(r, "offer") && !cue(r, "request")) records.push(withPlace({ kind: "supply_offer", lines }, r.place));
  else if (lines.length > 0 && (cue(r, "request") || lines.some((line) => line.quantity !== undefined) || r.place)) {
    records.push(withPlace({ kind: "supply_request", lines, priority }, r.place));
    // Items and a place but no verb and no number: a weak reading.
    essential = cue(r, "request") || lines.some((line) => line.quantity !== undefined);
  } else {
    const checkin = checkinRecord(r);
    if (checkin) records.push(checkin);
  }
  const scored = score(r, records, essential);
  const left = unfiled(r, records, lines);
  if (left.length === 0) return scored;
  // One reading files one kind (and a request riding on an incident). A text whose parts each
  // read confidently ("handing over to M4, gas at fountain") gives a record per part; otherwise
  // what else it says would be lost, so it stays a plain message.
  return (
    byParts(text, options) ?? { ...scored, confidence: Math.min(scored.confidence, UNFILED_CONFIDENCE), notes: [...scored.notes, `also says ${left.join(" and ")}, which the ${describeKinds(records)} cannot carry`] }
  );
}

/** Where a text splits into parts: a full stop or a comma before a word, a semicolon, a new line (not "45.52, -122.68"). */
const PART_BREAK = /\.\s+|;|\n|,\s*(?=\p{L})/u;
const MAX_PARTS = 4;

/** Each part of the text read on its own, when every part reads confidently; else undefined. */
function byParts(text: string, options: ParseOptions): ParsedText | undefined {
  const parts = text.split(PART_BREAK).map((part) => part.trim()).filter((part) => part.length > 0);
  if (parts.length < 2 || parts.length > MAX_PARTS) return undefined;
  const readings = parts.map((part) => parse(part, options));
  if (readings.some((reading) => reading.records.length === 0 || reading.confidence < CONFIDENT)) return undefined;
  return {
    records: readings.flatMap((reading) => reading.records),
    confidence: Math.min(...readings.map((reading) => reading.confidence)),
    notes: [`read in ${parts.length} parts: ${parts.map((part) => `"${part}"`).join(", ")}`, ...readings.flatMap((reading) => reading.notes.filter((note) => note !== "a preset"))],
    unread: readings.flatMap((reading) => reading.unread),
  };
}

/** Below CONFIDENT: a text that says more than its records carry is kept as a plain message. */
const UNFILED_CONFIDENCE = 0.5;

/** What the text says that none of the records carries: another record kind's words. */
function unfiled(r: Reading, records: RecordBody[], lines: SupplyLine[]): string[] {
  if (records.length === 0) return [];
  const kinds = new Set(records.map((record) => record.kind));
  const left: string[] = [];
  const words = (match: Match): string => r.tokens.slice(match.start, match.end).map((token) => token.raw).join(" ");
  // A handoff's open items ("open: water request pending, lost child reunited") are counted, not filed.
  const handsOverOpenItems = records.some((record) => record.kind === "shift" && record.openItems !== undefined);
  const incident = r.matches.find((match) => names(match, "incidents").length > 0);
  if (incident && !kinds.has("incident") && !handsOverOpenItems) left.push(`an incident ("${words(incident)}")`);
  // Items asked for or offered ("medic on scene" names no supply).
  const carriesItems = records.some((record) => ("lines" in record && (record.lines?.length ?? 0) > 0) || (record.kind === "shift" && (record.lowStock?.length ?? 0) > 0));
  if (lines.length > 0 && !carriesItems && !handsOverOpenItems && (cue(r, "request") || cue(r, "offer"))) left.push(`items (${lines.map((line) => line.item).join(", ")})`);
  const checkin = ["checkin_relief", "battery"].map((name) => has(r.matches, "cue", name)).find((match) => match !== undefined);
  if (checkin && !kinds.has("checkin")) left.push(`a check-in ("${words(checkin)}")`);
  const shift = ["shift_on", "shift_off", "handoff"].map((name) => has(r.matches, "cue", name)).find((match) => match !== undefined);
  if (shift && !kinds.has("shift")) left.push(`a shift change ("${words(shift)}")`);
  return left;
}

function describeKinds(records: RecordBody[]): string {
  return records.map((record) => record.kind.replace("_", " ")).join(" and ");
}

function withPlace<T extends RecordBody>(body: T, place: Place | undefined): T {
  return place === undefined ? body : { ...body, place };
}

/** Tokens, places, teams, callsigns and codebook matches of a text. */
function read(text: string, options: ParseOptions): Reading {
  const { codebook, site } = options;
  const notes: string[] = [];
  // Coordinates ("45.5230, -122.6800"): the nearest landmark, else an offset, else absolute.
  let typedPlace: Place | undefined;
  const coordinates = /(-?\d{1,2}\.\d{3,})\s*[,; ]\s*(-?\d{1,3}\.\d{3,})/.exec(text);
  const lat = coordinates ? Number(coordinates[1]) : NaN;
  const lon = coordinates ? Number(coordinates[2]) : NaN;
  if (coordinates && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    typedPlace = site ? placeFor(site, lat, lon) : { lat: Math.round(lat * 1e7) / 1e7, lon: Math.round(lon * 1e7) / 1e7 };
    notes.push(`read coordinates ${coordinates[1]}, ${coordinates[2]} as ${site ? describePlace(typedPlace, site) : "a position"}`);
  }
  const tokens = tokenize(coordinates && typedPlace ? text.replace(coordinates[0], " ") : text);
  const entries = dictionary(codebook, site);

  // Times ("13:00") are never quantities; "14:00" splits into 14, 00 around a ":" gap.
  for (let i = 0; i + 1 < tokens.length; i += 1) {
    if (/^\d{1,2}$/.test(tokens[i]!.word) && /^\d{2}$/.test(tokens[i + 1]!.word) && tokens[i + 1]!.gap) {
      tokens[i]!.used = true;
      tokens[i + 1]!.used = true;
    }
  }
  // Places first: "Medic tent A" is a place, not a medic.
  const places = findMatches(tokens, entries, new Set(["place"]));
  // A unit that sends ("medic team 3", "team 4") is not an item.
  let team: number | undefined;
  const teams: string[] = [];
  for (let i = 0; i + 1 < tokens.length; i += 1) {
    if ((tokens[i]!.word === "team" || tokens[i]!.word === "equipo") && /^\d{1,4}$/.test(tokens[i + 1]!.word) && !tokens[i]!.used) {
      team ??= Number(tokens[i + 1]!.word);
      teams.push(`team ${tokens[i + 1]!.word}`);
      tokens[i]!.used = true;
      tokens[i + 1]!.used = true;
      const before = tokens[i - 1];
      if (before && !before.used && ["medic", "marshal", "medics", "marshals"].includes(before.word)) before.used = true;
    }
  }
  // Callsigns (M7, R12): handoffs name them.
  const callsigns: string[] = [];
  for (const token of tokens) {
    if (!token.used && /^[a-z]{1,2}\d{1,3}$/.test(token.word) && !/^p[1-3]$/.test(token.word)) {
      callsigns.push(token.word.toUpperCase());
      token.used = true;
    }
  }
  const found = findMatches(tokens, entries, new Set(["items", "incidents", "hazards", "roles", "triage", "priorities", "cue"]));
  // "no gas", "not kettled", "sin heridos": a negated incident or hazard is not reported.
  const negated = (match: Match): boolean => {
    const before = tokens[match.start - 1];
    return before !== undefined && !tokens[match.start]!.gap && ["no", "not", "sin", "zero", "ningun", "ninguna"].includes(before.word) && match.entries.some((e) => e.category === "incidents" || e.category === "hazards");
  };
  const matches = found.filter((match) => {
    if (!negated(match)) return true;
    tokens[match.start - 1]!.used = true;
    notes.push(`"${tokens[match.start - 1]!.raw} ${tokens.slice(match.start, match.end).map((token) => token.raw).join(" ")}" is not reported`);
    return false;
  });
  for (const match of [...places, ...matches]) {
    if (match.fuzzy) {
      const typed = tokens.slice(match.start, match.end).map((token) => token.raw).join(" ");
      notes.push(`read "${typed}" as ${match.entries[0]!.category === "place" ? describe(site, match) : match.entries[0]!.phrase.join(" ")}`);
    }
  }
  if (places.length > 1) notes.push(`several places named; used ${describe(site, places[0]!)}`);
  const place: Place | undefined = places[0] ? { landmark: Number(places[0].entries[0]!.name) } : typedPlace;
  return { said: normalize(text), codebook, site, tokens, matches, numbers: readNumbers(tokens), usedNumbers: new Set(), notes, place, team, teams, callsigns };
}

/** Items and their quantities. */
function readLines(r: Reading): SupplyLine[] {
  const { tokens } = r;
  const incidentSaid = r.matches.some((match) => names(match, "incidents").length > 0);
  const lines: SupplyLine[] = [];
  for (const match of itemMatches(r)) {
    const item = names(match, "items")[0]!;
    let quantity: number | undefined;
    // Left: "20 bottles of water", "2 boxes nitrile", "10 saline eyewash", "a ride".
    let i = match.start - 1;
    let skipped = 0;
    while (i >= 0 && skipped <= 2 && !tokens[i + 1]!.gap && (UNITS.has(tokens[i]!.word) || ["of", "de", "x"].includes(tokens[i]!.word))) {
      tokens[i]!.used = true;
      i -= 1;
      skipped += 1;
    }
    const left = i >= 0 && !tokens[i + 1]!.gap ? numberAt(r, i) : undefined;
    if (left && !r.usedNumbers.has(left.index)) {
      quantity = take(r, left);
      // "x20 water": the x before the number is part of it.
      const before = tokens[left.index - 1];
      if (before?.word === "x" && !tokens[left.index]!.gap) before.used = true;
    }
    else if (i >= 0 && !tokens[i + 1]!.gap && ["a", "an", "un", "una", "one"].includes(tokens[i]!.word)) {
      quantity = 1;
      tokens[i]!.used = true;
    }
    // Right: "water x20", "x 15", "agua, 30 botellas".
    if (quantity === undefined) {
      const next = tokens[match.end];
      if (next?.word === "x") {
        const right = numberAt(r, match.end + 1);
        if (right && !r.usedNumbers.has(right.index)) {
          next.used = true;
          quantity = take(r, right);
        }
      } else {
        const right = numberAt(r, match.end);
        const unit = right ? tokens[right.last + 1] : undefined;
        if (right && !r.usedNumbers.has(right.index) && unit && (UNITS.has(unit.word) || unit.word === "x") && !unit.gap) {
          unit.used = true;
          quantity = take(r, right);
        }
      }
    }
    // "5 gauze packs": a unit after the item is part of it.
    if (tokens[match.end] && UNITS.has(tokens[match.end]!.word) && !tokens[match.end]!.gap && tokens[match.end]!.word !== "people") tokens[match.end]!.used = true;
    const existing = lines.find((line) => line.item === item);
    if (existing) existing.quantity ??= quantity;
    else lines.push(quantity === undefined ? { item } : { item, quantity });
  }
  // A lone "1 box", "for 1 person" belongs to the one item that has no quantity.
  const missing = lines.filter((line) => line.quantity === undefined);
  const leftover = r.numbers.filter((n) => !r.usedNumbers.has(n.index) && UNITS.has(tokens[n.last + 1]?.word ?? ""));
  if (missing.length === 1 && leftover.length === 1 && !incidentSaid) {
    tokens[leftover[0]!.last + 1]!.used = true;
    missing[0]!.quantity = take(r, leftover[0]!);
  }
  // One person or vehicle unless a number says otherwise (in a request or an offer).
  const status = STATUS_CUES.some((name) => cue(r, name));
  for (const line of status ? [] : lines) {
    const unit = r.codebook.lists.items.byName.get(line.item)?.unit;
    if (line.quantity === undefined && (unit === "person" || unit === "vehicle")) line.quantity = 1;
  }
  // A record counts from 1 to 2^32 - 1 ("0 water" says nothing): outside that, no quantity.
  for (const line of lines) if (line.quantity !== undefined && !(Number.isInteger(line.quantity) && line.quantity >= 1 && line.quantity <= 0xffffffff)) delete line.quantity;
  return lines;
}

function itemMatches(r: Reading): Match[] {
  return r.matches.filter((match) => names(match, "items").length > 0 && !has([match], "incidents"));
}

/** The most pressing priority word said; "out of" makes a request high. */
function readPriority(r: Reading): Priority {
  const rank = { low: 0, normal: 1, high: 2, urgent: 3 } as const;
  let priority: Priority = "normal";
  for (const match of r.matches) {
    for (const name of names(match, "priorities") as Priority[]) {
      if (rank[name] > rank[priority] || (priority === "normal" && name === "low")) priority = name;
    }
  }
  if (cue(r, "request") && /\b(out of|run out|ran out|running out)\b/.test(r.said) && priority === "normal") priority = "high";
  return priority;
}

function statusRecord(r: Reading, statusCue: (typeof STATUS_CUES)[number], lines: SupplyLine[]): RecordBody {
  const { tokens } = r;
  const said: Record<(typeof STATUS_CUES)[number], SupplyStatus> = {
    status_delivered: "delivered",
    status_cancelled: "cancelled",
    status_unable: "unable",
    status_en_route: "en_route",
    status_ack: cue(r, "status_en_route") ? "en_route" : "acknowledged",
  };
  const body: RecordBody = { kind: "supply_status", status: said[statusCue] };
  // "ETA 8 min", "in 10 minutes".
  const etaAt = tokens.findIndex((token, i) => /^\d{1,4}$/.test(token.word) && (tokens[i - 1]?.word === "eta" || MINUTES.includes(tokens[i + 1]?.word ?? "")));
  if (etaAt >= 0) {
    tokens[etaAt]!.used = true;
    if (MINUTES.includes(tokens[etaAt + 1]?.word ?? "")) tokens[etaAt + 1]!.used = true;
    const minutes = Number(tokens[etaAt]!.word);
    if (minutes > 0) {
      body.etaMin = minutes;
      if (body.status === "acknowledged") body.status = "en_route";
    }
  }
  if (lines.length > 0) body.lines = lines;
  return withPlace(body, r.place);
}

function shiftRecord(r: Reading, action: ShiftBody["action"], roleMatch: Match | undefined): ShiftBody {
  const body: ShiftBody = { kind: "shift", action };
  if (body.action !== "handoff" && (r.callsigns.length >= 2 || r.teams.length >= 2)) body.action = "handoff";
  if (roleMatch) body.role = names(roleMatch, "roles")[0]!;
  const parties = r.callsigns.length >= 2 ? r.callsigns : r.teams.length >= 2 ? r.teams : [];
  const fromTo = /\bfrom ([a-z]+ ?\d+) to ([a-z]+ ?\d+)/.exec(r.said);
  if (body.action === "handoff" && fromTo) {
    body.from = fromTo[1]!;
    body.to = fromTo[2]!;
  } else if (body.action === "handoff" && parties.length >= 2) {
    body.from = parties[0]!;
    body.to = parties[1]!;
  } else if (body.action === "handoff" && r.callsigns.length === 1) {
    // "handing over to M4", "relieved by M4", "M4 taking over": M4 comes in; else the callsign goes out.
    if (/\b(to|by) [a-z]{1,2}\d{1,3}\b/.test(r.said) || /\b[a-z]{1,2}\d{1,3} (taking over|takes over|in|on)\b/.test(r.said)) body.to = r.callsigns[0]!;
    else body.from = r.callsigns[0]!;
  }
  // "open: water request pending, lost child reunited": one open item per clause.
  const openAt = r.said.search(/\bopen\s*:/);
  const open = openAt < 0 ? 0 : r.said.slice(openAt).replace(/^open\s*:/, "").split(/[,;]/).filter((part) => part.trim() !== "").length;
  if (open > 0) body.openItems = open;
  const low = has(r.matches, "cue", "low");
  if (low) {
    const stock = itemMatches(r).filter((match) => match.start > low.start).map((match) => names(match, "items")[0]!);
    if (stock.length > 0) body.lowStock = [...new Set(stock)];
  }
  return withPlace(body, r.place);
}

function incidentRecord(r: Reading, incidentMatch: Match): IncidentBody {
  const { tokens, matches } = r;
  const incident = names(incidentMatch, "incidents")[0]!;
  let severity: Severity = r.codebook.lists.incidents.byName.get(incident)?.severity ?? "moderate";
  if (cue(r, "extreme")) severity = "extreme";
  else if (cue(r, "severe")) severity = "severe";
  else if (cue(r, "minor")) severity = "minor";
  const body: IncidentBody = { kind: "incident", incident, severity, casualties: 0 };
  // "3 red 5 yellow".
  const triage: Record<string, number> = {};
  for (const match of matches) {
    const category = names(match, "triage")[0];
    const count = category ? numberAt(r, match.start - 1) : undefined;
    if (category && count && !r.usedNumbers.has(count.index) && !tokens[match.start]!.gap) triage[category] = (triage[category] ?? 0) + take(r, count);
  }
  const triaged = Object.values(triage).reduce((sum, n) => sum + n, 0);
  if (triaged > 0) body.triage = triage;
  // "~5 people affected", "4 detained", "about 30", "INJURED 1".
  let casualties = triaged;
  const startsAt = (at: number) => matches.filter((m) => m.start === at);
  for (const n of r.numbers) {
    if (r.usedNumbers.has(n.index)) continue;
    const next = tokens[n.last + 1];
    const previous = tokens[n.index - 1];
    const nextIsCasualty = next && (has(startsAt(n.last + 1), "cue", "casualties") || (has(startsAt(n.last + 1), "cue", "people") && has(startsAt(n.last + 2), "cue", "casualties")));
    if (nextIsCasualty && has(startsAt(n.last + 2), "cue", "casualties")) tokens[n.last + 2]!.used = true;
    const nextIsPeople = next && (has(startsAt(n.last + 1), "cue", "people") || has(startsAt(n.last + 1), "incidents"));
    const previousIsIncident = previous && n.index - 1 === incidentMatch.end - 1;
    const previousIsAbout = previous && has(matches.filter((m) => m.end === n.index), "cue", "about");
    if (nextIsCasualty || (previousIsIncident && incident === "injury")) {
      casualties = Math.max(casualties, take(r, n));
      if (next && nextIsCasualty) next.used = true;
    } else if (nextIsPeople || previousIsAbout || previousIsIncident) {
      // "0 people" says nothing: the record's people field counts from 1 (0 is "not given").
      const people = take(r, n);
      if (people > 0) body.people = people;
      if (next && nextIsPeople) next.used = true;
    }
  }
  // "Herido en el puente", "Person collapsed": one casualty unless a number says more.
  const oneVictim = ["injury", "illness", "heat_illness", "cold_exposure", "fall", "overdose", "mental_health"];
  body.casualties = casualties === 0 && oneVictim.includes(incident) ? 1 : casualties;
  const hazards = [...new Set(matches.flatMap((match) => names(match, "hazards")))];
  if (hazards.length > 0) body.hazards = hazards;
  if (cue(r, "on_scene")) body.responderOnScene = true;
  return withPlace(body, r.place);
}

function checkinRecord(r: Reading): RecordBody | undefined {
  const status: CheckinStatus | undefined = cue(r, "checkin_emergency")
    ? "emergency"
    : cue(r, "checkin_relief")
      ? "needs_relief"
      : cue(r, "checkin_assist")
        ? "need_assist"
        : cue(r, "checkin_ok") || cue(r, "battery")
          ? "ok"
          : undefined;
  if (!status) return undefined;
  const { tokens } = r;
  const body: RecordBody = { kind: "checkin", status };
  // "battery 40%", "40% battery", "bateria 40".
  const batteryCue = has(r.matches, "cue", "battery");
  const batteryAt = tokens.findIndex((token, i) => /^\d{1,3}$/.test(token.word) && Number(token.word) <= 100 && (tokens[i + 1]?.word === "%" || (batteryCue !== undefined && i === batteryCue.end)));
  if (batteryAt >= 0) {
    body.battery = Number(tokens[batteryAt]!.word);
    tokens[batteryAt]!.used = true;
    if (tokens[batteryAt + 1]?.word === "%") tokens[batteryAt + 1]!.used = true;
  }
  if (r.team !== undefined) body.team = r.team;
  return withPlace(body, r.place);
}

/** Confidence: a reading with its essential field, by the share of the words it understood, less for each typo it corrected. */
function score(r: Reading, records: RecordBody[], essential: boolean): ParsedText {
  const { tokens, notes } = r;
  // A number followed by a time unit was understood (minutes, hours).
  for (const [i, token] of tokens.entries()) {
    if (!token.used && /^\d+$/.test(token.word) && NOT_QUANTITY_AFTER.has(tokens[i + 1]?.word ?? "")) {
      token.used = true;
      tokens[i + 1]!.used = true;
    }
  }
  const content = tokens.filter((token) => !STOP.has(token.word) && !/^[%+~!]$/.test(token.word));
  const unread = content.filter((token) => !token.used).map((token) => token.raw);
  const coverage = content.length === 0 ? 0 : (content.length - unread.length) / content.length;
  const fuzzyPenalty = 0.95 ** notes.filter((note) => note.startsWith("read ")).length;
  const confidence = records.length === 0 ? 0 : Math.round((essential ? 0.3 + 0.7 * coverage : 0.4 * coverage) * fuzzyPenalty * 100) / 100;
  return { records, confidence, notes, unread };
}

function describe(site: SitePlan | undefined, match: Match): string {
  const code = match.entries[0]!.name;
  return site?.landmarks.find((landmark) => String(landmark.code) === code)?.label ?? `landmark ${code}`;
}
