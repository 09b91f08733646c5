/**
 * Everything an operator looks at, wired in one place for the composition
 * root (storage-server.ts): the server's health (gRPC health service, phase
 * metric, HTTP /healthz), reflection, TLS credentials, Prometheus metrics and
 * their HTTP endpoint, request logging at debug, and the engine's notable
 * events as log lines and counters.
 *
 * storage-server.ts calls: the constructor; `observeCall` (given to GrpcServer);
 * `addGrpcServices`; `serverCredentials`; `start` (metrics endpoint);
 * `setPhase` on every phase change; `dbLog` (given to createDb);
 * `serviceHooks` and `attach` once the engine exists; `stop` last.
 * Restart recovery reports its progress with `metrics.recoveryProgress(done, total)`.
 */
import * as grpc from "@grpc/grpc-js";
import { taskIdOfKey } from "../core/task-key.ts";
import type { RequeueCause } from "../core/requeue-cause.ts";
import type { Config } from "../config/schema.ts";
import { formatTaskId } from "../core/ids.ts";
import { countJobsByState } from "../db/jobs/countJobsByState.ts";
import type { BatchedJobWrites } from "../db/batched-job-writes.ts";
import type { Db } from "../db/connection.ts";
import type { CallObserver, CallOutcome } from "../grpc/adapter.ts";
import { GrpcHealth } from "../grpc/health.ts";
import { addReflection } from "../grpc/reflection.ts";
import { serverCredentials, tlsMode, type TlsMode } from "../grpc/tls.ts";
import { dbQueryLogger } from "./db-query-log.ts";
import { HealthState } from "../observability/health.ts";
import type { Logger } from "../observability/logger.ts";
import { startMetricsServer, type MetricsServer } from "../observability/metrics-server.ts";
import { Metrics, type CacheSnapshot } from "../observability/metrics.ts";
import type { StorageService, StorageServiceHooks } from "../service/storage-service.ts";
import { queueStats } from "../service/inspect-engine.ts";

/** The largest message Spider's Rust (tonic) clients decode by default (DECISIONS D15). */
export const SPIDER_CLIENT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * A limit refusal names its key last, in parentheses: "… (runtime.limits.max_tasks_per_job)".
 * Only the end of the message is read, and only keys of the configuration count,
 * so text a caller sent (quoted earlier in a message) can never become a label.
 */
const TRAILING_LIMIT_KEY = /\((runtime\.limits\.[a-z_]+)\)$/;

/** The longest error message a request log line carries. */
const MAX_LOGGED_ERROR_CHARS = 1024;

export interface OperabilityOptions {
  readonly config: Config;
  readonly logger: Logger;
}

export class Operability {
  readonly metrics: Metrics;
  readonly health = new HealthState();
  readonly #config: Config;
  readonly #baseLogger: Logger;
  #logger: Logger;
  readonly #grpcHealth: GrpcHealth;
  #metricsServer: MetricsServer | undefined;

  constructor(options: OperabilityOptions) {
    this.#config = options.config;
    this.#baseLogger = options.logger;
    this.#logger = options.logger;
    this.metrics = new Metrics();
    this.dbLog = dbQueryLogger(this.metrics);
    this.health.subscribe((_status, phase) => this.metrics.setPhase(phase));
    this.#grpcHealth = new GrpcHealth(this.health);
    this.#limitKeys = new Set(Object.keys(options.config.runtime.limits).map((key) => `runtime.limits.${key}`));
  }

  /** Every runtime.limits.* key: the only values the limit-refusal metric's label takes. */
  readonly #limitKeys: ReadonlySet<string>;

  /** The server's phase changed (storage-server.ts). */
  setPhase(phase: string): void {
    this.health.setPhase(phase);
  }

  get tlsMode(): TlsMode {
    return tlsMode(this.#config.runtime.tls);
  }

  /** Plaintext, TLS or mutual TLS, from runtime.tls.* (files read and checked now). */
  serverCredentials(): grpc.ServerCredentials {
    return serverCredentials(this.#config.runtime.tls);
  }

  /**
   * Health and reflection: answered in every phase, outside the readiness gate (added before
   * the port's connections are served). Reflection's library loads on its first call.
   */
  addGrpcServices(server: grpc.Server): void {
    this.#grpcHealth.addToServer(server);
    addReflection(server, (error) => {
      this.#logger.error({ err: error }, "gRPC reflection not available; the server runs without it");
    });
  }

  /** Every finished gRPC call: metrics, the 4 MiB warning, limit refusals, the debug request line. */
  readonly observeCall: CallObserver = (outcome) => {
    const slash = outcome.method.indexOf("/");
    const service = outcome.method.slice(0, slash);
    const method = outcome.method.slice(slash + 1);
    const code = grpc.status[outcome.code] ?? String(outcome.code);
    this.metrics.observeRpc(service, method, code, outcome.durationMs / 1000);
    if (outcome.responseBytes > SPIDER_CLIENT_MAX_RESPONSE_BYTES) {
      this.metrics.largeResponse(service, method);
      this.#logger.warn(
        { method: outcome.method, bytes: outcome.responseBytes, limit: SPIDER_CLIENT_MAX_RESPONSE_BYTES, ...requestFields(outcome.request) },
        "response above the 4 MiB Spider's clients accept: they will fail to decode it",
      );
    }
    if (outcome.code === grpc.status.INVALID_ARGUMENT) {
      const message = errorMessage(outcome);
      const named = message === undefined ? undefined : TRAILING_LIMIT_KEY.exec(message)?.[1];
      const limit = named !== undefined && this.#limitKeys.has(named) ? named : undefined;
      if (limit !== undefined) {
        this.metrics.limitRejected(limit);
        this.#logger.info({ method: outcome.method, limit, error: message, ...requestFields(outcome.request) }, "request refused: limit exceeded");
      }
    }
    if (this.#logger.isLevelEnabled("debug")) {
      const error = outcome.code === grpc.status.OK ? undefined : errorMessage(outcome);
      this.#logger.debug(
        {
          method: outcome.method,
          code,
          durationMs: Math.round(outcome.durationMs * 1000) / 1000,
          responseBytes: outcome.responseBytes,
          ...requestFields(outcome.request),
          ...(error === undefined ? {} : { error }),
        },
        "request",
      );
    }
  };

