// What the console asks for, carried out by the station (in this process, or a running one over
// its control socket): board actions through act() (the decision rights and the audit trail
// decide), composed records and texts through send() (logged first, then put on the air).
import type { ActionOutcome, ActionRequest, OutgoingRequest, SendOutcome } from "../station/index.ts";
import type { BoardAction, Outgoing } from "../ui/index.ts";

export interface ConsoleActions {
  onAct: (action: BoardAction) => Promise<void>;
  onSend: (outgoing: Outgoing) => Promise<void>;
}

/** What the console needs of a station. */
export interface ActingStation {
  act(action: ActionRequest): Promise<ActionOutcome>;
  send(request: OutgoingRequest): Promise<SendOutcome>;
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

/** What compose made, as the station's send request: records to the other base stations, or a text (kept as a message) to a handheld or the channel. */
export function outgoingRequest(outgoing: Outgoing, actor: ActionRequest["actor"]): OutgoingRequest {
  if (outgoing.kind === "records") return { bodies: outgoing.bodies, sender: actor.callsign };
  return { bodies: [{ kind: "message", text: outgoing.text }], text: outgoing.text, sender: actor.callsign, to: outgoing.to ? { node: outgoing.to.num } : "channel" };
}

export function consoleActions(station: ActingStation, actor: ActionRequest["actor"]): ConsoleActions {
  return {
    onAct: async (action) => {
      const outcome = await station.act(actionRequest(action, actor));
      if (!outcome.ok) throw new Error(outcome.reason);
    },
    onSend: async (outgoing) => {
      const outcome = await station.send(outgoingRequest(outgoing, actor));
      if (!outcome.ok) throw new Error(outcome.reason);
    },
  };
}
