/**
 * `withTransaction`: runs a function in one database transaction, at READ
 * COMMITTED unless told otherwise, and runs it again — whole — when it failed
 * in a way that certainly wrote nothing (DECISIONS D8): deadlock, lock-wait
 * timeout, 1020, or a connection refused or lost before COMMIT — and, on
 * Galera, a deadlock at COMMIT itself (a certification failure: the node rolled
 * the transaction back) or a node that is not ready (1047: refused unrun). A
 * connection lost during COMMIT is never retried: the outcome is unknown, so
 * it becomes StorageError "internal" and the caller must re-read state.
 *
 * Why READ COMMITTED: under REPEATABLE READ a `SELECT … FOR UPDATE` on a
 * missing id takes a gap lock that blocks `INSERT INTO jobs`.
 *
 * The function may run more than once, so it must not have effects outside
 * the transaction. Called with a transaction (an operation used inside a
 * caller's transaction), it simply joins it: no new transaction, no retry —
 * errors go up raw to the outer `withTransaction`, which owns the retry.
 */
import type { ControlledTransaction, Transaction } from "kysely";
import { StorageError } from "../core/errors.ts";
import type { Db } from "./connection.ts";
import { classifyDbError, isRetryable, toStorageError, type DbPhase } from "./db-errors.ts";
import { sleep } from "../core/backoff.ts";
import { DEFAULT_MAX_ATTEMPTS, reportRetry, retryDelayMs, type RetryOptions } from "./retry-policy.ts";
import type { DatabaseSchema } from "./schema.ts";

export type DbTransaction = Transaction<DatabaseSchema>;

export type IsolationLevel = "read committed" | "repeatable read";

export interface TransactionOptions extends RetryOptions {
  /** Default "read committed". */
  readonly isolation?: IsolationLevel;
  /** Names the work in error messages and retry reports. Default "transaction". */
  readonly operation?: string;
}

export async function withTransaction<T>(
  db: Db,
  fn: (trx: DbTransaction) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  if (db.isTransaction) return fn(db as DbTransaction);
  const operation = options.operation ?? "transaction";
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    let phase: DbPhase = "connect";
    let trx: ControlledTransaction<DatabaseSchema> | undefined;
    try {
      trx = await db
        .startTransaction()
        .setIsolationLevel(options.isolation ?? "read committed")
        .execute();
      phase = "transaction";
      const result = await fn(trx);
      phase = "commit";
      await trx.commit().execute();
      return result;
    } catch (error) {
      // Always end the transaction and give the connection back (kysely
      // releases it even when the rollback itself fails on a dead connection;
      // one whose ROLLBACK failed, or whose Galera node refused it with 1047,
      // is destroyed by ./drop-refused-connections.ts, never reused).
      if (trx && !trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute().catch(() => undefined);
      if (error instanceof StorageError) throw error;
      const errorClass = classifyDbError(error);
      if (attempt < maxAttempts && isRetryable(errorClass, phase)) {
        reportRetry(options, { operation, attempt, errorClass, error });
        await sleep(retryDelayMs(attempt));
        continue;
      }
      throw toStorageError(error, { operation, phase });
    }
  }
}
