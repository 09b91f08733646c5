/**
 * Opens the database: a mysql2 pool under kysely. BIGINT columns (every id)
 * come back as `bigint`, never as a rounded number (DECISIONS D14). A URL
 * naming several servers of one replicated database gets a pool that follows
 * the node choice of src/db/database-nodes.ts (src/db/failover-pool.ts).
 */
import { CompiledQuery, Kysely, MysqlDialect, type LogEvent, type MysqlPool } from "kysely";
import { createPool, type PoolOptions, type TypeCastField, type TypeCastNext } from "mysql2";
import { DatabaseNodes } from "./database-nodes.ts";
import { failoverPool } from "./failover-pool.ts";
import type { DatabaseSchema } from "./schema.ts";
import { withStatementTimeout } from "./statement-timeout.ts";
import { dropRefusedConnections } from "./drop-refused-connections.ts";

export type Db = Kysely<DatabaseSchema>;

export interface DatabaseOptions {
  /**
   * `mysql://user:password@host:port/database`, or with `?socket=/path` for a
   * unix socket, or several servers: `mysql://user:password@h1:3306,h2:3306/database`.
   */
  readonly url: string;
  /**
   * The choice among the URL's servers to follow, shared with the lease (the
   * same `url`'s); default: a choice of this pool's own. Unused for one server.
   */
  readonly nodes?: DatabaseNodes;
  readonly maxConnections?: number;
  /** Seconds a connection attempt may take before it counts as refused. */
  readonly connectTimeoutMs?: number;
  /**
   * Client-side limit on each statement, in ms (runtime.db.statement_timeout_ms;
   * src/db/statement-timeout.ts). Default: none.
   */
  readonly statementTimeoutMs?: number;
  /** Hears about every statement and its duration (metrics: src/app/db-query-log.ts). */
  readonly log?: (event: LogEvent) => void;
  /**
   * Wraps the pool kysely draws connections from: the lease fence
   * (src/db/pool-fence.ts) and test-only fault injection (src/db/fault-injection/).
   */
  readonly wrapPool?: (pool: MysqlPool) => MysqlPool;
}

function castBigint(field: TypeCastField, next: TypeCastNext): unknown {
  if (field.type === "LONGLONG") {
    const text = field.string();
    return text === null ? null : BigInt(text);
  }
  return next();
}

/** Translates our URL form into mysql2 pool options (of its first server, when it names several). */
export function poolOptionsFromUrl(url: string): PoolOptions {
  return new DatabaseNodes(url).connectionOptions();
}

export function createDb(options: DatabaseOptions): Db {
  const nodes = options.nodes ?? new DatabaseNodes(options.url, options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs });
  const poolOptions: PoolOptions = {
    connectionLimit: options.maxConnections ?? 16,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    typeCast: castBigint,
    timezone: "Z",
    dateStrings: false,
    enableKeepAlive: true,
    multipleStatements: false,
  };
  const pool = nodes.several ? failoverPool(nodes, poolOptions) : createPool({ ...nodes.connectionOptions(), ...poolOptions });
  const timed = options.statementTimeoutMs ? withStatementTimeout(pool, options.statementTimeoutMs) : pool;
  return new Kysely<DatabaseSchema>({
    ...(options.log ? { log: options.log } : {}),
    dialect: new MysqlDialect({
      // Outermost, so it also sees what fault injection answers: a connection refused with 1047 keeps its transaction open (D8).
      pool: dropRefusedConnections(options.wrapPool ? options.wrapPool(timed) : timed),
      // TIMESTAMPs travel as text in the session's time zone and mysql2 reads
      // them as UTC (`timezone: "Z"`): make the session UTC too, whatever the
      // server's zone, so Dates are right and no DST hour is ambiguous.
      //
      // Our transactions lock one row for a few statements, so a lock wait of
      // seconds means something is wrong: give up after 5 s (the server's 50 s
      // default would hold a request, and its job, for nearly a minute) and let
      // the D8 retry rule decide.
      onCreateConnection: async (connection) => {
        await connection.executeQuery(CompiledQuery.raw("SET time_zone = '+00:00', innodb_lock_wait_timeout = 5"));
      },
    }),
  });
}
