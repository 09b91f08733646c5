/**
 * Which server of the database URL to use. A URL may name several servers of
 * one replicated database (a Galera cluster: `mysql://u:p@h1:3306,h2:3306,h3:3306/spider`);
 * the server uses one at a time, the *current node*, shared by its pool
 * (src/db/failover-pool.ts) and its lease connection (src/db/lease.ts), so both
 * write through the same node.
 *
 * - The current node is the first, in the URL's order, that answers and is
 *   usable: not `read_only`, and on Galera (`wsrep_on`) `wsrep_ready` and
 *   Synced (src/db/server/readNodeState.ts). A plain MariaDB has no wsrep and is usable.
 * - When it is lost (a connection to it is refused or times out) or turns
 *   unusable (checked every `checkIntervalMs` while a pool holds the nodes), the
 *   next usable node in order becomes current, round robin. Each move is logged
 *   and reported through `onMove` (a metric).
 * - While no node answers, connecting fails with the driver's error, so the
 *   outage rules (DECISIONS D6) apply as for one server.
 *
 * Nodes are probed in parallel, and the first usable in order wins, so a
 * black-holed node costs one connect timeout, not one per node.
 *
 * A URL with one host (or a unix socket) never probes: it connects exactly as
 * it always has.
 */
import { createConnection, type Connection, type ConnectionOptions } from "mysql2/promise";
import { formatHost, parseDatabaseUrl, type DatabaseHost, type DatabaseUrl } from "../core/database-url.ts";
import { unavailable } from "../core/errors.ts";
import type { Logger } from "../observability/logger.ts";
import { readNodeState, type NodeState } from "./server/readNodeState.ts";

export interface DatabaseNode extends DatabaseHost {
  /** Position in the URL's host list. */
  readonly index: number;
  /** `host:port`, or the socket path: how logs name it. */
  readonly name: string;
}

/** Why the current node was left: no connection to it, or it answered as unusable. */
export type NodeMoveReason = "unreachable" | "unusable";

export interface NodeMove {
  readonly from: DatabaseNode;
  readonly to: DatabaseNode;
  readonly reason: NodeMoveReason;
}

export interface DatabaseNodesOptions {
  readonly logger?: Logger;
  /** Called on every move to another node. */
  readonly onMove?: (move: NodeMove) => void;
  /** Longest a connection attempt, and each probe statement, may take; default 5 s. */
  readonly connectTimeoutMs?: number;
  /** How often the current node is checked while a pool holds the nodes; default 1 s. */
  readonly checkIntervalMs?: number;
}

/** A connection and the node it goes to. */
export interface NodeConnection {
  readonly connection: Connection;
  readonly node: DatabaseNode;
}

/** Logged (warn) once when a selection finds no node usable, until one is again. */
export const NO_USABLE_NODE_MESSAGE = "no database node answers and is usable; retrying";

/** Logged (warn) on every move to another node. */
export const NODE_MOVED_MESSAGE = "database node changed: the current one is unreachable or unusable";

/** Why a node must not take our writes, or undefined when it may. */
export function unusableReason(state: NodeState): string | undefined {
  if (state.wsrepOn) {
    if (state.wsrepReady !== true) return "wsrep_ready = OFF";
    if (state.wsrepState !== "Synced") return `wsrep_local_state_comment = ${state.wsrepState ?? "unknown"}`;
  }
  if (state.readOnly) return "read_only = ON";
  return undefined;
}

type Probe =
  | { readonly ok: true; readonly connection: Connection }
  | { readonly ok: false; readonly reason: NodeMoveReason; readonly error: unknown };

export class DatabaseNodes {
  readonly nodes: readonly DatabaseNode[];
  readonly #url: DatabaseUrl;
  readonly #options: DatabaseNodesOptions;
  readonly #connectTimeoutMs: number;
  #current = 0;
  /** The current node passed its last probe and nothing has failed on it since. */
  #usable = false;
  #selection: Promise<boolean> | undefined;
  /** Why each node failed in the last selection that found none usable. */
  #lastFailures: readonly { node: DatabaseNode; probe: Probe & { ok: false } }[] = [];
  readonly #listeners = new Set<(move: NodeMove) => void>();
  /** Pools holding the nodes: the current node is checked while there is one. */
  #holders = 0;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  /** An open connection to the current node, for its periodic check. */
  #watch: NodeConnection | undefined;

