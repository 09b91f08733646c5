/**
 * The connection pool of a multi-host database URL: a mysql2 pool on the
 * current node of {@link DatabaseNodes}, replaced when the current node moves.
 *
 * A connection that cannot be opened (refused, timed out: the node is lost)
 * makes the nodes move to the next usable one, and the request is tried there
 * once per other node. The pool of a node left behind is ended: statements
 * already sent finish, and what its connections are asked next fails as "not
 * connected" — nothing was sent, so a transaction on it is retried from BEGIN
 * on the new node (DECISIONS D8) while the server rolls the old one back.
 * While no node answers, the driver's error comes back as from one server, so
 * the outage rules (D6) apply.
 */
import type { MysqlPool, MysqlPoolConnection } from "kysely";
import { createPool, type Pool, type PoolOptions } from "mysql2";
import type { DatabaseNode, DatabaseNodes } from "./database-nodes.ts";
import { classifyDbError } from "./db-errors.ts";

type Callback = (error: unknown, connection: MysqlPoolConnection) => void;

/** A pool over `nodes`, with `options` (everything but the server) for each node's mysql2 pool. */
export function failoverPool(nodes: DatabaseNodes, options: PoolOptions): MysqlPool {
  let current: { node: DatabaseNode; pool: Pool } | undefined;
  let ended = false;
  const releaseNodes = nodes.hold();

  const poolOfCurrentNode = (): { node: DatabaseNode; pool: Pool } => {
    const node = nodes.current;
    if (current?.node.index !== node.index) {
      current?.pool.end(() => {});
      current = { node, pool: createPool({ ...options, ...nodes.connectionOptions(node) }) };
    }
    return current;
  };
  // Leave a node as soon as it is left, not at the next request: its idle connections close now.
  const stopFollowing = nodes.onMove(() => {
    if (current !== undefined && !ended) poolOfCurrentNode();
  });

  const getConnection = (callback: Callback, retriesLeft: number): void => {
    nodes.ensureUsable().then(
      () => {
        if (ended) return callback(new Error("Pool is closed."), undefined as never);
        const { node, pool } = poolOfCurrentNode();
        pool.getConnection((error, connection) => {
          if (!error) return callback(undefined, connection as unknown as MysqlPoolConnection);
          if (ended || retriesLeft === 0 || !nodeLost(error)) return callback(error, connection as unknown as MysqlPoolConnection);
          nodes.nodeFailed(node, "unreachable").then(
            (moved) => (moved ? getConnection(callback, retriesLeft - 1) : callback(error, connection as unknown as MysqlPoolConnection)),
            (selectionError: unknown) => callback(selectionError, undefined as never),
          );
        });
      },
      (error: unknown) => callback(error, undefined as never),
    );
  };

  return {
    getConnection: (callback) => getConnection(callback, nodes.nodes.length - 1),
    end: (callback) => {
      ended = true;
      stopFollowing();
      releaseNodes();
      if (current === undefined) return callback(undefined);
      current.pool.end(callback);
    },
  };
}

/** Failing to open a connection this way says the node is gone, not that we were refused for cause. */
function nodeLost(error: unknown): boolean {
  const errorClass = classifyDbError(error);
  return errorClass === "not_connected" || errorClass === "connection_lost";
}
