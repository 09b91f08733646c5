/**
 * Composes the running service and owns its life cycle (DECISIONS D2):
 * bind the port (NOT_SERVING) → connect to the database, retrying → take the
 * leader lease (phase "standby" while another server holds it) → migrate →
 * allocate the session, the fence's epoch → recover the job cache (phase
 * "recovering", src/recovery) → refill the inbound queue → SERVING. Shutdown
 * reverses it: stop taking calls, drain in-flight calls with a deadline, flush
 * checkpoints, close the pool, release the lease (a standby takes over at once).
 *
 * A lease not renewed in time while serving (the database unreachable, this
 * process paused) is ridden through, not fatal: phase "reconnecting" (health
 * NOT_SERVING), the pool is fenced so nothing is written, and RPCs still reach
 * the engine, which answers from memory what it can and UNAVAILABLE for the
 * rest — reports in particular must be heard, so their instances are dropped
 * and their tasks re-enqueued (D6) rather than left Running. A renewal that
 * succeeds with our epoch means nobody else took over, so the cache is still
 * the truth and serving resumes with the same session.
 *
 * Deposed — a renewal finds another epoch, or the fence refuses a write — the
 * server drops its engine and goes back to standby for another term: the new
 * leader's writes made its cache stale.
 */
import { hostname } from "node:os";
import type { Db } from "../db/connection.ts";
import { createDb } from "../db/connection.ts";
import { DatabaseNodes } from "../db/database-nodes.ts";
import { acquireLease, type Lease } from "../db/lease.ts";
import { PoolFence } from "../db/pool-fence.ts";
import type { FaultInjector } from "../db/fault-injection/fault-injector.ts";
import { faultyPool } from "../db/fault-injection/faulty-pool.ts";
import type { Config } from "../config/schema.ts";
import { assertSchemaCurrent, migrateToLatest, schemaStatus, SchemaTooNewError } from "../db/migrate.ts";
import { allocateFencedSession } from "../db/sessions/allocateFencedSession.ts";
import { setWriteFence } from "../db/fence/write-fence.ts";
import type { FencedError } from "../db/fence/fenced-error.ts";
import { watchFence } from "./fence-watch.ts";
import { waitForDatabase } from "../db/wait-for-database.ts";
import { GrpcServer } from "../grpc/server.ts";
import { addStorageServices } from "../grpc/storage-services.ts";
import { MariaDbJobStore } from "../db/mariadb-job-store.ts";
import { StorageService } from "../service/storage-service.ts";
import { serviceConfigFrom } from "./service-config-from.ts";
import { Operability } from "./operability.ts";
import { withCheckpoints } from "./checkpoint-hooks.ts";
import type { CheckpointWriter } from "../checkpoints/checkpoint-writer.ts";
import { createCheckpointWriter } from "./create-checkpoint-writer.ts";
import { readyJobLoader } from "../recovery/ready-job-loader.ts";
import { recoverService } from "../recovery/recover-service.ts";
import type { RecoveryReport } from "../recovery/recovery-report.ts";
import type { RecoveryProgressView } from "../admin/admin-host.ts";
import { AdminRuntime } from "./admin-runtime.ts";
import type { EarlyListener } from "../grpc/early-listener.ts";
import type { Logger } from "../observability/logger.ts";
import { refillQueue } from "../service/refill-queue.ts";
import { smallFrameDecoderAvailable, smallFrameDecoderLoadError } from "../core/zstd-small-frames.ts";

export interface StorageServerOptions {
  /** The validated configuration (src/config/schema.ts). */
  readonly config: Config;
  /** The database URL, or a function opening the database (the embedded MariaDB) once the port is bound. */
  readonly databaseUrl: string | (() => Promise<string>);
  readonly migrate: boolean;
  readonly logger: Logger;
  /** Test-only database fault injection (SPIDER_STORAGE_FAULTS; src/db/fault-injection/). */
  readonly faults?: FaultInjector;
  /** The lease's monotonic clock (default performance.now); tests move it to stand for a pause. */
  readonly leaseClock?: () => number;
  /** The gRPC port, bound already (the serve command binds it first); otherwise start() binds host:port. */
  readonly listener?: EarlyListener;
}

