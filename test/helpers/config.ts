// The field configuration that ships in firmware-config/, parsed (without the record generators
// of records.ts: the start-up bench's child loads only what a station start loads).
import { readFileSync } from "node:fs";
import { parseCodebook, parsePresetTable, parseSitePlan } from "../../src/wire/index.ts";

export const configText = (name: string): string => readFileSync(new URL(`../../firmware-config/${name}`, import.meta.url), "utf8");
export const codebook = parseCodebook(configText("codebook.yaml"));
export const site = parseSitePlan(configText("site.yaml"));
export const presets = parsePresetTable(configText("presets.yaml"), codebook);
