import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CODEBOOK_CATEGORIES, codeOf, describePlace, labelOf, nameOf, parseCodebook, parsePresetTable, parseSitePlan, placeFor, WireError } from "../../src/wire/index.ts";
import { codebook, configText, site } from "../helpers/records.ts";

describe("the codebook in firmware-config/", () => {
  it("has every category, with English and Spanish labels for every entry", () => {
    for (const category of CODEBOOK_CATEGORIES) {
      expect(codebook.lists[category].entries.length).toBeGreaterThan(3);
      for (const entry of codebook.lists[category].entries) {
        expect(entry.labels["en"], `${category} ${entry.name}`).toBeTruthy();
        expect(entry.labels["es"], `${category} ${entry.name}`).toBeTruthy();
      }
    }
  });

  it("keeps the seeded codes of field-standards.md section 9", () => {
    expect(codeOf(codebook, "items", "water")).toBe(1);
    expect(codeOf(codebook, "items", "eyewash")).toBe(11);
    expect(codeOf(codebook, "items", "blanket")).toBe(23);
    expect(codeOf(codebook, "incidents", "chemical")).toBe(5);
    expect(codeOf(codebook, "incidents", "kettle")).toBe(14);
    expect(codeOf(codebook, "hazards", "tear_gas")).toBe(1);
    expect(codeOf(codebook, "roles", "medic")).toBe(7);
    expect(codeOf(codebook, "triage", "immediate")).toBe(1);
    expect(codeOf(codebook, "priorities", "urgent")).toBe(2);
  });

  it("labels in a language, falling back to English, then to the name", () => {
    expect(labelOf(codebook, "items", "water", "es")).toBe("agua potable");
    expect(labelOf(codebook, "items", "water", "fr")).toBe("drinking water");
    expect(labelOf(codebook, "items", "#300")).toBe("unknown item #300");
    expect(nameOf(codebook, "items", 300)).toBe("#300");
    expect(codeOf(codebook, "items", "#300")).toBe(300);
    expect(codeOf(codebook, "items", "unicorn")).toBeUndefined();
  });

  it("has a short hash that changes when a code is added, not when a label is translated", () => {
    expect(codebook.hash).toMatch(/^[0-9a-f]{8}$/);
    const text = configText("codebook.yaml");
    expect(parseCodebook(text).hash).toBe(codebook.hash);
    expect(parseCodebook(text.replace("es: agua potable,", "es: agua para beber,")).hash).toBe(codebook.hash);
    expect(parseCodebook(text.replace("items:\n", "items:\n  300: { name: glitter, en: glitter }\n")).hash).not.toBe(codebook.hash);
  });

  it("refuses a broken codebook, naming the entry", () => {
    const text = configText("codebook.yaml");
    expect(() => parseCodebook(text.replace("items:\n", "items:\n  0: { name: nothing, en: nothing }\n"))).toThrow(/items\.0: codes are whole numbers 1\.\./);
    expect(() => parseCodebook(text.replace("items:\n", "items:\n  301: { name: water, en: more water }\n"))).toThrow(/items\.301: name "water" is used twice/);
    expect(() => parseCodebook(text.replace("items:\n", "items:\n  302: { name: tea_bags }\n"))).toThrow(/items\.302: an English label/);
    expect(() => parseCodebook(text.replace("items:\n", "items:\n  1: { name: dup, en: dup }\n"))).toThrow(/not valid YAML|Map keys must be unique/);
    expect(() => parseCodebook(text.replace("2: { name: urgent", "2: { name: asap"))).toThrow(/priorities\.2: must be named urgent/);
    expect(() => parseCodebook("version: 1\nlanguages: [es]\n")).toThrow(/languages: .*includes en/);
    expect(() => parseCodebook(text.replace("items:\n", "items:\n  303: { name: tea, en: tea (green, black) }\n"))).toThrow(/items\.303: unknown key "black\)" \(quote labels that contain a comma\)/);
  });
});

describe("the site plan", () => {
  it("reads firmware-config/site.yaml with one-byte landmark codes and aliases", () => {
    expect(site.landmarks.map((landmark) => landmark.code)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(site.landmarks[3]).toMatchObject({ label: "Fountain", aliases: expect.arrayContaining(["fuente"]) as unknown });
  });

  it("reads the corpus JSON form, numbering landmarks in order", () => {
    const json = JSON.stringify({ name: "x", origin: { lat: 45.5231, lon: -122.6765 }, landmarks: [{ label: "North Gate", lat: 45.5262, lon: -122.677 }, { label: "Fountain", lat: 45.5203, lon: -122.6741 }] });
    expect(parseSitePlan(json).landmarks.map((l) => [l.code, l.label])).toEqual([[1, "North Gate"], [2, "Fountain"]]);
  });

  it("refuses codes that do not fit a byte and missing coordinates", () => {
    expect(() => parseSitePlan("origin: { lat: 1, lon: 2 }\nlandmarks:\n  256: { label: X, lat: 1, lon: 2 }\n")).toThrow(/landmarks\.256: landmark codes are 1\.\.255/);
    expect(() => parseSitePlan("origin: { lat: 1 }\nlandmarks: []\n")).toThrow(/origin: lat must be/);
  });

  it("places coordinates: a landmark when close, else a 10 m offset, else absolute", () => {
    expect(placeFor(site, 45.5262, -122.677)).toEqual({ landmark: 1 });
    const offset = placeFor(site, 45.5241, -122.6765);
    expect(offset).toEqual({ east: 0, north: 110 });
    expect(describePlace(offset, site)).toBe("0 m E, 110 m N of the origin");
    expect(placeFor(site, 40.7, -74)).toEqual({ lat: 40.7, lon: -74 });
    expect(describePlace({ landmark: 4 }, site)).toBe("Fountain");
    expect(describePlace({ landmark: 99 }, site)).toBe("landmark 99");
  });
});

describe("the configuration parsers on any input", () => {
  it("return a value or throw a WireError, nothing else", () => {
    const yamlish = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 200 }),
      fc.constantFrom(configText("codebook.yaml"), configText("site.yaml"), configText("presets.yaml")).chain((text) =>
        fc.tuple(fc.nat({ max: text.length }), fc.nat({ max: 40 }), fc.string({ maxLength: 8 })).map(([at, cut, insert]) => text.slice(0, at) + insert + text.slice(at + cut)),
      ),
    );
    fc.assert(
      fc.property(yamlish, (text) => {
        for (const parse of [() => parseCodebook(text), () => parseSitePlan(text), () => parsePresetTable(text, codebook)]) {
          try {
            parse();
          } catch (error) {
            expect(error).toBeInstanceOf(WireError);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
