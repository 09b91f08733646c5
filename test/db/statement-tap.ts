/**
 * A tap on the pool under kysely, for tests: it records every statement sent
 * (round trips, BEGIN and COMMIT included) and can hold the next COMMIT (or
 * any chosen statement) until released, so a test can do something while a
 * transaction is in flight with its work done and its COMMIT not yet sent.
 */
import type { MysqlPool, MysqlPoolConnection } from "kysely";
import { connectionQueryProxy, type QueryCallback } from "../../src/db/connection-query-proxy.ts";
import { statementVerb } from "../../src/db/statement-kind.ts";

export interface HeldCommit {
  /** Resolves when a COMMIT reaches the tap (and is held there). */
  readonly reached: Promise<void>;
  /** Sends the held COMMIT on. */
  release(): void;
}

export class StatementTap {
  readonly statements: string[] = [];
  #hold: { reached: () => void; released: Promise<void>; matches: (sql: string) => boolean } | undefined;

  /** Holds the next COMMIT (of any connection of the pool) until `release()`. */
  holdNextCommit(): HeldCommit {
    return this.holdNext((sql) => statementVerb(sql) === "commit");
  }

  /** Holds the next statement `matches` accepts (of any connection of the pool) until `release()`. */
  holdNext(matches: (sql: string) => boolean): HeldCommit {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#hold = { reached, released, matches };
    return { reached: reachedPromise, release };
  }

  wrap(pool: MysqlPool): MysqlPool {
    const wrapConnection = connectionQueryProxy((raw: MysqlPoolConnection, sql: string, parameters: unknown, callback: QueryCallback | undefined) => {
      this.statements.push(sql);
      const hold = this.#hold;
      if (hold === undefined || !hold.matches(sql)) return raw.query(sql, parameters, callback);
      this.#hold = undefined;
      hold.reached();
      // Braces: mysql2's Query is no promise and throws when awaited.
      void hold.released.then(() => {
        raw.query(sql, parameters, callback);
      });
      return { stream: () => { throw new Error("not streamed"); } };
    });
    return {
      getConnection: (callback) => pool.getConnection((error, connection) => callback(error, error ? connection : wrapConnection(connection))),
      end: (callback) => pool.end(callback),
    };
  }
}
