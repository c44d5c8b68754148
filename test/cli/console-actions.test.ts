import { describe, expect, it, vi } from "vitest";
import { actionRequest, consoleActions } from "../../src/cli/console-actions.ts";
import type { ActionOutcome, ActionRequest, OutgoingRequest, SendOutcome } from "../../src/station/index.ts";

const actor = { callsign: "B1", role: "coordinator" };
const ref = { origin: 0x1a2b, seq: 7 };

describe("console actions", () => {
  it("maps each board action to the station's request", () => {
    expect(actionRequest({ type: "acknowledge", ref }, actor)).toEqual({ verb: "acknowledge", actor, target: ref });
    expect(actionRequest({ type: "dispatch", ref, etaMin: 8 }, actor)).toEqual({ verb: "dispatch", actor, target: ref, etaMin: 8 });
    expect(actionRequest({ type: "close", ref }, actor)).toEqual({ verb: "close", actor, target: ref });
    expect(actionRequest({ type: "confirm-handoff", ref, callsign: "M12" }, actor)).toEqual({ verb: "assign_shift", actor, target: ref, shift: { callsign: "M12" } });
  });

  it("a refused action or send rejects with the station's reason; records and texts go through the station's send", async () => {
    const act = vi.fn((action: ActionRequest): Promise<ActionOutcome> => Promise.resolve(action.verb === "cancel" ? { ok: false, action, reason: "coordinator only" } : { ok: true, action, audit: 1 }));
    const send = vi.fn((request: OutgoingRequest): Promise<SendOutcome> => Promise.resolve(request.to === "channel" ? { ok: false, reason: "no transmitter" } : { ok: true, records: [ref], packets: 1 }));
    const actions = consoleActions({ act, send }, actor);
    await expect(actions.onAct({ type: "deliver", ref })).resolves.toBeUndefined();
    await expect(actions.onAct({ type: "cancel", ref })).rejects.toThrow("coordinator only");
    await actions.onSend({ kind: "text", to: { callsign: "M1", num: 42 }, text: "ETA 5" });
    expect(send).toHaveBeenLastCalledWith({ bodies: [{ kind: "message", text: "ETA 5" }], text: "ETA 5", sender: "B1", to: { node: 42 } });
    await expect(actions.onSend({ kind: "text", to: undefined, text: "all clear" })).rejects.toThrow("no transmitter");
    const bodies = [{ kind: "supply_request" as const, lines: [{ item: "water", quantity: 2 }], priority: "normal" as const }];
    await actions.onSend({ kind: "records", bodies, payloads: [] });
    expect(send).toHaveBeenLastCalledWith({ bodies, sender: "B1" });
  });
});
