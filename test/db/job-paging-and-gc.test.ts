import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JOB_STATES, TERMINAL_STATES, type JobState } from "../../src/core/job-state.ts";
import type { Db } from "../../src/db/connection.ts";
import { countCheckpoints } from "./count-checkpoints.ts";
import { writeCheckpoints } from "../../src/db/checkpoints/writeCheckpoints.ts";
import { countJobsByState } from "../../src/db/jobs/countJobsByState.ts";
import { deleteExpiredTerminalJobs } from "../../src/db/jobs/deleteExpiredTerminalJobs.ts";
import { failJob } from "../../src/db/jobs/failJob.ts";
import { getJobState } from "../../src/db/jobs/getJobState.ts";
import { listJobsByState } from "../../src/db/jobs/listJobsByState.ts";
import { retryFailedJob } from "../../src/db/jobs/retryFailedJob.ts";
import { ageJob, GRAPH, migratedDb, OUTPUTS, seedJob, seedResourceGroup } from "./db-fixture.ts";
import { expectStorageError } from "./expect-storage-error.ts";

describe("listJobsByState and countJobsByState", () => {
  let db: Db;
  let rg: bigint;
  const expected = new Map<JobState, bigint[]>(JOB_STATES.map((s) => [s, []]));
  beforeAll(async () => {
    ({ db } = await migratedDb("paging"));
    rg = await seedResourceGroup(db);
    // Ids interleaved across states, in an order where string comparison of
    // the ENUM and id order disagree (the D8 trap).
    const pattern: JobState[] = ["Running", "Ready", "Failed", "Ready", "CommitReady", "Running", "Cancelled", "CleanupReady", "Ready", "Succeeded"];
    for (let i = 0; i < 47; i++) {
      const state = pattern[(i * 7) % pattern.length]!;
      expected.get(state)!.push(await seedJob(db, rg, state));
    }
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("pages through each state in id order, every job exactly once, whatever the page size", async () => {
    for (const limit of [1, 3, 4, 100]) {
      for (const state of JOB_STATES) {
        const seen: bigint[] = [];
        let afterId = 0n;
        let pages = 0;
        for (;;) {
          const page = await listJobsByState(db, { state, afterId, limit });
          pages++;
          for (const row of page) expect(row.state).toBe(state);
          seen.push(...page.map((row) => row.id));
          if (page.length < limit) break;
          afterId = page.at(-1)!.id;
        }
        expect(seen, `${state} by ${limit}`).toEqual(expected.get(state));
        expect(pages).toBe(Math.floor(expected.get(state)!.length / limit) + 1);
      }
    }
  });

  it("reads blobs only when asked", async () => {
    const [withBlobs] = await listJobsByState(db, { state: "Succeeded", limit: 1, withBlobs: true });
    expect(Buffer.from(withBlobs!.compressedTaskGraph)).toEqual(Buffer.from(GRAPH));
    expect(Buffer.from(withBlobs!.outputs!)).toEqual(Buffer.from(OUTPUTS));
    const [without] = await listJobsByState(db, { state: "Succeeded", limit: 1 });
    expect(without!.compressedTaskGraph).toBeUndefined();
    expect(without!.outputs).toBeUndefined();
  });

  it("refuses a page size that is not a positive integer", async () => {
    await expectStorageError(listJobsByState(db, { state: "Ready", limit: 0 }), "invalid_argument");
    await expectStorageError(listJobsByState(db, { state: "Ready", limit: 1.5 }), "invalid_argument");
  });

  it("counts every state, zeros included", async () => {
    const counts = await countJobsByState(db);
    expect(Object.keys(counts).sort()).toEqual([...JOB_STATES].sort());
    for (const state of JOB_STATES) expect(counts[state], state).toBe(expected.get(state)!.length);
  });
});

describe("deleteExpiredTerminalJobs", () => {
  let db: Db;
  let rg: bigint;
  beforeAll(async () => {
    ({ db } = await migratedDb("gc"));
    rg = await seedResourceGroup(db);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("test_delete_expired_terminated_jobs and _no_match: ended longer ago than the retention goes, the rest stays", async () => {
    const id = await seedJob(db, rg, "Running");
    await failJob(db, id, "boom");
    expect(await deleteExpiredTerminalJobs(db, { olderThanSeconds: 60 })).toBe(0);
    expect(await getJobState(db, id)).toBe("Failed");
    await sleep(300);
    expect(await deleteExpiredTerminalJobs(db, { olderThanSeconds: 0.2 })).toBe(1);
    await expectStorageError(getJobState(db, id), "not_found", "job not found");
  });

  it("deletes in batches, oldest first, with their checkpoints, and never a non-terminal or recent job", async () => {
    const expired: bigint[] = [];
    for (const state of TERMINAL_STATES) {
      for (let i = 0; i < 4; i++) {
        const id = await seedJob(db, rg, state);
        await ageJob(db, id, 3600 + i);
        expired.push(id);
      }
    }
    await writeCheckpoints(
      db,
      expired.map((jobId, taskIndex) => ({ jobId, taskIndex, outputs: OUTPUTS })),
    );
    const recent = await seedJob(db, rg, "Succeeded");
    const kept: bigint[] = [recent];
    for (const state of ["Ready", "Running", "CommitReady", "CleanupReady"] as const) kept.push(await seedJob(db, rg, state));
    // A Failed job retried by an operator has no end time any more.
    const retried = await seedJob(db, rg, "Failed");
    await ageJob(db, retried, 7200);
    await retryFailedJob(db, retried);
    kept.push(retried);

    const progress: { deletedInBatch: number; deletedSoFar: number }[] = [];
    const deleted = await deleteExpiredTerminalJobs(db, { olderThanSeconds: 60, batchSize: 5, onProgress: (p) => progress.push(p) });
    expect(deleted).toBe(12);
    expect(progress).toEqual([
      { deletedInBatch: 5, deletedSoFar: 5 },
      { deletedInBatch: 5, deletedSoFar: 10 },
      { deletedInBatch: 2, deletedSoFar: 12 },
    ]);
    for (const id of expired) await expectStorageError(getJobState(db, id), "not_found");
    for (const id of kept) expect(await getJobState(db, id)).toBeDefined();
    expect(await countCheckpoints(db)).toBe(0);
    expect(await deleteExpiredTerminalJobs(db, { olderThanSeconds: 60, batchSize: 5 })).toBe(0);
  });

  it("refuses nonsense options", async () => {
    await expectStorageError(deleteExpiredTerminalJobs(db, { olderThanSeconds: -1 }), "invalid_argument");
    await expectStorageError(deleteExpiredTerminalJobs(db, { olderThanSeconds: 1, batchSize: 0 }), "invalid_argument");
  });
});
