// The base-station console (Ink/React). It only consumes a StationView.
export { Console } from "./Console.tsx";
export type { ConsoleProps } from "./Console.tsx";
export { Screen, bodyRows, windowStart, transmitText } from "./Screen.tsx";
export type { ScreenProps, TransmitState } from "./Screen.tsx";
export { renderConsole } from "./render.tsx";
export type { ConsoleHandle, RenderConsoleOptions } from "./render.tsx";
export { consoleReducer, initialConsoleState, FEED_LIMIT } from "./state.ts";
export type { ConsoleAction, ConsoleState, SkippedState } from "./state.ts";
export { addRecord, boardsFrom, boardRows, emptyBoards } from "./boards.ts";
export type { Boards, BoardRows, RequestRow, IncidentRow, ShiftRow, NodeRow } from "./boards.ts";
export { rowsFromStation, hasBoards } from "./station-boards.ts";
export { handleKey, initialView, TABS } from "./view.ts";
export type { BoardAction, Effect, KeyContext, Overlay, Tab, ViewState } from "./view.ts";
export { composePreview, composeKey, newComposeForm, onAirBytes, TEXT_LIMIT_BYTES } from "./compose.ts";
export type { ComposeForm, ComposeOptions, ComposeContext, Destination, Outgoing, PresetChoice } from "./compose.ts";
export { formatTime, recordDetail, kindLabel, radioText, sanitize } from "./format.ts";
export type { Labeller } from "./format.ts";
