import fc from "fast-check";
import type { Key } from "ink";
import { describe, expect, test } from "vitest";
import { decodePayload } from "../../src/wire/index.ts";
import { composeKey, composePreview, handleKey, initialView, newComposeForm, TEXT_LIMIT_BYTES, type KeyContext, type ViewState } from "../../src/ui/index.ts";
import { codebook, presets } from "../helpers/records.ts";
import { key } from "./keys.ts";

const ref = { origin: 0x1a2b, seq: 7 };
const ctx: KeyContext = { rowCount: 10, page: 5, unsent: 0, languages: ["en", "es"], selected: undefined, compose: undefined };
const compose = { codebook, presets: presets.presets.map((p) => ({ text: p.text, body: p.body })), destinations: [{ callsign: "MED1", num: 0x1a2b }], airtimeMs: (bytes: number) => bytes * 10 };

function press(view: ViewState, input: string, k = key(), context: KeyContext = ctx) {
  return handleKey(view, input, k, context);
}

describe("keys", () => {
  test("number keys and Tab switch screens; Shift-Tab goes back", () => {
    expect(press(initialView(), "3").view.tab).toBe("incidents");
    expect(press(initialView(), "", key({ tab: true })).view.tab).toBe("requests");
    expect(press(initialView(), "", key({ tab: true, shift: true })).view.tab).toBe("nodes");
  });

  test("arrows and j/k move the selection within the rows; each screen keeps its own", () => {
    let view = initialView();
    view = press(view, "j").view;
    view = press(view, "", key({ downArrow: true })).view;
    expect(view.selection.feed).toBe(2);
    view = press(view, "k").view;
    expect(view.selection.feed).toBe(1);
    view = press(view, "", key({ pageDown: true })).view;
    view = press(view, "", key({ pageDown: true })).view;
    expect(view.selection.feed).toBe(9);
    view = press(view, "2").view;
    expect(view.selection.requests).toBe(0);
    expect(press(initialView(), "k").view.selection.feed).toBe(0);
  });

  test("? opens help, Esc closes it; Enter opens the detail only when there is a row", () => {
    const help = press(initialView(), "?").view;
    expect(help.overlay.type).toBe("help");
    expect(press(help, "", key({ escape: true })).view.overlay.type).toBe("none");
    expect(press(initialView(), "", key({ return: true })).view.overlay.type).toBe("detail");
    expect(press(initialView(), "", key({ return: true }), { ...ctx, rowCount: 0 }).view.overlay.type).toBe("none");
  });

  test("q quits at once when nothing is unsent, and asks first when something is", () => {
    expect(press(initialView(), "q").effect).toEqual({ type: "quit" });
    const asked = press(initialView(), "q", key(), { ...ctx, unsent: 2 });
    expect(asked.effect).toBeUndefined();
    expect(asked.view.overlay.type).toBe("quit");
    expect(press(asked.view, "n").view.overlay.type).toBe("none");
    expect(press(asked.view, "n").effect).toBeUndefined();
    expect(press(asked.view, "y").effect).toEqual({ type: "quit" });
  });

  test("/ edits a filter that Enter applies and Esc clears; s cycles the sort", () => {
    let view = press(initialView(), "/").view;
    view = press(view, "w").view;
    view = press(view, "a").view;
    expect(view.filter).toBe("");
    view = press(view, "", key({ return: true })).view;
    expect(view).toMatchObject({ filter: "wa", overlay: { type: "none" } });
    expect(press(view, "", key({ escape: true })).view.filter).toBe("");
    expect(press(initialView(), "s").view.sort).toBe("newest");
    expect(press(press(press(initialView(), "s").view, "s").view, "s").view.sort).toBe("board");
  });

  test("l cycles the languages", () => {
    const es = press(initialView(), "l").view;
    expect(es.language).toBe("es");
    expect(press(es, "l").view.language).toBe("en");
  });

  test("board actions name the selected record; dispatch asks for the ETA first", () => {
    const requests = { ...initialView(), tab: "requests" as const };
    const selected = { tab: "requests" as const, ref, state: "open", callsign: "MED1" };
    expect(press(requests, "a", key(), { ...ctx, selected }).effect).toEqual({ type: "act", action: { type: "acknowledge", ref } });
    expect(press(requests, "x", key(), { ...ctx, selected }).effect).toEqual({ type: "act", action: { type: "cancel", ref } });
    const eta = press(requests, "d", key(), { ...ctx, selected });
    expect(eta.effect).toBeUndefined();
    let view = press(eta.view, "1").view;
    view = press(view, "5").view;
    expect(press(view, "", key({ return: true })).effect).toEqual({ type: "act", action: { type: "dispatch", ref, etaMin: 15 } });
    const incidents = { ...initialView(), tab: "incidents" as const };
    expect(press(incidents, "x", key(), { ...ctx, selected: { ...selected, tab: "incidents" } }).effect).toEqual({ type: "act", action: { type: "close", ref } });
    const shifts = { ...initialView(), tab: "shifts" as const };
    expect(press(shifts, "a", key(), { ...ctx, selected: { tab: "shifts", ref, state: "handoff", callsign: "M12" } }).effect).toEqual({ type: "act", action: { type: "confirm-handoff", ref, callsign: "M12" } });
    expect(press(shifts, "a", key(), { ...ctx, selected: { tab: "shifts", ref, state: "on", callsign: "M12" } }).effect).toBeUndefined();
    expect(press(requests, "a").view.notice).toBe("selectFirst");
  });
});

