/**
 * Every Prometheus metric of the service, in one private prom-client registry
 * (never the global one, so two servers in one process — tests — do not mix).
 *
 * Two kinds of metric live here:
 * - events, counted or timed as they happen by whoever sees them (the gRPC
 *   call observer, the engine's hooks, the database query log, recovery);
 * - state, read at scrape time from sources attached once the engine exists
 *   (the job cache, the inbound queue, the pool, and a COUNT of jobs by state
 *   in the database, refreshed at most every {@link DB_JOB_COUNT_MAX_AGE_MS}).
 *
 * The README's "Operations" section has the table of every metric; keep it in
 * step with {@link METRIC_NAMES}.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type CounterChild, type HistogramChild } from "./prom-client-parts.ts";
import { JOB_STATES } from "../core/job-state.ts";
import { REQUEUE_CAUSES } from "../core/requeue-cause.ts";

/** Lanes and their stats as the inbound queue reports them. */
export interface LaneSnapshot {
  readonly depth: number;
  readonly oldestAgeMs: number;
  readonly waitingPollers: number;
  /** Entries handed out whose task has not been registered yet. */
  readonly unclaimed?: number;
  /** Polls answered without waiting because runtime.limits.max_waiting_polls were waiting (since start). */
  readonly waitRefusedPolls?: number;
}

/** What the job cache holds right now. */
export interface CacheSnapshot {
  readonly jobsByState: Readonly<Record<string, number>>;
  /** Regular tasks of the cached jobs. */
  readonly tasks: number;
  /** Bytes of inputs and outputs the cached jobs hold. */
  readonly payloadBytes: number;
  readonly liveTaskInstances: number;
}

/** Where scrape-time metrics come from; attached when the engine exists. */
export interface MetricsSources {
  readonly cache?: () => CacheSnapshot;
  readonly queue?: () => Readonly<Record<string, LaneSnapshot>>;
  /** Jobs per state in the database (every state present). */
  readonly countJobsInDatabase?: () => Promise<Readonly<Record<string, number>>>;
  /** Jobs whose last write the database has not confirmed, and the bytes of results kept for them (D6). */
  readonly unsettled?: () => { readonly jobs: number; readonly keptResultBytes: number };
  /** Group commit's totals since the term began, by kind of write (`insert`, or a move such as `Ready>Running`). */
  readonly groupCommit?: () => Readonly<Record<string, { readonly batches: number; readonly items: number }>>;
}

/** The database job count is refreshed at scrape time when older than this. */
export const DB_JOB_COUNT_MAX_AGE_MS = 5_000;
/** A scrape waits at most this long for a database count; later scrapes pick up the result. */
const DB_JOB_COUNT_SCRAPE_WAIT_MS = 2_000;

const RPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DB_BUCKETS = [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const METRIC_NAMES = {
  rpcRequests: "spider_storage_rpc_requests_total",
  rpcDuration: "spider_storage_rpc_duration_seconds",
  rpcLargeResponses: "spider_storage_rpc_large_responses_total",
  limitRejections: "spider_storage_limit_rejections_total",
  jobs: "spider_storage_jobs",
  jobsTerminated: "spider_storage_jobs_terminated_total",
  cacheJobs: "spider_storage_cache_jobs",
  cacheTasks: "spider_storage_cache_tasks",
  cachePayloadBytes: "spider_storage_cache_payload_bytes",
  liveTaskInstances: "spider_storage_live_task_instances",
  unsettledJobs: "spider_storage_unsettled_jobs",
  keptResultBytes: "spider_storage_kept_result_bytes",
  queueDepth: "spider_storage_queue_depth",
  queueOldestAge: "spider_storage_queue_oldest_age_seconds",
  queueWaitingPolls: "spider_storage_queue_waiting_polls",
  queueUnclaimed: "spider_storage_queue_unclaimed",
  pollWaitRefused: "spider_storage_poll_wait_refused_total",
  pollClamped: "spider_storage_poll_clamped_total",
  taskRequeues: "spider_storage_task_requeues_total",
  executionManagerDeaths: "spider_storage_execution_manager_deaths_total",
  dbQueryDuration: "spider_storage_db_query_duration_seconds",
  dbQueryErrors: "spider_storage_db_query_errors_total",
  dbNodeMoves: "spider_storage_db_node_moves_total",
  dbBatches: "spider_storage_db_batches_total",
  dbBatchedWrites: "spider_storage_db_batched_writes_total",
  recoveryJobsDone: "spider_storage_recovery_jobs_done",
  recoveryJobsTotal: "spider_storage_recovery_jobs_total",
  recoveryPageBytes: "spider_storage_recovery_page_bytes",
  phase: "spider_storage_phase",
  unhandledRejections: "spider_storage_unhandled_rejections_total",
} as const;

interface RpcChildren {
  readonly count: CounterChild;
  readonly duration: HistogramChild<"service" | "method" | "code">;
}

export class Metrics {
  readonly registry = new Registry();
  #sources: MetricsSources = {};

  readonly #rpcRequests: Counter<"service" | "method" | "code">;
  readonly #rpcDuration: Histogram<"service" | "method" | "code">;
  /** Bound children by "service/method\0code": the label object is built once (prom-client still hashes it on every observation). */
  readonly #rpcChildren = new Map<string, RpcChildren>();
  readonly #rpcLargeResponses: Counter<"service" | "method">;
  readonly #limitRejections: Counter<"limit">;
  readonly #jobsTerminated: Counter<"state">;
  readonly #pollClamped: Counter<"lane" | "field">;
  readonly #taskRequeues: Counter<"cause">;
  readonly #executionManagerDeaths: Counter;
  readonly #dbDuration: Histogram<"statement" | "table">;
  readonly #dbErrors: Counter<"statement" | "table" | "error">;
  readonly #dbNodeMoves: Counter<"reason">;
  readonly #recoveryDone: Gauge;
  readonly #recoveryTotal: Gauge;
  readonly #recoveryPageBytes: Histogram;
  readonly #phase: Gauge<"phase">;
  readonly #unhandledRejections: Counter;
  #currentPhase: string | undefined;

  /** One walk of the cache per scrape, shared by the gauges that read it. */
  #cacheSnapshot: { scrape: number; at: number; value: CacheSnapshot | undefined } = { scrape: -1, at: Number.NEGATIVE_INFINITY, value: undefined };
  #scrape = 0;

  #dbCounts: Readonly<Record<string, number>> | undefined;
  #dbCountsAt = Number.NEGATIVE_INFINITY;
  #dbCounting: Promise<void> | undefined;

  #processMetrics: Promise<void> | undefined;

  constructor() {
    const registers = [this.registry];

    this.#rpcRequests = new Counter({
      name: METRIC_NAMES.rpcRequests,
      help: "gRPC calls answered, by service, method and status code.",
      labelNames: ["service", "method", "code"],
      registers,
    });
    this.#rpcDuration = new Histogram({
      name: METRIC_NAMES.rpcDuration,
      help: "Time from a call's arrival to its answer, by service, method and status code (polls include their wait).",
      labelNames: ["service", "method", "code"],
      buckets: RPC_BUCKETS,
      registers,
    });
    this.#rpcLargeResponses = new Counter({
      name: METRIC_NAMES.rpcLargeResponses,
      help: "Responses above 4 MiB, the most Spider's Rust clients decode (DECISIONS D15).",
      labelNames: ["service", "method"],
      registers,
    });
    this.#limitRejections = new Counter({
      name: METRIC_NAMES.limitRejections,
      help: "Requests refused with INVALID_ARGUMENT because they exceeded a runtime.limits.* limit, by limit.",
      labelNames: ["limit"],
      registers,
    });

    const self = this;
    new Gauge({
      name: METRIC_NAMES.jobs,
      help: `Jobs in the database by state (a COUNT refreshed at scrape time, at most every ${DB_JOB_COUNT_MAX_AGE_MS / 1000} s).`,
      labelNames: ["state"],
      registers,
      async collect() {
        const counts = await self.#databaseCounts();
        if (counts === undefined) return;
        for (const state of JOB_STATES) this.set({ state }, counts[state] ?? 0);
      },
    });
    this.#jobsTerminated = new Counter({
      name: METRIC_NAMES.jobsTerminated,
      help: "Jobs of this process that reached a terminal state, by state.",
      labelNames: ["state"],
      registers,
    });

    new Gauge({
      name: METRIC_NAMES.cacheJobs,
      help: "Jobs in the in-memory job cache, by state (terminal ones stay for the retention period).",
      labelNames: ["state"],
      registers,
      collect() {
        const cache = self.#cache();
        for (const state of JOB_STATES) this.set({ state }, cache?.jobsByState[state] ?? 0);
      },
    });
    new Gauge({
      name: METRIC_NAMES.cacheTasks,
      help: "Regular tasks of the jobs in the job cache.",
      registers,
      collect() {
        this.set(self.#cache()?.tasks ?? 0);
      },
    });
    new Gauge({
      name: METRIC_NAMES.cachePayloadBytes,
      help: "Bytes of payload the job cache holds: inputs and task outputs of running jobs, job outputs of committed ones.",
      registers,
      collect() {
        this.set(self.#cache()?.payloadBytes ?? 0);
      },
    });
    new Gauge({
      name: METRIC_NAMES.liveTaskInstances,
      help: "Task instances registered and not yet reported, failed over or dropped.",
      registers,
      collect() {
        this.set(self.#cache()?.liveTaskInstances ?? 0);
      },
    });
    new Gauge({
      name: METRIC_NAMES.unsettledJobs,
      help: "Cached jobs whose last job transition the database has not confirmed (unreachable, or outcome unknown); each settles before it acts again.",
      registers,
      collect() {
        this.set(self.#sources.unsettled?.().jobs ?? 0);
      },
    });
    new Gauge({
      name: METRIC_NAMES.keptResultBytes,
      help: "Bytes of reported results (job outputs, error messages) kept while the database is unreachable, to be written when it is back (runtime.limits.max_kept_result_bytes).",
      registers,
      collect() {
        this.set(self.#sources.unsettled?.().keptResultBytes ?? 0);
      },
    });

    const laneGauge = (name: string, help: string, value: (lane: LaneSnapshot) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["lane"],
        registers,
        collect() {
          const lanes = self.#sources.queue?.();
          if (lanes === undefined) return;
          for (const [lane, stats] of Object.entries(lanes)) this.set({ lane }, value(stats));
        },
      });
    laneGauge(METRIC_NAMES.queueDepth, "Entries in each lane of the inbound queue (task, commit, cleanup).", (s) => s.depth);
    laneGauge(METRIC_NAMES.queueOldestAge, "Age of the oldest entry of each lane, 0 when empty.", (s) => s.oldestAgeMs / 1000);
    laneGauge(METRIC_NAMES.queueWaitingPolls, "Long polls waiting on each lane.", (s) => s.waitingPollers);
    laneGauge(
      METRIC_NAMES.queueUnclaimed,
      "Tasks of each lane handed out by a poll and not registered yet; offered again after runtime.queue.reoffer_unclaimed_after_ms.",
      (s) => s.unclaimed ?? 0,
    );
    new Counter({
      name: METRIC_NAMES.pollWaitRefused,
      help: "Polls answered at once, without waiting, because runtime.limits.max_waiting_polls polls were waiting, by lane.",
      labelNames: ["lane"],
      registers,
      collect() {
        // The queue counts; the scrape copies its totals.
        const lanes = self.#sources.queue?.();
        if (lanes === undefined) return;
        this.reset();
        for (const [lane, stats] of Object.entries(lanes)) this.inc({ lane }, stats.waitRefusedPolls ?? 0);
      },
    });

    // Group commit: the writer counts; the scrape copies its totals (they restart with a new term).
    const groupCommitCounter = (name: string, help: string, value: (kind: { batches: number; items: number }) => number) =>
      new Counter({
        name,
        help,
        labelNames: ["kind"],
        registers,
        collect() {
          const kinds = self.#sources.groupCommit?.();
          if (kinds === undefined) return;
          this.reset();
          for (const [kind, stats] of Object.entries(kinds)) this.inc({ kind }, value(stats));
        },
      });
    groupCommitCounter(
      METRIC_NAMES.dbBatches,
      "Statements written by group commit (runtime.db.group_commit), by kind of write: insert, or a job move such as Ready>Running.",
      (s) => s.batches,
    );
    groupCommitCounter(
      METRIC_NAMES.dbBatchedWrites,
      "Writes (one job each) those statements carried, by kind; divided by spider_storage_db_batches_total, the mean batch size.",
      (s) => s.items,
    );

    this.#pollClamped = new Counter({
      name: METRIC_NAMES.pollClamped,
      help: "Polls whose max_items or wait_ms was above its cap and was clamped (never an error, D5).",
      labelNames: ["lane", "field"],
      registers,
    });
    this.#taskRequeues = new Counter({
      name: METRIC_NAMES.taskRequeues,
      help: `Tasks given back to the inbound queue, by cause: ${REQUEUE_CAUSES.join(", ")} (src/core/requeue-cause.ts says what each means).`,
      labelNames: ["cause"],
      registers,
    });
    this.#executionManagerDeaths = new Counter({
      name: METRIC_NAMES.executionManagerDeaths,
      help: "Execution managers declared dead (silent beyond the cutoff) by this process.",
      registers,
    });
    this.#dbDuration = new Histogram({
      name: METRIC_NAMES.dbQueryDuration,
      help: "Database statements of the connection pool (kysely), by statement and table, errors included.",
      labelNames: ["statement", "table"],
      buckets: DB_BUCKETS,
      registers,
    });
    this.#dbErrors = new Counter({
      name: METRIC_NAMES.dbQueryErrors,
      help: "Database statements that failed, by statement, table and error class.",
      labelNames: ["statement", "table", "error"],
      registers,
    });
    this.#dbNodeMoves = new Counter({
      name: METRIC_NAMES.dbNodeMoves,
      help: "Moves to another server of a multi-host database URL, by why the current one was left: unreachable or unusable (read_only, or a Galera node not ready or not Synced).",
      labelNames: ["reason"],
      registers,
    });
    this.#recoveryDone = new Gauge({
      name: METRIC_NAMES.recoveryJobsDone,
      help: "Jobs recovered so far by the restart recovery of this process.",
      registers,
    });
    this.#recoveryTotal = new Gauge({
      name: METRIC_NAMES.recoveryJobsTotal,
      help: "Jobs the restart recovery of this process has to recover (0 before it starts).",
      registers,
    });
    this.#recoveryPageBytes = new Histogram({
      name: METRIC_NAMES.recoveryPageBytes,
      help: "Bytes of job blobs per restart-recovery page (bounded by runtime.recovery.page_bytes, but at least one job).",
      buckets: [64 * 1024, 1024 ** 2, 4 * 1024 ** 2, 16 * 1024 ** 2, 64 * 1024 ** 2, 256 * 1024 ** 2, 1024 ** 3],
      registers,
    });
    this.#unhandledRejections = new Counter({
      name: METRIC_NAMES.unhandledRejections,
      help: "Promise rejections nothing handled: each is a bug, logged with its stack; the server keeps serving.",
      registers,
    });
    this.#phase = new Gauge({
      name: METRIC_NAMES.phase,
      help: "1 for the server's current phase (starting, connecting, standby, migrating, recovering, serving, reconnecting, stopping), 0 for phases it has left.",
      labelNames: ["phase"],
      registers,
    });
    // Zeros from the start, so rates and absent-series alerts work before the first event.
    for (const cause of REQUEUE_CAUSES) {
      this.#taskRequeues.inc({ cause }, 0);
    }
    this.#executionManagerDeaths.inc(0);
    for (const reason of ["unreachable", "unusable"]) this.#dbNodeMoves.inc({ reason }, 0);
  }

  /** Adds prom-client's process metrics (CPU, memory, event loop, GC, handles): for the metrics endpoint, loaded only for it. */
  collectProcessMetrics(): Promise<void> {
    this.#processMetrics ??= collectDefaultMetrics({ register: this.registry });
    return this.#processMetrics;
  }

  /** Attaches the scrape-time sources (when the engine exists). */
  setSources(sources: MetricsSources): void {
    this.#sources = sources;
    this.#cacheSnapshot = { scrape: -1, at: Number.NEGATIVE_INFINITY, value: undefined };
    this.#dbCounts = undefined;
    this.#dbCountsAt = Number.NEGATIVE_INFINITY;
  }

  // ---- events ----------------------------------------------------------------------------

  /** One answered gRPC call. `code` is the status name ("OK", "INVALID_ARGUMENT"). */
  observeRpc(service: string, method: string, code: string, seconds: number): void {
    const key = `${service}/${method}\0${code}`;
    let children = this.#rpcChildren.get(key);
    if (children === undefined) {
      const labels = { service, method, code };
      children = { count: this.#rpcRequests.labels(labels), duration: this.#rpcDuration.labels(labels) };
      this.#rpcChildren.set(key, children);
    }
    children.count.inc();
    children.duration.observe(seconds);
  }

  largeResponse(service: string, method: string): void {
    this.#rpcLargeResponses.inc({ service, method });
  }

  /** A request refused for exceeding `limit` (a configuration key, runtime.limits.*). */
  limitRejected(limit: string): void {
    this.#limitRejections.inc({ limit });
  }

  jobTerminated(state: string): void {
    this.#jobsTerminated.inc({ state });
  }

  pollClamped(lane: string, field: string): void {
    this.#pollClamped.inc({ lane, field });
  }

  taskRequeued(cause: string): void {
    this.#taskRequeues.inc({ cause });
  }

  unhandledRejection(): void {
    this.#unhandledRejections.inc();
  }

  executionManagersDead(count: number): void {
    this.#executionManagerDeaths.inc(count);
  }

  /** One database statement; `error` is its error class when it failed. */
  observeDbStatement(statement: string, table: string, seconds: number, error?: string): void {
    this.#dbDuration.observe({ statement, table }, seconds);
    if (error !== undefined) this.#dbErrors.inc({ statement, table, error });
  }

  /** The database moved to another server of its URL (src/db/database-nodes.ts); `reason`: unreachable or unusable. */
  dbNodeMoved(reason: string): void {
    this.#dbNodeMoves.inc({ reason });
  }

  /** Restart recovery read a page of `bytes` bytes of job blobs. */
  recoveryPage(bytes: number): void {
    this.#recoveryPageBytes.observe(bytes);
  }

  /** Restart recovery: `done` of `total` jobs recovered (call as often as convenient). */
  recoveryProgress(done: number, total: number): void {
    this.#recoveryDone.set(done);
    this.#recoveryTotal.set(total);
  }

  setPhase(phase: string): void {
    if (this.#currentPhase !== undefined) this.#phase.set({ phase: this.#currentPhase }, 0);
    this.#currentPhase = phase;
    this.#phase.set({ phase }, 1);
  }

  /** The exposition text (what /metrics answers). */
  exposition(): Promise<string> {
    this.#scrape++;
    return this.registry.metrics();
  }

  /** The cache snapshot, taken once per scrape (four gauges read it), or when older than 100 ms. */
  #cache(): CacheSnapshot | undefined {
    const now = performance.now();
    if (this.#cacheSnapshot.scrape !== this.#scrape || now - this.#cacheSnapshot.at > 100) {
      this.#cacheSnapshot = { scrape: this.#scrape, at: now, value: this.#sources.cache?.() };
    }
    return this.#cacheSnapshot.value;
  }

  // ---- the database count ----------------------------------------------------------------

  /** The last count, refreshing it first when stale (waiting a bounded time for the refresh). */
  async #databaseCounts(): Promise<Readonly<Record<string, number>> | undefined> {
    const count = this.#sources.countJobsInDatabase;
    if (count === undefined) return undefined;
    if (performance.now() - this.#dbCountsAt > DB_JOB_COUNT_MAX_AGE_MS && this.#dbCounting === undefined) {
      this.#dbCounting = count()
        .then((counts) => {
          this.#dbCounts = counts;
          this.#dbCountsAt = performance.now();
        })
        .catch(() => {
          // The database is unreachable: keep the last values; the next scrape tries again.
        })
        .finally(() => {
          this.#dbCounting = undefined;
        });
    }
    if (this.#dbCounting !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#dbCounting, new Promise((resolve) => (timer = setTimeout(resolve, DB_JOB_COUNT_SCRAPE_WAIT_MS)))]);
      clearTimeout(timer);
    }
    return this.#dbCounts;
  }
}
