/**
 * Task checkpoints (DECISIONS D9) through the real server: a Running job whose
 * finished tasks were checkpointed resumes after a SIGKILL and runs only the
 * rest; a checkpoint counts only when its ancestors' exist too; a checkpoint
 * that cannot be used (ancestor missing, undecodable) is deleted and its task
 * runs again — the job is not failed for it.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/connection.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { addResourceGroup, jobOutputs, oracleOutputs, registerJob, SimulatedCluster, submitJob, waitForJobs } from "../../testkit/sim/cluster.ts";
import { diamond, wide } from "../../testkit/sim/job-shapes.ts";
import type { Behaviour } from "../../testkit/sim/simulated-execution-manager.ts";
import { hex } from "../../testkit/sim/cluster.ts";
import { checkpointIndices, LogCollector, migratedDatabase, oracleTaskOutputsFrame, writeCheckpointRow } from "./helpers/recovery-fixture.ts";
import { waitFor } from "../../testkit/wait-for.ts";

async function waitForCheckpoints(db: Db, jobId: bigint, expected: number[], timeoutMs = 20_000): Promise<void> {
  let found: number[] = [];
  await waitFor(
    () => `checkpoints ${JSON.stringify(expected)} of job ${jobId} (found ${JSON.stringify(found)})`,
    async () => {
      found = await checkpointIndices(db, jobId);
      return JSON.stringify(found) === JSON.stringify(expected);
    },
    { timeoutMs, intervalMs: 25 },
  );
}

describe("task checkpoints: a restarted server resumes Running jobs", () => {
  const servers: ServerProcess[] = [];
  const clusters: SimulatedCluster[] = [];
  const dbs: Db[] = [];
  afterAll(async () => {
    await Promise.allSettled(clusters.map((c) => c.stop()));
    await Promise.allSettled(servers.map((s) => s.kill()));
    await Promise.allSettled(dbs.map((db) => db.destroy()));
  });

  async function serve(url: string, behaviour?: Behaviour): Promise<{ server: ServerProcess; cluster: SimulatedCluster; logs: LogCollector }> {
    const server = await ServerProcess.start({ databaseUrl: url });
    servers.push(server);
    const logs = new LogCollector(server);
    await server.waitServing();
    const cluster = await new SimulatedCluster(server.address, { executionManagers: 2, concurrency: 4, ...(behaviour ? { behaviour } : {}) }).start();
    clusters.push(cluster);
    return { server, cluster, logs };
  }

  it("re-runs only the tasks without a checkpoint (counted with the execution log)", async () => {
    const { url, db } = await migratedDatabase("ckpt");
    dbs.push(db);
    // Ten input tasks and a reducer; in the first life tasks 5..9 never report.
    const job = wide(10, { seed: 11 });
    const first = await serve(url, (context) => {
      const index = Number(context.key.split("/")[1]);
      return index >= 5 && index <= 9 ? { kind: "vanish" } : { kind: "succeed" };
    });
    const rg = await addResourceGroup(first.cluster.clients);
    const jobId = await submitJob(first.cluster.clients, rg, job);
    await waitForCheckpoints(db, jobId, [0, 1, 2, 3, 4]);
    await first.server.kill();
    await first.cluster.stop();

    const second = await serve(url);
    expect((await waitForJobs(second.cluster.clients, [jobId])).get(jobId)).toBe("Succeeded");
    expect(await jobOutputs(second.cluster.clients, jobId)).toEqual(oracleOutputs(job));
    const rerun = [...second.cluster.log.starts.keys()].sort();
    console.log(`checkpoint resume: first life ran ${first.cluster.log.starts.size} task(s); after the restart ${rerun.length} ran: ${rerun.join(", ")}`);
    expect(rerun).toEqual(["5", "6", "7", "8", "9", "10"].map((i) => `${jobId}/${i}`).sort());
    expect(second.cluster.log.repeatedExecutions).toBe(0);
    const summary = second.logs.withMessage("recovery summary")[0]!;
    expect(summary["restoredTasks"]).toBe(5);
    await second.cluster.stop();
    await second.server.kill();

    // Outputs persist across one more restart; the checkpoints stay until the job is deleted by GC.
    // The last task (10) has none: its success stored the job's outputs with the job's move out of Running.
    const third = await serve(url);
    expect(await jobOutputs(third.cluster.clients, jobId)).toEqual(oracleOutputs(job));
    expect(await checkpointIndices(db, jobId)).toEqual([...Array(10).keys()]);
    await third.cluster.stop();
    await third.server.kill();
  });

  it("uses a checkpoint only when every ancestor has one; unusable and corrupt checkpoints are deleted and re-run", async () => {
    const { url, db } = await migratedDatabase("ckpt");
    dbs.push(db);
    // First life: jobs start, nothing runs (no execution manager ever reports).
    const first = await serve(url, () => ({ kind: "vanish" }));
    const rg = await addResourceGroup(first.cluster.clients);
    const jobs = [0, 1, 2, 3].map((seed) => diamond({ seed: 100 + seed }));
    const ids: bigint[] = [];
    for (const job of jobs) ids.push(await submitJob(first.cluster.clients, rg, job));
    await first.server.kill();
    await first.cluster.stop();

    // Diamond: 0 → {1, 2} → 3. Checkpoints put in by hand:
    const frame = (j: number, task: number) => oracleTaskOutputsFrame(jobs[j]!, task);
    await writeCheckpointRow(db, ids[0]!, 1, frame(0, 1)); // children without their parent: unusable
    await writeCheckpointRow(db, ids[0]!, 2, frame(0, 2));
    await writeCheckpointRow(db, ids[1]!, 0, frame(1, 0)); // a parent and one child: both usable
    await writeCheckpointRow(db, ids[1]!, 1, frame(1, 1));
    await writeCheckpointRow(db, ids[2]!, 0, frame(2, 0)); // parent fine, one child's checkpoint corrupt
    await writeCheckpointRow(db, ids[2]!, 1, Uint8Array.from([0xff, 0xff, 0xff, 0xff, 1]));
    await writeCheckpointRow(db, ids[2]!, 2, frame(2, 2));
    await writeCheckpointRow(db, ids[3]!, 0, frame(3, 0)); // a wrong output count counts as corrupt
    await writeCheckpointRow(db, ids[3]!, 2, Uint8Array.from([0, 0, 0, 0]));

    const second = await serve(url);
    const states = await waitForJobs(second.cluster.clients, ids);
    for (const [i, id] of ids.entries()) {
      expect(states.get(id)).toBe("Succeeded");
      expect(await jobOutputs(second.cluster.clients, id)).toEqual(oracleOutputs(jobs[i]!));
    }
    const ran = (id: bigint) => [0, 1, 2, 3].filter((t) => second.cluster.log.starts.has(`${id}/${t}`));
    expect(ran(ids[0]!)).toEqual([0, 1, 2, 3]);
    expect(ran(ids[1]!)).toEqual([2, 3]);
    expect(ran(ids[2]!)).toEqual([1, 3]);
    expect(ran(ids[3]!)).toEqual([1, 2, 3]);
    const summary = second.logs.withMessage("recovery summary")[0]!;
    expect(summary).toMatchObject({ restoredTasks: 0 + 2 + 2 + 1, discardedCheckpoints: 2 + 0 + 1 + 1, corruptCheckpoints: 2, quarantined: 0 });
    // The discarded checkpoints were rewritten by the re-runs with the right outputs (the last task, 3, writes none).
    await waitForCheckpoints(db, ids[2]!, [0, 1, 2]);
    const rows = await db.selectFrom("task_checkpoints").select(["outputs"]).where("job_id", "=", ids[2]!).where("task_index", "=", 1).execute();
    expect(hex(rows[0]!.outputs)).toBe(hex(frame(2, 1)));
    await second.cluster.stop();
    await second.server.kill();
  });

  it("re-runs everything when checkpoints are disabled (runtime.checkpoints.enabled=false)", async () => {
    const { url, db } = await migratedDatabase("ckpt");
    dbs.push(db);
    const server = await ServerProcess.start({ databaseUrl: url, env: { SPIDER_STORAGE_RUNTIME__CHECKPOINTS__ENABLED: "false" } });
    servers.push(server);
    await server.waitServing();
    const cluster = await new SimulatedCluster(server.address, { executionManagers: 1 }).start();
    clusters.push(cluster);
    const rg = await addResourceGroup(cluster.clients);
    const jobId = await registerJob(cluster.clients, rg, diamond({ seed: 7 }));
    await cluster.clients.jobs.startJob({ jobId });
    await waitForJobs(cluster.clients, [jobId]);
    await cluster.stop();
    // A clean stop flushes any checkpoint still queued: none can be written after this.
    expect((await server.stop()).code).toBe(0);
    expect(await checkpointIndices(db, jobId)).toEqual([]);
  });
});
