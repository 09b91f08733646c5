/**
 * The commands that look, each run as the real CLI against a real server and
 * database: status, jobs list / show / payload, em list, usage, doctor — and
 * how bad arguments, unknown ids and an unreachable server are reported.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerProcess } from "../../testkit/server-process.ts";
import { addResourceGroup, hex, oracleOutputs, SimulatedCluster, submitJob, waitForJobs } from "../../testkit/sim/cluster.ts";
import { diamond, flat, singleTask } from "../../testkit/sim/job-shapes.ts";
import type { Behaviour } from "../../testkit/sim/simulated-execution-manager.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { expectCleanFailure, expectExit, jsonOf, runCli } from "./cli-helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

/** Jobs whose tasks stay Running (the instance never reports while the test runs). */
const held = new Set<bigint>();
const behaviour: Behaviour = (context) => {
  if (held.has(context.jobId)) return { kind: "succeed", delayMs: 120_000 };
  if (context.taskFunc.startsWith("d:")) return { kind: "fail", message: "boom: task d failed" };
  return { kind: "succeed" };
};

describe("the commands that look", () => {
  let server: ServerProcess;
  let cluster: SimulatedCluster;
  let session: bigint;
  let cli: (...args: string[]) => ReturnType<typeof runCli>;
  let rg1: bigint;
  let rg2: bigint;
  let succeeded: bigint;
  let failed: bigint;
  let running: bigint;
  const succeededJob = flat(3, { seed: 301 });

  beforeAll(async () => {
    // On every interface, so a caller from another address can be refused (no token is configured).
    server = await ServerProcess.start({ databaseUrl: await testDatabase("cli_inspect"), args: ["--host", "0.0.0.0"] });
    session = await server.waitServing();
    cli = (...args) => runCli(["--server", server.address, ...args]);
    cluster = await new SimulatedCluster(server.address, { executionManagers: 2, concurrency: 2, behaviour }).start();
    rg1 = await addResourceGroup(cluster.clients, "cli-rg-one");
    rg2 = await addResourceGroup(cluster.clients, "cli-rg-two");
    succeeded = await submitJob(cluster.clients, rg1, succeededJob);
    failed = await submitJob(cluster.clients, rg1, diamond({ seed: 302 }));
    expect(Object.fromEntries(await waitForJobs(cluster.clients, [succeeded, failed]))).toEqual({ [String(succeeded)]: "Succeeded", [String(failed)]: "Failed" });
    const job = singleTask({ seed: 303 });
    const { registerJob } = await import("../../testkit/sim/cluster.ts");
    running = await registerJob(cluster.clients, rg2, job);
    held.add(running);
    await cluster.clients.jobs.startJob({ jobId: running });
    await waitFor("the held task to start", async () => cluster.log.starts.has(`${running}/0`), { timeoutMs: 20_000 });
  });
  afterAll(async () => {
    await cluster?.stop();
    await server?.stop();
  });

  it("status: phase, session, jobs by state, lanes, execution managers", async () => {
    const status = jsonOf(await cli("--json", "status"));
    expect(status).toMatchObject({ phase: "serving", serving: true, sessionId: String(session), aliveExecutionManagers: "2", adminTokenRequired: false });
    const byState = Object.fromEntries(status.jobsByState.map((s: { state: string; count: string }) => [s.state, Number(s.count)]));
    expect(byState).toMatchObject({ Succeeded: 1, Failed: 1, Running: 1, Ready: 0 });
    expect(status.lanes.map((l: { lane: string }) => l.lane)).toEqual(["task", "commit", "cleanup"]);
    expect(status.recovery).toMatchObject({ known: true, done: true });
    expect(status.gc).toMatchObject({ enabled: true, retentionSec: "604800" });

    const text = expectExit(await cli("status"), 0).stdout;
    expect(text).toMatch(/phase:\s+serving/);
    expect(text).toMatch(new RegExp(`session:\\s+${session}`));
    expect(text).toMatch(/Running\s+1/);
    expect(text).toMatch(/LANE\s+DEPTH/);
  });

  it("jobs list: filters by state, resource group and age; pages by id", async () => {
    const ids = (result: { jobs: { jobId: string }[] }) => result.jobs.map((j) => BigInt(j.jobId));
    const [all, byState, byStates, byGroup, older, newer, first, everything, text] = await Promise.all([
      cli("--json", "jobs", "list"),
      cli("--json", "jobs", "list", "--state", "failed"),
      cli("--json", "jobs", "list", "--state", "Succeeded,Running"),
      cli("--json", "jobs", "list", "--resource-group", String(rg2)),
      cli("--json", "jobs", "list", "--older-than", "1h"),
      cli("--json", "jobs", "list", "--newer-than", "1h", "--state", "running"),
      cli("--json", "jobs", "list", "--limit", "2"),
      cli("--json", "jobs", "list", "--limit", "1", "--all"),
      cli("jobs", "list", "--limit", "1"),
    ]);
    expect(ids(jsonOf(all!))).toEqual([succeeded, failed, running]);
    expect(ids(jsonOf(byState!))).toEqual([failed]);
    expect(ids(jsonOf(byStates!))).toEqual([succeeded, running]);
    expect(ids(jsonOf(byGroup!))).toEqual([running]);
    expect(ids(jsonOf(older!))).toEqual([]);
    expect(ids(jsonOf(newer!))).toEqual([running]);
    const firstPage = jsonOf(first!);
    expect(ids(firstPage)).toEqual([succeeded, failed]);
    expect(BigInt(firstPage.nextAfterId)).toBe(failed);
    expect(ids(jsonOf(everything!))).toEqual([succeeded, failed, running]);
    const second = jsonOf(await cli("--json", "jobs", "list", "--limit", "2", "--after", firstPage.nextAfterId));
    expect(ids(second)).toEqual([running]);
    expect(second.nextAfterId).toBe("0");

    const table = expectExit(text!, 0).stdout;
    expect(table).toMatch(/JOB\s+STATE/);
    expect(table).toContain(`more jobs: add --after ${succeeded}`);
    expect(table).toContain(`${succeeded}  Succeeded`);
  });

  it("jobs show: state, error, graph, each task's state, retries left, live instances", async () => {
    const shownFailed = jsonOf(await cli("--json", "jobs", "show", String(failed)));
    expect(shownFailed.job).toMatchObject({ jobId: String(failed), state: "Failed", errorMessage: "boom: task d failed", cached: true });
    expect(shownFailed.graph).toMatchObject({ tasks: 4, graphInputs: 1, graphOutputs: 1, depth: 3, hasCommitTask: false });
    expect(shownFailed.tasksSource).toBe("cache");
    const states = Object.fromEntries(shownFailed.tasks.map((t: { task: string; state: string }) => [t.task, t.state]));
    expect(states).toEqual({ "0": "Succeeded", "1": "Succeeded", "2": "Succeeded", "3": "Failed" });

    const shownRunning = jsonOf(await cli("--json", "jobs", "show", String(running)));
    expect(shownRunning.job.state).toBe("Running");
    expect(shownRunning.tasks[0]).toMatchObject({ task: "0", state: "Running", liveInstances: 1, retriesLeft: 0, function: "single:1" });
    expect(shownRunning.instances).toHaveLength(1);
    const emIds = cluster.executionManagers.map((em) => String(em.emId));
    expect(emIds).toContain(shownRunning.instances[0].executionManagerId);

    const text = expectExit(await cli("jobs", "show", String(running)), 0).stdout;
    expect(text).toMatch(/state:\s+Running/);
    expect(text).toMatch(/INSTANCE\s+TASK\s+EXECUTION MANAGER/);
    expect(expectExit(await cli("jobs", "show", String(failed), "--task-state", "failed"), 0).stdout).toMatch(/\n3\s+Failed\s+d:1/);
  });

  it("jobs payload: lists inputs, outputs and checkpointed task outputs; downloads them", async () => {
    // Three independent tasks: the two that finished first are checkpointed; the last one's success
    // stored the job's outputs instead (no checkpoint is written for a job's last task).
    const isTask = (name: string) => name.startsWith("task:");
    const listing = await waitFor("the task checkpoints of the succeeded job", async () => {
      const result = jsonOf(await cli("--json", "jobs", "payload", String(succeeded)));
      return result.items.filter((i: { name: string }) => isTask(i.name)).length === 2 ? result : undefined;
    }, { timeoutMs: 20_000 });
    const names: string[] = listing.items.map((i: { name: string }) => i.name);
    expect(names.filter((n) => !isTask(n))).toEqual(["input:0", "input:1", "input:2", "output:0", "output:1", "output:2"]);
    const checkpointed = names.filter(isTask);
    expect(checkpointed.every((n) => ["task:0:0", "task:1:0", "task:2:0"].includes(n))).toBe(true);
    const task = Number(checkpointed[0]!.split(":")[1]);

    const dir = await mkdtemp(join(tmpdir(), "cli-payload-"));
    try {
      const file = join(dir, "out0");
      expectExit(await cli("jobs", "payload", String(succeeded), "--get", "output:0", "--out", file), 0);
      expect(hex(await readFile(file))).toBe(oracleOutputs(succeededJob)[0]);
      // To a pipe, the bytes themselves.
      const input = expectExit(await cli("jobs", "payload", String(succeeded), "--get", "input:1"), 0);
      expect(input.stdout).toBe(new TextDecoder().decode(succeededJob.inputs[1]));
      // A checkpointed task output equals the job output it became (flat: task i → output i).
      expectExit(await cli("jobs", "payload", String(succeeded), "--get", `task:${task}:0`, "--out", join(dir, "t")), 0);
      expect(hex(await readFile(join(dir, "t")))).toBe(oracleOutputs(succeededJob)[task]);
      const all = join(dir, "all");
      expectExit(await cli("jobs", "payload", String(succeeded), "--dir", all), 0);
      expect((await readdir(all)).sort()).toEqual(names.map((n) => n.replaceAll(":", "_")).sort());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expectCleanFailure(await cli("jobs", "payload", String(succeeded), "--get", "output:9", "--out", "/dev/null"), 1, /has no payload item output:9/);
    expectCleanFailure(await cli("jobs", "payload", String(succeeded), "--get", "nonsense"), 2, /invalid payload item "nonsense"/);
    expectCleanFailure(await cli("jobs", "payload", String(failed), "--get", "output:0"), 1, /has no stored outputs/);
  });

  it("em list and usage", async () => {
    const managers = jsonOf(await cli("--json", "em", "list")).executionManagers;
    expect(managers).toHaveLength(2);
    expect(managers.every((m: { state: string }) => m.state === "Alive")).toBe(true);
    expect(managers.map((m: { liveInstances: number }) => m.liveInstances).sort()).toEqual([0, 1]);
    expect(expectExit(await cli("em", "list", "--state", "alive"), 0).stdout).toMatch(/EXECUTION MANAGER\s+ADDRESS\s+STATE/);

    const usage = jsonOf(await cli("--json", "usage")).resourceGroups;
    const of = (id: bigint) => usage.find((g: { resourceGroupId: string }) => g.resourceGroupId === String(id));
    const counts = (g: { jobsByState: { state: string; count: string }[] }) => Object.fromEntries(g.jobsByState.filter((s) => s.count !== "0").map((s) => [s.state, Number(s.count)]));
    expect(of(rg1)).toMatchObject({ externalId: "cli-rg-one", jobs: "2" });
    expect(counts(of(rg1))).toEqual({ Succeeded: 1, Failed: 1 });
    expect(counts(of(rg2))).toEqual({ Running: 1 });
    expect(Number(of(rg1).jobBytes)).toBeGreaterThan(0);
    expect(expectExit(await cli("usage"), 0).stdout).toContain("cli-rg-two");
  });

  it("doctor through the server: a healthy database", async () => {
    const report = jsonOf(await cli("--json", "doctor"));
    expect(report).toMatchObject({ healthy: true, leaseHeld: true });
    expect(report.schema.pending).toEqual([]);
    expect(report.findings.filter((f: { severity: string }) => f.severity === "error")).toEqual([]);
    expect(expectExit(await cli("doctor"), 0).stdout).toContain("healthy");
  });

  it("bad arguments, unknown ids and an unreachable server: a clear line, exit 2 or 1, no stack trace", async () => {
    const cases: [string[], number, RegExp][] = [
      [["jobs", "show", "999999"], 1, /job 999999 not found/],
      [["jobs", "show", "abc"], 2, /expected a job id \(a decimal number\), got "abc"/],
      [["jobs", "list", "--state", "nope"], 2, /unknown job state "nope"/],
      [["jobs", "list", "--older-than", "5 fortnights"], 2, /expected a duration/],
      [["em", "release", "424242"], 1, /execution manager 424242 not found/],
      [["jobs", "retry", String(succeeded)], 1, /only a Failed job can be retried/],
      [["jobs", "cancel", "777777"], 1, /job 777777 not found/],
      [["jobs", "fail", String(running)], 2, /--reason/],
      [["no-such-command"], 2, /too many arguments/],
      [["jobs"], 2, /Usage: spider-storage jobs/],
      [["recover"], 2, /only `recover --dry-run` exists/],
    ];
    const results = await Promise.all([
      ...cases.map(([args]) => cli(...args)),
      runCli(["--server", "127.0.0.1:1", "status"]),
      runCli(["--server", "not an address", "status"]),
    ]);
    cases.forEach(([, code, message], i) => expectCleanFailure(results[i]!, code, message));
    // Without a token, callers from a non-loopback address are refused.
    const external = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === "IPv4");
    if (external) expectCleanFailure(await runCli(["--server", `${external.address}:${server.port}`, "status"]), 1, /callers from other hosts .* need a token/);
    expectCleanFailure(results[cases.length]!, 1, /cannot reach a spider-storage server at 127\.0\.0\.1:1/);
    expectCleanFailure(results[cases.length + 1]!, 2, /invalid --server/);
  });
});
