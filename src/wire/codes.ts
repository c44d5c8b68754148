// The skeleton's code lists: what the numbers in a record mean. Issue 3 replaces these with the
// versioned, multilingual codebook under firmware-config/. Codes are never reused: an item that
// is retired keeps its number.

export const ITEM_CODES: Readonly<Record<string, number>> = {
  water: 1,
  food: 2,
  eyewash: 3,
  gauze: 4,
  medic: 5,
  ice: 6,
  sunscreen: 7,
  blanket: 8,
};

export const INCIDENT_CODES: Readonly<Record<string, number>> = {
  injury: 1,
  heat: 2,
  chemical: 3,
  arrest: 4,
  crowd_crush: 5,
};

/** Reverse lookup; undefined for a code this station does not know. */
export function nameOf(codes: Readonly<Record<string, number>>, code: number): string | undefined {
  for (const [name, value] of Object.entries(codes)) if (value === code) return name;
  return undefined;
}
