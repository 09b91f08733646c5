/**
 * `runStatement`: runs one autocommit statement (or a few reads) outside any
 * transaction, retrying what certainly did not take effect (DECISIONS D8):
 * anything that failed before the connection was in hand; deadlocks (on Galera
 * also a certification failure), lock-wait timeouts and 1020 (the statement was
 * rolled back); 1047 (a Galera node not ready refused it); and, for reads only, a
 * connection lost mid-statement (and for idempotent writes). A write whose connection was lost may have
 * happened, so it becomes StorageError "internal" ("outcome unknown") rather
 * than running twice.
 *
 * Called with a transaction, it runs `fn` in it directly and lets errors go
 * up raw, so the enclosing `withTransaction` decides about retries.
 */
import { StorageError } from "../core/errors.ts";
import type { Db } from "./connection.ts";
import { classifyDbError, isRetryable, toStorageError, type DbPhase } from "./db-errors.ts";
import { sleep } from "../core/backoff.ts";
import { DEFAULT_MAX_ATTEMPTS, reportRetry, retryDelayMs, type RetryOptions } from "./retry-policy.ts";

export interface StatementOptions extends RetryOptions {
  /** Names the work in error messages ("getJobState 12"). */
  readonly operation: string;
  /** True when the statement changes data (decides what a lost connection means). */
  readonly writes: boolean;
  /**
   * A write whose repetition changes nothing more (a DELETE of given ids):
   * a lost connection is then retried like a read's.
   */
  readonly idempotent?: boolean;
}

export async function runStatement<T>(db: Db, options: StatementOptions, fn: (connection: Db) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db);
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    let phase: DbPhase = "connect";
    try {
      // Take the connection first, so a failure to connect is told apart from
      // a failure of the statement.
      return await db.connection().execute(async (connection) => {
        phase = options.writes && !options.idempotent ? "write" : "read";
        return fn(connection);
      });
    } catch (error) {
      if (error instanceof StorageError) throw error;
      const errorClass = classifyDbError(error);
      if (attempt < maxAttempts && isRetryable(errorClass, phase)) {
        reportRetry(options, { operation: options.operation, attempt, errorClass, error });
        await sleep(retryDelayMs(attempt));
        continue;
      }
      throw toStorageError(error, { operation: options.operation, phase });
    }
  }
}
