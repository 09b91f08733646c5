/**
 * Rows recovery cannot use do not stop the server: each corrupt row (blobs
 * broken by direct SQL) is quarantined — Failed with "quarantined: <why>"
 * (DECISIONS D4) — logged and counted, while the healthy jobs of every state
 * recover and finish. A corrupt task checkpoint is not a corrupt job: it is
 * discarded and the task runs again.
 */
import * as grpc from "@grpc/grpc-js";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { encodeWireFrame } from "../../src/core/wire-frame.ts";
import { compressZstd } from "../../src/core/zstd.ts";
import { isQuarantineMessage, QUARANTINE_PREFIX } from "../../src/db/jobs/quarantineJob.ts";
import type { Db } from "../../src/db/connection.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { jobOutputs, oracleOutputs, SimulatedCluster, waitForJobs } from "../../testkit/sim/cluster.ts";
import { diamond, singleTask } from "../../testkit/sim/job-shapes.ts";
import { insertJobs, jobRowState, LogCollector, migratedDatabase, seedResourceGroup, writeCheckpointRow } from "./helpers/recovery-fixture.ts";

describe("recovery quarantines rows it cannot use and recovers the rest", () => {
  let server: ServerProcess | undefined;
  let cluster: SimulatedCluster | undefined;
  let db: Db | undefined;
  afterAll(async () => {
    await cluster?.stop();
    await server?.kill();
    await db?.destroy();
  });

  it("quarantines a corrupt row of each kind, counts and logs them, and runs every healthy job to the end", async () => {
    const migrated = await migratedDatabase("quarantine");
    db = migrated.db;
    const rg = await seedResourceGroup(db);
    const specs = {
      ready: singleTask({ seed: 1 }),
      running: diamond({ seed: 2 }),
      commitReady: singleTask({ seed: 3, commit: true }),
      cleanupReady: singleTask({ seed: 4, cleanup: true }),
      runningBadCheckpoint: diamond({ seed: 5 }),
      plain: singleTask({ seed: 6 }),
    };
    const [ready, running, commitReady, cleanupReady, runningBadCheckpoint, ...corrupt] = await insertJobs(db, rg, [
      { state: "Ready", spec: specs.ready },
      { state: "Running", spec: specs.running },
      { state: "CommitReady", spec: specs.commitReady },
      { state: "CleanupReady", spec: specs.cleanupReady },
      { state: "Running", spec: specs.runningBadCheckpoint },
      // The corrupt ones, broken below.
      { state: "Running", spec: specs.plain }, // 0: graph not zstd
      { state: "Ready", spec: specs.plain }, // 1: inputs not zstd
      { state: "Running", spec: specs.plain }, // 2: inputs count differs from the graph's
      { state: "CommitReady", spec: specs.commitReady, outputs: null }, // 3: no stored outputs
      { state: "CommitReady", spec: specs.commitReady, outputs: Uint8Array.from([7, 1, 2]) }, // 4: undecodable outputs
      { state: "CommitReady", spec: specs.plain }, // 5: graph has no commit task
      { state: "CleanupReady", spec: specs.plain }, // 6: graph has no cleanup task
      { state: "Ready", spec: specs.plain }, // 7: invalid graph JSON (zstd of "{")
    ]);
    const set = (id: bigint, column: "compressed_serialized_task_graph" | "compressed_serialized_job_inputs", bytes: Uint8Array) =>
      db!.updateTable("jobs").set({ [column]: Buffer.from(bytes) }).where("id", "=", id).execute();
    await set(corrupt[0]!, "compressed_serialized_task_graph", new TextEncoder().encode("not zstd at all"));
    await set(corrupt[1]!, "compressed_serialized_job_inputs", Uint8Array.from([1, 2, 3]));
    await set(corrupt[2]!, "compressed_serialized_job_inputs", compressZstd(encodeWireFrame([Uint8Array.of(1), Uint8Array.of(2)])));
    await set(corrupt[7]!, "compressed_serialized_task_graph", compressZstd(new TextEncoder().encode("{")));
    // A corrupt checkpoint (of the diamond's first task) is discarded, not quarantined.
    await writeCheckpointRow(db, runningBadCheckpoint!, 0, Uint8Array.from([9, 9]));

    server = await ServerProcess.start({ databaseUrl: migrated.url });
    const logs = new LogCollector(server);
    await server.waitServing();

    // Every corrupt row is Failed, quarantined, with its reason.
    const reasons: string[] = [];
    for (const id of corrupt) {
      const row = await jobRowState(db, id);
      expect(row.state, `job ${id}`).toBe("Failed");
      expect(isQuarantineMessage(row.error), `job ${id}: ${row.error}`).toBe(true);
      reasons.push(row.error!.slice(QUARANTINE_PREFIX.length));
    }
    console.log(`quarantined:\n  ${reasons.join("\n  ")}`);
    expect(reasons[0]).toMatch(/^Running job's stored task graph or inputs cannot be decoded/);
    expect(reasons[1]).toMatch(/^Ready job's stored task graph or inputs cannot be decoded/);
    expect(reasons[2]).toMatch(/input size mismatch/);
    expect(reasons[3]).toBe("CommitReady job has no stored outputs");
    expect(reasons[4]).toMatch(/^CommitReady job's stored outputs cannot be decoded/);
    expect(reasons[5]).toBe("CommitReady job's task graph has no commit task");
    expect(reasons[6]).toBe("CleanupReady job's task graph has no cleanup task");
    expect(reasons[7]).toMatch(/invalid task graph|JSON/i);

    const summary = logs.withMessage("recovery summary")[0]!;
    expect(summary).toMatchObject({ total: 13, quarantined: 8, corruptCheckpoints: 1, discardedCheckpoints: 1, deferredReady: 1 });
    expect(logs.withMessage("recovery quarantined a job it cannot use: the job is Failed")).toHaveLength(8);
    // The operator's view: Failed jobs whose message starts with the prefix.
    const listed = await db
      .selectFrom("jobs")
      .select("id")
      .where("state", "=", "Failed")
      .where(sql<boolean>`error_message LIKE ${QUARANTINE_PREFIX + "%"}`)
      .orderBy("id")
      .execute();
    expect(listed.map((r) => r.id)).toEqual(corrupt);

    // GetJobError says why; the healthy jobs of every state finish.
    cluster = await new SimulatedCluster(server.address, { executionManagers: 2 }).start();
    const c = cluster.clients;
    expect((await c.jobs.getJobError({ jobId: corrupt[3]! })).errorMessage).toBe(`${QUARANTINE_PREFIX}CommitReady job has no stored outputs`);
    expect((await c.jobs.startJob({ jobId: ready! })).state).toBe(JobState.RUNNING);
    const states = await waitForJobs(c, [ready!, running!, commitReady!, cleanupReady!, runningBadCheckpoint!]);
    expect(Object.fromEntries([...states].map(([id, s]) => [String(id), s]))).toEqual({
      [String(ready)]: "Succeeded",
      [String(running)]: "Succeeded",
      [String(commitReady)]: "Succeeded",
      [String(cleanupReady)]: "Cancelled",
      [String(runningBadCheckpoint)]: "Succeeded",
    });
    expect(await jobOutputs(c, ready!)).toEqual(oracleOutputs(specs.ready));
    expect(await jobOutputs(c, running!)).toEqual(oracleOutputs(specs.running));
    expect(await jobOutputs(c, commitReady!)).toEqual(oracleOutputs(specs.commitReady));
    expect(await jobOutputs(c, runningBadCheckpoint!)).toEqual(oracleOutputs(specs.runningBadCheckpoint));
    expect(cluster.log.starts.get(`${runningBadCheckpoint}/0`)).toBe(1);
    expect(cluster.log.starts.get(`${commitReady}/commit`)).toBe(1);
    expect(cluster.log.starts.get(`${commitReady}/0`)).toBeUndefined();
    expect(cluster.log.starts.get(`${cleanupReady}/cleanup`)).toBe(1);
  });

  it("quarantines a Ready row that StartJob cannot load (corrupted after start-up): FAILED_PRECONDITION, job Failed", async () => {
    const rg = await seedResourceGroup(db!);
    const [jobId] = await insertJobs(db!, rg, [{ state: "Ready", spec: singleTask({ seed: 9 }) }]);
    await db!.updateTable("jobs").set({ compressed_serialized_job_inputs: Buffer.from([0xde, 0xad]) }).where("id", "=", jobId!).execute();
    await expect(cluster!.clients.jobs.startJob({ jobId: jobId! })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    const row = await jobRowState(db!, jobId!);
    expect(row.state).toBe("Failed");
    expect(isQuarantineMessage(row.error)).toBe(true);
  });
});
