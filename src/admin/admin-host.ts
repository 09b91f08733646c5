/**
 * What the admin use cases see of a running server: its version, phase,
 * session and start time, its admin settings and log (where the audit trail
 * goes), the engine (once the session is allocated), the database pool (once
 * connected), the periodic GC and, when the server tracks it, recovery
 * progress. `AdminRuntime` (src/app) is one; tests can pass a plain object.
 */
import type { Db } from "../db/connection.ts";
import type { Logger } from "../observability/logger.ts";
import type { StorageService } from "../service/storage-service.ts";
import type { AdminSettings } from "./admin-settings.ts";
import type { GcScheduler } from "./gc-scheduler.ts";

/** Restart recovery as the server reports it (all counts so far). */
export interface RecoveryProgressView {
  readonly done: boolean;
  readonly jobsLoaded: number;
  readonly jobsTotal: number;
  readonly jobsQuarantined: number;
  readonly elapsedMs: number;
}

export interface AdminHost {
  /** The package version the server runs. */
  readonly version: string;
  readonly settings: AdminSettings;
  /** The server's log: repairs write their audit lines to it. */
  readonly logger: Logger;
  /** starting, connecting, standby, migrating, recovering, serving, stopping, stopped. */
  readonly phase: string;
  readonly session: bigint;
  /** Wall-clock ms when the process started serving this server object. */
  readonly startedAt: number;
  /** The engine, once the session is allocated. */
  readonly service: StorageService | undefined;
  /** The database pool, once connected. */
  readonly db: Db | undefined;
  readonly gcScheduler?: GcScheduler | undefined;
  readonly recoveryProgress?: RecoveryProgressView | undefined;
}
