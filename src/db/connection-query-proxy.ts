/**
 * A wrapper of the pool's connections that routes `query` through a function
 * of ours and leaves every other property as the driver has it — shared by the
 * statement timeout, the dropping of refused connections and the test-only
 * fault injection, which all wrap the mysql2 pool under kysely.
 */
import type { MysqlPool, MysqlPoolConnection, MysqlQueryResult } from "kysely";

export type QueryCallback = (error: unknown, result: MysqlQueryResult) => void;

export type ConnectionQuery = (raw: MysqlPoolConnection, sql: string, parameters: unknown, callback: QueryCallback | undefined) => unknown;

/**
 * Returns `wrap(raw)`: the same wrapper object for the same raw connection
 * every time (kysely keys its per-connection state on it).
 */
export function connectionQueryProxy(query: ConnectionQuery): (raw: MysqlPoolConnection) => MysqlPoolConnection {
  const wrappers = new WeakMap<MysqlPoolConnection, MysqlPoolConnection>();
  return (raw) => {
    let wrapper = wrappers.get(raw);
    if (wrapper === undefined) {
      wrapper = new Proxy(raw, {
        get: (target, property) => {
          if (property === "query") {
            return (sql: string, parameters: unknown, callback?: QueryCallback) => query(target, sql, parameters, callback);
          }
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      wrappers.set(raw, wrapper);
    }
    return wrapper;
  };
}

/** `pool` with every connection it hands out routed through `query` (and nothing else changed). */
export function poolWithConnectionQuery(pool: MysqlPool, query: ConnectionQuery): MysqlPool {
  const wrap = connectionQueryProxy(query);
  return {
    getConnection(callback) {
      pool.getConnection((error, connection) => callback(error, error ? connection : wrap(connection)));
    },
    end(callback) {
      pool.end(callback);
    },
  };
}