describe("compose", () => {
  test("a supply request shows its wire bytes and time on air, and Enter sends it", () => {
    const form = { ...newComposeForm("request"), quantity: "20", priority: 2 };
    const preview = composePreview(form, compose);
    expect(preview.error).toBeUndefined();
    expect(preview.hex).toMatch(/^7f 1/);
    expect(preview.payloadBytes).toBeLessThan(12);
    expect(preview.onAirBytes).toBe(preview.payloadBytes + 16 + 5);
    expect(preview.airtimeMs).toBe(preview.onAirBytes * 10);
    const sent = press({ ...initialView(), overlay: { type: "compose", form } }, "", key({ return: true }), { ...ctx, compose });
    expect(sent.effect).toMatchObject({ type: "send", outgoing: { kind: "records", bodies: [{ kind: "supply_request", priority: "urgent", lines: [{ quantity: 20 }] }] } });
  });

  test("an incident form: type, casualties typed as digits, severity", () => {
    let view: ViewState = { ...initialView(), overlay: { type: "compose", form: newComposeForm("incident") } };
    const step = (input: string, k = key()) => (view = press(view, input, k, { ...ctx, compose }).view);
    step("", key({ rightArrow: true }));
    step("", key({ downArrow: true }));
    step("1");
    step("2");
    step("", key({ downArrow: true }));
    step("", key({ rightArrow: true }));
    step("", key({ rightArrow: true }));
    const sent = press(view, "", key({ return: true }), { ...ctx, compose });
    expect(sent.effect).toMatchObject({ type: "send", outgoing: { kind: "records", bodies: [{ kind: "incident", casualties: 12, severity: "severe" }] } });
    const form = view.overlay.type === "compose" ? view.overlay.form : newComposeForm();
    expect(composePreview(form, compose).hex).toMatch(/^7f 1/);
  });

  test("free text counts bytes, not characters, and refuses what does not fit", () => {
    const form = { ...newComposeForm("text"), field: 1 };
    let view: ViewState = { ...initialView(), overlay: { type: "compose", form } };
    for (const ch of "água ✚") view = press(view, ch, key(), { ...ctx, compose }).view;
    const typed = view.overlay.type === "compose" ? view.overlay.form : form;
    expect(typed.text).toBe("água ✚");
    expect(composePreview(typed, compose).payloadBytes).toBe(9);
    const long = { ...typed, text: "é".repeat(TEXT_LIMIT_BYTES / 2 + 1) };
    expect(composePreview(long, compose).error).toMatch(/too long/);
    const refused = press({ ...initialView(), overlay: { type: "compose", form: long } }, "", key({ return: true }), { ...ctx, compose });
    expect(refused.effect).toBeUndefined();
    const ok = press({ ...initialView(), overlay: { type: "compose", form: { ...typed, to: 1 } } }, "", key({ return: true }), { ...ctx, compose });
    expect(ok.effect).toEqual({ type: "send", outgoing: { kind: "text", to: { callsign: "MED1", num: 0x1a2b }, text: "água ✚" } });
  });
});

describe("compose, every kind (property)", () => {
  const targets = [
    { id: { origin: 0x1a2b, seq: 7 }, kind: "supply_request" as const, label: "water ×1 MED1" },
    { id: { origin: 0x3c4d, seq: 9 }, kind: "incident" as const, label: "injury MAR2" },
  ];
  const full = { ...compose, targets };
  const keyArb = fc.oneof(
    fc.constant<[string, Partial<Key>]>(["", { tab: true }]),
    fc.constant<[string, Partial<Key>]>(["", { downArrow: true }]),
    fc.constant<[string, Partial<Key>]>(["", { upArrow: true }]),
    fc.constant<[string, Partial<Key>]>(["", { leftArrow: true }]),
    fc.constant<[string, Partial<Key>]>(["", { rightArrow: true }]),
    fc.constant<[string, Partial<Key>]>(["", { backspace: true }]),
    fc.string({ minLength: 1, maxLength: 3 }).map((s): [string, Partial<Key>] => [s, {}]),
    fc.integer({ min: 0, max: 999 }).map((n): [string, Partial<Key>] => [String(n), {}]),
  );

  test("whatever is typed, the preview either says what is wrong or its payload decodes to exactly the record sent", () => {
    fc.assert(
      fc.property(fc.array(keyArb, { maxLength: 40 }), (keys) => {
        let form = newComposeForm();
        for (const [input, k] of keys) form = composeKey(form, input, key(k), full).form;
        const preview = composePreview(form, full);
        if (preview.outgoing === undefined) {
          expect(preview.error).toMatch(/\S/);
          return;
        }
        if (preview.outgoing.kind === "text") return;
        expect(preview.outgoing.payloads).toHaveLength(1);
        const decoded = decodePayload(preview.outgoing.payloads[0]!, codebook, 0x1234);
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        expect(decoded.value.records.map((r) => r.body)).toEqual(preview.outgoing.bodies);
        // A status or an acknowledgement is about one of the open records offered.
        const body = preview.outgoing.bodies[0]!;
        if (body.kind === "ack") expect(targets.map((t) => t.id)).toContainEqual(body.refs[0]);
        if (body.kind === "supply_status") expect(body.ref).toEqual(targets[0]!.id);
      }),
      { numRuns: 300 },
    );
  });

  test("without open records, a status and an acknowledgement say so instead of sending", () => {
    expect(composePreview(newComposeForm("status"), compose).error).toBe("no open request to report on");
    expect(composePreview(newComposeForm("ack"), compose).error).toBe("no open request or incident to acknowledge");
  });
});
