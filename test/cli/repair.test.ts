/**
 * The commands that repair, each run as the real CLI against a real server and
 * database, checking the effect: queue resend, verify [--repair], em release,
 * jobs cancel / fail / retry / requeue, gc, doctor on a planted bad row, and —
 * with the server stopped — recover --dry-run and the offline repairs.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/connection.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { addResourceGroup, jobOutputs, oracleOutputs, registerJob, SimulatedCluster, submitJob, waitForJobs } from "../../testkit/sim/cluster.ts";
import { diamond, flat, singleTask } from "../../testkit/sim/job-shapes.ts";
import { SimulatedExecutionManager, type TaskContext, type TaskOutcome } from "../../testkit/sim/simulated-execution-manager.ts";
import { SimulatedScheduler } from "../../testkit/sim/simulated-scheduler.ts";
import { connectStorage, type StorageClients } from "../../testkit/sim/storage-clients.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { expectCleanFailure, expectExit, jsonOf, openDb, runCli } from "./cli-helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

/** Per-job behaviour of the simulated execution managers (default: succeed). */
const plans = new Map<bigint, (context: TaskContext) => TaskOutcome>();
const behaviour = (context: TaskContext): TaskOutcome => plans.get(context.jobId)?.(context) ?? { kind: "succeed" };
/** The first instance never reports (its execution manager keeps heartbeating): the task stays Running. */
const vanishFirst = (context: TaskContext): TaskOutcome => (context.attempt === 0 ? { kind: "vanish" } : { kind: "succeed" });

async function jobRow(db: Db, jobId: bigint) {
  return db.selectFrom("jobs").select(["state", "error_message", "serialized_job_outputs"]).where("id", "=", jobId).executeTakeFirst();
}

async function stateOf(db: Db, jobId: bigint): Promise<string | undefined> {
  return (await jobRow(db, jobId))?.state;
}

/** A copy of a job's row in another state, inserted behind the server's back; returns its id. */
async function plantCopy(db: Db, sourceJobId: bigint, state: string): Promise<bigint> {
  const result = await sql`
    INSERT INTO jobs (resource_group_id, state, compressed_serialized_task_graph, compressed_serialized_job_inputs)
    SELECT resource_group_id, ${state}, compressed_serialized_task_graph, compressed_serialized_job_inputs FROM jobs WHERE id = ${sourceJobId}
  `.execute(db);
  return BigInt(result.insertId!);
}

