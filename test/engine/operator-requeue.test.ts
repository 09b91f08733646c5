/**
 * The operator's `jobs requeue --release-instances` on both stores: the
 * released instances' tasks are queued again without consuming a retry, and
 * the requeue is counted under its own cause ("operator"), not as a dead
 * execution manager an alert would page someone for.
 */
import { describe, expect, it } from "vitest";
import type { RequeueCause } from "../../src/core/requeue-cause.ts";
import { taskIndex } from "../../src/core/ids.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { requeueJob } from "../../src/service/requeue-job.ts";
import { Harness } from "./helpers/harness.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";
import { jobTasks } from "../../src/service/inspect-engine.ts";

for (const storeKind of STORE_KINDS) {
  describe(`operator requeue (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    it("releasing a hung instance queues its task again, no retry consumed, counted as operator", async () => {
      const requeues: string[] = [];
      const h = await Harness.create(fixture.store, {
        hooks: { onTaskRequeued: (jobId, key, cause: RequeueCause) => requeues.push(`${jobId}/${key}:${cause}`) },
      });
      const builder = new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy: { maxNumRetry: 0 } });
      const { jobId } = await h.submitAndStart(builder);
      expect(await h.drain()).toEqual([taskIndex(0)]);
      await h.register(jobId, 0); // the instance hangs while its execution manager heartbeats
      const result = await requeueJob(h.service.engine, jobId, { releaseInstances: true });
      expect(result).toMatchObject({ state: "Running", releasedInstances: 1, enqueued: 1 });
      expect(requeues).toEqual([`${jobId}/0:operator`]);
      expect(jobTasks(h.service.engine, jobId)[0]).toMatchObject({ state: "Ready", liveInstances: 0, retriesLeft: 0 });
      expect(await h.drain()).toEqual([taskIndex(0)]);
      await h.close();
    });
  });
}
