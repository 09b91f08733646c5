/**
 * The recovery dry run predicts the restart: on one database, what the dry run
 * says it would cache, restore, discard and quarantine is what restart
 * recovery then does, and its task counts and memory estimate are those of the
 * blocks the restart builds — without the dry run building any.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ESTIMATE_BYTES_PER_GRAPH_WEIGHT,
  ESTIMATE_BYTES_PER_JOB,
  ESTIMATE_BYTES_PER_TASK,
  recoveryDryRun,
  type RecoveryDryRunReport,
} from "../../src/admin/recovery-dry-run.ts";
import { DEFAULT_SUBMISSION_LIMITS } from "../../src/core/job-submission.ts";
import { taskGraphWeight } from "../../src/core/task-graph-cache.ts";
import { encodeWireFrame } from "../../src/core/wire-frame.ts";
import { decompressZstd } from "../../src/core/zstd.ts";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { recoverJobs } from "../../src/recovery/recover-jobs.ts";
import { diamond, singleTask } from "../../testkit/sim/job-shapes.ts";
import { Harness } from "../engine/helpers/harness.ts";
import {
  checkpointIndices,
  insertJobs,
  migratedDatabase,
  oracleTaskOutputsFrame,
  seedResourceGroup,
  writeCheckpointRow,
  type MigratedDatabase,
} from "./helpers/recovery-fixture.ts";

describe("recovery dry run against the restart", () => {
  let database: MigratedDatabase;
  beforeAll(async () => {
    database = await migratedDatabase("dry_run_restart");
  });
  afterAll(async () => {
    await database?.db.destroy();
  });

  it("predicts what the restart caches, restores, discards and quarantines", async () => {
    const { db } = database;
    const rg = await seedResourceGroup(db);
    const shape = diamond({ seed: 7 }); // tasks 0 → 1, 2 → 3
    const committing = singleTask({ seed: 8, commit: true });
    const cleaning = singleTask({ seed: 9, cleanup: true });
    const plain = singleTask({ seed: 10 });
    const [allCheckpointed, orphanCheckpoint, corruptCheckpoint, unknownTask, noCheckpoints, commitReady, noOutputs, cleanupReady, ready, badInputs] =
      await insertJobs(db, rg, [
        { state: "Running", spec: shape },
        { state: "Running", spec: shape },
        { state: "Running", spec: shape },
        { state: "Running", spec: shape },
        { state: "Running", spec: plain },
        { state: "CommitReady", spec: committing },
        { state: "CommitReady", spec: committing, outputs: null },
        { state: "CleanupReady", spec: cleaning },
        { state: "Ready", spec: shape },
        { state: "Ready", spec: plain },
      ]);
    const frame = (index: number) => oracleTaskOutputsFrame(shape, index);
    // Every task checkpointed: the last one still runs again (its checkpoint is discarded).
    for (const index of [0, 1, 2, 3]) await writeCheckpointRow(db, allCheckpointed!, index, frame(index));
    // A child whose parent has none: discarded.
    await writeCheckpointRow(db, orphanCheckpoint!, 1, frame(1));
    // Undecodable, and a frame of the wrong output count: corrupt; the child of the first discarded too.
    await writeCheckpointRow(db, corruptCheckpoint!, 0, Uint8Array.from([9, 9]));
    await writeCheckpointRow(db, corruptCheckpoint!, 1, frame(1));
    await writeCheckpointRow(db, corruptCheckpoint!, 2, encodeWireFrame([]));
    // A task the graph does not have: corrupt; the root's is used.
    await writeCheckpointRow(db, unknownTask!, 0, frame(0));
    await writeCheckpointRow(db, unknownTask!, 99, frame(0));
    await db.updateTable("jobs").set({ compressed_serialized_job_inputs: Buffer.from([1, 2, 3]) }).where("id", "=", badInputs!).execute();

    const options = { pageSize: 3, pageBytes: 1 << 30, limits: DEFAULT_SUBMISSION_LIMITS, cacheReadyJobs: true };
    const progress: [number, number][] = [];
    const dry = await recoveryDryRun(db, { ...options, onProgress: (done, total) => progress.push([done, total]) });
    // Nothing written: a second dry run says the same.
    expect(withoutTimes(await recoveryDryRun(db, options))).toEqual(withoutTimes(dry));
    expect(await checkpointIndices(db, allCheckpointed!)).toEqual([0, 1, 2, 3]);
    expect(progress).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1, 10]));
    // As the server runs it, the valid Ready job stays in the database.
    const deferring = await recoveryDryRun(db, { ...options, cacheReadyJobs: false });
    expect(deferring).toMatchObject({ deferredReady: 1, wouldCache: { ...dry.wouldCache, Ready: 0 }, quarantined: 2 });
    expect(deferring.tasks.total).toBe(dry.tasks.total - 4);

    const h = new Harness(new MariaDbJobStore(db), { ready: false });
    const report = await recoverJobs({
      db,
      sink: { fill: h.service.engine },
      pageSize: options.pageSize,
      cacheReadyJobs: true,
      logger: silentLogger(),
    });

    expect(dry.total).toBe(10);
    expect(dry.byState).toEqual({ Running: 5, CommitReady: 2, CleanupReady: 1, Ready: 2 });
    expect(dry.wouldCache).toEqual(report.cached);
    expect(dry.wouldCache).toEqual({ Running: 5, CommitReady: 1, CleanupReady: 1, Ready: 1 });
    expect(dry.deferredReady).toBe(report.deferredReady);
    expect(dry.quarantined).toBe(report.quarantined);
    expect(dry.quarantinedJobs).toEqual(report.quarantinedJobs);
    expect(dry.quarantinedJobs.map((q) => q.jobId)).toEqual([noOutputs, badInputs]);
    expect(dry.tasks.restoredFromCheckpoints).toBe(report.restoredTasks);
    expect(dry.tasks.restoredFromCheckpoints).toBe(3 + 0 + 0 + 1);
    expect(dry.checkpoints).toEqual({ read: 10, used: report.restoredTasks, discarded: report.discardedCheckpoints, corrupt: report.corruptCheckpoints });
    expect(dry.checkpoints).toMatchObject({ discarded: 1 + 1 + 3 + 1, corrupt: 3 });
    expect(dry.pages).toBe(report.pages);

    const blocks = [...h.service.cache.values()];
    expect(blocks.map((jcb) => jcb.jobId).sort()).toEqual(
      [allCheckpointed, orphanCheckpoint, corruptCheckpoint, unknownTask, noCheckpoints, commitReady, cleanupReady, ready].sort(),
    );
    let tasks = 0;
    let toRun = 0;
    let readyAtStart = 0;
    let blockBytes = 0;
    const graphs = new Map<string, number>();
    for (const jcb of blocks) {
      tasks += jcb.taskCount;
      if (jcb.state === "Running") toRun += jcb.taskCount - jcb.taskStateCounts().Succeeded;
      readyAtStart += jcb.refill();
      const row = await db.selectFrom("jobs").selectAll().where("id", "=", jcb.jobId).executeTakeFirstOrThrow();
      const inputs = decompressZstd(new Uint8Array(row.compressed_serialized_job_inputs), { maxOutputBytes: 1 << 30, maxFrames: 16 });
      blockBytes += jcb.heldPayloadBytes + inputs.buffer.byteLength - inputs.byteLength + 4;
      blockBytes += ESTIMATE_BYTES_PER_TASK * jcb.taskCount + ESTIMATE_BYTES_PER_JOB;
      graphs.set(createHash("sha256").update(row.compressed_serialized_task_graph).digest("base64"), taskGraphWeight(jcb.graph));
    }
    expect(dry.tasks).toMatchObject({ total: tasks, toRun, readyAtStart });
    expect(dry.distinctGraphs).toBe(graphs.size);
    let graphBytes = 0;
    for (const weight of graphs.values()) graphBytes += weight * ESTIMATE_BYTES_PER_GRAPH_WEIGHT;
    expect(dry.estimatedMemoryBytes).toBe(Math.round(blockBytes + graphBytes));
    await h.close();
  });
});

function withoutTimes(report: RecoveryDryRunReport): Omit<RecoveryDryRunReport, "durationMs" | "rowsPerSecond"> {
  const { durationMs: _d, rowsPerSecond: _r, ...rest } = report;
  return rest;
}
