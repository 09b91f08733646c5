/**
 * Errors shaped exactly as mysql2 reports the real failures (errno, code,
 * sqlState, fatal), so the code under test classifies them through the same
 * path as production errors (src/db/db-errors.ts) — nothing in src/db knows
 * it is being tested.
 */

interface DriverError extends Error {
  errno?: number;
  code?: string;
  sqlState?: string;
  sqlMessage?: string;
  fatal?: boolean;
  syscall?: string;
  /** Marks an injected error in logs. */
  injected?: true;
}

function serverError(errno: number, code: string, sqlState: string, message: string): DriverError {
  const error: DriverError = new Error(message);
  error.errno = errno;
  error.code = code;
  error.sqlState = sqlState;
  error.sqlMessage = message;
  error.fatal = false;
  error.injected = true;
  return error;
}

/** ER_LOCK_DEADLOCK (1213); also how Galera reports a certification failure. */
export function deadlockError(): Error {
  return serverError(1213, "ER_LOCK_DEADLOCK", "40001", "Deadlock found when trying to get lock; try restarting transaction");
}

/** ER_UNKNOWN_COM_ERROR (1047): a Galera node out of the primary component (or not synced) refusing a command. */
export function nodeNotReadyError(): Error {
  return serverError(1047, "ER_UNKNOWN_COM_ERROR", "08S01", "WSREP has not yet prepared node for application use");
}

/** ER_LOCK_WAIT_TIMEOUT (1205). */
export function lockWaitTimeoutError(): Error {
  return serverError(1205, "ER_LOCK_WAIT_TIMEOUT", "HY000", "Lock wait timeout exceeded; try restarting transaction");
}

/** What mysql2 reports when the server closes the connection under a command. */
export function connectionLostError(): Error {
  const error: DriverError = new Error("Connection lost: The server closed the connection.");
  error.code = "PROTOCOL_CONNECTION_LOST";
  error.fatal = true;
  error.injected = true;
  return error;
}

/** What a connection attempt to a server that is down reports. */
export function connectionRefusedError(): Error {
  const error: DriverError = new Error("connect ECONNREFUSED (injected)");
  error.code = "ECONNREFUSED";
  error.errno = -111;
  error.syscall = "connect";
  error.fatal = true;
  error.injected = true;
  return error;
}