  /** The session is allocated: every later line (requests, engine events) carries it. Returns that logger. */
  bindSession(session: bigint): Logger {
    // A string, as every id in the logs (D14): pino writes bindings without the log formatter.
    this.#logger = this.#baseLogger.child({ session: String(session) });
    return this.#logger;
  }

  /** The kysely `log` hook: database statement latency and errors. */
  readonly dbLog: ReturnType<typeof dbQueryLogger>;

  /** Engine hooks: metrics and one log line per notable event (the logger carries the session). */
  serviceHooks(logger: Logger): StorageServiceHooks {
    const metrics = this.metrics;
    return {
      onPollClamped: (lane, field) => metrics.pollClamped(lane, field),
      onJobTerminal: (jobId, state) => {
        metrics.jobTerminated(state);
        logger.info({ jobId, state }, "job terminal");
      },
      onTaskRequeued: (jobId: bigint, taskKey: number, cause: RequeueCause) => {
        metrics.taskRequeued(cause);
        logger.info({ jobId, task: formatTaskId(taskIdOfKey(taskKey)), cause }, "task re-enqueued");
      },
      // The pool logs the deaths itself ("execution managers dead; instances evicted").
      onExecutionManagersDead: (ids) => metrics.executionManagersDead(ids.length),
    };
  }

  /** The engine exists: scrape-time sources for the cache, queue and database gauges. */
  attach(service: StorageService, db: Db, writes?: BatchedJobWrites): void {
    this.metrics.setSources({
      cache: () => cacheSnapshot(service),
      queue: () => queueStats(service.engine),
      countJobsInDatabase: () => countJobsByState(db),
      unsettled: () => ({ jobs: service.reconciler.size, keptResultBytes: service.reconciler.keptBytes }),
      ...(writes ? { groupCommit: () => writes.stats() } : {}),
    });
  }

  /** Starts the metrics endpoint when runtime.metrics.enabled. */
  async start(): Promise<void> {
    const settings = this.#config.runtime.metrics;
    if (!settings.enabled || this.#metricsServer) return;
    await this.metrics.collectProcessMetrics();
    this.#metricsServer = await startMetricsServer({
      host: settings.host,
      port: settings.port,
      metrics: this.metrics,
      health: this.health,
      logger: this.#logger,
    });
    this.#logger.info({ host: settings.host, port: this.#metricsServer.port }, "metrics endpoint listening (/metrics, /healthz)");
  }

  /** The metrics endpoint's port, when it runs. */
  get metricsPort(): number | undefined {
    return this.#metricsServer?.port;
  }

  async stop(): Promise<void> {
    this.#grpcHealth.endWatches();
    await this.#metricsServer?.close();
    this.#metricsServer = undefined;
  }
}

function cacheSnapshot(service: StorageService): CacheSnapshot {
  const jobsByState: Record<string, number> = {};
  let tasks = 0;
  let payloadBytes = 0;
  for (const jcb of service.cache.values()) {
    jobsByState[jcb.state] = (jobsByState[jcb.state] ?? 0) + 1;
    tasks += jcb.taskCount;
    payloadBytes += jcb.heldPayloadBytes;
  }
  return { jobsByState, tasks, payloadBytes, liveTaskInstances: service.pool.size };
}

/** The call's error message for a log line, at most MAX_LOGGED_ERROR_CHARS long. */
function errorMessage(outcome: CallOutcome): string | undefined {
  const message = outcome.error instanceof Error ? outcome.error.message : outcome.error === undefined ? undefined : String(outcome.error);
  return message === undefined || message.length <= MAX_LOGGED_ERROR_CHARS
    ? message
    : `${message.slice(0, MAX_LOGGED_ERROR_CHARS)}… (${message.length} characters, cut)`;
}

/** Ids a request carries, for log lines: job, task, session, execution manager, instance, resource group. */
function requestFields(request: unknown): Record<string, unknown> {
  if (typeof request !== "object" || request === null) return {};
  const r = request as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (typeof r["jobId"] === "bigint") out["jobId"] = r["jobId"];
  const taskId = (r["taskId"] as { kind?: { case?: string; value?: unknown } } | undefined)?.kind;
  if (taskId?.case !== undefined) out["task"] = taskId.case === "index" ? String(taskId.value) : taskId.case;
  if (typeof r["sessionId"] === "bigint") out["requestSession"] = r["sessionId"];
  if (typeof r["executionManagerId"] === "bigint") out["executionManagerId"] = r["executionManagerId"];
  if (typeof r["taskInstanceId"] === "bigint") out["taskInstanceId"] = r["taskInstanceId"];
  if (typeof r["resourceGroupId"] === "bigint") out["resourceGroupId"] = r["resourceGroupId"];
  return out;
}
