// The store: meshaid's LevelDB log of records (the source of truth) and, later, the projections
// and durable outboxes built on it.
export { RecordStore, recordKey } from "./record-store.ts";
export type { RecordDatabase, AppendResult, CorruptEntry } from "./record-store.ts";
export { LevelOutbox } from "./outbox.ts";
export { RosterStore, rosterPatch } from "./roster.ts";
export type { RosterEntry, RosterPosition } from "./roster.ts";
export { AuditTrail } from "./audit.ts";
export type { AuditEntry } from "./audit.ts";
export { SendLog } from "./sends.ts";
export type { StoredSend } from "./sends.ts";
