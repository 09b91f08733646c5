/**
 * Composes the running service and owns its life cycle (DECISIONS D2):
 * bind the port (NOT_SERVING) → connect to the database, retrying → take the
 * single-writer lease (phase "standby" while another server holds it) → migrate →
 * allocate the session → SERVING. Shutdown reverses it: stop taking calls,
 * drain in-flight calls with a deadline, close the pool.
 */
import type { Db } from "../db/connection.ts";
import { createDb } from "../db/connection.ts";
import { acquireLease, type Lease } from "../db/lease.ts";
import type { Config } from "../config/schema.ts";
import { assertSchemaCurrent, migrateToLatest } from "../db/migrate.ts";
import { allocateSession } from "../db/sessions.ts";
import { waitForDatabase } from "../db/wait-for-database.ts";
import { GrpcServer } from "../grpc/server.ts";
import { addStorageServices } from "../grpc/storage-services.ts";
import { MariaDbJobStore } from "../cache/mariadb-job-store.ts";
import { StorageService } from "../service/storage-service.ts";
import { serviceConfigFrom } from "./service-config-from.ts";
import type { Logger } from "../observability/logger.ts";

export interface StorageServerOptions {
  /** The validated configuration (src/config/schema.ts). */
  readonly config: Config;
  /** The database URL, or a function opening the database (the embedded MariaDB) once the port is bound. */
  readonly databaseUrl: string | (() => Promise<string>);
  readonly migrate: boolean;
  readonly logger: Logger;
  /** Called once if the single-writer lease is lost (D3); default: log fatal and stop. `serve` exits 1. */
  readonly onLeaseLost?: (error: Error) => void;
}

export type Phase = "starting" | "connecting" | "standby" | "migrating" | "recovering" | "serving" | "stopping" | "stopped";

export class StorageServer {
  readonly #options: StorageServerOptions;
  readonly #logger: Logger;
  readonly #grpc: GrpcServer;
  readonly #abort = new AbortController();
  #phase: Phase = "starting";
  #db: Db | undefined;
  #lease: Lease | undefined;
  #session: bigint = 0n;
  #boundPort = 0;
  #service: StorageService | undefined;

  constructor(options: StorageServerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#grpc = new GrpcServer({
      maxRequestBytes: options.config.runtime.limits.max_request_bytes,
      logger: options.logger,
      readiness: { notServingReason: () => (this.#phase === "serving" ? undefined : this.#phase) },
    });
    // Handlers run only while serving (the gate above), when the service exists.
    addStorageServices(this.#grpc, () => this.#service!);
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

  async start(): Promise<void> {
    const { config } = this.#options;
    this.#boundPort = await this.#grpc.bind(`${formatHost(config.host)}:${config.port}`);
    this.#logger.info({ host: config.host, port: this.#boundPort }, "listening (not serving yet)");

    this.#phase = "connecting";
    const url = typeof this.#options.databaseUrl === "string" ? this.#options.databaseUrl : await this.#options.databaseUrl();
    this.#abort.signal.throwIfAborted();
    const db = createDb({ url, maxConnections: config.runtime.db.max_connections });
    this.#db = db;
    await waitForDatabase(db, { logger: this.#logger, signal: this.#abort.signal });

    // One writer per database (D3): wait as a standby while another server holds the lease.
    this.#lease = await acquireLease(url, {
      logger: this.#logger,
      signal: this.#abort.signal,
      onWaiting: () => (this.#phase = "standby"),
    });
    this.#lease.onLost((error) => {
      if (this.#options.onLeaseLost) return this.#options.onLeaseLost(error);
      this.#logger.fatal({ err: error }, "database lease lost: another server may be writing; stopping");
      void this.stop();
    });

    this.#phase = "migrating";
    if (this.#options.migrate) {
      const results = await migrateToLatest(db);
      for (const r of results) this.#logger.info({ migration: r.migrationName, status: r.status }, "migration");
    } else {
      await assertSchemaCurrent(db);
    }

    this.#session = await allocateSession(db);
    const service = new StorageService({
      store: new MariaDbJobStore(db),
      db,
      sessionId: this.#session,
      config: serviceConfigFrom(config),
      logger: this.#logger,
    });
    this.#service = service;

    // D7: refill after the cache is whole and before any poll is answered.
    const refilled = service.refillQueue();
    service.start();
    this.#logger.info({ refilled }, "inbound queue refilled");
    this.#phase = "serving";
    this.#logger.info({ session: this.#session, port: this.#boundPort }, "serving");
  }

  async stop(): Promise<void> {
    if (this.#phase === "stopped" || this.#phase === "stopping") return;
    this.#phase = "stopping";
    this.#abort.abort(new Error("server is stopping"));
    await this.#grpc.shutdown(this.#options.config.runtime.shutdown.deadline_ms);
    await this.#service?.stop();
    await this.#db?.destroy();
    await this.#lease?.release();
    this.#phase = "stopped";
    this.#logger.info("stopped");
  }
}

function formatHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
