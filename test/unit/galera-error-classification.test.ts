/**
 * Galera's errors under the D8 retry rule (issue 19), without a database: a
 * scripted mysql2-like pool answers each statement, so the real
 * withTransaction, runStatement and the pool guard run against errors shaped
 * exactly as mysql2 reports them.
 *
 * - 1213 at COMMIT (a certification failure: the node rolled the transaction
 *   back) and 1047 anywhere (a node not ready refused the command unrun) are
 *   retried, never reported as an unknown outcome;
 * - a connection lost during COMMIT still is an unknown outcome;
 * - a connection whose transaction may still be open (1047, a failed
 *   ROLLBACK) is destroyed, never handed back to the pool.
 */
import { Kysely, MysqlDialect, type MysqlPool, type MysqlPoolConnection } from "kysely";
import { describe, expect, it } from "vitest";
import { classifyWriteFailure, StorageError } from "../../src/core/errors.ts";
import { classifyDbError, isRetryable, toStorageError, type DbPhase } from "../../src/db/db-errors.ts";
import { dropRefusedConnections } from "../../src/db/drop-refused-connections.ts";
import { connectionLostError, deadlockError, nodeNotReadyError } from "../../src/db/fault-injection/fault-errors.ts";
import type { RetryListener } from "../../src/db/retry-policy.ts";
import { runStatement } from "../../src/db/run-statement.ts";
import type { DatabaseSchema } from "../../src/db/schema.ts";
import { withTransaction } from "../../src/db/transaction.ts";

type RetryInfo = Parameters<RetryListener>[0];

/** An error object as mysql2 builds it for a server error (what the driver hands kysely). */
function mysql2ServerError(errno: number, code: string, sqlState: string, message: string): Error {
  return Object.assign(new Error(message), { errno, code, sqlState, sqlMessage: message, fatal: false });
}
const certificationFailure = () =>
  mysql2ServerError(1213, "ER_LOCK_DEADLOCK", "40001", "Deadlock found when trying to get lock; try restarting transaction");
const notReady = () => mysql2ServerError(1047, "ER_UNKNOWN_COM_ERROR", "08S01", "WSREP has not yet prepared node for application use");

const PHASES: readonly DbPhase[] = ["connect", "transaction", "commit", "read", "write"];

describe("Galera's errors under D8", () => {
  it("names them: a certification failure is a deadlock, 1047 a node not ready", () => {
    expect(classifyDbError(certificationFailure())).toBe("deadlock");
    expect(classifyDbError(notReady())).toBe("node_not_ready");
    // The fault injection's copies classify the same way.
    expect(classifyDbError(deadlockError())).toBe("deadlock");
    expect(classifyDbError(nodeNotReadyError())).toBe("node_not_ready");
  });

  it.each(PHASES)("retries both in phase %s, and once retries are used up they say nothing was written", (phase) => {
    for (const error of [certificationFailure(), notReady()]) {
      expect(isRetryable(classifyDbError(error), phase)).toBe(true);
      const storageError = toStorageError(error, { operation: "cancelJob 7", phase });
      expect(storageError.kind).toBe("unavailable");
      expect(storageError.outcomeUnknown).toBe(false);
      expect(storageError.message).toMatch(/nothing was written/);
      expect(classifyWriteFailure(storageError)).toBe("unreachable");
    }
  });

  it("a connection lost during COMMIT still leaves the outcome unknown", () => {
    const lost = connectionLostError();
    expect(isRetryable(classifyDbError(lost), "commit")).toBe(false);
    const storageError = toStorageError(lost, { operation: "cancelJob 7", phase: "commit" });
    expect(storageError.outcomeUnknown).toBe(true);
    expect(classifyWriteFailure(storageError)).toBe("outcome_unknown");
  });
});

/** What the scripted pool answers to a statement: an error, or rows / an OK packet. */
type Answer = Error | undefined;

