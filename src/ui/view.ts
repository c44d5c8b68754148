// What the coordinator is looking at (screen, selection, overlays, language) and the pure function
// that turns a key into the next view and, at most, one effect for the container to carry out.
import type { Key } from "ink";
import type { RecordId } from "../wire/index.ts";
import { composeKey, composePreview, newComposeForm, type ComposeContext, type ComposeForm, type Outgoing } from "./compose.ts";

export type Tab = "feed" | "requests" | "incidents" | "shifts" | "nodes";
export const TABS: readonly Tab[] = ["feed", "requests", "incidents", "shifts", "nodes"];

/** What the coordinator asks the station to do from a board. */
export type BoardAction =
  | { type: "acknowledge"; ref: RecordId }
  | { type: "dispatch"; ref: RecordId; etaMin: number }
  | { type: "deliver"; ref: RecordId }
  | { type: "cancel"; ref: RecordId }
  | { type: "close"; ref: RecordId }
  /** `callsign`: who takes the shift over. */
  | { type: "confirm-handoff"; ref: RecordId; callsign: string };

/** How a screen's rows are ordered: the board's own order (open and urgent first), newest first, or by sender. */
export type SortKey = "board" | "newest" | "sender";
export const SORT_KEYS: readonly SortKey[] = ["board", "newest", "sender"];

export type Overlay =
  | { type: "none" }
  | { type: "filter"; draft: string }
  | { type: "help" }
  | { type: "detail" }
  | { type: "quit" }
  | { type: "eta"; draft: string; ref: RecordId }
  | { type: "compose"; form: ComposeForm };

export interface ViewState {
  tab: Tab;
  /** The selected row on each screen (0: the top). */
  selection: Readonly<Record<Tab, number>>;
  overlay: Overlay;
  language: string;
  /** Only rows whose words contain this (any case); "" shows all. */
  filter: string;
  sort: SortKey;
  /** One line for the footer: what the last action did. */
  notice: string | undefined;
}

export type Effect = { type: "quit" } | { type: "act"; action: BoardAction } | { type: "send"; outgoing: Outgoing } | { type: "export" };

/** The selected row, as far as actions need it. */
export interface SelectedRow {
  tab: Tab;
  ref: RecordId;
  /** requests: open/closed; incidents: open/closed; shifts: the row's state. */
  state: string;
  /** The row's callsign (shifts: who the row is about). */
  callsign: string;
}

export interface KeyContext {
  /** Rows on the current screen. */
  rowCount: number;
  /** Rows a page moves. */
  page: number;
  /** Records not yet sent (q asks first when there are any). */
  unsent: number;
  languages: readonly string[];
  selected: SelectedRow | undefined;
  compose: ComposeContext | undefined;
}

export function initialView(language = "en"): ViewState {
  return { tab: "feed", selection: { feed: 0, requests: 0, incidents: 0, shifts: 0, nodes: 0 }, overlay: { type: "none" }, language, filter: "", sort: "board", notice: undefined };
}

export interface KeyResult {
  view: ViewState;
  effect?: Effect;
}

function clamp(n: number, count: number): number {
  return Math.max(0, Math.min(n, count - 1));
}

function select(view: ViewState, index: number, count: number): ViewState {
  return { ...view, selection: { ...view.selection, [view.tab]: clamp(index, count) } };
}

function isQuit(input: string, key: Key): boolean {
  return input === "q" || input === "Q" || (key.ctrl && input === "c");
}

function boardAction(view: ViewState, input: string, selected: SelectedRow | undefined): KeyResult | undefined {
  if (!["a", "d", "v", "x"].includes(input)) return undefined;
  if (view.tab === "feed" || view.tab === "nodes") return { view: { ...view, notice: "notHere" } };
  if (!selected) return { view: { ...view, notice: "selectFirst" } };
  const ref = selected.ref;
  const act = (action: BoardAction): KeyResult => ({ view: { ...view, notice: undefined }, effect: { type: "act", action } });
  if (view.tab === "requests") {
    if (input === "a") return act({ type: "acknowledge", ref });
    if (input === "d") return { view: { ...view, overlay: { type: "eta", draft: "", ref }, notice: undefined } };
    if (input === "v") return act({ type: "deliver", ref });
    return act({ type: "cancel", ref });
  }
  if (view.tab === "incidents") {
    if (input === "a") return act({ type: "acknowledge", ref });
    if (input === "x") return act({ type: "close", ref });
    return { view: { ...view, notice: "notHere" } };
  }
  if (input === "a" && selected.state === "handoff") return act({ type: "confirm-handoff", ref, callsign: selected.callsign });
  return { view: { ...view, notice: "notHere" } };
}

