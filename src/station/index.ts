// The base station: ingest, boards, and (later) what goes on the air.
export { Station, replyText } from "./station.ts";
export type { StationOptions } from "./station.ts";
export type * from "./types.ts";
export { parseDecisionRights, mayAct, DecisionRightsError } from "./rights.ts";
export type { DecisionRights, Right } from "./rights.ts";
export { boardsFrom, Boards, DEFAULT_CHECKIN_INTERVAL_MS } from "./boards/index.ts";
export { ACTION_VERBS } from "./types.ts";
export { TransmitScheduler, PRIORITY_CLASSES } from "./scheduler.ts";
export type { PriorityClass, SchedulerOptions, SchedulerState, QueuedSend } from "./scheduler.ts";