/**
 * The web console, a tool beside the storage services, starts once the server
 * first serves, so loading it never delays SERVING (issue 20.5); or this long
 * after the port is bound, whichever comes first, so that a standby, a
 * database outage or a long recovery has it too.
 */
export const CONSOLE_DELAY_MS = 500;

export type Phase =
  | "starting"
  | "connecting"
  | "standby"
  | "migrating"
  | "recovering"
  | "serving"
  /** The lease was not renewed in time while serving: writes fenced off until it is renewed. */
  | "reconnecting"
  | "stopping"
  | "stopped";

export class StorageServer {
  readonly #options: StorageServerOptions;
  readonly #logger: Logger;
  readonly #grpc: GrpcServer;
  readonly #abort = new AbortController();
  readonly #ops: Operability;
  #phaseValue: Phase = "starting";
  /** Every phase change also moves health (gRPC health service, /healthz) and the phase metric. */
  get #phase(): Phase {
    return this.#phaseValue;
  }
  set #phase(phase: Phase) {
    this.#phaseValue = phase;
    this.#ops.setPhase(phase);
  }
  #db: Db | undefined;
  /** Closed while the lease is lost: the pool then hands out no connection. */
  readonly #fence = new PoolFence({ beforeUse: () => this.#lease?.checkNow() });
  #lease: Lease | undefined;
  /** The database, once connected: each term of leadership runs on it. */
  #database: { url: string; db: Db; nodes: DatabaseNodes } | undefined;
  /** A step-down is tearing the term down. */
  #stepping = false;
  #session: bigint = 0n;
  /** Set once the leader fence refused a write (see #fenced). */
  #wasFenced = false;
  #boundPort = 0;
  #service: StorageService | undefined;
  #checkpoints: CheckpointWriter | undefined;
  #recovery: RecoveryReport | undefined;
  #recoveryProgress: RecoveryProgressView | undefined;
  /** The admin API, and the periodic terminal-job GC once serving. */
  readonly #admin: AdminRuntime;
  /** Starts the console (#startConsole) if the server has not served by then. */
  #consoleTimer: NodeJS.Timeout | undefined;

  constructor(options: StorageServerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#ops = new Operability({ config: options.config, logger: options.logger });
    this.#grpc = new GrpcServer({
      maxRequestBytes: options.config.runtime.limits.max_request_bytes,
      maxControlRequestBytes: options.config.runtime.limits.max_control_request_bytes,
      maxConcurrentStreams: options.config.runtime.limits.max_concurrent_streams,
      unaryFastPath: options.config.runtime.grpc.unary_fast_path,
      logger: options.logger,
      observer: this.#ops.observeCall,
      // "reconnecting" passes: the engine must hear reports during an outage (D6).
      readiness: {
        notServingReason: () => {
          // The lease's deadline first: a server resumed after a pause must not answer as the leader it was.
          this.#lease?.checkNow();
          return this.#phase === "serving" || this.#phase === "reconnecting" ? undefined : this.#phase;
        },
      },
    });
    // Handlers run only while serving or reconnecting (the gate above), when the service exists.
    addStorageServices(this.#grpc, () => this.#service!);
    // The admin API answers in every phase (status during recovery); each call checks what it needs.
    this.#admin = new AdminRuntime(this.#grpc, {
      config: options.config,
      logger: options.logger,
      server: { phase: () => this.#phase, session: () => this.#session, service: () => this.#service, db: () => this.#db, recoveryProgress: () => this.#recoveryProgress },
    });
    // Health and reflection answer in every phase (not behind the gate), health after the lease's deadline check.
    this.#ops.health.setRefresh(() => this.#lease?.checkNow());
    this.#ops.addGrpcServices(this.#grpc.server);
  }

  get phase(): Phase {
    return this.#phase;
  }
  get port(): number {
    return this.#boundPort;
  }
  get session(): bigint {
    return this.#session;
  }
  /** The engine, once the session is allocated (for the admin API and tests). */
  get service(): StorageService | undefined {
    return this.#service;
  }
  /** What restart recovery did (totals, quarantined jobs), once it is done. */
  get recovery(): RecoveryReport | undefined {
    return this.#recovery;
  }
  /** Restart recovery's progress so far (the admin API's status), once it has begun. */
  get recoveryProgress(): RecoveryProgressView | undefined {
    return this.#recoveryProgress;
  }
  /** The task checkpoint writer (undefined when runtime.checkpoints.enabled is false). */
  get checkpoints(): CheckpointWriter | undefined {
    return this.#checkpoints;
  }
  /** Metrics (e.g. `operability.metrics.recoveryProgress(done, total)`), health, the metrics port. */
  get operability(): Operability {
    return this.#ops;
  }

  async start(): Promise<void> {
    const { config } = this.#options;
    await this.#ops.start();
    const listener = this.#options.listener;
    this.#boundPort = listener
      ? this.#grpc.adopt(listener, this.#ops.serverCredentials())
      : await this.#grpc.bind(`${formatHost(config.host)}:${config.port}`, this.#ops.serverCredentials());
    this.#logger.info({ host: config.host, port: this.#boundPort, tls: this.#ops.tlsMode }, "listening (not serving yet)");
    this.#consoleTimer = setTimeout(() => this.#startConsole(), CONSOLE_DELAY_MS).unref();

    this.#phase = "connecting";
    const url = typeof this.#options.databaseUrl === "string" ? this.#options.databaseUrl : await this.#options.databaseUrl();
    this.#abort.signal.throwIfAborted();
    const faults = this.#options.faults;
    if (faults) this.#logger.warn({ seed: faults.seed }, "database fault injection is ON (SPIDER_STORAGE_FAULTS): for tests only");
    const nodes = new DatabaseNodes(url, { logger: this.#logger, onMove: (move) => this.#ops.metrics.dbNodeMoved(move.reason) });
    const db = createDb({
      url,
      nodes,
      maxConnections: config.runtime.db.max_connections,
      statementTimeoutMs: config.runtime.db.statement_timeout_ms,
      log: this.#ops.dbLog,
      wrapPool: (pool) => this.#fence.wrap(faults ? faultyPool(pool, faults) : pool),
    });
    this.#db = db;
    this.#database = { url, db, nodes };
    await waitForDatabase(db, { logger: this.#logger, signal: this.#abort.signal });

    await this.#lead(url, db, nodes);
  }

  /**
   * One term of leadership: wait as a standby until the lease is ours →
   * migrate → a new session (the fence's epoch) → recover → serve. Runs again
   * after this server is deposed (#stepDown).
   */
  async #lead(url: string, db: Db, nodes: DatabaseNodes): Promise<void> {
    const { config } = this.#options;
    const faults = this.#options.faults;
    const lease = await acquireLease(url, {
      logger: this.#logger,
      signal: this.#abort.signal,
      holder: config.runtime.lease.holder_name ?? `${hostname()}:${this.#boundPort}`,
      ttlMs: config.runtime.lease.ttl_ms,
      renewIntervalMs: config.runtime.lease.renew_interval_ms,
      stepDownMarginMs: config.runtime.lease.step_down_margin_ms,
      onWaiting: () => (this.#phase = "standby"),
      ...(this.#options.leaseClock && { clock: this.#options.leaseClock }),
      // The embedded MariaDB: its data-directory lock already keeps every other server out.
      exclusive: typeof this.#options.databaseUrl !== "string",
      nodes,
    });
    this.#lease = lease;
    this.#watchLease(lease);

    this.#phase = "migrating";
    if (this.#options.migrate) {
      // Most starts find the schema current: one look through the pool, and a migration connection only when needed.
      const status = await schemaStatus(db);
      if (status.unknown.length > 0) throw new SchemaTooNewError(status.unknown);
      if (status.pending.length > 0) {
        // DDL may run for minutes: migrations get their own connection, without the statement timeout.
        const migrationDb = createDb({ url, nodes, maxConnections: 1, wrapPool: (pool) => this.#fence.wrap(pool) });
        try {
          const results = await migrateToLatest(migrationDb);
          for (const r of results) this.#logger.info({ migration: r.migrationName, status: r.status }, "migration");
        } finally {
          await migrationDb.destroy();
        }
      }
    } else {
      await assertSchemaCurrent(db);
    }

    // Deposed meanwhile (#stepDown has started the next term): this one ends here.
    if (this.#lease !== lease) return;
    // The session is the fence's epoch (D3): from here on no write of an earlier session commits, and ours carry it.
    this.#session = await allocateFencedSession(db);
    if (this.#lease !== lease) return;
    setWriteFence(db, this.#session);
    this.#wasFenced = false;
    const sessionLogger = this.#ops.bindSession(this.#session);
    const groupCommit = config.runtime.db.group_commit;
    const batching = {
      enabled: groupCommit.enabled,
      maxBatch: groupCommit.max_batch,
      maxInFlight: groupCommit.max_in_flight,
      ...(faults && { captureContext: faults.captureCall }),
    };
    const mariaDbStore = faults ? faults.scopeCalls(new MariaDbJobStore(db, batching)) : new MariaDbJobStore(db, batching);
    const store = watchFence(mariaDbStore, (error) => this.#fenced(error));
    const checkpoints = createCheckpointWriter(store, config, sessionLogger);
    this.#checkpoints = checkpoints;
    const service = new StorageService({
      store,
      sessionId: this.#session,
      config: serviceConfigFrom(config),
      logger: sessionLogger,
      hooks: withCheckpoints({ ...this.#ops.serviceHooks(sessionLogger) }, checkpoints),
      readyJobLoader,
    });
    this.#service = service;
    this.#ops.attach(service, db, mariaDbStore.writes);

    // D2: rebuild the cache from the database, paged; every RPC answers UNAVAILABLE meanwhile.
    this.#phase = "recovering";
    const recoveryStarted = performance.now();
    this.#recovery = await recoverService(service.engine, db, config.runtime.recovery, sessionLogger, {
      signal: this.#abort.signal,
      onProgress: (done, total, quarantined) => {
        this.#ops.metrics.recoveryProgress(done, total);
        const elapsedMs = performance.now() - recoveryStarted;
        this.#recoveryProgress = { done: false, jobsLoaded: done, jobsTotal: total, jobsQuarantined: quarantined, elapsedMs };
      },
      onPage: (_rows, bytes) => this.#ops.metrics.recoveryPage(bytes),
    });
    if (this.#lease !== lease) return;
    const report = this.#recovery;
    this.#recoveryProgress = { done: true, jobsLoaded: report.done, jobsTotal: report.total, jobsQuarantined: report.quarantined, elapsedMs: report.durationMs };

    // D7: refill after the cache is whole and before any poll is answered.
    const refilled = refillQueue(service.engine);
    service.start();
    this.#logger.info({ refilled }, "inbound queue refilled");
    if (lease.state === "suspended") {
      // Lost while recovering: serve once it is renewed (#watchLease).
      this.#phase = "reconnecting";
    } else {
      this.#phase = "serving";
      this.#logger.info({ session: this.#session, port: this.#boundPort, epoch: lease.epoch }, "serving");
    }
    if (!smallFrameDecoderAvailable()) {
      this.#logger.warn(
        { reason: smallFrameDecoderLoadError() },
        "zstd-napi could not be loaded (an optional dependency): small zstd frames are decoded by node:zlib, which costs several times the CPU",
      );
    }
    this.#admin.startGc(db);
    this.#startConsole();
  }

  /** The web console, once (CONSOLE_DELAY_MS; AdminRuntime starts it at most once); failing to start it never stops the server. */
  #startConsole(): void {
    clearTimeout(this.#consoleTimer);
    if (this.#phase === "stopping" || this.#phase === "stopped") return;
    void this.#admin.startConsole();
  }

  #watchLease(lease: Lease): void {
    lease.on("suspended", (reason) => {
      if (this.#lease !== lease || this.#stopping) return;
      // Stop writing at once: a standby may take over once the TTL has passed (D3).
      this.#fence.close(`the database lease was not renewed in time (${reason}); writes wait until it is`);
      if (this.#phase === "serving") this.#phase = "reconnecting";
      this.#logger.error(
        { session: this.#session, epoch: lease.epoch },
        "database lease suspended: writes are fenced off and RPCs that need the database answer UNAVAILABLE until it is renewed",
      );
    });
    lease.on("resumed", () => {
      if (this.#lease !== lease || this.#stopping) return;
      this.#fence.open();
      // D6: heartbeats refused meanwhile must not make anyone dead; and re-offer
      // ready work whose assignments may have been dropped (D7).
      this.#service?.pool.noteDbUnavailable();
      if (this.#phase === "reconnecting") {
        const refilled = this.#service ? refillQueue(this.#service.engine) : 0;
        this.#phase = "serving";
        this.#logger.info({ session: this.#session, refilled }, "database lease renewed: serving again with the same session");
      }
    });
    lease.on("deposed", (reason) => {
      if (this.#lease !== lease) return;
      void this.#stepDown(new Error(reason));
    });
  }

  /** The fence refused a write: another server took over after this session began. Stop writing now, and step down. */
  #fenced(error: FencedError): void {
    // A late refusal of an earlier term's write (after a step-down) says nothing about this term.
    if (this.#stopping || this.#wasFenced || error.epoch !== this.#session) return;
    this.#wasFenced = true;
    this.#fence.close("another spider-storage took over (the leader fence refused a write); stepping down");
    void this.#stepDown(error);
  }

  /**
   * Deposed: another server leads now. Drop this term's engine (its cache is
   * stale: the new leader writes), then wait as a standby for the next term.
   * The pool reopens for the standby's reads; its writes stay fenced with the
   * old epoch until a new session replaces it.
   */
  async #stepDown(error: Error): Promise<void> {
    if (this.#stepping || this.#stopping) return;
    this.#stepping = true;
    try {
      this.#fence.close("this server was deposed; stepping down");
      this.#phase = "standby";
      this.#logger.error({ err: error, session: this.#session }, "deposed: another spider-storage leads now; stepping down to standby");
      const lease = this.#lease;
      this.#lease = undefined;
      await lease?.release();
      const service = this.#service;
      const checkpoints = this.#checkpoints;
      this.#service = undefined;
      this.#checkpoints = undefined;
      this.#recovery = undefined;
      this.#recoveryProgress = undefined;
      await service?.stop();
      // Nothing of this term may still be written: what was not is re-run by the new leader.
      await checkpoints?.close(0);
      this.#fence.open();
      // Clients still connected here would retry UNAVAILABLE on this standby for ever: make them
      // reconnect, so that a health-checking load balancer (a Kubernetes Service) sends them to the leader.
      this.#grpc.drainConnections(1_000);
    } finally {
      this.#stepping = false;
    }
    if (this.#stopping) return;
    const { url, db, nodes } = this.#database!;
    await this.#lead(url, db, nodes).catch((leadError: unknown) => {
      if (this.#stopping) return;
      this.#logger.fatal({ err: leadError }, "could not start another term after stepping down; stopping");
      void this.stop();
    });
  }

  get #stopping(): boolean {
    return this.#phase === "stopping" || this.#phase === "stopped";
  }

  async stop(): Promise<void> {
    if (this.#phase === "stopped" || this.#phase === "stopping") return;
    this.#phase = "stopping";
    clearTimeout(this.#consoleTimer);
    this.#abort.abort(new Error("server is stopping"));
    await this.#grpc.shutdown(this.#options.config.runtime.shutdown.deadline_ms);
    await this.#service?.stop();
    await this.#admin.stop();
    await this.#checkpoints?.close(this.#options.config.runtime.shutdown.deadline_ms);
    await this.#db?.destroy();
    await this.#lease?.release();
    await this.#ops.stop();
    this.#phase = "stopped";
    this.#logger.info("stopped");
  }
}

function formatHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
