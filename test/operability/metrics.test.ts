/**
 * Prometheus metrics over HTTP (issue 7), scraped from a real server process
 * while a simulated Spider cluster drives jobs through every re-enqueue path
 * (retry, soft timeout, dead execution manager), a clamped poll, a response
 * above Spider's 4 MiB client limit and a limit refusal; the values must move.
 * The same run checks the notable-event log lines and the debug request log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BYTES, TaskGraphBuilder, type PolicyOptions } from "../../testkit/task-graph-builder.ts";
import { compressZstd } from "../../src/core/zstd.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { freePort } from "../../testkit/free-port.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { addResourceGroup, SimulatedCluster, submitJob, waitForJobs } from "../../testkit/sim/cluster.ts";
import { flat, singleTask, type JobSpec } from "../../testkit/sim/job-shapes.ts";
import { simTaskFunc, type Behaviour } from "../../testkit/sim/simulated-execution-manager.ts";
import { connectStorage, statusCode, type StorageClients } from "../../testkit/sim/storage-clients.ts";
import { LogCollector, scrape, scrapeUntil } from "./helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

const JOBS = "storage.JobOrchestrationService";
const TASKS = "storage.TaskInstanceManagementService";

function oneTask(name: string, policy?: PolicyOptions, input = new Uint8Array([1, 2, 3])): JobSpec {
  const builder = new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], taskFunc: simTaskFunc(name, 1), ...(policy ? { policy } : {}) });
  return { builder, inputs: [input] };
}

describe("Prometheus metrics", () => {
  let server: ServerProcess;
  let logs: LogCollector;
  let metricsPort: number;
  let clients: StorageClients;
  let databaseUrl: string;
  /** The execution manager that ran the "vanish" task (it then stops heartbeating). */
  let vanishedOn: bigint | undefined;

  beforeAll(async () => {
    databaseUrl = await testDatabase("metrics");
    metricsPort = await freePort();
    server = await ServerProcess.start({
      databaseUrl,
      env: {
        SPIDER_STORAGE_LOG_LEVEL: "debug",
        SPIDER_STORAGE_RUNTIME__METRICS__ENABLED: "true",
        SPIDER_STORAGE_RUNTIME__METRICS__PORT: String(metricsPort),
        SPIDER_STORAGE_RUNTIME__LIMITS__MAX_POLL_ITEMS: "10",
        // Raised above Spider's 4 MiB (the default refuses larger answers), so the 5 MiB answer below is sent and counted.
        SPIDER_STORAGE_RUNTIME__LIMITS__MAX_RESPONSE_BYTES: String(8 * 1024 * 1024),
        // 25 heartbeat periods: exactly one manager (the silent one) may die, whatever the machine's load.
        SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__EXECUTION_MANAGER_STALE_CUTOFF_SEC: "5",
        SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__GC_INTERVAL_MS: "100",
      },
    });
    logs = new LogCollector(server);
    await server.waitServing();
    clients = connectStorage(server.address);
  });
  afterAll(async () => {
    clients?.close();
    await server?.stop();
  });

  it("serves /metrics (loopback) and /healthz, and answers 404 elsewhere", async () => {
    const first = await scrape(metricsPort);
    expect(first.value("spider_storage_phase", { phase: "serving" })).toBe(1);
    expect(first.value("spider_storage_phase", { phase: "starting" })).toBe(0);
    for (const name of [
      "spider_storage_rpc_requests_total",
      "spider_storage_rpc_duration_seconds",
      "spider_storage_rpc_large_responses_total",
      "spider_storage_limit_rejections_total",
      "spider_storage_jobs",
      "spider_storage_jobs_terminated_total",
      "spider_storage_cache_jobs",
      "spider_storage_cache_tasks",
      "spider_storage_cache_payload_bytes",
      "spider_storage_live_task_instances",
      "spider_storage_queue_depth",
      "spider_storage_queue_oldest_age_seconds",
      "spider_storage_queue_waiting_polls",
      "spider_storage_poll_clamped_total",
      "spider_storage_task_requeues_total",
      "spider_storage_execution_manager_deaths_total",
      "spider_storage_db_query_duration_seconds",
      "spider_storage_db_query_errors_total",
      "spider_storage_recovery_jobs_done",
      "spider_storage_recovery_jobs_total",
      "spider_storage_phase",
      "process_cpu_seconds_total",
    ]) {
      expect(first.has(name), name).toBe(true);
    }
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe("SERVING\n");
    expect((await fetch(`http://127.0.0.1:${metricsPort}/nope`)).status).toBe(404);
  });

  it("shows queued work, cached jobs and held payload before anyone polls", async () => {
    const rg = await addResourceGroup(clients, "metrics-queue");
    const before = await scrape(metricsPort);
    const jobId = await submitJob(clients, rg, flat(3, { seed: 1 }));
    const s = await scrape(metricsPort);
    expect(s.value("spider_storage_queue_depth", { lane: "task" })).toBe(3);
    expect(s.value("spider_storage_queue_oldest_age_seconds", { lane: "task" })).toBeGreaterThan(0);
    expect(s.value("spider_storage_cache_jobs", { state: "Running" })).toBe(1);
    expect(s.value("spider_storage_cache_tasks")).toBe(3);
    expect(s.value("spider_storage_cache_payload_bytes")).toBeGreaterThan(0);
    expect(s.value("spider_storage_rpc_requests_total", { service: JOBS, method: "RegisterJob", code: "OK" })).toBe(
      before.value("spider_storage_rpc_requests_total", { service: JOBS, method: "RegisterJob", code: "OK" }) + 1,
    );
    expect(s.value("spider_storage_db_query_duration_seconds_count", { statement: "insert", table: "jobs" })).toBeGreaterThanOrEqual(1);
    // A poll above the cap (runtime.limits.max_poll_items = 10) is clamped and counted, never refused.
    const poll = await clients.queue.pollReadyCommitTasks({ maxItems: 1000n, waitMs: 0n });
    expect(poll.tasks?.tasks).toEqual([]);
    const after = await scrape(metricsPort);
    expect(after.value("spider_storage_poll_clamped_total", { lane: "commit", field: "maxItems" })).toBe(1);
    expect(logs.find("job registered", (l) => l["jobId"] === String(jobId))).toHaveLength(1);
    expect(logs.find("job started", (l) => l["jobId"] === String(jobId))).toHaveLength(1);
  });

  it("moves counters and gauges as a cluster runs jobs through retries, soft timeouts and a dead execution manager", async () => {
    const behaviour: Behaviour = (context) => {
      if (context.attempt > 0) return { kind: "succeed" };
      if (context.taskFunc.startsWith("retry-me")) return { kind: "fail", message: "the first attempt fails" };
      if (context.taskFunc.startsWith("slow")) return { kind: "succeed", delayMs: 1_500 };
      if (context.taskFunc.startsWith("vanish")) {
        vanishedOn = context.emId;
        return { kind: "vanish" };
      }
      return { kind: "succeed" };
    };
    const cluster = await new SimulatedCluster(server.address, { executionManagers: 3, behaviour }).start();
    try {
      const rg = await addResourceGroup(cluster.clients, "metrics-run");
      const before = await scrape(metricsPort);
      const plain = [];
      for (let i = 0; i < 5; i++) plain.push(await submitJob(cluster.clients, rg, singleTask({ seed: 100 + i })));
      const retried = await submitJob(cluster.clients, rg, oneTask("retry-me", { maxNumRetry: 1 }));
      const slow = await submitJob(cluster.clients, rg, oneTask("slow", { softTimeoutMs: 100, maxNumInstances: 2 }));
      // Its RegisterTaskInstance answer carries the 5 MiB input: above what Spider's clients decode.
      const big = await submitJob(cluster.clients, rg, oneTask("big", undefined, new Uint8Array(5 * 1024 * 1024).fill(7)));
      const vanish = await submitJob(cluster.clients, rg, oneTask("vanish", undefined));

      await waitFor("the vanish task to start", () => vanishedOn !== undefined, { timeoutMs: 10_000 });
      // The execution manager holding it goes silent: after the 5 s cutoff it is dead and its task runs elsewhere.
      await cluster.executionManagers.find((em) => em.emId === vanishedOn)!.stop();

      const ids = [...plain, retried, slow, big, vanish];
      const states = await waitForJobs(cluster.clients, ids, 30_000);
      expect([...states.values()].every((state) => state === "Succeeded"), [...states].map(([id, state]) => `${id}:${state}`).join(" ")).toBe(true);

      // A zstd bomb above runtime.limits.max_decompressed_bytes (64 MiB by default), as the inputs
      // (a graph's own budget is the smaller max_task_graph_bytes).
      const bomb = compressZstd(new Uint8Array(80 * 1024 * 1024));
      const refused = await cluster.clients.jobs
        .registerJob({ resourceGroupId: rg, compressedSerializedTaskGraph: oneTask("bomb").builder.toCompressed(), compressedSerializedInputs: bomb })
        .catch((error: unknown) => error);
      expect(statusCode(refused)).toBe(3); // INVALID_ARGUMENT

      const s = await scrapeUntil(metricsPort, (x) => x.value("spider_storage_jobs", { state: "Succeeded" }) >= ids.length);
      const delta = (name: string, labels: Record<string, string> = {}) => s.value(name, labels) - before.value(name, labels);

      expect(delta("spider_storage_rpc_requests_total", { service: JOBS, method: "RegisterJob", code: "OK" })).toBe(ids.length);
      expect(delta("spider_storage_rpc_requests_total", { service: JOBS, method: "RegisterJob", code: "INVALID_ARGUMENT" })).toBe(1);
      expect(delta("spider_storage_rpc_duration_seconds_count", { service: JOBS, method: "StartJob", code: "OK" })).toBe(ids.length);
      expect(delta("spider_storage_rpc_duration_seconds_sum", { service: TASKS, method: "RegisterTaskInstance" })).toBeGreaterThan(0);
      expect(delta("spider_storage_rpc_large_responses_total", { service: TASKS, method: "RegisterTaskInstance" })).toBeGreaterThanOrEqual(1);
      expect(delta("spider_storage_limit_rejections_total", { limit: "runtime.limits.max_decompressed_bytes" })).toBe(1);

      expect(s.value("spider_storage_jobs", { state: "Succeeded" })).toBeGreaterThanOrEqual(ids.length);
      expect(delta("spider_storage_jobs_terminated_total", { state: "Succeeded" })).toBe(ids.length);
      expect(s.value("spider_storage_cache_jobs", { state: "Succeeded" })).toBeGreaterThanOrEqual(ids.length);

      expect(delta("spider_storage_task_requeues_total", { cause: "retry" })).toBe(1);
      expect(delta("spider_storage_task_requeues_total", { cause: "soft_timeout" })).toBeGreaterThanOrEqual(1);
      expect(delta("spider_storage_task_requeues_total", { cause: "dead_execution_manager" })).toBe(1);
      expect(delta("spider_storage_execution_manager_deaths_total")).toBe(1);
      expect(delta("spider_storage_poll_clamped_total", { lane: "task", field: "maxItems" })).toBeGreaterThan(0); // the scheduler asks for 64

      expect(delta("spider_storage_db_query_duration_seconds_count", { statement: "insert", table: "jobs" })).toBe(ids.length);
      expect(delta("spider_storage_db_query_duration_seconds_count", { statement: "commit" })).toBeGreaterThan(0);
      // Group commit: submitted one at a time, each registration and start went out alone.
      expect(delta("spider_storage_db_batched_writes_total", { kind: "insert" })).toBe(ids.length);
      expect(delta("spider_storage_db_batches_total", { kind: "insert" })).toBe(ids.length);
      expect(delta("spider_storage_db_batched_writes_total", { kind: "Ready>Running" })).toBe(ids.length);
      expect(s.value("spider_storage_recovery_jobs_total")).toBe(0);

      // Notable events, one JSON line each, with job id, task and session.
      const session = String(await clients.sessions.getSession({}).then((r) => r.sessionId));
      const requeued = logs.find("task re-enqueued");
      expect(requeued.map((l) => l["cause"]).sort()).toEqual(expect.arrayContaining(["dead_execution_manager", "retry", "soft_timeout"]));
      expect(requeued.find((l) => l["cause"] === "retry")).toMatchObject({ jobId: String(retried), task: "0", session });
      expect(logs.find("job terminal", (l) => l["jobId"] === String(vanish))[0]).toMatchObject({ state: "Succeeded", session });
      expect(logs.find("task instance failed", (l) => l["jobId"] === String(retried))[0]).toMatchObject({ task: "0", error: "the first attempt fails", session });
      expect(logs.find("execution managers dead; instances evicted")[0]).toMatchObject({ executionManagers: [String(vanishedOn)], instances: 1, session });
      expect(logs.find("response above the 4 MiB Spider's clients accept: they will fail to decode it")[0]).toMatchObject({
        method: `${TASKS}/RegisterTaskInstance`,
        jobId: String(big),
        task: "0",
      });
      expect(logs.find("request refused: limit exceeded")[0]).toMatchObject({ limit: "runtime.limits.max_decompressed_bytes" });
      // Request logging at debug: method, status, duration, ids.
      const request = logs.find("request", (l) => l["method"] === `${JOBS}/StartJob` && l["jobId"] === String(retried))[0];
      expect(request).toMatchObject({ level: "debug", code: "OK", session });
      expect(typeof request!["durationMs"]).toBe("number");
    } finally {
      await cluster.stop();
    }
  });

  it("is off by default", async () => {
    // The server of this file enabled it explicitly; a server with defaults opens no metrics port.
    const port = await freePort();
    const plain = await ServerProcess.start({ databaseUrl, env: { SPIDER_STORAGE_RUNTIME__METRICS__PORT: String(port) } });
    try {
      await waitFor("the port", () => plain.logs.includes("listening (not serving yet)"), { timeoutMs: 20_000 });
      await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
      expect(plain.logs).not.toContain("metrics endpoint listening");
    } finally {
      await plain.kill();
    }
  });
});
