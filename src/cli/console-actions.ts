// What the console asks for, carried out by the station: board actions through Station.act (the
// decision rights and the audit trail decide), text to handhelds through the transmit scheduler.
import type { ActionRequest, Station, TransmitScheduler } from "../station/index.ts";
import type { BoardAction, Outgoing } from "../ui/index.ts";

export interface ConsoleActions {
  onAct: (action: BoardAction) => Promise<void>;
  onSend: (outgoing: Outgoing) => Promise<void>;
}

/** The station's request for a console action by `actor`. */
export function actionRequest(action: BoardAction, actor: ActionRequest["actor"]): ActionRequest {
  switch (action.type) {
    case "confirm-handoff":
      // Confirming a handoff puts the incoming callsign on shift.
      return { verb: "assign_shift", actor, target: action.ref, shift: { callsign: action.callsign } };
    case "dispatch":
      return { verb: "dispatch", actor, target: action.ref, etaMin: action.etaMin };
    default:
      return { verb: action.type, actor, target: action.ref };
  }
}

export function consoleActions(station: Pick<Station, "act">, scheduler: Pick<TransmitScheduler, "enqueue">, actor: ActionRequest["actor"]): ConsoleActions {
  return {
    onAct: async (action) => {
      const outcome = await station.act(actionRequest(action, actor));
      if (!outcome.ok) throw new Error(outcome.reason);
    },
    onSend: (outgoing) => {
      if (outgoing.kind === "records") {
        // Records from this station go in its log first (Station.act does that for actions); the
        // station has no path for composed records yet, so nothing is put on the air unlogged.
        return Promise.reject(new Error("composed records cannot be sent yet: the station logs only actions; use a text"));
      }
      scheduler.enqueue("status", { text: outgoing.text, ...(outgoing.to ? { to: outgoing.to.num } : {}) });
      return Promise.resolve();
    },
  };
}
