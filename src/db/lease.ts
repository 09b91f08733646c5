/**
 * One writer per database (DECISIONS D3): the single-writer lease.
 *
 * The lease is `GET_LOCK('spider-storage:<database>')` held on a dedicated
 * connection (never one of the pool's) for the life of the server. Lock names
 * are server-wide in MariaDB, hence the database name in it: two databases on
 * one server do not conflict. A second server on the same database waits as a
 * standby, logging once "standby: another spider-storage holds the database
 * lease; waiting", and takes over when the lock frees: a crashed leader's
 * connection drops and MariaDB releases its locks at once.
 *
 * Losing the lease (its connection dies, or a check finds the lock no longer
 * ours) is reported once through `onLost`. The lock may then already belong to
 * a standby, and this server's pool could still write: the caller must stop
 * writing at once. A database restart drops the lease's connection too, so the
 * server fences its pool and calls {@link retakeLease}: it gets the lock back
 * unless another server holds it (src/app/storage-server.ts decides whether it
 * may resume).
 *
 * Connection ids alone do not say who holds the lock: MariaDB numbers
 * connections from 1 again after a restart, so the id our lost lease had may
 * now be another server's lease connection. The lease connection therefore
 * also holds a second lock with a random name, its identity: a holder is our
 * own (lost) connection only if it holds that identity lock too, and only then
 * may a retake KILL it. A restart frees every lock, so after one the identity
 * is held by nobody and nothing is killed.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { Backoff, sleep } from "../core/backoff.ts";
import { StorageError } from "../core/errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { Db } from "./connection.ts";
import { DatabaseNodes, type DatabaseNode } from "./database-nodes.ts";
import { singleConnectionDb } from "./single-connection-db.ts";

export const STANDBY_MESSAGE = "standby: another spider-storage holds the database lease; waiting";

export interface LeaseOptions {
  readonly logger: Logger;
  /** Aborting stops the wait (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Called once, when another server holds the lease and this one starts waiting. */
  readonly onWaiting?: () => void;
  /** false: take the lease now or throw {@link LeaseHeldError} (offline commands). Default true. */
  readonly wait?: boolean;
  /** How often the held lease is checked; default 2 s. */
  readonly checkIntervalMs?: number;
  /** Seconds one GET_LOCK waits before the loop looks at the abort signal again; default 2. */
  readonly waitSliceSec?: number;
  /**
   * Which server of a multi-host URL to use, shared with the pool
   * (src/db/database-nodes.ts): the lease is lost when that choice moves to
   * another node. Default: a choice of its own, from the URL.
   */
  readonly nodes?: DatabaseNodes;
}

export interface Lease {
  /** The lock name. */
  readonly name: string;
  /** MariaDB connection id holding it. */
  readonly connectionId: number;
  /** The name of a lock only this lease's connection holds: who it is, across database restarts (see the module comment). */
  readonly identity: string;
  /** Registers a callback run once if the lease is lost (not after release()). */
  onLost(callback: (error: Error) => void): void;
  /** The lease's own connection as a `Db`, for reads that must not wait on the (fenced) pool; each statement times out after 10 s. BIGINT reads as a plain number here. */
  readonly db: Db;
  release(): Promise<void>;
}

export class LeaseHeldError extends StorageError {
  /** MariaDB connection id of the holder, when known. */
  readonly holder: number | undefined;

  constructor(name: string, holder: number | undefined) {
    super(
      "unavailable",
      `another spider-storage holds the database lease ${name}${holder ? ` (MariaDB connection ${holder})` : ""}: ` +
        "stop it first (a running server applies migrations itself)",
    );
    this.name = "LeaseHeldError";
    this.holder = holder;
  }
}

/** `spider-storage:<database>`; hashed when longer than MariaDB's 64-character limit. */
export function leaseName(database: string): string {
  const name = `spider-storage:${database}`;
  if (name.length <= 64) return name;
  return `spider-storage:${createHash("sha256").update(database).digest("hex").slice(0, 40)}`;
}

