// Errors of the store a user can act on.

/**
 * A record could not be written (disk full, a read-only or vanished folder): nothing of it is
 * stored, and the station must not say it was. The message names the folder and what to try.
 */
export class StoreWriteError extends Error {
  readonly location: string;
  constructor(location: string, cause: unknown) {
    const why = (cause as { cause?: { message?: string } }).cause?.message ?? (cause as Error).message;
    super(`cannot write to the database ${location}: ${why}; free disk space or make the folder writable (records heard meanwhile are not stored)`, { cause });
    this.name = "StoreWriteError";
    this.location = location;
  }
}
