/**
 * An operator's reload (`verify --repair`, `jobs retry`: src/service/reload-job.ts)
 * rebuilds a job from its row and checkpoints. Checkpoints the old control
 * block had queued but not yet written must not land afterwards: INSERT
 * IGNORE keeps the first write, so an old run's outputs would shadow the new
 * run's, and a restart would resume the job from two different runs.
 * On MariaDB (reloadJob reads the row and checkpoints there).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { withCheckpoints } from "../../src/app/checkpoint-hooks.ts";
import { CheckpointWriter } from "../../src/checkpoints/checkpoint-writer.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { decodeWireFrame } from "../../src/core/wire-frame.ts";
import { createDb, type Db } from "../../src/db/connection.ts";
import { writeCheckpoints } from "../../src/db/checkpoints/writeCheckpoints.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { reloadJob } from "../../src/service/reload-job.ts";
import { retryFailedJob } from "../../src/service/retry-failed-job.ts";
import { Harness } from "../engine/helpers/harness.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { readCheckpointsOfJobs } from "../../src/db/checkpoints/readCheckpointsOfJobs.ts";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const out = (value: string): Uint8Array => new TextEncoder().encode(value);

/** task 0 → task 1 → task 2: task 0 is never the job's last task. */
const chain = () =>
  new TaskGraphBuilder()
    .task({ inputs: [BYTES], outputs: [BYTES], policy: { maxNumRetry: 0 } })
    .task({ outputs: [BYTES], sources: [[0, 0]], policy: { maxNumRetry: 0 } })
    .task({ outputs: [BYTES], sources: [[1, 0]] });

describe("a reloaded job's checkpoints come from its new run only", () => {
  let db: Db;
  beforeAll(async () => {
    db = createDb({ url: await testDatabase("reload"), maxConnections: 8 });
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await db.destroy();
  });

  async function setUp(): Promise<{ h: Harness; writer: CheckpointWriter }> {
    // Flushes only when told to: the old run's checkpoint is still queued when the reload happens.
    const writer = new CheckpointWriter({ write: (entries) => writeCheckpoints(db, entries), flushIntervalMs: 3_600_000, maxBatch: 1000, logger: silentLogger() });
    const h = await Harness.create(new MariaDbJobStore(db), { hooks: withCheckpoints({}, writer) });
    return { h, writer };
  }

  async function storedOutputOfTask0(jobId: bigint): Promise<string | undefined> {
    const frame = (await readCheckpointsOfJobs(db, [jobId])).get(jobId)?.get(0);
    return frame === undefined ? undefined : text(decodeWireFrame(frame)[0]!);
  }

  it("verify --repair: the old block's queued checkpoint does not shadow the re-run task's", async () => {
    const { h, writer } = await setUp();
    const { jobId } = await h.submitAndStart(chain());
    const old = await h.register(jobId, 0);
    await h.succeed(jobId, 0, old.taskInstanceId, [out("old run")]);
    expect(writer.stats().pending).toBe(1);

    const reloaded = await reloadJob(h.service.engine, jobId);
    expect(reloaded.rerunTasks).toEqual([0, 1, 2]);
    await writer.flush();
    const again = await h.register(jobId, 0);
    await h.succeed(jobId, 0, again.taskInstanceId, [out("new run")]);
    await writer.flush();
    expect(await storedOutputOfTask0(jobId)).toBe("new run");
    await h.close();
  });

  it("jobs retry: the failed run's queued checkpoint does not shadow the retried run's", async () => {
    const { h, writer } = await setUp();
    const { jobId } = await h.submitAndStart(chain());
    const first = await h.register(jobId, 0);
    await h.succeed(jobId, 0, first.taskInstanceId, [out("failed run")]);
    const second = await h.register(jobId, 1);
    expect(await h.fail(jobId, 1, second.taskInstanceId, "boom")).toBe("Failed");

    const retried = await retryFailedJob(h.service.engine, jobId);
    expect(retried.rerunTasks).toEqual([0, 1, 2]);
    await writer.flush();
    const again = await h.register(jobId, 0);
    await h.succeed(jobId, 0, again.taskInstanceId, [out("retried run")]);
    await writer.flush();
    expect(await storedOutputOfTask0(jobId)).toBe("retried run");
    await h.close();
  });
});