/** Takes the lease of the database at `url`, waiting as a standby while another server holds it. */
export async function acquireLease(url: string, options: LeaseOptions): Promise<Lease> {
  const { logger, signal } = options;
  const nodes = options.nodes ?? new DatabaseNodes(url);
  const name = leaseName(nodes.database);
  const wait = options.wait ?? true;
  const slice = wait ? (options.waitSliceSec ?? 2) : 0;
  let connection: Connection | undefined;
  let node: DatabaseNode | undefined;
  const onAbort = () => connection?.destroy();
  signal?.addEventListener("abort", onAbort, { once: true });
  let announced = false;
  const backoff = new Backoff({ initialMs: 100, maxMs: 5_000 });
  try {
    for (;;) {
      signal?.throwIfAborted();
      try {
        if (!connection) {
          ({ connection, node } = await nodes.connect({ connectTimeout: 5_000, enableKeepAlive: true }));
          // Swallow errors until the lease is held; the query in flight reports them.
          connection.on("error", () => {});
          // The lease connection is idle for hours: the server's wait_timeout must not close it.
          await connection.query("SET SESSION wait_timeout = 31536000");
        }
        const [rows] = await connection.query<RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS got", [name, slice]);
        const got = rows[0]?.["got"] as number | null | undefined;
        if (got === 1) break;
        if (got !== 0) throw new Error(`GET_LOCK(${name}) returned ${String(got)}`);
        const holder = await lockHolder(connection, name);
        if (!wait) throw new LeaseHeldError(name, holder);
        if (!announced) {
          announced = true;
          logger.warn({ lease: name, holderConnection: holder }, STANDBY_MESSAGE);
          options.onWaiting?.();
        }
        backoff.reset();
      } catch (error) {
        if (error instanceof LeaseHeldError) throw error;
        connection?.destroy();
        connection = undefined;
        signal?.throwIfAborted();
        // Offline commands fail rather than wait for the database.
        if (!wait) throw error;
        const delay = backoff.next();
        logger.warn({ lease: name, retryInMs: delay, err: error }, "database lease: connection failed; retrying");
        await sleep(delay, signal);
      }
    }
  } catch (error) {
    connection?.destroy();
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  const identity = `spider-storage-lease-holder:${randomBytes(16).toString("hex")}`;
  let connectionId: number;
  try {
    const [[idRow]] = await connection.query<RowDataPacket[]>("SELECT CONNECTION_ID() AS id, GET_LOCK(?, 0) AS got", [identity]);
    if (idRow?.["got"] !== 1) throw new Error(`GET_LOCK(${identity}) returned ${String(idRow?.["got"])}`);
    connectionId = Number(idRow["id"]);
  } catch (error) {
    connection.destroy();
    throw error;
  }
  if (announced) logger.info({ lease: name, connectionId }, "database lease taken over: no longer standby");
  else logger.debug({ lease: name, connectionId }, "database lease taken");
  return holdLease(connection, name, connectionId, identity, options, { nodes, node: node! });
}

async function lockHolder(connection: Connection, name: string): Promise<number | undefined> {
  try {
    const [rows] = await connection.query<RowDataPacket[]>("SELECT IS_USED_LOCK(?) AS holder", [name]);
    const holder = rows[0]?.["holder"] as number | string | null | undefined;
    return holder === null || holder === undefined ? undefined : Number(holder);
  } catch {
    return undefined;
  }
}

function holdLease(
  connection: Connection,
  name: string,
  connectionId: number,
  identity: string,
  options: LeaseOptions,
  on: { nodes: DatabaseNodes; node: DatabaseNode },
): Lease {
  const callbacks: ((error: Error) => void)[] = [];
  let lostError: Error | undefined;
  let released = false;
  let timer: NodeJS.Timeout | undefined;
  // The pool writes through the current node only: a lease left on another one is lost, and retaken there.
  const stopFollowing = on.nodes.onMove((move) => {
    if (move.to.index !== on.node.index) lose(new Error(`the database moved to another node (${move.from.name} → ${move.to.name}, ${move.reason})`));
  });

  const lose = (error: Error) => {
    if (released || lostError) return;
    lostError = error;
    stopFollowing();
    if (timer) clearTimeout(timer);
    connection.destroy();
    options.logger.error({ lease: name, err: error }, "database lease lost");
    for (const callback of callbacks) callback(error);
  };

  connection.on("error", (error: Error) => lose(new Error(`the lease's database connection failed: ${error.message}`, { cause: error })));
  connection.on("end", () => lose(new Error("the lease's database connection closed")));

  const check = async () => {
    try {
      const [rows] = await connection.query<RowDataPacket[]>({ sql: "SELECT IS_USED_LOCK(?) AS holder", timeout: 10_000 }, [name]);
      const holder = rows[0]?.["holder"] as number | string | null | undefined;
      if (holder === null || holder === undefined || Number(holder) !== connectionId) {
        lose(new Error(`the lock ${name} is no longer held by this server (holder: ${String(holder ?? "none")})`));
        return;
      }
    } catch (error) {
      lose(new Error(`the lease check failed: ${(error as Error).message}`, { cause: error }));
      return;
    }
    if (!released && !lostError) schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => void check(), options.checkIntervalMs ?? 2_000);
    timer.unref();
  };
  schedule();

  return {
    name,
    connectionId,
    identity,
    onLost(callback) {
      if (lostError) callback(lostError);
      else callbacks.push(callback);
    },
    db: singleConnectionDb(connection, { statementTimeoutMs: 10_000 }),
    async release() {
      if (released) return;
      released = true;
      stopFollowing();
      if (timer) clearTimeout(timer);
      if (lostError) return;
      try {
        await connection.query({ sql: "SELECT RELEASE_LOCK(?)", timeout: 5_000 }, [name]);
        await connection.end();
      } catch {
        connection.destroy();
      }
    },
  };
}

