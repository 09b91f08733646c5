/**
 * The admin side of a running server, in one object for storage-server.ts:
 * adds the admin API to the gRPC server (answering in every phase, reading
 * the server live through a {@link ServerView}), warns when it is more
 * exposed than its loopback rule assumes (src/admin/admin-exposure.ts), runs
 * the web console (src/console/, runtime.console; it answers in every phase,
 * so the overview shows recovery while it runs), and runs the periodic
 * terminal-job GC once the server serves (stopped before the pool closes).
 *
 * A console port that cannot be bound (another server on this host has it,
 * as a standby beside its leader would) is logged and the server runs
 * without a console: it is a window onto the service, not part of it.
 */
import { adminExposureWarning } from "../admin/admin-exposure.ts";
import type { AdminHost, RecoveryProgressView } from "../admin/admin-host.ts";
import { adminSettingsFrom, type AdminSettings } from "../admin/admin-settings.ts";
import { GcScheduler } from "../admin/gc-scheduler.ts";
import type { Config } from "../config/schema.ts";
import type { Db } from "../db/connection.ts";
import { addAdminServices } from "../grpc/admin-service.ts";
import type { GrpcServer } from "../grpc/server.ts";
import type { Logger } from "../observability/logger.ts";
import type { StorageService } from "../service/storage-service.ts";
import type { ConsoleServer } from "../console/console-server.ts";
import { VERSION } from "./version.ts";

/** What the admin side reads of the server, live. */
export interface ServerView {
  phase(): string;
  session(): bigint;
  service(): StorageService | undefined;
  db(): Db | undefined;
  recoveryProgress(): RecoveryProgressView | undefined;
}

export class AdminRuntime implements AdminHost {
  readonly #server: ServerView;
  readonly #settings: AdminSettings;
  readonly #logger: Logger;
  readonly startedAt = Date.now();
  #gc: GcScheduler | undefined;
  readonly #config: Config;
  /** The web console, once listening (undefined when off, not started yet, or its port could not be bound). */
  #console: Promise<ConsoleServer | undefined> | undefined;

  constructor(grpc: GrpcServer, options: { config: Config; logger: Logger; server: ServerView }) {
    this.#server = options.server;
    this.#settings = adminSettingsFrom(options.config);
    this.#logger = options.logger;
    addAdminServices(grpc, this);
    const exposure = adminExposureWarning(options.config, process.env);
    if (exposure !== undefined) this.#logger.warn(exposure);
    this.#config = options.config;
  }

  /**
   * Starts the web console (runtime.console). Called once the gRPC port is
   * bound: the console's modules load after it, not on the way to it.
   */
  startConsole(): Promise<ConsoleServer | undefined> {
    this.#console ??= this.#startConsole(this.#config);
    return this.#console;
  }

  async #startConsole(config: Config): Promise<ConsoleServer | undefined> {
    const { enabled, host, port } = config.runtime.console;
    if (!enabled) return undefined;
    try {
      const { startConsoleServer } = await import("../console/console-server.ts");
      const server = await startConsoleServer({ host, port, tls: config.runtime.tls, admin: this, logger: this.#logger });
      this.#logger.info(
        { url: server.url, port: server.port, access: this.#settings.token === undefined ? "loopback callers" : "admin token" },
        "web console listening",
      );
      return server;
    } catch (error) {
      this.#logger.warn(
        { err: error, host, port },
        "web console not started (set runtime.console.port to a free port, or runtime.console.enabled to false); the server runs without it",
      );
      return undefined;
    }
  }

  get version(): string {
    return VERSION;
  }
  get settings(): AdminSettings {
    return this.#settings;
  }
  get logger(): Logger {
    return this.#logger;
  }
  get phase(): string {
    return this.#server.phase();
  }
  get session(): bigint {
    return this.#server.session();
  }
  get service(): StorageService | undefined {
    return this.#server.service();
  }
  get db(): Db | undefined {
    return this.#server.db();
  }
  get gcScheduler(): GcScheduler | undefined {
    return this.#gc;
  }
  get recoveryProgress(): RecoveryProgressView | undefined {
    return this.#server.recoveryProgress();
  }

  /** Starts the periodic GC (runtime.gc), once the server serves. */
  startGc(db: Db): void {
    if (this.#gc !== undefined) return;
    this.#gc = new GcScheduler({ db, settings: this.#settings.gc, logger: this.#logger });
    this.#gc.start();
  }

  /** Stops the console and the GC, waiting for a run in progress (call before closing the pool). */
  async stop(): Promise<void> {
    await (await this.#console)?.close();
    await this.#gc?.stop();
  }
}
