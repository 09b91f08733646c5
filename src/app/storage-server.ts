/**
 * Composes the running service and owns its life cycle (DECISIONS D2):
 * bind the port (NOT_SERVING) → connect to the database, retrying → migrate →
 * allocate the session → SERVING. Shutdown reverses it: stop taking calls,
 * drain in-flight calls with a deadline, close the pool.
 */
import type { Db } from "../db/connection.ts";
import { createDb } from "../db/connection.ts";
import { assertSchemaCurrent, migrateToLatest } from "../db/migrate.ts";
import { allocateSession } from "../db/sessions.ts";
import { waitForDatabase } from "../db/wait-for-database.ts";
import { GrpcServer } from "../grpc/server.ts";
import { addSessionService } from "../grpc/session-service.ts";
import type { Logger } from "../observability/logger.ts";

export interface StorageServerOptions {
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  readonly maxConnections: number;
  readonly migrate: boolean;
  readonly maxRequestBytes: number;
  readonly shutdownDeadlineMs: number;
  readonly logger: Logger;
}

export type Phase = "starting" | "connecting" | "migrating" | "recovering" | "serving" | "stopping" | "stopped";

export class StorageServer {
  readonly #options: StorageServerOptions;
  readonly #logger: Logger;
  readonly #grpc: GrpcServer;
  readonly #abort = new AbortController();
  #phase: Phase = "starting";
  #db: Db | undefined;
  #session: bigint = 0n;
  #boundPort = 0;

  constructor(options: StorageServerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#grpc = new GrpcServer({
      maxRequestBytes: options.maxRequestBytes,
      logger: options.logger,
      readiness: { notServingReason: () => (this.#phase === "serving" ? undefined : this.#phase) },
    });
    addSessionService(this.#grpc, () => this.#session);
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

  async start(): Promise<void> {
    this.#boundPort = await this.#grpc.bind(`${formatHost(this.#options.host)}:${this.#options.port}`);
    this.#logger.info({ host: this.#options.host, port: this.#boundPort }, "listening (not serving yet)");

    this.#phase = "connecting";
    const db = createDb({ url: this.#options.databaseUrl, maxConnections: this.#options.maxConnections });
    this.#db = db;
    await waitForDatabase(db, { logger: this.#logger, signal: this.#abort.signal });

    this.#phase = "migrating";
    if (this.#options.migrate) {
      const results = await migrateToLatest(db);
      for (const r of results) this.#logger.info({ migration: r.migrationName, status: r.status }, "migration");
    } else {
      await assertSchemaCurrent(db);
    }

    this.#session = await allocateSession(db);
    this.#phase = "serving";
    this.#logger.info({ session: this.#session, port: this.#boundPort }, "serving");
  }

  async stop(): Promise<void> {
    if (this.#phase === "stopped" || this.#phase === "stopping") return;
    this.#phase = "stopping";
    this.#abort.abort(new Error("server is stopping"));
    await this.#grpc.shutdown(this.#options.shutdownDeadlineMs);
    await this.#db?.destroy();
    this.#phase = "stopped";
    this.#logger.info("stopped");
  }
}

function formatHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
