// The base station: ingest, boards, and (later) what goes on the air.
export { Station } from "./station.ts";
export type { StationOptions } from "./station.ts";
export type * from "./types.ts";
