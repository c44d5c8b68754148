// Terminal cells of the text the console lays out itself (list lines).
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { cells, fit, pad } from "../../src/ui/cells.ts";

describe("cells", () => {
  test("wide characters take two cells, combining marks none", () => {
    expect(cells("water ×10")).toBe(9);
    expect(cells("水")).toBe(2);
    expect(cells("e\u0301")).toBe(1);
    expect(cells("🔥")).toBe(2);
    expect(fit("水水水", 4)).toBe("水…");
    expect(pad("▲ REQUEST", 12)).toBe("▲ REQUEST   ");
  });

  test("property: fit never exceeds the width and keeps short text whole; pad is exactly the width", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), fc.integer({ min: 1, max: 60 }), (text, width) => {
        const fitted = fit(text, width);
        expect(cells(fitted)).toBeLessThanOrEqual(width);
        if (cells(text) <= width) expect(fitted).toBe(text);
        else expect(fitted.endsWith("…")).toBe(true);
        expect(cells(pad(text, width))).toBe(width);
      }),
    );
  });
});
