// The base station: ingest, boards, and what goes on the air.
export type * from "./types.ts";
