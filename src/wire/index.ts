// The field protocol: meshaid's compact records, the preset table, and (later) the codebook.
export type * from "./types.ts";
