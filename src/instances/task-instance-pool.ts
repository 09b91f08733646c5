/**
 * The task-instance pool: every live task instance of this process, by id.
 *
 * - Instance ids come from one counter starting at 1.
 * - Soft timeouts: a min-heap of soft deadlines, checked every
 *   `softTimeoutCheckIntervalMs` (default 200 ms); each instance that passes
 *   its deadline has its task re-enqueued once (a speculative instance can
 *   then register if `max_num_instances` allows).
 * - Dead execution managers: every `reapIntervalMs` (default 1 s) the store
 *   marks execution managers silent for `deadExecutionManagerCutoffMs`
 *   (default 10 s) dead; their instances are evicted and their tasks
 *   re-enqueued without consuming a retry. While the database has been
 *   unreachable within the last cutoff, nobody is reaped: heartbeats that could
 *   not be recorded must not make an execution manager dead (DECISIONS D6).
 *   Starting counts as such an outage: the first cutoff after start reaps nobody.
 * - Execution managers are checked up front at registration: unknown or dead
 *   ids are refused. Known-alive ids are cached so a registration costs no
 *   database call; the cache is invalidated by reaping. Both caches forget:
 *   an alive id after a cutoff without news of it, a dead one after
 *   `deadExecutionManagerRetentionMs` (default 10 cutoffs) — the database is
 *   asked again when needed — so their size follows the managers of the
 *   last few minutes, not every manager ever seen.
 */
import { failedPrecondition, isStorageError } from "../core/errors.ts";
import type { Logger } from "../observability/logger.ts";
import { DeadlineHeap } from "./deadline-heap.ts";
import { InstanceRecord, type InstanceHost } from "./instance-record.ts";

import type { ExecutionManagerLiveness } from "../core/execution-manager-liveness.ts";
import { RenewingMap } from "../core/renewing-map.ts";

export type { ExecutionManagerLiveness };

/** The database operations the pool needs (a subset of the engine's JobStore). */
export interface LivenessStore {
  executionManagerLiveness(executionManagerId: bigint): Promise<ExecutionManagerLiveness>;
  /** Marks execution managers silent for longer than `staleAfterMs` dead and returns them, each exactly once. */
  reapDeadExecutionManagers(staleAfterMs: number): Promise<bigint[]>;
}

export interface TaskInstancePoolOptions {
  readonly softTimeoutCheckIntervalMs?: number;
  readonly deadExecutionManagerCutoffMs?: number;
  readonly reapIntervalMs?: number;
  /** How long a dead execution manager is remembered without asking the database; default 10 cutoffs. */
  readonly deadExecutionManagerRetentionMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
  /** Execution managers were declared dead (a metric; must not throw). */
  readonly onExecutionManagersDead?: (ids: readonly bigint[], evictedInstances: number) => void;
}

export const DEFAULT_SOFT_TIMEOUT_CHECK_INTERVAL_MS = 200;
export const DEFAULT_DEAD_EXECUTION_MANAGER_CUTOFF_MS = 10_000;
export const DEFAULT_REAP_INTERVAL_MS = 1_000;

export class TaskInstancePool {
  private nextId = 1n;
  private readonly records = new RenewingMap<bigint, InstanceRecord>();
  private readonly deadlines = new DeadlineHeap();
  /** Known alive, by id → when last confirmed (pool clock). */
  private readonly aliveExecutionManagers = new Map<bigint, number>();
  /** Known dead, by id → when learnt (pool clock). */
  private readonly deadExecutionManagers = new Map<bigint, number>();
  private readonly deadExecutionManagerRetentionMs: number;
  private readonly store: LivenessStore;
  private readonly softTimeoutCheckIntervalMs: number;
  readonly deadExecutionManagerCutoffMs: number;
  private readonly reapIntervalMs: number;
  /** The pool's monotonic clock in milliseconds (soft deadlines, instance ages). */
  readonly now: () => number;
  private readonly logger: Logger | undefined;
  private readonly onExecutionManagersDead: TaskInstancePoolOptions["onExecutionManagersDead"];
  private softTimer: NodeJS.Timeout | undefined;
  private reapTimer: NodeJS.Timeout | undefined;
  private reaping: Promise<void> | undefined;
  private lastDbUnavailableAt = Number.NEGATIVE_INFINITY;
  /** When the reap timer last ticked (pool clock): a late tick means this process was not running. */
  private lastReapTickAt: number | undefined;
  /** A reap's outcome was unknown (connection lost during its COMMIT): see {@link reconcileDeadExecutionManagers}. */
  private reconcilePending = false;

