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
  /** An "internal" error raised because a write's reply was lost: it may or may not have taken effect. */
  readonly outcomeUnknown: boolean;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown; outcomeUnknown?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.outcomeUnknown = options?.outcomeUnknown === true;
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

/** INTERNAL for a write whose reply was lost (connection lost during COMMIT, DECISIONS D8). */
export const outcomeUnknown = (message: string, cause?: unknown): StorageError =>
  new StorageError("internal", message, { cause, outcomeUnknown: true });

/**
 * What a failed database write means for whoever must decide what to do next
 * (the job control block, the checkpoint writer) — the one place that says so:
 * - "unreachable": the database could not be reached; nothing was written, and
 *   the same write will succeed once it is back (DECISIONS D6). A write the
 *   leader fence refused (src/db/fence/, DECISIONS D3) is one too: a deposed
 *   server wrote nothing, and the new leader's database is the truth;
 * - "outcome_unknown": the write may or may not have happened; re-read before acting;
 * - "refused": the database is not in the state the write expected (or the row
 *   is gone); re-read and follow the database;
 * - "will_repeat": anything else — a value beyond the server's limits
 *   (max_allowed_packet, 1153; data too long, 1406), a broken invariant: the
 *   same write would fail the same way, so it must not be retried as is.
 */
export type WriteFailure = "unreachable" | "outcome_unknown" | "refused" | "will_repeat";

export function classifyWriteFailure(error: unknown): WriteFailure {
  if (!(error instanceof StorageError)) return "outcome_unknown"; // not from src/db: nothing is known
  if (error.kind === "unavailable") return "unreachable";
  if (error.outcomeUnknown) return "outcome_unknown";
  if (error.kind === "failed_precondition" || error.kind === "not_found") return "refused";
  return "will_repeat";
}

export function isStorageError(error: unknown, kind?: ErrorKind): error is StorageError {
  return error instanceof StorageError && (kind === undefined || error.kind === kind);
}
