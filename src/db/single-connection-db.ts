/**
 * A kysely `Db` over one dedicated mysql2 connection instead of the pool: the
 * lease's own connection, for the reads that must not wait on the pool (it is
 * fenced while the lease is lost) — and a root connection to the embedded
 * server (src/db/server/). Statements queue on that one connection, each failing after
 * `statementTimeoutMs` when given; the connection stays its owner's to end.
 */
import { Kysely, MysqlDialect, type MysqlPool, type MysqlPoolConnection, type MysqlQueryResult } from "kysely";
import type { Connection } from "mysql2/promise";
import type { Db } from "./connection.ts";
import type { DatabaseSchema } from "./schema.ts";

export function singleConnectionDb(connection: Connection, options: { readonly statementTimeoutMs?: number } = {}): Db {
  const borrowed: MysqlPoolConnection = {
    config: connection.config,
    threadId: connection.threadId,
    connect: (callback) => callback?.(undefined),
    destroy: () => connection.destroy(),
    // Never handed back to a pool: it has none.
    release: () => {},
    query(sql, parameters, callback) {
      connection.query({ sql, ...(options.statementTimeoutMs === undefined ? {} : { timeout: options.statementTimeoutMs }) }, parameters).then(
        ([result]) => callback?.(undefined, result as MysqlQueryResult),
        (error: unknown) => callback?.(error, []),
      );
      return {
        stream: () => {
          throw new Error("streaming is not supported on a single connection");
        },
      };
    },
  };
  const pool: MysqlPool = {
    getConnection: (callback) => callback(undefined, borrowed),
    end: (callback) => callback(undefined),
  };
  return new Kysely<DatabaseSchema>({ dialect: new MysqlDialect({ pool }) });
}
