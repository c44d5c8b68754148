// The site plan (firmware-config/site.yaml, or JSON like ../shared/corpus/site.json): an origin
// and landmarks with one-byte codes. Places travel as a landmark code, else as an offset from the
// origin at ~10 m, else as absolute coordinates. Pure: the caller reads the file.
import { parseYamlText } from "./yaml.ts";
import { WireError } from "./errors.ts";
import { isObject } from "./codebook.ts";
import type { Place } from "./types.ts";

export interface Landmark {
  code: number;
  label: string;
  lat: number;
  lon: number;
  aliases: readonly string[];
}

export interface SitePlan {
  name: string;
  origin: { lat: number; lon: number };
  landmarks: readonly Landmark[];
}

/** Landmark codes take one byte on the air. */
export const MAX_LANDMARK = 255;
const METRES_PER_DEGREE = 111_320;

/**
 * Parses a site plan in YAML or JSON. Landmarks are a mapping code -> {label, lat, lon, aliases},
 * or a list (the corpus form), which numbers them 1, 2, 3 ... in order.
 */
export function parseSitePlan(text: string, source = "site.yaml"): SitePlan {
  const fail = (where: string, what: string): never => {
    throw new WireError("SITE_PLAN_INVALID", `${source}: ${where}: ${what}`);
  };
  let document: unknown;
  try {
    document = parseYamlText(text); // JSON is YAML
  } catch (cause) {
    throw new WireError("SITE_PLAN_INVALID", `${source}: not valid YAML or JSON: ${String(cause)}`, { cause });
  }
  if (!isObject(document)) return fail("top level", "expected a mapping with name, origin and landmarks");
  const origin = coords(document["origin"], "origin", fail);
  const raw = document["landmarks"];
  const pairs: [string, unknown][] = Array.isArray(raw) ? raw.map((value, index) => [String(index + 1), value]) : isObject(raw) ? Object.entries(raw) : fail("landmarks", "expected a mapping code -> landmark, or a list");
  const seen = new Set<string>();
  const landmarks = pairs.map(([key, value]): Landmark => {
    const code = Number(key);
    const where = `landmarks.${key}`;
    if (!Number.isInteger(code) || code < 1 || code > MAX_LANDMARK) fail(where, `landmark codes are 1..${MAX_LANDMARK} (one byte on the air)`);
    if (!isObject(value)) return fail(where, "expected a mapping with label, lat, lon");
    for (const key of Object.keys(value)) if (!["label", "lat", "lon", "aliases"].includes(key)) fail(where, `unknown key "${key}" (expected label, lat, lon, aliases)`);
    const label = value["label"];
    if (typeof label !== "string" || label.trim() === "") return fail(where, "`label` must be a non-empty string");
    if (seen.has(label.toLowerCase())) fail(where, `label "${label}" is used twice`);
    seen.add(label.toLowerCase());
    const aliases = value["aliases"] ?? [];
    if (!Array.isArray(aliases)) return fail(where, "`aliases` must be a list");
    return { code, label, ...coords(value, where, fail), aliases: aliases.map(String) };
  });
  const name = document["name"];
  return { name: typeof name === "string" ? name : source, origin, landmarks };
}

function coords(value: unknown, where: string, fail: (where: string, what: string) => never): { lat: number; lon: number } {
  if (!isObject(value)) return fail(where, "expected lat and lon");
  const { lat, lon } = value;
  if (typeof lat !== "number" || Math.abs(lat) > 90 || typeof lon !== "number" || Math.abs(lon) > 180) return fail(where, "lat must be -90..90 and lon -180..180");
  return { lat, lon };
}

export function landmarkByCode(site: SitePlan, code: number): Landmark | undefined {
  return site.landmarks.find((landmark) => landmark.code === code);
}

/** Where a place is in words: "North Gate", "120 m E, 40 m N of the origin", "45.52310, -122.67650". */
export function describePlace(place: Place, site?: SitePlan): string {
  if ("landmark" in place) return (site && landmarkByCode(site, place.landmark)?.label) ?? `landmark ${place.landmark}`;
  if ("east" in place) {
    const ew = `${Math.abs(place.east)} m ${place.east < 0 ? "W" : "E"}`;
    const ns = `${Math.abs(place.north)} m ${place.north < 0 ? "S" : "N"}`;
    return `${ew}, ${ns} of the origin`;
  }
  return `${place.lat.toFixed(5)}, ${place.lon.toFixed(5)}`;
}

/** The place for coordinates on this site: a landmark within `snapMetres`, else an offset, else absolute (beyond ~50 km). */
export function placeFor(site: SitePlan, lat: number, lon: number, snapMetres = 15): Place {
  const offset = (to: { lat: number; lon: number }) => ({
    east: (lon - to.lon) * METRES_PER_DEGREE * Math.cos((site.origin.lat * Math.PI) / 180),
    north: (lat - to.lat) * METRES_PER_DEGREE,
  });
  for (const landmark of site.landmarks) {
    const d = offset(landmark);
    if (Math.hypot(d.east, d.north) <= snapMetres) return { landmark: landmark.code };
  }
  const { east, north } = offset(site.origin);
  if (Math.abs(east) > 50_000 || Math.abs(north) > 50_000) return { lat, lon };
  return { east: Math.round(east / 10) * 10, north: Math.round(north / 10) * 10 };
}