class ScriptedConnection {
  readonly threadId = 1;
  readonly statements: string[] = [];
  destroyed = false;
  released = 0;
  readonly answer: (sql: string) => Answer;
  constructor(answer: (sql: string) => Answer) {
    this.answer = answer;
  }

  query(sql: string, _parameters: unknown, callback: (error: unknown, result: unknown) => void): void {
    this.statements.push(this.destroyed ? `(closed) ${sql}` : sql);
    const error = this.destroyed ? Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true }) : this.answer(sql);
    const result = /^\s*select/i.test(sql) ? [] : { affectedRows: 1, insertId: 0 };
    process.nextTick(() => callback(error ?? null, result));
  }
  release(): void {
    this.released++;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

/** A pool that opens a new scripted connection whenever none is idle. */
function scriptedPool(answer: (sql: string) => Answer): { pool: MysqlPool; connections: ScriptedConnection[] } {
  const connections: ScriptedConnection[] = [];
  const idle: ScriptedConnection[] = [];
  const pool = {
    getConnection(callback: (error: unknown, connection: MysqlPoolConnection) => void) {
      let connection = idle.pop();
      if (connection === undefined) {
        connection = new ScriptedConnection(answer);
        connections.push(connection);
      }
      const taken = connection;
      const release = () => {
        taken.release();
        if (!taken.destroyed) idle.push(taken);
      };
      callback(null, new Proxy(taken, { get: (target, property) => (property === "release" ? release : Reflect.get(target, property)) }) as unknown as MysqlPoolConnection);
    },
    end(callback: (error: unknown) => void) {
      callback(null);
    },
  };
  return { pool: pool as MysqlPool, connections };
}

function dbOver(pool: MysqlPool): Kysely<DatabaseSchema> {
  return new Kysely<DatabaseSchema>({ dialect: new MysqlDialect({ pool }) });
}

/** Answers `error` to the first statement that matches `pattern`, then succeeds. */
function failOnce(pattern: RegExp, error: () => Error): (sql: string) => Answer {
  let failed = false;
  return (sql) => {
    if (failed || !pattern.test(sql)) return undefined;
    failed = true;
    return error();
  };
}

async function transactionUnder(answer: (sql: string) => Answer) {
  const { pool, connections } = scriptedPool(answer);
  const db = dbOver(pool);
  const retries: RetryInfo[] = [];
  let runs = 0;
  const outcome = await withTransaction(
    db,
    async (trx) => {
      runs++;
      await trx.updateTable("jobs").set({ state: "Cancelled" }).where("id", "=", 7n).execute();
      return "Cancelled";
    },
    { operation: "cancelJob 7", onRetry: (info) => retries.push(info) },
  ).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await db.destroy();
  return { outcome, retries, runs, connections };
}

describe("withTransaction on Galera's errors at COMMIT", () => {
  it("1213 at COMMIT (certification failure): the whole transaction runs again and commits", async () => {
    const { outcome, retries, runs, connections } = await transactionUnder(failOnce(/^commit/i, certificationFailure));
    expect(outcome).toEqual({ value: "Cancelled" });
    expect(runs).toBe(2);
    expect(retries.map((r) => [r.operation, r.attempt, r.errorClass])).toEqual([["cancelJob 7", 1, "deadlock"]]);
    expect(connections.flatMap((c) => c.statements).filter((sql) => /^commit/i.test(sql))).toHaveLength(2);
  });

  it("1047 at COMMIT (the node refused it unrun): the whole transaction runs again and commits", async () => {
    const { outcome, retries, runs } = await transactionUnder(failOnce(/^commit/i, notReady));
    expect(outcome).toEqual({ value: "Cancelled" });
    expect(runs).toBe(2);
    expect(retries.map((r) => r.errorClass)).toEqual(["node_not_ready"]);
  });

  it("1047 on BEGIN (the node refuses to open a transaction): retried", async () => {
    const { outcome, retries } = await transactionUnder(failOnce(/^begin/i, notReady));
    expect(outcome).toEqual({ value: "Cancelled" });
    expect(retries.map((r) => r.errorClass)).toEqual(["node_not_ready"]);
  });

  it("a connection lost during COMMIT: not retried, INTERNAL with the outcome unknown", async () => {
    const { outcome, retries, runs } = await transactionUnder(failOnce(/^commit/i, connectionLostError));
    expect(runs).toBe(1);
    expect(retries).toEqual([]);
    const error = (outcome as { error: unknown }).error;
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).kind).toBe("internal");
    expect(classifyWriteFailure(error)).toBe("outcome_unknown");
  });

  it("1047 on every attempt: UNAVAILABLE (nothing written), not an unknown outcome", async () => {
    const { outcome, retries } = await transactionUnder((sql) => (/^commit/i.test(sql) ? notReady() : undefined));
    expect(retries).toHaveLength(4);
    expect(classifyWriteFailure((outcome as { error: unknown }).error)).toBe("unreachable");
  });
});

