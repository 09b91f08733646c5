/**
 * The error vocabulary of the whole service. Every layer throws a
 * {@link StorageError} with a `kind`; exactly one module (src/grpc/status.ts)
 * turns kinds into gRPC status codes (DECISIONS D5), so no layer below gRPC
 * knows about status codes and no caller has to parse messages.
 */

/** What went wrong, in terms a caller can act on. */
export type ErrorKind =
  /** The request itself is malformed or exceeds a limit. Nothing changed. */
  | "invalid_argument"
  /** The named job (or other entity) does not exist. */
  | "not_found"
  /** A task-instance call carried a session id other than the current one. */
  | "stale_session"
  /** The entity exists but is not in a state that allows the operation. */
  | "failed_precondition"
  /** Unknown resource group or wrong password. */
  | "unauthenticated"
  /** Something with that unique name exists already. */
  | "already_exists"
  /** Not ready (start-up, recovery, standby) or the database is unreachable; nothing was written. */
  | "unavailable"
  /** The outcome is unknown (connection lost during COMMIT) or an invariant broke. */
  | "internal"
  /** Heartbeat from an execution manager id that was never registered. */
  | "illegal_execution_manager";

export class StorageError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = "StorageError";
  }
}

export const invalidArgument = (message: string, cause?: unknown): StorageError =>
  new StorageError("invalid_argument", message, { cause });
export const notFound = (message: string): StorageError => new StorageError("not_found", message);
export const failedPrecondition = (message: string): StorageError =>
  new StorageError("failed_precondition", message);
export const unavailable = (message: string, cause?: unknown): StorageError =>
  new StorageError("unavailable", message, { cause });
export const internal = (message: string, cause?: unknown): StorageError =>
  new StorageError("internal", message, { cause });

export function isStorageError(error: unknown, kind?: ErrorKind): error is StorageError {
  return error instanceof StorageError && (kind === undefined || error.kind === kind);
}