  constructor(url: string, options: DatabaseNodesOptions = {}) {
    this.#url = parseDatabaseUrl(url);
    this.#options = options;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    const socket = this.#url.socket;
    this.nodes = this.#url.hosts.map((host, index) => ({ ...host, index, name: socket ?? formatHost(host) }));
  }

  /** Whether the URL names more than one server (and so there is a choice to make). */
  get several(): boolean {
    return this.nodes.length > 1;
  }

  get current(): DatabaseNode {
    return this.nodes[this.#current]!;
  }

  get database(): string {
    return this.#url.database;
  }

  /** mysql2 options for a connection to `node` (default: the current one). */
  connectionOptions(node: DatabaseNode = this.current): ConnectionOptions {
    const { user, password, database, socket } = this.#url;
    return { user, password, database, ...(socket !== undefined ? { socketPath: socket } : { host: node.host, port: node.port }) };
  }

  /** Registers a callback run on every move; returns its removal. */
  onMove(listener: (move: NodeMove) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A connection to the current node — after choosing one if none is known
   * usable, and moving on if the current one fails now. Throws the driver's
   * error (or "unavailable" when every node answered unusable) if none will do.
   */
  async connect(extra: ConnectionOptions = {}): Promise<NodeConnection> {
    if (!this.several) return { connection: await createConnection({ ...this.connectionOptions(), ...extra }), node: this.current };
    let lastError: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      await this.ensureUsable();
      const node = this.current;
      const probe = await this.#probe(node, extra);
      if (probe.ok) return { connection: probe.connection, node };
      lastError = probe.error;
      await this.nodeFailed(node, probe.reason);
    }
    throw lastError;
  }

  /** Resolves once the current node is known usable; throws as {@link connect} when no node is. */
  async ensureUsable(): Promise<void> {
    if (!this.several || this.#usable) return;
    if (!(await this.#select(undefined))) throw this.#noUsableNodeError();
  }

  /**
   * A connection to `node` failed (refused, timed out) or it answered unusable:
   * if it is still the current node, move to the next usable one. Resolves with
   * whether a usable node is current now.
   */
  async nodeFailed(node: DatabaseNode, reason: NodeMoveReason): Promise<boolean> {
    if (!this.several) return false;
    if (node.index === this.#current) this.#usable = false;
    if (this.#usable) return true;
    return this.#select({ node, reason });
  }

  /** A pool uses the nodes: check the current one periodically until the returned release is called. */
  hold(): () => void {
    this.#holders++;
    if (this.#holders === 1 && this.several) {
      this.#timer = setInterval(() => void this.#check(), this.#options.checkIntervalMs ?? 1_000);
      this.#timer.unref();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holders--;
      if (this.#holders > 0) return;
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#dropWatch();
    };
  }

  /** One selection at a time: callers that arrive meanwhile share its outcome. */
  #select(failed: { node: DatabaseNode; reason: NodeMoveReason } | undefined): Promise<boolean> {
    this.#selection ??= this.#runSelection(failed).finally(() => {
      this.#selection = undefined;
    });
    return this.#selection;
  }

  async #runSelection(failed: { node: DatabaseNode; reason: NodeMoveReason } | undefined): Promise<boolean> {
    const count = this.nodes.length;
    // After a failure the next node comes first and the failed one last; otherwise the current one first.
    const first = failed === undefined ? this.#current : (failed.node.index + 1) % count;
    const order = Array.from({ length: count }, (_, i) => this.nodes[(first + i) % count]!);
    const probes = order.map((node) => this.#probe(node, {}));
    const failures: { node: DatabaseNode; probe: Probe & { ok: false } }[] = [];
    for (const [i, node] of order.entries()) {
      const probe = await probes[i]!;
      if (!probe.ok) {
        failures.push({ node, probe });
        continue;
      }
      // The first usable node in order wins; later ones are closed as they answer.
      for (const later of probes.slice(i + 1)) void later.then((p) => p.ok && p.connection.destroy());
      const from = this.current;
      this.#current = node.index;
      this.#usable = true;
      this.#lastFailures = [];
      this.#adoptWatch({ connection: probe.connection, node });
      if (node.index !== from.index) {
        const reason = failed?.reason ?? failures.find((f) => f.node.index === from.index)?.probe.reason ?? "unreachable";
        this.#moved({ from, to: node, reason }, failures);
      }
      return true;
    }
    const wasUsable = this.#lastFailures.length === 0;
    this.#usable = false;
    this.#lastFailures = failures;
    if (wasUsable) {
      this.#options.logger?.warn(
        { nodes: failures.map((f) => ({ node: f.node.name, reason: describe(f.probe.error) })) },
        NO_USABLE_NODE_MESSAGE,
      );
    }
    return false;
  }

  #moved(move: NodeMove, failures: readonly { node: DatabaseNode; probe: Probe & { ok: false } }[]): void {
    this.#options.logger?.warn(
      {
        from: move.from.name,
        to: move.to.name,
        reason: move.reason,
        skipped: failures.map((f) => ({ node: f.node.name, reason: describe(f.probe.error) })),
      },
      NODE_MOVED_MESSAGE,
    );
    this.#options.onMove?.(move);
    for (const listener of [...this.#listeners]) listener(move);
  }

  /** The error of a selection that found no usable node: the first unreachable node's driver error, so it reads as an outage (D6). */
  #noUsableNodeError(): unknown {
    const unreachable = this.#lastFailures.find((f) => f.probe.reason === "unreachable");
    if (unreachable !== undefined) return unreachable.probe.error;
    const reasons = this.#lastFailures.map((f) => `${f.node.name}: ${describe(f.probe.error)}`).join("; ");
    return unavailable(`no database node is usable (${reasons}); nothing was written`);
  }

  /** Connects to `node` and checks that it is usable. */
  async #probe(node: DatabaseNode, extra: ConnectionOptions): Promise<Probe> {
    let connection: Connection | undefined;
    try {
      connection = await createConnection({ ...this.connectionOptions(node), connectTimeout: this.#connectTimeoutMs, ...extra });
      // Errors after the handshake surface through the statements that meet them.
      connection.on("error", () => {});
      const why = unusableReason(await readNodeState(connection, { timeoutMs: this.#connectTimeoutMs }));
      if (why === undefined) return { ok: true, connection };
      connection.destroy();
      return { ok: false, reason: "unusable", error: unavailable(`database node ${node.name} is not usable: ${why}`) };
    } catch (error) {
      connection?.destroy();
      return { ok: false, reason: "unreachable", error };
    }
  }

  /** The periodic check of the current node, on a connection kept open for it. */
  async #check(): Promise<void> {
    if (this.#checking || this.#selection !== undefined || !this.#usable) return;
    this.#checking = true;
    try {
      const node = this.current;
      let failure: (Probe & { ok: false }) | undefined;
      if (this.#watch?.node.index === node.index) {
        try {
          const why = unusableReason(await readNodeState(this.#watch.connection, { timeoutMs: this.#connectTimeoutMs }));
          if (why !== undefined) failure = { ok: false, reason: "unusable", error: unavailable(`database node ${node.name} is not usable: ${why}`) };
        } catch {
          // The check's own connection may be all that broke: a fresh probe decides.
          this.#dropWatch();
        }
      }
      if (failure === undefined && this.#watch?.node.index !== node.index) {
        const probe = await this.#probe(node, {});
        if (probe.ok) this.#adoptWatch({ connection: probe.connection, node });
        else failure = probe;
      }
      if (failure !== undefined && this.#holders > 0 && node.index === this.#current) {
        this.#options.logger?.warn({ node: node.name, reason: describe(failure.error) }, "database node check failed");
        await this.nodeFailed(node, failure.reason);
      }
    } finally {
      this.#checking = false;
    }
  }

  /** Keeps `probed` for the periodic check while a pool holds the nodes; else closes it. */
  #adoptWatch(probed: NodeConnection): void {
    this.#dropWatch();
    if (this.#holders > 0) this.#watch = probed;
    else probed.connection.destroy();
  }

  #dropWatch(): void {
    this.#watch?.connection.destroy();
    this.#watch = undefined;
  }
}

function describe(error: unknown): string {
  if (typeof error !== "object" || error === null) return String(error);
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === "string" ? `${code}: ${String(message)}` : String(message);
}
