/** Maps the YAML/env configuration (src/config) onto the engine's tunables (src/service). */
import type { Config } from "../config/schema.ts";
import type { StorageServiceConfig } from "../service/service-config.ts";

export function serviceConfigFrom(config: Config): StorageServiceConfig {
  const { limits, task_instance_pool: pool, job_cache_gc: gc } = config.runtime;
  return {
    limits: {
      maxDecompressedBytes: limits.max_decompressed_bytes,
      maxTasks: limits.max_tasks_per_job,
      maxDependencies: limits.max_dependencies_per_job,
      maxTaskGraphValues: limits.max_task_graph_values,
      maxTaskGraphBytes: limits.max_task_graph_bytes,
      maxZstdFrames: limits.max_zstd_frames,
      maxPayloadBytesPerJob: limits.max_payload_bytes_per_job,
      maxResponseBytes: limits.max_response_bytes,
      maxKeptResultBytes: limits.max_kept_result_bytes,
      maxCachedPayloadBytes: limits.max_cached_payload_bytes,
    },
    queue: {
      lingerMs: config.runtime.queue.linger_ms,
      maxItemsCap: limits.max_poll_items,
      waitMsCap: limits.max_poll_wait_ms,
      maxWaitingPolls: limits.max_waiting_polls,
      reofferUnclaimedAfterMs: config.runtime.queue.reoffer_unclaimed_after_ms,
    },
    instances: {
      deadExecutionManagerCutoffMs: pool.execution_manager_stale_cutoff_sec * 1000,
      reapIntervalMs: pool.gc_interval_ms,
    },
    jobCache: {
      retentionMs: gc.terminated_job_retention_sec * 1000,
      gcIntervalMs: gc.gc_interval_sec * 1000,
    },
  };
}
