/**
 * What every spider-storage workload shares: a fresh database on the bench's
 * durable MariaDB, the real server as a child process (`node src/cli/main.ts
 * serve`, D1), the simulated scheduler and execution managers over real gRPC
 * on loopback, and hooks that timestamp what those components see without
 * changing what they do.
 */
import type { PrivateMariaDb } from "../../testkit/mariadb.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import type { Assignment } from "../../testkit/sim/simulated-scheduler.ts";

export interface SpiderServerHandle {
  readonly server: ServerProcess;
  readonly databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * W2's big jobs (10 000 tasks, 10 × 1 000 with 25 000 edges) are above the
 * default graph limits, which are sized for the event loop (issue 17); the
 * benchmark raises them, as an operator running such jobs would.
 */
const BIG_GRAPH_LIMITS = {
  SPIDER_STORAGE_RUNTIME__LIMITS__MAX_TASKS_PER_JOB: "1000000",
  SPIDER_STORAGE_RUNTIME__LIMITS__MAX_DEPENDENCIES_PER_JOB: "50000000",
  SPIDER_STORAGE_RUNTIME__LIMITS__MAX_TASK_GRAPH_VALUES: "100000000",
  SPIDER_STORAGE_RUNTIME__LIMITS__MAX_TASK_GRAPH_BYTES: String(64 * 1024 * 1024),
};

/**
 * The server's environment: quiet logs (the bench measures the service, not
 * its log volume), and with `--cpu-prof` a V8 CPU profile of each server
 * process written to BENCH_CPU_PROF_DIR when it exits.
 */
export function serverEnv(): Record<string, string> {
  const dir = process.env["BENCH_CPU_PROF_DIR"];
  return { SPIDER_STORAGE_LOG_LEVEL: "warn", ...BIG_GRAPH_LIMITS, ...(dir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } : {}) };
}

export async function startSpiderServer(mariadb: PrivateMariaDb, database: string, options: { env?: Record<string, string>; args?: string[] } = {}): Promise<SpiderServerHandle> {
  const databaseUrl = await mariadb.createDatabase(database);
  const server = await ServerProcess.start({ databaseUrl, env: { ...serverEnv(), ...options.env }, ...(options.args ? { args: options.args } : {}) });
  try {
    await server.waitServing(120_000);
  } catch (error) {
    await server.kill();
    throw error;
  }
  return {
    server,
    databaseUrl,
    stop: async () => {
      const result = await server.stop(20_000);
      if (result.code !== 0 && result.signal !== null) {
        // A server that needed SIGKILL to stop is worth a note, not a crash of the bench.
        process.stderr.write(`spider-storage server stopped with ${result.signal ?? result.code}\n`);
      }
    },
  };
}

export interface ClusterShape {
  readonly executionManagers: number;
  readonly concurrencyPerManager: number;
  readonly pollWaitMs: number;
  readonly maxItems: number;
}

/** 4 EMs × 4 = 16 tasks at once, the same worker concurrency the peers get (D17). */
export const DEFAULT_CLUSTER: ClusterShape = { executionManagers: 4, concurrencyPerManager: 4, pollWaitMs: 100, maxItems: 64 };

export async function startCluster(address: string, shape: ClusterShape = DEFAULT_CLUSTER): Promise<SimulatedCluster> {
  const cluster = new SimulatedCluster(address, {
    executionManagers: shape.executionManagers,
    concurrency: shape.concurrencyPerManager,
    heartbeatMs: 1_000,
    scheduler: { pollWaitMs: shape.pollWaitMs, maxItems: shape.maxItems },
  });
  return cluster.start();
}

type TaskIdLike = Assignment["taskId"];

export interface ReportEvent {
  readonly jobId: bigint;
  readonly taskId: TaskIdLike;
  readonly at: number;
}

/**
 * Wraps every execution manager's ReportTaskSuccess: `onIssued` just before the
 * call leaves, `onAcked` when the server answered OK (the job's state change
 * is then committed: a one-task job is Succeeded).
 */
export function hookReports(cluster: SimulatedCluster, hooks: { onIssued?: (e: ReportEvent) => void; onAcked?: (e: ReportEvent) => void }): void {
  for (const em of cluster.executionManagers) {
    const tasks = em.clients.tasks as { reportTaskSuccess: (request: { jobId: bigint; taskId: TaskIdLike }, options?: unknown) => Promise<unknown> };
    const original = tasks.reportTaskSuccess.bind(tasks);
    tasks.reportTaskSuccess = (request, options) => {
      hooks.onIssued?.({ jobId: request.jobId, taskId: request.taskId, at: performance.now() });
      return original(request, options).then((response) => {
        hooks.onAcked?.({ jobId: request.jobId, taskId: request.taskId, at: performance.now() });
        return response;
      });
    };
  }
}

export interface PollCounters {
  polls: number;
  nonEmptyPolls: number;
  tasks: number;
}

/** Wraps the scheduler's ready-lane poll: counts calls and timestamps each task's receipt. */
export function hookPolls(cluster: SimulatedCluster, onTask?: (jobId: bigint, taskId: TaskIdLike, at: number) => void): PollCounters {
  const counters: PollCounters = { polls: 0, nonEmptyPolls: 0, tasks: 0 };
  const queue = cluster.scheduler.clients.queue as unknown as Record<string, (request: unknown, options?: unknown) => Promise<{ tasks?: { tasks: { jobId: bigint; taskId?: TaskIdLike }[] } }>>;
  const original = queue["pollReadyTasks"]!.bind(queue);
  queue["pollReadyTasks"] = (request, options) =>
    original(request, options).then((response) => {
      const at = performance.now();
      const tasks = response.tasks?.tasks ?? [];
      counters.polls++;
      if (tasks.length > 0) counters.nonEmptyPolls++;
      counters.tasks += tasks.length;
      if (onTask) for (const task of tasks) onTask(task.jobId, task.taskId!, at);
      return response;
    });
  return counters;
}

export function taskIndexOf(taskId: TaskIdLike): number | undefined {
  return taskId.kind.case === "index" ? Number(taskId.kind.value) : undefined;
}
