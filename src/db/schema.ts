/**
 * Kysely's view of the tables: one interface per table, in the order the
 * migrations create them. Keep in step with migrations/.
 *
 * Column types say what a SELECT returns (BIGINT → bigint through the pool's
 * typeCast, BLOB → Buffer, TIMESTAMP → Date), what an INSERT needs (columns
 * with a database default are optional) and what an UPDATE may set (`never`
 * marks columns no code may change: ids, creation times).
 */
import type { ColumnType, Generated } from "kysely";
import type { JobState } from "../core/job-state.ts";

/** Set by the database on insert and never changed by us. */
type CreatedAt = ColumnType<Date, never, never>;
/** An auto-increment primary key. */
type Id = ColumnType<bigint, never, never>;
/** Bytes: a Buffer when read; any Uint8Array when written. */
type Blob = ColumnType<Buffer, Uint8Array, Uint8Array>;
type NullableBlob = ColumnType<Buffer | null, Uint8Array | null | undefined, Uint8Array | null>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

export interface SessionsTable {
  session_id: Generated<bigint>;
  started_at: Generated<Date>;
}

export interface ResourceGroupsTable {
  id: Id;
  external_id: string;
  /** `scrypt-sha256$N$r$p$<salt base64>$<hash base64>` (older rows `scrypt$…`; src/db/resource-groups/password-hash.ts); never the password itself. */
  password_hash: Blob;
  created_at: CreatedAt;
}

export interface JobsTable {
  id: Id;
  resource_group_id: bigint;
  state: ColumnType<JobState, JobState | undefined, JobState>;
  compressed_serialized_task_graph: Blob;
  compressed_serialized_job_inputs: Blob;
  serialized_job_outputs: NullableBlob;
  error_message: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, never, Date>;
  ended_at: NullableTimestamp;
}

export type ExecutionManagerState = "Alive" | "Dead";

export interface ExecutionManagersTable {
  id: Id;
  ip_address: string;
  state: ColumnType<ExecutionManagerState, ExecutionManagerState | undefined, ExecutionManagerState>;
  last_heartbeat_at: ColumnType<Date, never, Date>;
  created_at: CreatedAt;
  death_confirmed_at: NullableTimestamp;
}

export interface SchedulersTable {
  id: Id;
  host: string;
  port: number;
  created_at: CreatedAt;
}

export interface TaskCheckpointsTable {
  job_id: ColumnType<bigint, bigint, never>;
  task_index: ColumnType<number, number, never>;
  /** The task's outputs as the execution manager reported them (the wire frame). */
  outputs: Blob;
  created_at: CreatedAt;
}

/** One stripe of the leader fence (src/db/fence/, DECISIONS D3). */
export interface LeaderFenceTable {
  stripe: ColumnType<number, number, never>;
  /** The epoch of the lease holder allowed to write; only a takeover changes it. */
  epoch: bigint;
  /** Bumped by every fenced write, so the stripe row is in that write's write set. */
  writes: ColumnType<bigint, bigint | undefined, bigint>;
}

/**
 * The leader lease (src/db/lease/, DECISIONS D3): one row, id 1. Created
 * outside the migrations (src/db/lease/ensureLeaseTable.ts), because the lease
 * is what lets one server at a time run them.
 */
export interface LeaderLeaseTable {
  id: ColumnType<number, number, never>;
  /** Grows by one with every takeover. */
  epoch: bigint;
  /** The holder's name (runtime.lease.holder_name), for `status`. */
  holder: string;
  /** By the database's clock: past it, a standby may take over. */
  expires_at: Date;
  renewed_at: Date;
}

export interface DatabaseSchema {
  sessions: SessionsTable;
  resource_groups: ResourceGroupsTable;
  jobs: JobsTable;
  execution_managers: ExecutionManagersTable;
  schedulers: SchedulersTable;
  task_checkpoints: TaskCheckpointsTable;
  leader_fence: LeaderFenceTable;
  leader_lease: LeaderLeaseTable;
}