describe("runStatement on 1047", () => {
  it("retries an autocommit write the node refused", async () => {
    const { pool } = scriptedPool(failOnce(/^update/i, notReady));
    const db = dbOver(pool);
    const retries: RetryInfo[] = [];
    const result = await runStatement(db, { operation: "startJob 7", writes: true, onRetry: (info) => retries.push(info) }, (connection) =>
      connection.updateTable("jobs").set({ state: "Running" }).where("id", "=", 7n).executeTakeFirst(),
    );
    await db.destroy();
    expect(result.numUpdatedRows).toBe(1n);
    expect(retries.map((r) => r.errorClass)).toEqual(["node_not_ready"]);
  });
});

describe("dropRefusedConnections", () => {
  it("destroys a connection whose node refused COMMIT (its transaction is still open), so the retry gets a fresh one", async () => {
    const { pool, connections } = scriptedPool((sql) => (/^(commit|rollback)/i.test(sql) && connections.length === 1 ? notReady() : undefined));
    const db = dbOver(dropRefusedConnections(pool));
    const retries: RetryInfo[] = [];
    const result = await withTransaction(db, async (trx) => (await trx.selectFrom("jobs").select("id").execute()).length, {
      onRetry: (info) => retries.push(info),
    });
    await db.destroy();
    expect(result).toBe(0);
    expect(retries.map((r) => r.errorClass)).toEqual(["node_not_ready"]);
    expect(connections).toHaveLength(2);
    expect(connections[0]!.destroyed).toBe(true);
    // Destroyed before its ROLLBACK was sent: the server rolls the transaction back when the connection closes.
    expect(connections[0]!.statements.slice(-2)).toEqual(["commit", "(closed) rollback"]);
    expect(connections[1]!.destroyed).toBe(false);
  });

  it("destroys a connection whose ROLLBACK failed, and keeps one after a certification failure or success", async () => {
    const rollbackFails = scriptedPool((sql) => (/^update/i.test(sql) ? mysql2ServerError(1064, "ER_PARSE_ERROR", "42000", "x") : /^rollback/i.test(sql) ? mysql2ServerError(1180, "ER_ERROR_DURING_ROLLBACK", "HY000", "x") : undefined));
    const db = dbOver(dropRefusedConnections(rollbackFails.pool));
    await expect(withTransaction(db, (trx) => trx.updateTable("jobs").set({ state: "Running" }).execute())).rejects.toBeInstanceOf(StorageError);
    await db.destroy();
    expect(rollbackFails.connections.map((c) => c.destroyed)).toEqual([true]);

    const certification = scriptedPool(failOnce(/^commit/i, certificationFailure));
    const db2 = dbOver(dropRefusedConnections(certification.pool));
    await withTransaction(db2, (trx) => trx.updateTable("jobs").set({ state: "Running" }).execute());
    await db2.destroy();
    // The node rolled the transaction back itself: the connection is fine and is reused.
    expect(certification.connections).toHaveLength(1);
    expect(certification.connections[0]!.destroyed).toBe(false);
  });
});
