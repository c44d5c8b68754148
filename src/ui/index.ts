// The base-station console (Ink/React). It only consumes a StationView.
export { Console } from "./Console.tsx";
export type { ConsoleProps } from "./Console.tsx";
export { renderConsole } from "./render.tsx";
export type { ConsoleHandle, RenderConsoleOptions } from "./render.tsx";
export { consoleReducer, initialConsoleState, FEED_LIMIT } from "./state.ts";
export type { ConsoleAction, ConsoleState, SkippedState } from "./state.ts";
export { formatTime, recordDetail, kindLabel, radioText, sanitize } from "./format.ts";
export type { Labeller } from "./format.ts";
