/** The configuration the admin use cases need, taken from the server's (or the CLI's) configuration. */
import type { Config } from "../config/schema.ts";
import type { SubmissionLimits } from "../core/job-submission.ts";

export interface GcSettings {
  readonly enabled: boolean;
  readonly retentionSec: number;
  readonly intervalSec: number;
  readonly batchSize: number;
}

export interface AdminSettings {
  /** runtime.admin.token; undefined: loopback callers only. */
  readonly token: string | undefined;
  /** Decoding budgets for stored graphs and inputs (the submission limits). */
  readonly limits: SubmissionLimits;
  readonly gc: GcSettings;
  /** Execution managers silent this long are dead (the doctor's stale-heartbeat check). */
  readonly deadExecutionManagerCutoffMs: number;
}

export function adminSettingsFrom(config: Config): AdminSettings {
  const { admin, gc, limits, task_instance_pool: pool } = config.runtime;
  return {
    token: admin.token,
    limits: {
      maxDecompressedBytes: limits.max_decompressed_bytes,
      maxTasks: limits.max_tasks_per_job,
      maxDependencies: limits.max_dependencies_per_job,
      maxZstdFrames: limits.max_zstd_frames,
      maxTaskGraphValues: limits.max_task_graph_values,
      maxTaskGraphBytes: limits.max_task_graph_bytes,
    },
    gc: { enabled: gc.enabled, retentionSec: gc.retention_sec, intervalSec: gc.interval_sec, batchSize: gc.batch_size },
    deadExecutionManagerCutoffMs: pool.execution_manager_stale_cutoff_sec * 1000,
  };
}
