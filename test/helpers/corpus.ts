// The example field traffic (test/fixtures/corpus/) and how well the typed-text reader recovers
// what a coordinator reads from it: item, quantity, place and priority as in `meaning`.
import { readFileSync } from "node:fs";
import { parseText, type ParsedText, type RecordBody } from "../../src/wire/index.ts";
import { codebook, presets, site } from "./records.ts";

export interface CorpusLine {
  kind: "supply_request" | "supply_offer" | "supply_status" | "incident" | "shift_handoff" | "checkin";
  text: string;
  sent_as: "preset" | "typed";
  meaning: Record<string, unknown>;
}

export const corpus: CorpusLine[] = readFileSync(new URL("../fixtures/corpus/field-traffic.jsonl", import.meta.url), "utf8")
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line) as CorpusLine);

/** The corpus's plain words for items -> the codebook names that mean them. */
export const ITEM_MEANINGS: Record<string, string[]> = {
  "drinking water": ["water"],
  "saline eye wash": ["eyewash"],
  "medic team": ["medic"],
  gauze: ["gauze"],
  "nitrile gloves": ["gloves"],
  "emergency blanket": ["blanket"],
  "power bank": ["power_bank"],
  "accessible transport": ["accessible_transport"],
  "food ration": ["food", "snack"],
  "cold pack": ["cold_pack"],
  sunscreen: ["sunscreen"],
  "sun hat": ["sun_hat"],
  "menstrual products": ["menstrual"],
  "sign language interpreter": ["interpreter"],
};

export function read(text: string): ParsedText {
  return parseText(text, { codebook, site, presets });
}

export interface Recall {
  hits: number;
  total: number;
  misses: string[];
}

function linesOf(records: RecordBody[]) {
  return records.flatMap((record) => ("lines" in record && record.lines ? record.lines : []));
}

/** Fields expected from `meaning` and found in what the reader returns, over the typed lines. */
export function parserRecall(reader: (text: string) => ParsedText = read): Recall {
  const recall: Recall = { hits: 0, total: 0, misses: [] };
  const check = (ok: boolean, text: string, what: string): void => {
    recall.total += 1;
    if (ok) recall.hits += 1;
    else recall.misses.push(`${what} in "${text}"`);
  };
  for (const line of corpus.filter((entry) => entry.sent_as === "typed")) {
    const { records } = reader(line.text);
    const meaning = line.meaning;
    const wanted = (meaning["items"] as { item: string; qty: number | null }[] | undefined) ?? (typeof meaning["item"] === "string" ? [{ item: meaning["item"], qty: meaning["qty"] as number | null }] : []);
    const lines = linesOf(records);
    for (const { item, qty } of wanted) {
      const names = ITEM_MEANINGS[item] ?? [`(no codebook name for "${item}")`];
      const found = lines.find((l) => names.includes(l.item));
      check(found !== undefined, line.text, `item ${item}`);
      if (qty !== null && qty !== undefined) check(found?.quantity === qty, line.text, `quantity ${qty} of ${item} (read ${String(found?.quantity)})`);
    }
    if (typeof meaning["place"] === "string") {
      const code = site.landmarks.find((landmark) => landmark.label === meaning["place"])?.code;
      const place = records.map((record) => ("place" in record ? record.place : undefined)).find((p) => p !== undefined);
      check(place !== undefined && "landmark" in place && place.landmark === code, line.text, `place ${String(meaning["place"])}`);
    }
    if (typeof meaning["priority"] === "string") {
      const priority = records.find((record) => record.kind === "supply_request")?.priority;
      check(priority === meaning["priority"], line.text, `priority ${String(meaning["priority"])} (read ${String(priority)})`);
    }
  }
  return recall;
}