function auditLines(server: ServerProcess, action: string): Record<string, unknown>[] {
  return server.logs
    .split("\n")
    .filter((line) => line.includes('"audit":true'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry["action"] === action);
}

describe("the commands that repair", () => {
  let server: ServerProcess;
  let databaseUrl: string;
  let db: Db;
  let clients: StorageClients;
  let cluster: SimulatedCluster | undefined;
  let rg: bigint;
  let cli: (...args: string[]) => ReturnType<typeof runCli>;

  beforeAll(async () => {
    databaseUrl = await testDatabase("cli_repair");
    server = await ServerProcess.start({ databaseUrl });
    await server.waitServing();
    db = openDb(databaseUrl);
    clients = connectStorage(server.address);
    rg = await addResourceGroup(clients, "cli-repair");
    cli = (...args) => runCli(["--server", server.address, ...args]);
  });
  afterAll(async () => {
    await cluster?.stop();
    clients?.close();
    await db?.destroy();
    await server?.stop();
  });

  it("queue resend and verify: ready tasks a scheduler took and lost are found and enqueued again", async () => {
    const jobId = await submitJob(clients, rg, flat(3, { seed: 401 }));
    // A scheduler polls the three tasks and never dispatches them.
    const taken = await clients.queue.pollReadyTasks({ maxItems: 10n, waitMs: 2000n });
    expect(taken.tasks?.tasks).toHaveLength(3);

    const found = await cli("--json", "verify");
    expectExit(found, 1);
    expect(JSON.parse(found.stdout).disagreements).toEqual([
      expect.objectContaining({ kind: "ready-not-queued", jobId: String(jobId), task: "0,1,2", repaired: false }),
    ]);
    const resent = jsonOf(await cli("--json", "queue", "resend", "--reason", "scheduler restarted"));
    expect(resent.enqueued).toBe("3");
    expect(resent.lanes.find((l: { lane: string }) => l.lane === "task").depth).toBe("3");
    expect((await clients.queue.pollReadyTasks({ maxItems: 10n, waitMs: 2000n })).tasks?.tasks).toHaveLength(3);

    // Lost again: this time verify --repair puts them back.
    const repaired = jsonOf(await cli("--json", "verify", "--repair", "--reason", "lost again"));
    expect(repaired.disagreements).toEqual([expect.objectContaining({ kind: "ready-not-queued", repaired: true })]);
    expectExit(await cli("verify"), 0);
    expect(auditLines(server, "queue resent")[0]).toMatchObject({ actor: "loopback", reason: "scheduler restarted", enqueued: 3 });
    expect(auditLines(server, "verify --repair")[0]).toMatchObject({ reason: "lost again", repaired: "1" });
    // Cancelled here, so its queued tasks do not go to the next test's execution managers.
    expect(expectExit(await cli("jobs", "cancel", String(jobId)), 0).stdout).toContain(`job ${jobId}: Running → Cancelled`);
  });

  it("em release: a dead execution manager's task runs elsewhere at once, without waiting for the cutoff", async () => {
    // An execution manager that takes the task and never reports, but keeps heartbeating (no cutoff will catch it).
    const doomedScheduler = new SimulatedScheduler(server.address);
    await doomedScheduler.start();
    const doomed = new SimulatedExecutionManager(server.address, doomedScheduler, { behaviour: () => ({ kind: "vanish" }), concurrency: 1 });
    await doomed.start();
    const jobId = await submitJob(clients, rg, singleTask({ seed: 402 }));
    await waitFor("the doomed execution manager to take the task", async () => doomed.log.starts.has(`${jobId}/0`), { timeoutMs: 20_000 });
    await doomedScheduler.stop(); // it takes nothing more; its heartbeats go on

    // The rest of the cluster (which also runs the job left from the previous test).
    cluster = await new SimulatedCluster(server.address, { executionManagers: 2, concurrency: 2, behaviour }).start();
    const managers = jsonOf(await cli("--json", "em", "list", "--state", "alive")).executionManagers;
    expect(managers.find((m: { executionManagerId: string }) => m.executionManagerId === String(doomed.emId))).toMatchObject({ liveInstances: 1 });

    const released = jsonOf(await cli("--json", "em", "release", String(doomed.emId), "--reason", "host lost"));
    expect(released).toMatchObject({ wasAlive: true, releasedInstances: 1 });
    // The doomed manager still heartbeats, so no cutoff can bring its task back: only the release can (no time bound needed).
    expect((await waitForJobs(cluster.clients, [jobId], 30_000)).get(jobId)).toBe("Succeeded");
    expect(cluster.log.starts.get(`${jobId}/0`)).toBe(1);
    await waitFor("the released execution manager to learn it is dead", async () => doomed.dead, { timeoutMs: 20_000 });
    await doomed.stop();
    const dead = jsonOf(await cli("--json", "em", "list", "--state", "dead")).executionManagers;
    expect(dead.map((m: { executionManagerId: string }) => m.executionManagerId)).toContain(String(doomed.emId));
    expect(auditLines(server, "execution manager released")[0]).toMatchObject({ reason: "host lost", releasedInstances: 1 });
  });

  it("jobs cancel and jobs fail: the database has the new state; the reason is logged", async () => {
    const toCancel = await registerJob(clients, rg, singleTask({ seed: 403 }));
    const toFail = await registerJob(clients, rg, singleTask({ seed: 404 }));
    plans.set(toCancel, vanishFirst);
    plans.set(toFail, vanishFirst);
    await clients.jobs.startJob({ jobId: toCancel });
    await clients.jobs.startJob({ jobId: toFail });
    await waitFor("both tasks to start", async () => cluster!.log.starts.has(`${toCancel}/0`) && cluster!.log.starts.has(`${toFail}/0`), { timeoutMs: 20_000 });

    const [cancelled, failed] = await Promise.all([
      cli("jobs", "cancel", String(toCancel), "--reason", "not needed any more"),
      cli("jobs", "fail", String(toFail), "--reason", "stuck on bad input"),
    ]);
    expect(expectExit(cancelled, 0).stdout).toContain(`job ${toCancel}: Running → Cancelled`);
    expect(expectExit(failed, 0).stdout).toContain(`job ${toFail}: Running → Failed`);
    expect(await stateOf(db, toCancel)).toBe("Cancelled");
    expect(await jobRow(db, toFail)).toMatchObject({ state: "Failed", error_message: "failed by operator: stuck on bad input" });
    // The server answers the same.
    expect((await clients.jobs.getJobState({ jobId: toFail })).state).toBe(JobState.FAILED);
    expect((await clients.jobs.getJobError({ jobId: toFail })).errorMessage).toBe("failed by operator: stuck on bad input");
    expect((await clients.jobs.getJobState({ jobId: toCancel })).state).toBe(JobState.CANCELLED);

    expect(auditLines(server, "job cancelled").find((e) => e["jobId"] === String(toCancel))).toMatchObject({ actor: "loopback", reason: "not needed any more", state: "Cancelled" });
    expect(auditLines(server, "job failed")[0]).toMatchObject({ actor: "loopback", jobId: String(toFail), reason: "stuck on bad input" });
    expect(String(auditLines(server, "job failed")[0]!["operator"])).toMatch(/@/);

    expectCleanFailure(await cli("jobs", "fail", String(toFail), "--reason", "again"), 1, /is already Failed/);
    expect(expectExit(await cli("jobs", "cancel", String(toCancel)), 0).stdout).toContain("was already Cancelled");
  });

  it("jobs retry (D4): the failed task and its descendants run again; checkpointed successes are kept", async () => {
    const job = diamond({ seed: 405 });
    const jobId = await registerJob(clients, rg, job);
    plans.set(jobId, (context) => (context.taskFunc.startsWith("d:") && context.attempt === 0 ? { kind: "fail", message: "d failed once" } : { kind: "succeed" }));
    await clients.jobs.startJob({ jobId });
    expect((await waitForJobs(clients, [jobId])).get(jobId)).toBe("Failed");
    await waitFor("the three succeeded tasks' checkpoints", async () => {
      const row = await db.selectFrom("task_checkpoints").select(sql<bigint>`COUNT(*)`.as("n")).where("job_id", "=", jobId).executeTakeFirstOrThrow();
      return Number(row.n) === 3;
    }, { timeoutMs: 20_000 });

    const retried = jsonOf(await cli("--json", "jobs", "retry", String(jobId), "--reason", "input fixed"));
    expect(retried).toMatchObject({ previousState: "Failed", state: "Running", keptTasks: 3, rerunTasks: 1, rerunTaskIndices: [3], enqueued: 1 });
    expect((await waitForJobs(clients, [jobId])).get(jobId)).toBe("Succeeded");
    expect(await jobOutputs(clients, jobId)).toEqual(oracleOutputs(job));
    const starts = (task: number) => cluster!.log.starts.get(`${jobId}/${task}`);
    expect([starts(0), starts(1), starts(2), starts(3)]).toEqual([1, 1, 1, 2]);
    expect(auditLines(server, "job retried")[0]).toMatchObject({ reason: "input fixed", keptTasks: 3, rerunTasks: 1 });
  });

  it("jobs requeue --release-instances: a task held by a hung instance runs again", async () => {
    const jobId = await submitJob(clients, rg, singleTask({ seed: 406 }));
    plans.set(jobId, vanishFirst);
    await waitFor("the task to start", async () => cluster!.log.starts.has(`${jobId}/0`), { timeoutMs: 20_000 });
    // Without releasing, nothing can be enqueued: the task is Running at its instance limit.
    expect(jsonOf(await cli("--json", "jobs", "requeue", String(jobId)))).toMatchObject({ state: "Running", enqueued: 0, releasedInstances: 0 });
    const requeued = jsonOf(await cli("--json", "jobs", "requeue", String(jobId), "--release-instances", "--reason", "hung worker"));
    expect(requeued).toMatchObject({ state: "Running", enqueued: 1, releasedInstances: 1 });
    expect((await waitForJobs(clients, [jobId])).get(jobId)).toBe("Succeeded");
    expect(cluster!.log.starts.get(`${jobId}/0`)).toBe(2);
  });

  it("verify --repair: the database wins over the cache; a live row nobody drives is loaded", async () => {
    // A cached Running job whose row is changed behind the server's back.
    const stuck = await submitJob(clients, rg, singleTask({ seed: 407 }));
    plans.set(stuck, vanishFirst);
    await waitFor("the task to start", async () => cluster!.log.starts.has(`${stuck}/0`), { timeoutMs: 20_000 });
    await sql`UPDATE jobs SET state = 'Failed', error_message = 'planted', ended_at = CURRENT_TIMESTAMP(3) WHERE id = ${stuck}`.execute(db);
    // A Running row the server never loaded.
    const source = await registerJob(clients, rg, singleTask({ seed: 408 }));
    const orphan = await plantCopy(db, source, "Running");

    const found = await cli("--json", "verify");
    expectExit(found, 1);
    const kinds = JSON.parse(found.stdout).disagreements.map((d: { kind: string; jobId: string }) => `${d.kind} ${d.jobId}`);
    expect(kinds).toEqual(expect.arrayContaining([`state-mismatch ${stuck}`, `not-cached ${orphan}`]));

    const repaired = expectExit(await cli("verify", "--repair", "--reason", "planted rows"), 0).stdout;
    expect(repaired).toMatch(/state-mismatch/);
    expect((await clients.jobs.getJobState({ jobId: stuck })).state).toBe(JobState.FAILED);
    expect((await waitForJobs(clients, [orphan])).get(orphan)).toBe("Succeeded");
    expect(expectExit(await cli("verify"), 0).stdout).toContain("cache and database agree");
  });

  it("gc deletes terminal jobs older than the retention, with their checkpoints; offline it refuses while the server holds the lease", async () => {
    const terminal = async () =>
      Number((await db.selectFrom("jobs").select(sql<bigint>`COUNT(*)`.as("n")).where("state", "in", ["Succeeded", "Failed", "Cancelled"]).executeTakeFirstOrThrow()).n);
    const checkpoints = async () => Number((await db.selectFrom("task_checkpoints").select(sql<bigint>`COUNT(*)`.as("n")).executeTakeFirstOrThrow()).n);
    const before = await terminal();
    expect(before).toBeGreaterThan(0);
    expect(await checkpoints()).toBeGreaterThan(0);

    expect(jsonOf(await cli("--json", "gc", "--older-than", "1h", "--dry-run"))).toMatchObject({ remaining: 0, deleted: 0 });
    expect(jsonOf(await cli("--json", "gc", "--older-than", "0s", "--dry-run"))).toMatchObject({ remaining: before, deleted: 0 });
    expectCleanFailure(await runCli(["gc", "--database-url", databaseUrl, "--older-than", "0s"]), 1, /holds this database's lease/);

    const collected = expectExit(await cli("gc", "--older-than", "0s", "--batch-size", "2", "--reason", "test cleanup"), 0).stdout;
    expect(collected).toContain(`deleted ${before} terminal job(s)`);
    expect(await terminal()).toBe(0);
    expect(await checkpoints()).toBe(0); // every job with checkpoints had ended
    expect(auditLines(server, "gc").length).toBeGreaterThanOrEqual(1);
  });

  it("doctor finds a planted CommitReady row without outputs, online and offline", async () => {
    const source = await registerJob(clients, rg, singleTask({ seed: 409, commit: true }));
    const planted = await plantCopy(db, source, "CommitReady");

    const online = await cli("--json", "doctor");
    expectExit(online, 1);
    const finding = JSON.parse(online.stdout).findings.find((f: { check: string }) => f.check === "commit-ready-without-outputs");
    expect(finding).toMatchObject({ severity: "error", count: "1", jobIds: [String(planted)] });

    const offline = await runCli(["doctor", "--database-url", databaseUrl]); // read-only: fine beside a running server
    expectExit(offline, 1);
    expect(offline.stdout).toContain(`ERROR commit-ready-without-outputs: 1 job(s)`);
    expect(offline.stdout).toContain(`jobs: ${planted}`);
    expect(offline.stdout).toContain("NOT healthy");
  });

  it("with the server stopped: recover --dry-run reports the row it would quarantine; offline fail, retry, cancel and gc", async () => {
    await cluster?.stop();
    cluster = undefined;
    await server.stop();
    const offline = (...args: string[]) => runCli([...args, "--database-url", databaseUrl]);
    const report = await offline("--json", "doctor");
    expectExit(report, 1);
    const planted = BigInt(JSON.parse(report.stdout).findings.find((f: { check: string }) => f.check === "commit-ready-without-outputs").jobIds[0]);

    const dryRun = jsonOf(await offline("--json", "recover", "--dry-run"));
    expect(dryRun.quarantined).toBe(1);
    expect(dryRun.quarantinedJobs).toEqual([{ jobId: String(planted), state: "CommitReady", reason: "CommitReady job has no stored outputs" }]);
    expect(dryRun.byState.CommitReady).toBe(1);
    expect(dryRun.total).toBeGreaterThanOrEqual(1);
    expect(await stateOf(db, planted)).toBe("CommitReady"); // nothing changed
    expect(expectExit(await offline("recover", "--dry-run"), 0).stdout).toMatch(/would quarantine:\s+1/);

    expect(expectExit(await offline("jobs", "fail", String(planted), "--reason", "outputs lost"), 0).stdout).toContain("CommitReady → Failed");
    expect(await jobRow(db, planted)).toMatchObject({ state: "Failed", error_message: "failed by operator: outputs lost" });
    expect(expectExit(await offline("jobs", "retry", String(planted)), 0).stdout).toContain("Failed → Running");
    expect(await stateOf(db, planted)).toBe("Running");
    expect(expectExit(await offline("jobs", "cancel", String(planted)), 0).stdout).toContain("Running → Cancelled");
    expect(jsonOf(await offline("--json", "gc", "--older-than", "0s"))).toMatchObject({ deleted: 1 });
    expect(await stateOf(db, planted)).toBeUndefined();
    expectExit(await offline("doctor"), 0);
  });
});