export interface RetakeOptions extends Omit<LeaseOptions, "wait" | "onWaiting"> {
  /**
   * The lost lease: if MariaDB shows its very connection (same id and holding
   * its identity lock) still holding the lock, that connection is killed, not obeyed.
   */
  readonly previous?: Pick<Lease, "connectionId" | "identity">;
  /** Backoff cap between attempts while the database is unreachable; default 1 s. */
  readonly maxDelayMs?: number;
}

/**
 * Takes back a lost lease: retries while the database is unreachable (capped
 * backoff), and throws {@link LeaseHeldError} as soon as another server holds
 * the lock — that server may already be writing. A lock still held by our own
 * dead connection (the server has not noticed it is gone) is freed with KILL;
 * a holder that merely has the same connection id (after a database restart)
 * is another server.
 */
export async function retakeLease(url: string, options: RetakeOptions): Promise<Lease> {
  const { logger, signal } = options;
  const nodes = options.nodes ?? new DatabaseNodes(url);
  const backoff = new Backoff({ initialMs: 100, maxMs: options.maxDelayMs ?? 1_000 });
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await acquireLease(url, { ...options, nodes, wait: false });
    } catch (error) {
      signal?.throwIfAborted();
      const delay = backoff.next();
      if (error instanceof LeaseHeldError) {
        const previous = options.previous;
        if (error.holder === undefined || previous === undefined || error.holder !== previous.connectionId) throw error;
        // Kills only a holder that also holds the lost lease's identity lock: our own connection, not a namesake.
        const killed = await killOwnConnection(nodes, previous).catch((killError: unknown) => {
          logger.warn({ err: killError }, "could not kill the lost lease connection");
          return true;
        });
        if (!killed) throw error;
        logger.warn({ connectionId: error.holder }, "database lease was still held by this server's lost connection; killed it");
      } else if (attempt === 1 || attempt % 10 === 0) {
        logger.warn({ attempt, retryInMs: delay, err: error }, "database lease: database unreachable; retrying");
      }
      await sleep(delay, signal);
    }
  }
}

/** KILLs the lost lease's connection if it is still alive (it holds its identity lock); false if it is not. */
async function killOwnConnection(nodes: DatabaseNodes, previous: Pick<Lease, "connectionId" | "identity">): Promise<boolean> {
  const { connection } = await nodes.connect({ connectTimeout: 5_000 });
  try {
    const [rows] = await connection.query<RowDataPacket[]>("SELECT IS_USED_LOCK(?) AS holder", [previous.identity]);
    const holder = rows[0]?.["holder"] as number | string | null | undefined;
    if (holder === null || holder === undefined || Number(holder) !== previous.connectionId) return false;
    // Connection ids only repeat after a restart, which would also have freed the identity lock.
    await connection.query("KILL CONNECTION ?", [previous.connectionId]);
    return true;
  } finally {
    connection.destroy();
  }
}
