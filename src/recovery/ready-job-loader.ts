/**
 * Loads a Ready job that is not cached (restart recovery leaves never-started
 * jobs in the database) when StartJob or CancelJob needs it: from the
 * just-registered jobs kept in memory when it is there
 * (src/cache/registered-jobs.ts), else it reads its row, checks and rebuilds it as recovery does (check-job.ts, rebuild-job.ts)
 * and caches it.
 * Concurrent loads of one job share one read. A row that cannot be used is
 * quarantined (Failed, "quarantined: …") and nothing is returned, as is the
 * case for a job no longer Ready; "not_found" for an unknown job.
 */
import type { Engine } from "../cache/engine.ts";
import { JobControlBlock } from "../cache/job-control-block.ts";
import { QUARANTINE_PREFIX } from "../db/jobs/quarantineJob.ts";
import { checkJob, recoveryLimits, type RecoveryDecoding } from "./check-job.ts";
import { rebuildJob } from "./rebuild-job.ts";
import { readStoredJob } from "./stored-job.ts";
import { RenewingMap } from "../core/renewing-map.ts";

/** The job's cached control block if it is (now) Ready and cached, else undefined. */
export type ReadyJobLoader = (jobId: bigint) => Promise<JobControlBlock | undefined>;

/** For StorageServiceDeps.readyJobLoader: the loader of the engine's Ready jobs, reading through its store. */
export function readyJobLoader(engine: Engine): ReadyJobLoader {
  const { logger } = engine;
  const loading = new RenewingMap<bigint, Promise<JobControlBlock | undefined>>();
  const decoding: RecoveryDecoding = { limits: recoveryLimits(engine.limits), graphCache: engine.graphCache };

  const load = async (jobId: bigint): Promise<JobControlBlock | undefined> => {
    // Just registered: validated then, and Ready unless an operator's repair forgot it (StartJob's write checks).
    const registered = engine.registeredJobs?.take(jobId);
    if (registered !== undefined) {
      const jcb = new JobControlBlock({ jobId, resourceGroupId: registered.resourceGroupId, graph: registered.graph, inputs: registered.inputs, engine });
      engine.cache.insert(jcb);
      return jcb;
    }
    // A Ready job has no checkpoints, and a job in another state is not loaded here.
    const stored = await readStoredJob(engine.store, jobId, { checkpoints: false });
    if (stored.row.state !== "Ready") return undefined;
    const outcome = checkJob(stored, decoding, { cacheReady: true });
    if (outcome.kind === "quarantine") {
      await engine.store.failJobBy(jobId, QUARANTINE_PREFIX + outcome.reason, "quarantine");
      logger.warn({ jobId, reason: outcome.reason }, "quarantined a Ready job that cannot be loaded: the job is Failed");
      return undefined;
    }
    if (outcome.kind !== "usable") return undefined;
    const jcb = rebuildJob(outcome.job, engine);
    const cached = engine.cache.get(jobId);
    if (cached !== undefined) return cached;
    engine.cache.insert(jcb);
    logger.info({ jobId }, "Ready job loaded from the database");
    return jcb;
  };

  return (jobId) => {
    const cached = engine.cache.get(jobId);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = loading.get(jobId);
    if (pending === undefined) {
      pending = load(jobId).finally(() => loading.delete(jobId));
      loading.set(jobId, pending);
    }
    return pending;
  };
}
