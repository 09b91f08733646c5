/**
 * What a database error means for the caller: whether the failed work can be
 * retried (DECISIONS D8) and which {@link StorageError} kind it becomes
 * (DECISIONS D5). Every operation of src/db goes through here, so no caller
 * looks at errnos or driver codes.
 *
 * mysql2 errors carry `errno` (the server's error number) and `code` (its
 * name, or a Node/driver code such as ECONNREFUSED or PROTOCOL_CONNECTION_LOST).
 */
import { StorageError, internal, invalidArgument, outcomeUnknown, unavailable } from "../core/errors.ts";

export type DbErrorClass =
  /**
   * 1213: the server rolled the whole transaction back. On Galera this is also
   * a certification failure — at COMMIT itself, or on the next statement after
   * a brute-force abort: the transaction was rolled back, nothing was written.
   */
  | "deadlock"
  /** 1205: the waiting statement was rolled back (the transaction was not). */
  | "lock_wait_timeout"
  /** 1020: MariaDB's snapshot check failed a locking read; the statement was rolled back. */
  | "record_changed"
  /** No connection, or the command never left this process: nothing reached the server. */
  | "not_connected"
  /**
   * 1047 on Galera ("WSREP has not yet prepared node for application use"):
   * the node is not in the primary component or not synced, and refused the
   * command before running it — even COMMIT and ROLLBACK, so a transaction
   * open on that connection stays open (src/db/drop-refused-connections.ts).
   */
  | "node_not_ready"
  /** The connection dropped with a command in flight: the server may have run it. */
  | "connection_lost"
  /** Credentials or database rejected: retrying cannot help, but the service is unavailable. */
  | "access_denied"
  /** 1062 */
  | "duplicate_key"
  /** 1451 (row still referenced), 1452 (no parent row) */
  | "foreign_key"
  /** A value or packet beyond the server's limits (1153, 1301, 1406). */
  | "too_large"
  | "other";

/** Where the failing command was when it failed. */
export type DbPhase =
  /** Acquiring the connection or opening the transaction: nothing was written. */
  | "connect"
  /** Inside an explicit transaction, before COMMIT was sent. */
  | "transaction"
  /** COMMIT was sent. */
  | "commit"
  /** A single autocommit statement that only reads. */
  | "read"
  /** A single autocommit statement that writes. */
  | "write";

export const ER_DUP_ENTRY = 1062;
export const ER_NO_REFERENCED_ROW = 1452;
export const ER_ROW_IS_REFERENCED = 1451;
export const ER_LOCK_DEADLOCK = 1213;
/** The table does not exist (before the migrations or the lease created it). */
export const ER_NO_SUCH_TABLE = 1146;
/** ER_UNKNOWN_COM_ERROR: what a Galera node that is not ready answers to every command but SET and SHOW. */
export const ER_NODE_NOT_READY = 1047;

const NOT_CONNECTED_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOENT", // unix socket path missing: the server is not running
]);
const CONNECTION_LOST_CODES = new Set([
  "PROTOCOL_CONNECTION_LOST",
  "ECONNRESET",
  "EPIPE",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "PROTOCOL_PACKETS_OUT_OF_ORDER",
]);
/** Driver messages (no code) that mean the command was refused before it was written. */
const NOT_CONNECTED_MESSAGES = [
  "Can't add new command when connection is in closed state",
  "Pool is closed",
  "No connections available",
  "Queue limit reached",
];

interface DriverErrorFields {
  readonly errno?: unknown;
  readonly code?: unknown;
  readonly syscall?: unknown;
  readonly message?: unknown;
}

function fields(error: unknown): DriverErrorFields {
  return typeof error === "object" && error !== null ? (error as DriverErrorFields) : {};
}

/** The server's error number, when the error came from the server. */
export function dbErrno(error: unknown): number | undefined {
  const { errno } = fields(error);
  return typeof errno === "number" && errno > 0 ? errno : undefined;
}

