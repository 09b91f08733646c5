/**
 * A simulated Spider deployment around one storage address (or several: a
 * FailoverTarget, see failover-storage-clients.ts): a scheduler and
 * N execution managers sharing one execution log, plus client helpers to
 * submit jobs and wait for them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { decodeTaskOutputs } from "../../src/core/task-outputs.ts";
import { encodeWireFrame } from "../../src/core/wire-frame.ts";
import { compressZstd } from "../../src/core/zstd.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { jobStateFromProto } from "../job-state-from-proto.ts";
import type { JobState as CoreJobState } from "../../src/core/job-state.ts";
import { expectedJobOutputs } from "./oracle.ts";
import type { JobSpec } from "./job-shapes.ts";
import { ExecutionLog, SimulatedExecutionManager, type Behaviour } from "./simulated-execution-manager.ts";
import { retriable, SimulatedScheduler, type SimulatedSchedulerOptions } from "./simulated-scheduler.ts";
import { type StorageClients } from "./storage-clients.ts";
import { connectStorageAt, type StorageAddress } from "./failover-storage-clients.ts";
import { waitFor } from "../wait-for.ts";

export interface ClusterOptions {
  readonly executionManagers?: number;
  readonly concurrency?: number;
  readonly behaviour?: Behaviour;
  readonly heartbeatMs?: number;
  readonly scheduler?: SimulatedSchedulerOptions;
}

export class SimulatedCluster {
  readonly address: StorageAddress;
  readonly log = new ExecutionLog();
  readonly scheduler: SimulatedScheduler;
  readonly executionManagers: SimulatedExecutionManager[] = [];
  readonly clients: StorageClients;
  readonly #options: ClusterOptions;

  constructor(address: StorageAddress, options: ClusterOptions = {}) {
    this.address = address;
    this.#options = options;
    this.scheduler = new SimulatedScheduler(address, options.scheduler);
    this.clients = connectStorageAt(address);
  }

  async start(): Promise<this> {
    await this.scheduler.start();
    for (let i = 0; i < (this.#options.executionManagers ?? 4); i++) await this.addExecutionManager();
    return this;
  }

  async addExecutionManager(behaviour?: Behaviour): Promise<SimulatedExecutionManager> {
    const em = new SimulatedExecutionManager(this.address, this.scheduler, {
      log: this.log,
      concurrency: this.#options.concurrency ?? 4,
      heartbeatMs: this.#options.heartbeatMs ?? 200,
      ...((behaviour ?? this.#options.behaviour) ? { behaviour: (behaviour ?? this.#options.behaviour)! } : {}),
    });
    await em.start();
    this.executionManagers.push(em);
    return em;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.executionManagers.map((em) => em.stop()));
    await this.scheduler.stop();
    this.clients.close();
  }
}

/** Calls `fn`, retrying while the server answers UNAVAILABLE (restarting, recovering). */
export async function withRetry<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (!retriable(error) || Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

export async function addResourceGroup(clients: StorageClients, name = `rg-${Math.random().toString(36).slice(2)}`): Promise<bigint> {
  const response = await withRetry(() => clients.resourceGroups.addResourceGroup({ externalResourceGroupId: name, password: new TextEncoder().encode("secret") }));
  return response.resourceGroupId;
}

export function compressInputs(inputs: readonly Uint8Array[]): Uint8Array {
  return compressZstd(encodeWireFrame(inputs));
}

export async function registerJob(clients: StorageClients, resourceGroupId: bigint, job: JobSpec): Promise<bigint> {
  const response = await withRetry(() =>
    clients.jobs.registerJob({
      resourceGroupId,
      compressedSerializedTaskGraph: job.builder.toCompressed(),
      compressedSerializedInputs: compressInputs(job.inputs),
    }),
  );
  return response.jobId;
}

export async function submitJob(clients: StorageClients, resourceGroupId: bigint, job: JobSpec): Promise<bigint> {
  const jobId = await registerJob(clients, resourceGroupId, job);
  await withRetry(() => clients.jobs.startJob({ jobId }));
  return jobId;
}

const TERMINAL: ReadonlySet<JobState> = new Set<JobState>([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED]);

/** Polls GetJobState until every job is terminal; returns their states. */
export async function waitForJobs(clients: StorageClients, jobIds: readonly bigint[], timeoutMs = 60_000): Promise<Map<bigint, CoreJobState>> {
  const states = new Map<bigint, CoreJobState>();
  const pending = new Set(jobIds);
  await waitFor(
    () => `jobs to be terminal (not yet: ${[...pending].slice(0, 10).join(", ")}${pending.size > 10 ? "…" : ""})`,
    async () => {
      for (const jobId of [...pending]) {
        const response = await withRetry(() => clients.jobs.getJobState({ jobId }));
        if (TERMINAL.has(response.state)) {
          states.set(jobId, jobStateFromProto(response.state));
          pending.delete(jobId);
        }
      }
      return pending.size === 0;
    },
    { timeoutMs, intervalMs: 20 },
  );
  return states;
}

/** A job's outputs as hex strings (easy to compare and print). */
export async function jobOutputs(clients: StorageClients, jobId: bigint): Promise<string[]> {
  const response = await withRetry(() => clients.jobs.getJobOutputs({ jobId }));
  return decodeTaskOutputs(response.serializedOutputs, { maxOutputBytes: 1 << 30 }).map(hex);
}

/** What the job's outputs must be, as hex strings. */
export function oracleOutputs(job: JobSpec): string[] {
  return expectedJobOutputs(job.builder.build(), job.inputs).map(hex);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
