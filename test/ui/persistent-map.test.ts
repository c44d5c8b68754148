// The boards' persistent map: every version keeps its own entries, whatever is set after it.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { PersistentMap } from "../../src/ui/persistent-map.ts";

describe("PersistentMap", () => {
  test("property: each version holds exactly what a Map would, and later versions do not change it", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 300 }), (writes) => {
        const versions: { map: PersistentMap<number>; expected: Map<string, number> }[] = [];
        let map = PersistentMap.empty<number>();
        const expected = new Map<string, number>();
        for (const [key, value] of writes) {
          map = map.set(key, value);
          expected.set(key, value);
          versions.push({ map, expected: new Map(expected) });
        }
        for (const version of versions) {
          expect(version.map.size).toBe(version.expected.size);
          expect(new Map(version.map.entries())).toEqual(version.expected);
          for (const [key, value] of version.expected) {
            expect(version.map.get(key)).toBe(value);
            expect(version.map.has(key)).toBe(true);
          }
        }
      }),
    );
  });

  test("a draft with no change gives back the same map; one used twice keeps both results apart", () => {
    const map = PersistentMap.empty<number>().set("a", 1);
    expect(map.draft().done()).toBe(map);
    const draft = map.draft();
    draft.set("b", 2);
    const first = draft.done();
    draft.set("c", 3);
    const second = draft.done();
    expect([...first.keys()].sort()).toEqual(["a", "b"]);
    expect([...second.keys()].sort()).toEqual(["a", "b", "c"]);
    expect([...map.keys()]).toEqual(["a"]);
  });
});