export function classifyDbError(error: unknown): DbErrorClass {
  const { code, syscall, message } = fields(error);
  switch (dbErrno(error)) {
    case ER_LOCK_DEADLOCK:
      return "deadlock";
    case 1205:
      return "lock_wait_timeout";
    case 1020:
      return "record_changed";
    case ER_NODE_NOT_READY:
      return "node_not_ready";
    case 1040: // too many connections: refused at the handshake
    case 1129: // host blocked
      return "not_connected";
    case 1044:
    case 1045:
    case 1049:
    case 1698:
      return "access_denied";
    case 1053: // server shutdown in progress: the statement may have been under way
    case 1927: // connection killed
    case 2006:
    case 2013:
      return "connection_lost";
    case ER_DUP_ENTRY:
      return "duplicate_key";
    case ER_NO_REFERENCED_ROW:
    case ER_ROW_IS_REFERENCED:
    case 1216:
    case 1217:
      return "foreign_key";
    case 1153:
    case 1301:
    case 1406:
      return "too_large";
    default:
      break;
  }
  if (typeof code === "string") {
    if (NOT_CONNECTED_CODES.has(code)) return "not_connected";
    // mysql2's connect timeout says syscall "connect"; elsewhere a timeout is a lost connection.
    if (code === "ETIMEDOUT") return syscall === "connect" ? "not_connected" : "connection_lost";
    if (CONNECTION_LOST_CODES.has(code)) return "connection_lost";
  }
  if (typeof message === "string" && NOT_CONNECTED_MESSAGES.some((m) => message.includes(m))) return "not_connected";
  return "other";
}

/**
 * Whether work that failed this way certainly did not take effect, so running
 * it again is safe (DECISIONS D8). A connection lost inside an explicit
 * transaction counts as safe: the server rolls back a transaction whose
 * connection drops before COMMIT, so nothing it wrote survives — this is the
 * "lost before the transaction's first write" rule, extended to every
 * statement before COMMIT. Lost during COMMIT or during an autocommit write,
 * the outcome is unknown and it is never retried.
 *
 * Only a lost connection leaves an outcome unknown: an error the server
 * answered says what it did. A deadlock at COMMIT is Galera's certification
 * failure — the cluster refused the write set and the node rolled the
 * transaction back — and 1047 refuses the command before running it, so both
 * are retried in every phase, COMMIT included (DECISIONS D8, amended by issue 19).
 */
export function isRetryable(errorClass: DbErrorClass, phase: DbPhase): boolean {
  switch (errorClass) {
    case "deadlock":
    case "lock_wait_timeout":
    case "record_changed":
    case "not_connected":
    case "node_not_ready":
      return true;
    case "connection_lost":
      return phase === "connect" || phase === "transaction" || phase === "read";
    default:
      return false;
  }
}

export interface ToStorageErrorContext {
  /** What was being done, for the message ("transitionJob 12"). */
  readonly operation: string;
  /** Where it failed; decides whether a lost connection leaves an unknown outcome. */
  readonly phase: DbPhase;
}

/**
 * The {@link StorageError} a database error becomes once it is not (or no
 * longer) retried. A StorageError passes through unchanged. Without a
 * context the phase is taken to be a write, so a lost connection is reported
 * as an unknown outcome rather than as safe to retry.
 */
export function toStorageError(
  error: unknown,
  context: ToStorageErrorContext = { operation: "a database operation", phase: "write" },
): StorageError {
  if (error instanceof StorageError) return error;
  const errorClass = classifyDbError(error);
  const detail = describe(error);
  switch (errorClass) {
    case "not_connected":
    case "access_denied":
      return unavailable(`database unavailable during ${context.operation}: ${detail}`, error);
    case "connection_lost":
      if (context.phase === "commit" || context.phase === "write") {
        return outcomeUnknown(`connection to the database lost during ${context.operation}; outcome unknown: ${detail}`, error);
      }
      return unavailable(`connection to the database lost during ${context.operation}: ${detail}`, error);
    case "deadlock":
    case "lock_wait_timeout":
    case "record_changed":
      return unavailable(`database busy during ${context.operation}, nothing was written: ${detail}`, error);
    case "node_not_ready":
      return unavailable(`database node not ready during ${context.operation}, nothing was written: ${detail}`, error);
    case "too_large":
      return invalidArgument(`${context.operation}: a value exceeds the database's limits: ${detail}`, error);
    default:
      return internal(`database error during ${context.operation}: ${detail}`, error);
  }
}

/**
 * What callers see of a driver error: its code and server error number, never
 * the driver's message, which names users, hosts, addresses and databases
 * (the error itself stays the StorageError's cause, for the server's logs).
 * Errors of our own making (`ownMessage: true`, e.g. the statement timeout)
 * keep their message: it names a setting, not a secret.
 */
function describe(error: unknown): string {
  const { code, message } = fields(error);
  if (typeof message === "string" && (error as { readonly ownMessage?: unknown }).ownMessage === true) return message;
  const errno = dbErrno(error);
  const name = typeof code === "string" && /^[A-Z0-9_]{1,64}$/.test(code) ? code : "driver error";
  return errno === undefined ? name : `${name} (${errno})`;
}
