import { describe, expect, it, vi } from "vitest";
import { actionRequest, consoleActions } from "../../src/cli/console-actions.ts";
import type { ActionOutcome, ActionRequest } from "../../src/station/index.ts";

const actor = { callsign: "B1", role: "coordinator" };
const ref = { origin: 0x1a2b, seq: 7 };

describe("console actions", () => {
  it("maps each board action to the station's request", () => {
    expect(actionRequest({ type: "acknowledge", ref }, actor)).toEqual({ verb: "acknowledge", actor, target: ref });
    expect(actionRequest({ type: "dispatch", ref, etaMin: 8 }, actor)).toEqual({ verb: "dispatch", actor, target: ref, etaMin: 8 });
    expect(actionRequest({ type: "close", ref }, actor)).toEqual({ verb: "close", actor, target: ref });
    expect(actionRequest({ type: "confirm-handoff", ref, callsign: "M12" }, actor)).toEqual({ verb: "assign_shift", actor, target: ref, shift: { callsign: "M12" } });
  });

  it("a refused action rejects with the station's reason; text goes to the scheduler", async () => {
    const act = vi.fn((action: ActionRequest): Promise<ActionOutcome> => Promise.resolve(action.verb === "cancel" ? { ok: false, action, reason: "coordinator only" } : { ok: true, action, audit: 1 }));
    const enqueue = vi.fn(() => 1);
    const actions = consoleActions({ act }, { enqueue }, actor);
    await expect(actions.onAct({ type: "deliver", ref })).resolves.toBeUndefined();
    await expect(actions.onAct({ type: "cancel", ref })).rejects.toThrow("coordinator only");
    await actions.onSend({ kind: "text", to: { callsign: "M1", num: 42 }, text: "ETA 5" });
    expect(enqueue).toHaveBeenCalledWith("status", { text: "ETA 5", to: 42 });
    await actions.onSend({ kind: "text", to: undefined, text: "all clear" });
    expect(enqueue).toHaveBeenLastCalledWith("status", { text: "all clear" });
    await expect(actions.onSend({ kind: "records", bodies: [], payloads: [] })).rejects.toThrow(/cannot be sent yet/);
  });
});