  constructor(store: LivenessStore, options: TaskInstancePoolOptions = {}) {
    this.store = store;
    this.softTimeoutCheckIntervalMs = options.softTimeoutCheckIntervalMs ?? DEFAULT_SOFT_TIMEOUT_CHECK_INTERVAL_MS;
    this.deadExecutionManagerCutoffMs = options.deadExecutionManagerCutoffMs ?? DEFAULT_DEAD_EXECUTION_MANAGER_CUTOFF_MS;
    this.reapIntervalMs = options.reapIntervalMs ?? DEFAULT_REAP_INTERVAL_MS;
    this.deadExecutionManagerRetentionMs = options.deadExecutionManagerRetentionMs ?? 10 * this.deadExecutionManagerCutoffMs;
    this.now = options.now ?? (() => performance.now());
    this.logger = options.logger;
    this.onExecutionManagersDead = options.onExecutionManagersDead;
  }

  start(): void {
    if (this.softTimer) return;
    // Heartbeats refused before the pool started (the server was down, draining,
    // migrating or recovering) were never recorded: start with the grace that
    // follows an outage, or the first sweep kills every manager whose next
    // heartbeat has not landed yet (D6).
    this.noteDbUnavailable();
    this.softTimer = setInterval(() => this.checkSoftTimeouts(), this.softTimeoutCheckIntervalMs);
    this.softTimer.unref();
    this.lastReapTickAt = this.now();
    this.reapTimer = setInterval(() => this.onReapTick(), this.reapIntervalMs);
    this.reapTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.softTimer) clearInterval(this.softTimer);
    if (this.reapTimer) clearInterval(this.reapTimer);
    this.softTimer = undefined;
    this.reapTimer = undefined;
    await this.reaping;
  }

  get size(): number {
    return this.records.size;
  }

  /**
   * Refuses an unknown or dead execution manager (FAILED_PRECONDITION). Cached
   * for alive ones; call again synchronously with {@link assertNotDead} after
   * any await, since a reap may have happened meanwhile.
   */
  async checkExecutionManager(executionManagerId: bigint): Promise<void> {
    const confirmedAt = this.aliveExecutionManagers.get(executionManagerId);
    if (confirmedAt !== undefined && this.now() - confirmedAt < this.deadExecutionManagerCutoffMs) return;
    this.assertNotDead(executionManagerId);
    let liveness: ExecutionManagerLiveness;
    try {
      liveness = await this.store.executionManagerLiveness(executionManagerId);
    } catch (error) {
      if (isStorageError(error, "unavailable")) this.noteDbUnavailable();
      throw error;
    }
    if (liveness === "unknown") throw failedPrecondition(`unknown execution manager ${executionManagerId}`);
    if (liveness === "dead") {
      this.aliveExecutionManagers.delete(executionManagerId);
      this.deadExecutionManagers.set(executionManagerId, this.now());
      throw failedPrecondition(`execution manager ${executionManagerId} is dead`);
    }
    this.assertNotDead(executionManagerId);
    this.aliveExecutionManagers.set(executionManagerId, this.now());
  }

  assertNotDead(executionManagerId: bigint): void {
    if (this.deadExecutionManagers.has(executionManagerId)) {
      throw failedPrecondition(`execution manager ${executionManagerId} is dead`);
    }
  }

  /** A freshly registered execution manager: known alive without asking the database. */
  noteExecutionManagerAlive(executionManagerId: bigint): void {
    if (!this.deadExecutionManagers.has(executionManagerId)) this.aliveExecutionManagers.set(executionManagerId, this.now());
  }

  /** How many execution managers the pool remembers (inspection, tests). */
  get knownExecutionManagers(): { readonly alive: number; readonly dead: number } {
    return { alive: this.aliveExecutionManagers.size, dead: this.deadExecutionManagers.size };
  }

  /**
   * Forgets alive managers not confirmed for a cutoff and dead ones past the
   * retention (run by every reaping round). A forgotten id costs one database
   * read at its next registration.
   */
  forgetStaleExecutionManagers(now = this.now()): void {
    for (const [id, confirmedAt] of this.aliveExecutionManagers) {
      if (now - confirmedAt >= this.deadExecutionManagerCutoffMs) this.aliveExecutionManagers.delete(id);
    }
    for (const [id, learntAt] of this.deadExecutionManagers) {
      if (now - learntAt >= this.deadExecutionManagerRetentionMs) this.deadExecutionManagers.delete(id);
    }
  }

  /**
   * A reap tick more than a second (a quarter of the cutoff, if less) late
   * means this process did not run meanwhile — SIGSTOP, a VM freeze, a long
   * GC pause or a blocked event loop. Heartbeats sent then sit unread in its
   * sockets and are recorded only after the timers of this turn have run, so
   * a sweep now would declare every manager dead (seen by the chaos run: a
   * 5.4 s SIGSTOP with a 4 s cutoff made them all dead at the thaw). Like an
   * outage (D6), it restarts the grace.
   */
  private onReapTick(): void {
    const now = this.now();
    const lateMs = this.lastReapTickAt === undefined ? 0 : now - this.lastReapTickAt - this.reapIntervalMs;
    this.lastReapTickAt = now;
    if (lateMs > Math.min(1_000, this.deadExecutionManagerCutoffMs / 4)) {
      this.logger?.warn({ lateMs: Math.round(lateMs) }, "this process did not run for a while (paused?): nobody is declared dead until a full cutoff has passed");
      this.noteDbUnavailable();
    }
    void this.reapDeadExecutionManagers();
  }

  /** The database was unreachable: nobody is reaped until a full cutoff has passed since. */
  noteDbUnavailable(): void {
    this.lastDbUnavailableAt = this.now();
  }

  /** Allocates an id (even if the registration then fails, as Spider does) — see {@link add}. */
  allocateId(): bigint {
    return this.nextId++;
  }

  /** Tracks a new live instance. */
  add(id: bigint, host: InstanceHost, key: number, executionManagerId: bigint, softTimeoutMs: number): InstanceRecord {
    const record = new InstanceRecord(id, host, key, executionManagerId, this.now(), softTimeoutMs);
    this.records.set(id, record);
    this.deadlines.push(record);
    if (this.deadlines.size > 2 * this.records.size + 1024) this.deadlines.compact();
    return record;
  }

  get(id: bigint): InstanceRecord | undefined {
    return this.records.get(id);
  }

  /** Forgets an instance (reported, evicted, or its task or job ended). */
  remove(record: InstanceRecord): void {
    if (!record.live) return;
    record.live = false;
    this.records.delete(record.id);
  }

  /** Every live instance (for inspection). */
  liveInstances(): IterableIterator<InstanceRecord> {
    return this.records.values();
  }

  /** Re-enqueues the task of every instance past its soft deadline, once per instance. */
  checkSoftTimeouts(now = this.now()): number {
    let handled = 0;
    for (let top = this.deadlines.peek(); top !== undefined && top.softDeadline <= now; top = this.deadlines.peek()) {
      this.deadlines.pop();
      if (!top.live || top.softTimeoutHandled) continue;
      top.softTimeoutHandled = true;
      handled++;
      try {
        top.host.softTimeout(top);
      } catch (error) {
        this.logger?.error({ err: error, instanceId: top.id }, "soft-timeout handling failed");
      }
    }
    return handled;
  }

  /**
   * One reaping round: asks the store for newly dead execution managers and
   * evicts their instances. Rounds never overlap. Returns the ids reaped.
   */
  reapDeadExecutionManagers(): Promise<bigint[]> {
    if (this.reaping) return this.reaping.then(() => []);
    let reaped: bigint[] = [];
    this.reaping = (async () => {
      this.forgetStaleExecutionManagers();
      if (this.now() - this.lastDbUnavailableAt < this.deadExecutionManagerCutoffMs) return;
      try {
        if (this.reconcilePending) await this.reconcileDeadExecutionManagers();
        reaped = await this.store.reapDeadExecutionManagers(this.deadExecutionManagerCutoffMs);
      } catch (error) {
        if (isStorageError(error, "unavailable")) this.noteDbUnavailable();
        // The reap may have committed: managers may be Dead in the database, never to be reaped again.
        if (isStorageError(error, "internal")) this.reconcilePending = true;
        this.logger?.warn({ err: error }, "reaping dead execution managers failed; will retry");
        return;
      }
      if (reaped.length > 0) this.evictExecutionManagers(reaped);
    })().finally(() => {
      this.reaping = undefined;
    });
    return this.reaping.then(() => reaped);
  }

  /**
   * After a reap whose outcome was unknown: asks the database about every
   * manager this process still trusts (live instances, alive cache) and evicts
   * the ones it shows Dead — reaping reports each only once, so without this
   * their tasks would stay Running for ever.
   */
  private async reconcileDeadExecutionManagers(): Promise<void> {
    const ids = new Set(this.aliveExecutionManagers.keys());
    for (const record of this.records.values()) ids.add(record.executionManagerId);
    const dead: bigint[] = [];
    for (const id of ids) {
      if (!this.deadExecutionManagers.has(id) && (await this.store.executionManagerLiveness(id)) === "dead") dead.push(id);
    }
    this.reconcilePending = false;
    if (dead.length > 0) this.evictExecutionManagers(dead);
  }

  /** Marks the given execution managers dead and evicts their instances. */
  evictExecutionManagers(ids: readonly bigint[]): number {
    const dead = new Set(ids);
    const now = this.now();
    for (const id of ids) {
      this.aliveExecutionManagers.delete(id);
      this.deadExecutionManagers.set(id, now);
    }
    const victims: InstanceRecord[] = [];
    for (const record of this.records.values()) if (dead.has(record.executionManagerId)) victims.push(record);
    for (const record of victims) {
      this.remove(record);
      try {
        record.host.evictInstance(record);
      } catch (error) {
        this.logger?.error({ err: error, instanceId: record.id }, "evicting an instance failed");
      }
    }
    if (ids.length > 0) {
      this.logger?.warn({ executionManagers: ids, instances: victims.length }, "execution managers dead; instances evicted");
      this.onExecutionManagersDead?.(ids, victims.length);
    }
    return victims.length;
  }
}