/** The next view after a key, and what the container must do. */
export function handleKey(view: ViewState, input: string, key: Key, ctx: KeyContext): KeyResult {
  const overlay = view.overlay;
  switch (overlay.type) {
    case "quit":
      if (input === "y" || input === "Y" || (key.ctrl && input === "c")) return { view, effect: { type: "quit" } };
      if (input === "n" || input === "N" || key.escape) return { view: { ...view, overlay: { type: "none" } } };
      return { view };
    case "help":
    case "detail":
      if (isQuit(input, key)) break;
      if (key.escape || key.return || input === "?" || (overlay.type === "detail" && key.backspace)) return { view: { ...view, overlay: { type: "none" } } };
      return { view };
    case "eta": {
      if (key.escape) return { view: { ...view, overlay: { type: "none" } } };
      if (key.return) {
        const etaMin = Number(overlay.draft);
        if (overlay.draft === "" || !Number.isInteger(etaMin)) return { view };
        return { view: { ...view, overlay: { type: "none" } }, effect: { type: "act", action: { type: "dispatch", ref: overlay.ref, etaMin } } };
      }
      if (key.backspace || key.delete) return { view: { ...view, overlay: { ...overlay, draft: overlay.draft.slice(0, -1) } } };
      if (/^\d+$/.test(input)) return { view: { ...view, overlay: { ...overlay, draft: (overlay.draft + input).slice(0, 3) } } };
      return { view };
    }
    case "filter": {
      if (key.escape) return { view: { ...view, overlay: { type: "none" } } };
      if (key.return) return { view: { ...view, overlay: { type: "none" }, filter: overlay.draft, selection: { ...view.selection, [view.tab]: 0 } } };
      if (key.backspace || key.delete) return { view: { ...view, overlay: { ...overlay, draft: [...overlay.draft].slice(0, -1).join("") } } };
      if (key.ctrl && input === "c") break;
      if (key.ctrl || key.meta || input === "" || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.tab) return { view };
      return { view: { ...view, overlay: { ...overlay, draft: (overlay.draft + input.replace(/\p{Cc}/gu, "")).slice(0, 40) } } };
    }
    case "compose": {
      if (key.escape) return { view: { ...view, overlay: { type: "none" } } };
      if (key.ctrl && input === "c") break;
      if (!ctx.compose) return { view };
      const next = composeKey(overlay.form, input, key, ctx.compose);
      if (next.send) {
        const preview = composePreview(next.form, ctx.compose);
        if (!preview.outgoing) return { view: { ...view, notice: preview.error } };
        return { view: { ...view, overlay: { type: "none" }, notice: undefined }, effect: { type: "send", outgoing: preview.outgoing } };
      }
      return { view: { ...view, overlay: { type: "compose", form: next.form } } };
    }
    case "none":
      break;
  }

  if (isQuit(input, key)) {
    if (ctx.unsent > 0) return { view: { ...view, overlay: { type: "quit" } } };
    return { view, effect: { type: "quit" } };
  }
  const current = view.selection[view.tab];
  if (input === "?") return { view: { ...view, overlay: { type: "help" } } };
  if (key.escape) return { view: { ...view, notice: undefined, filter: "" } };
  if (input === "/") return { view: { ...view, overlay: { type: "filter", draft: view.filter } } };
  if (input === "s") return { view: { ...view, sort: SORT_KEYS[(SORT_KEYS.indexOf(view.sort) + 1) % SORT_KEYS.length]!, selection: { ...view.selection, [view.tab]: 0 } } };
  if (/^[1-5]$/.test(input)) return { view: { ...view, tab: TABS[Number(input) - 1]!, notice: undefined } };
  if (key.tab) {
    const index = (TABS.indexOf(view.tab) + (key.shift ? TABS.length - 1 : 1)) % TABS.length;
    return { view: { ...view, tab: TABS[index]!, notice: undefined } };
  }
  if (key.downArrow || input === "j") return { view: select(view, current + 1, ctx.rowCount) };
  if (key.upArrow || input === "k") return { view: select(view, current - 1, ctx.rowCount) };
  if (key.pageDown) return { view: select(view, current + ctx.page, ctx.rowCount) };
  if (key.pageUp) return { view: select(view, current - ctx.page, ctx.rowCount) };
  if (input === "g" || key.home) return { view: select(view, 0, ctx.rowCount) };
  if (input === "G" || key.end) return { view: select(view, ctx.rowCount - 1, ctx.rowCount) };
  if (key.return) return ctx.rowCount > 0 ? { view: { ...view, overlay: { type: "detail" } } } : { view };
  if (input === "l" || input === "L") {
    const languages = ctx.languages.length > 0 ? ctx.languages : ["en"];
    const index = (languages.indexOf(view.language) + 1) % languages.length;
    return { view: { ...view, language: languages[index] ?? "en" } };
  }
  if (input === "e") return { view: { ...view, notice: "exporting" }, effect: { type: "export" } };
  if (input === "c") {
    if (!ctx.compose) return { view: { ...view, notice: "noCompose" } };
    return { view: { ...view, overlay: { type: "compose", form: newComposeForm() } } };
  }
  return boardAction(view, input, ctx.selected) ?? { view };
}
