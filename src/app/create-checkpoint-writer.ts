/**
 * Builds the checkpoint writer the server runs from `runtime.checkpoints.*`
 * (undefined when checkpoints are disabled), writing through the job store
 * (so fault injection reaches checkpoint flushes too).
 */
import type { Config } from "../config/schema.ts";
import type { JobStore } from "../db/job-store.ts";
import type { Logger } from "../observability/logger.ts";
import { CHECKPOINT_FLUSH_DELAY_ENV, testDelayMs } from "../recovery/test-hooks.ts";
import { CheckpointWriter } from "../checkpoints/checkpoint-writer.ts";

export function createCheckpointWriter(store: JobStore, config: Config, logger: Logger): CheckpointWriter | undefined {
  const settings = config.runtime.checkpoints;
  if (!settings.enabled) return undefined;
  const testSplitDelayMs = testDelayMs(CHECKPOINT_FLUSH_DELAY_ENV);
  if (testSplitDelayMs > 0) logger.warn({ testSplitDelayMs }, `${CHECKPOINT_FLUSH_DELAY_ENV} is set: checkpoint flushes are slowed down (tests only)`);
  return new CheckpointWriter({
    write: (entries) => store.writeCheckpoints(entries),
    flushIntervalMs: settings.flush_interval_ms,
    maxBatch: settings.max_batch,
    logger,
    ...(testSplitDelayMs > 0 ? { testSplitDelayMs } : {}),
  });
}
