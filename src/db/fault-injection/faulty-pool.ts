/**
 * The mysql2 pool under kysely, wrapped so the current call's fault (chosen by
 * the {@link FaultInjector}) happens at the statement where it would happen in
 * reality, with the driver's own error shapes:
 *
 * | fault | fires at | what really happens |
 * |---|---|---|
 * | unreachable | taking a connection | refused; nothing sent |
 * | deadlock | a statement in a transaction, or an autocommit write | not run; in a transaction the server rolls it back (1213) |
 * | lock_wait_timeout | same | not run (1205) |
 * | lost_before_commit | a statement in a transaction | it runs, then the connection is destroyed (the server rolls the transaction back) |
 * |  | an autocommit statement | the connection is destroyed before it is sent |
 * | lost_during_commit | COMMIT, or an autocommit write | it runs (unless `applied: false`), then the connection is destroyed before the reply is read |
 * | certification_failure | COMMIT, or an autocommit write | not applied: at COMMIT the node rolls the transaction back (1213, Galera) |
 * | node_not_ready | COMMIT, or an autocommit statement | refused unrun (1047, Galera); after COMMIT the next ROLLBACK is refused too, so the transaction stays open on the server |
 *
 * Destroying the connection (not just failing the call) matters: the pool
 * must drop it, and an open transaction must be rolled back by the server,
 * exactly as after a real network failure.
 */
import type { MysqlPool, MysqlPoolConnection } from "kysely";
import { connectionQueryProxy, type QueryCallback } from "../connection-query-proxy.ts";
import { statementVerb } from "../statement-kind.ts";
import { connectionLostError, connectionRefusedError, deadlockError, lockWaitTimeoutError, nodeNotReadyError } from "./fault-errors.ts";
import type { FaultInjector, PendingFault } from "./fault-injector.ts";

type StatementKind = "begin" | "commit" | "rollback" | "set" | "read" | "write" | "other";

/** Reads and writes by their verb (../statement-kind.ts); transaction control and SET as they are. */
export function statementKind(sql: string): StatementKind {
  const verb = statementVerb(sql);
  if (verb === "select") return "read";
  if (verb === "insert" || verb === "update" || verb === "delete") return "write";
  return verb;
}

/** Whether `fault` fires at a statement of `kind`, given whether a transaction is open. */
function dueAt(fault: PendingFault, kind: StatementKind, inTransaction: boolean): boolean {
  const data = kind === "read" || kind === "write";
  switch (fault.kind) {
    case "deadlock":
    case "lock_wait_timeout":
      return data && (inTransaction || kind === "write");
    case "lost_before_commit":
      return data;
    case "lost_during_commit":
    case "certification_failure":
      return inTransaction ? kind === "commit" : kind === "write";
    case "node_not_ready":
      return inTransaction ? kind === "commit" : data;
    case "unreachable":
      return false;
  }
}

/** Wraps `pool` so `injector`'s faults happen on its connections. */
export function faultyPool(pool: MysqlPool, injector: FaultInjector): MysqlPool {
  const inTransaction = new WeakSet<MysqlPoolConnection>();
  /** Connections whose COMMIT a not-ready node refused: their next ROLLBACK is refused too. */
  const refusingRollback = new WeakSet<MysqlPoolConnection>();
  const notRun = { stream: () => { throw new Error("streaming is not supported under fault injection"); } };

  const query = (raw: MysqlPoolConnection, sql: string, parameters: unknown, callback: QueryCallback | undefined) => {
    const kind = statementKind(sql);
    const open = inTransaction.has(raw);
    if (kind === "begin") inTransaction.add(raw);
    if (kind === "commit" || kind === "rollback") inTransaction.delete(raw);
    const fail = (error: Error) => process.nextTick(() => callback?.(error, []));
    if (kind === "rollback" && refusingRollback.has(raw)) {
      // The node is still not ready: the transaction stays open on the server.
      refusingRollback.delete(raw);
      fail(nodeNotReadyError());
      return notRun;
    }
    const fault = callback === undefined ? undefined : injector.take((f) => dueAt(f, kind, open));
    if (fault === undefined || callback === undefined) return raw.query(sql, parameters, callback);
    injector.record(fault.kind, sql);
    const lose = () => {
      inTransaction.delete(raw);
      raw.destroy();
      fail(connectionLostError());
    };
    switch (fault.kind) {
      case "deadlock":
      case "certification_failure":
        // The server has rolled the whole transaction back.
        if (open) raw.query("ROLLBACK", [], () => fail(deadlockError()));
        else fail(deadlockError());
        break;
      case "node_not_ready":
        if (open) refusingRollback.add(raw);
        fail(nodeNotReadyError());
        break;
      case "lock_wait_timeout":
        fail(lockWaitTimeoutError());
        break;
      case "lost_before_commit":
        if (open) raw.query(sql, parameters, () => lose());
        else lose();
        break;
      default: // lost_during_commit
        if (fault.applied) raw.query(sql, parameters, () => lose());
        else lose();
        break;
    }
    return notRun;
  };

  const wrap = connectionQueryProxy(query);

  return {
    getConnection(callback) {
      const refused = injector.take((f) => f.kind === "unreachable");
      if (refused !== undefined) {
        injector.record("unreachable", "");
        process.nextTick(() => callback(connectionRefusedError(), undefined as unknown as MysqlPoolConnection));
        return;
      }
      pool.getConnection((error, connection) => callback(error, error ? connection : wrap(connection)));
    },
    end(callback) {
      pool.end(callback);
    },
  };
}
