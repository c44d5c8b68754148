// The store: meshaid's LevelDB log of records (the source of truth) and, later, the projections
// and durable outboxes built on it.
export { RecordStore, recordKey } from "./record-store.ts";
export type { RecordDatabase, AppendResult, AppendReceiver, CorruptEntry, RenewableDatabase } from "./record-store.ts";
export { LevelOutbox } from "./outbox.ts";
export { RosterStore, rosterPatch } from "./roster.ts";
export type { RosterEntry, RosterPosition } from "./roster.ts";
export { AuditTrail } from "./audit.ts";
export type { AuditEntry } from "./audit.ts";
export type { Arrival, PurgeHorizon } from "./record-store.ts";
export { ReplicaStore, recordsOwedToPeers, pruneForwardCopies } from "./replica.ts";
export type { OwnEntry } from "./replica.ts";
export { checkStore, integrityChanged, isCorruption, StoreDamagedError, StoreEncryptedError } from "./integrity.ts";
export type { IntegrityReport } from "./integrity.ts";
export { StoreWriteError } from "./errors.ts";
export { RecordCipher, CipherError, SCRYPT_PARAMS } from "./cipher.ts";
export type { KeyParams } from "./cipher.ts";
export { parseRetention, expired, dueAt, RetentionError } from "./retention.ts";
export type { RetentionLimits } from "./retention.ts";
export { SendLog } from "./sends.ts";
export type { StoredSend } from "./sends.ts";
export { PeerLog } from "./peers.ts";
export { WatchLog } from "./watch.ts";
export type { WatchedNode, WatchFlag } from "./watch.ts";
export type { StoredPeer } from "./peers.ts";
