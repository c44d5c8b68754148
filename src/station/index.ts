// The base station: ingest, boards, and (later) what goes on the air.
export { Station, replyText, placeDistance } from "./station.ts";
export type { StationOptions, StationRoster } from "./station.ts";
export type * from "./types.ts";
export type { NodeFlag, SuspectReason } from "./node-watch.ts";
export { parseDecisionRights, mayAct, DecisionRightsError } from "./rights.ts";
export type { DecisionRights, Right } from "./rights.ts";
export { boardsFrom, Boards, DEFAULT_CHECKIN_INTERVAL_MS } from "./boards/index.ts";
export { ACTION_VERBS } from "./types.ts";
export { TransmitScheduler, PRIORITY_CLASSES } from "./scheduler.ts";
export type { StationTimers } from "./timers.ts";
export type { PriorityClass, SchedulerEvent, SchedulerOptions, SchedulerState, QueuedSend } from "./scheduler.ts";
export { serveControl, parseControlLine, ControlClient, ControlError, RemoteStation, LineReader, MAX_LINE_BYTES } from "./control.ts";
export type { ControlTarget, ControlRequest, ControlReply, ControlEvent, ServeControlOptions } from "./control.ts";
