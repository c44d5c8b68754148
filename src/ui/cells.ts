// Terminal cells a string takes, for the list lines the console lays out itself (one Text per
// line renders three times faster than a row of boxes). Wide East Asian characters and emoji take
// two cells, combining marks none; the rest one.

function cellsOf(code: number): number {
  if (code === 0x200d || (code >= 0x300 && code <= 0x36f) || (code >= 0xfe00 && code <= 0xfe0f)) return 0;
  if (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf && code !== 0x303f) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  )
    return 2;
  return 1;
}

export function cells(text: string): number {
  let width = 0;
  for (const char of text) width += cellsOf(char.codePointAt(0)!);
  return width;
}

/** At most `width` cells: cut with "…" when longer. */
export function fit(text: string, width: number): string {
  if (width <= 0) return "";
  if (cells(text) <= width) return text;
  let out = "";
  let used = 0;
  for (const char of text) {
    const w = cellsOf(char.codePointAt(0)!);
    if (used + w > width - 1) break;
    out += char;
    used += w;
  }
  return `${out}…`;
}

/** Exactly `width` cells: cut with "…" or padded with spaces. */
export function pad(text: string, width: number): string {
  const fitted = fit(text, width);
  return fitted + " ".repeat(Math.max(0, width - cells(fitted)));
}
