/**
 * The steady workload of a chaos phase: jobs of the seeded mix (job-mix.ts)
 * submitted one after another through the storage protocol as a careful
 * client does — UNAVAILABLE and time-outs retried; after INTERNAL (unknown
 * outcome) RegisterJob is sent again (D16: the first may have left a Ready
 * row nobody knows) and StartJob looks at the job before starting it again —
 * while at most `maxInFlight` acknowledged jobs are unfinished; the planned
 * cancels; and the execution managers' behaviour for these jobs.
 *
 * Everything a check needs is recorded per job: whether its start was
 * acknowledged, every cancel's answer (or error), the salts of every
 * execution of its salted tasks. Nothing here throws at the caller: a call
 * that cannot get through within its budget is recorded and the job judged
 * on what was acknowledged.
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import type { JobState } from "../src/core/job-state.ts";
import { JobState as ProtoJobState } from "../src/gen/storage/storage_pb.ts";
import { jobStateFromProto } from "../testkit/job-state-from-proto.ts";
import { compressInputs } from "../testkit/sim/cluster.ts";
import type { JobSpec } from "../testkit/sim/job-shapes.ts";
import type { Behaviour, ExecutionLog } from "../testkit/sim/simulated-execution-manager.ts";
import { retriable } from "../testkit/sim/simulated-scheduler.ts";
import { statusCode, type StorageClients } from "../testkit/sim/storage-clients.ts";
import { DOOMED_MESSAGE, FLAKY_MESSAGE, hashUnit, planJob, type CancelPlan, type JobKind, type PlannedJob } from "./job-mix.ts";

export interface CancelRecord {
  readonly at: number;
  /** The state CancelJob answered (OK), or undefined when it failed. */
  readonly answer: JobState | undefined;
  /** The status name of a failed attempt (INTERNAL: outcome unknown). */
  readonly error: string | undefined;
  /** The job state seen just before this cancel was sent (commit-ready / cleanup-ready plans). */
  readonly seenBefore: JobState | undefined;
}

export interface ChaosJob {
  readonly plan: PlannedJob;
  readonly id: bigint;
  readonly kind: JobKind;
  readonly cancelPlan: CancelPlan;
  readonly registeredAt: number;
  startAcked: boolean;
  /** cancel-before-start: StartJob's status after the acknowledged cancel ("OK" would be wrong). */
  startAfterCancel: string | undefined;
  readonly cancels: CancelRecord[];
  /** The terminal state last seen while the run went on. */
  terminal: JobState | undefined;
}

export interface WorkloadOptions {
  readonly seed: number;
  /** Distinguishes the phases' job numbers (and so their jobs). */
  readonly phase: number;
  readonly maxInFlight: number;
  /** Pause between submissions. */
  readonly submitIntervalMs: number;
  /** How long one call keeps being retried before it is given up (recorded). */
  readonly callBudgetMs: number;
}

const TERMINAL: ReadonlySet<JobState> = new Set<JobState>(["Succeeded", "Failed", "Cancelled"]);

export class ChaosWorkload {
  readonly jobs: ChaosJob[] = [];
  /** Every execution's salt, per task key ("jobId/index"), for the salted jobs. */
  readonly salts = new Map<string, string[]>();
  /** RegisterJob answered INTERNAL: a row nobody knows may exist (D16). */
  unknownRegistrations = 0;
  /** Calls given up after the budget (the job is then judged on what was acknowledged). */
  readonly givenUp: string[] = [];
  /** Injected task failures (flaky first runs, doomed tasks). */
  injectedFailures = 0;
  resourceGroupId = 0n;
  readonly #clients: StorageClients;
  readonly #log: ExecutionLog;
  readonly #options: WorkloadOptions;
  readonly #byId = new Map<bigint, ChaosJob>();
  readonly #background = new Set<Promise<void>>();
  #next = 0;
  #submitting = false;
  #submitLoop: Promise<void> | undefined;
  #watchLoop: Promise<void> | undefined;
  #watching = false;
  #saltCounter = 0;

  constructor(clients: StorageClients, log: ExecutionLog, options: WorkloadOptions) {
    this.#clients = clients;
    this.#log = log;
    this.#options = options;
  }

  /** What the simulated execution managers do with this workload's tasks. */
  readonly behaviour: Behaviour = (context) => {
    const job = this.#byId.get(context.jobId);
    const task = context.key.slice(context.key.indexOf("/") + 1);
    const delay = (lo: number, hi: number) => lo + Math.floor(hashUnit(this.#options.seed, "delay", context.key, context.attempt) * (hi - lo));
    if (task === "commit") return { kind: "succeed", delayMs: job?.cancelPlan === "commit-ready" ? 1_500 : delay(20, 200) };
    if (task === "cleanup") return { kind: "succeed", delayMs: job?.cancelPlan === "cleanup-ready" ? 1_200 : delay(20, 200) };
    const delayMs = delay(20, 300);
    if (job?.kind === "doomed" && task === "0") {
      this.injectedFailures++;
      return { kind: "fail", message: DOOMED_MESSAGE, delayMs };
    }
    if (job?.kind === "flaky" && task === "0" && context.attempt === 0) {
      this.injectedFailures++;
      return { kind: "fail", message: FLAKY_MESSAGE, delayMs };
    }
    if (job?.kind === "salted") {
      const salt = `${context.key}#${context.attempt}#${this.#saltCounter++}`;
      const list = this.salts.get(context.key) ?? [];
      list.push(salt);
      this.salts.set(context.key, list);
      return { kind: "succeed", salt, delayMs };
    }
    return { kind: "succeed", delayMs };
  };

  get log(): ExecutionLog {
    return this.#log;
  }

  /** Acknowledged jobs not yet seen terminal. */
  get inFlight(): number {
    let n = 0;
    for (const job of this.jobs) if (this.#acknowledged(job) && job.terminal === undefined) n++;
    return n;
  }

  async start(): Promise<void> {
    const response = await this.#retrying("AddResourceGroup", () =>
      this.#clients.resourceGroups.addResourceGroup({
        externalResourceGroupId: `chaos-${this.#options.seed}-${this.#options.phase}`,
        password: new TextEncoder().encode("chaos"),
      }),
    );
    if (response === undefined || typeof response === "symbol") throw new Error("could not create the workload's resource group");
    this.resourceGroupId = response.resourceGroupId;
    this.#submitting = true;
    this.#watching = true;
    this.#submitLoop = this.#submitForever();
    this.#watchLoop = this.#watchForever();
  }

  /** Stops submitting (the jobs in flight and the planned cancels go on). */
  async stopSubmitting(): Promise<void> {
    this.#submitting = false;
    await this.#submitLoop;
  }

  /**
   * Waits until every planned cancel is done and every acknowledged job is
   * seen terminal, or `timeoutMs` passes. Returns the jobs still unfinished.
   */
  async drain(timeoutMs: number): Promise<ChaosJob[]> {
    await this.stopSubmitting();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const unfinished = this.jobs.filter((job) => this.#acknowledged(job) && job.terminal === undefined);
      if ((unfinished.length === 0 && this.#background.size === 0) || Date.now() > deadline) {
        this.#watching = false;
        await this.#watchLoop;
        return unfinished;
      }
      await sleep(250);
    }
  }

  /** Stops everything at once (on an error). */
  async abort(): Promise<void> {
    this.#submitting = false;
    this.#watching = false;
    await Promise.allSettled([this.#submitLoop, this.#watchLoop]);
  }

  /** A job counts once its start (or, for cancel-before-start, its cancel) was acknowledged. */
  #acknowledged(job: ChaosJob): boolean {
    return job.startAcked || job.cancels.some((c) => c.answer !== undefined);
  }

  async #submitForever(): Promise<void> {
    while (this.#submitting) {
      if (this.inFlight >= this.#options.maxInFlight) {
        await sleep(50);
        continue;
      }
      await this.#submitOne().catch((error: unknown) => this.givenUp.push(`submission: ${(error as Error).message}`));
      await sleep(this.#options.submitIntervalMs);
    }
  }

  async #submitOne(): Promise<void> {
    const plan = planJob(this.#options.seed, this.#options.phase * 1_000_000 + this.#next++);
    const id = await this.#register(plan.spec);
    if (id === undefined) return;
    const job: ChaosJob = { plan, id, kind: plan.kind, cancelPlan: plan.cancelPlan, registeredAt: Date.now(), startAcked: false, startAfterCancel: undefined, cancels: [], terminal: undefined };
    this.#byId.set(id, job);
    this.jobs.push(job);
    if (plan.cancelPlan === "before-start") {
      await this.#cancel(job);
      try {
        await this.#clients.jobs.startJob({ jobId: id });
        job.startAfterCancel = "OK";
      } catch (error) {
        job.startAfterCancel = codeName(error);
      }
      return;
    }
    await this.#start(job);
    if (job.startAcked && plan.cancelPlan !== "none") this.#inBackground(this.#cancelLater(job));
  }

  async #register(spec: JobSpec): Promise<bigint | undefined> {
    const request = { resourceGroupId: this.resourceGroupId, compressedSerializedTaskGraph: spec.builder.toCompressed(), compressedSerializedInputs: compressInputs(spec.inputs) };
    for (let attempt = 0; attempt < 20; attempt++) {
      // (The failover clients send it again after UNAVAILABLE or a time-out; one written by a killed server leaves a Ready row nobody knows.)
      const answer = await this.#retrying("RegisterJob", () => this.#clients.jobs.registerJob(request));
      if (answer === undefined) return undefined;
      if (typeof answer !== "symbol") return answer.jobId;
      this.unknownRegistrations++;
    }
    return undefined;
  }

  async #start(job: ChaosJob): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const answer = await this.#retrying("StartJob", () => this.#clients.jobs.startJob({ jobId: job.id }), [grpc.status.FAILED_PRECONDITION]);
      if (answer === undefined) return; // given up: the job counts only if it is seen running later
      if (answer !== INTERNAL_ANSWER && answer !== PRECONDITION_ANSWER) {
        job.startAcked = true;
        return;
      }
      // Unknown outcome, or a retry of a start that did happen: look before starting again.
      const state = await this.#state(job.id);
      if (state !== undefined && state !== "Ready") {
        job.startAcked = true;
        return;
      }
    }
  }

  async #cancelLater(job: ChaosJob): Promise<void> {
    switch (job.cancelPlan) {
      case "running":
        await sleep(job.plan.cancelDelayMs);
        await this.#cancel(job);
        return;
      case "commit-ready": {
        const seen = await this.#watchUntil(job, (s) => s === "CommitReady" || TERMINAL.has(s), 40, 120_000);
        await this.#cancel(job, seen);
        return;
      }
      case "cleanup-ready": {
        await sleep(job.plan.cancelDelayMs);
        const first = await this.#cancel(job);
        if (first !== "CleanupReady") return;
        // Again while CleanupReady (the cleanup task takes 1.2 s): idempotent, answers CleanupReady (or Cancelled once the cleanup is done).
        await sleep(100);
        const seen = await this.#state(job.id);
        await this.#cancel(job, seen);
        return;
      }
      case "after-terminal": {
        const seen = await this.#watchUntil(job, (s) => TERMINAL.has(s), 250, 600_000);
        await this.#cancel(job, seen);
        return;
      }
      default:
        return;
    }
  }

  /** CancelJob until an answer comes (it is idempotent, so an unknown outcome is simply asked again). */
  async #cancel(job: ChaosJob, seenBefore?: JobState): Promise<JobState | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      let error: string | undefined;
      const answer = await this.#retrying("CancelJob", () => this.#clients.jobs.cancelJob({ jobId: job.id }), [], (e) => (error = codeName(e)));
      if (answer === undefined) {
        job.cancels.push({ at: Date.now(), answer: undefined, error: error ?? "given up", seenBefore });
        return undefined;
      }
      if (answer === INTERNAL_ANSWER || answer === PRECONDITION_ANSWER) {
        job.cancels.push({ at: Date.now(), answer: undefined, error: "INTERNAL", seenBefore });
        continue;
      }
      const state = jobStateFromProto(answer.state);
      job.cancels.push({ at: Date.now(), answer: state, error: undefined, seenBefore });
      return state;
    }
    return undefined;
  }

  async #watchUntil(job: ChaosJob, done: (state: JobState) => boolean, intervalMs: number, timeoutMs: number): Promise<JobState | undefined> {
    const deadline = Date.now() + timeoutMs;
    let state: JobState | undefined;
    while (Date.now() < deadline && (this.#submitting || this.#watching)) {
      state = await this.#state(job.id);
      if (state !== undefined && done(state)) return state;
      await sleep(intervalMs);
    }
    return state;
  }

  async #state(jobId: bigint): Promise<JobState | undefined> {
    const answer = await this.#retrying("GetJobState", () => this.#clients.jobs.getJobState({ jobId }));
    return answer === undefined || answer === INTERNAL_ANSWER || answer === PRECONDITION_ANSWER ? undefined : jobStateFromProto(answer.state);
  }

  /** Every second: the states of the acknowledged jobs not yet seen terminal. */
  async #watchForever(): Promise<void> {
    while (this.#watching) {
      const open = this.jobs.filter((job) => job.terminal === undefined && this.#acknowledged(job));
      for (let i = 0; i < open.length && this.#watching; i += 16) {
        await Promise.all(
          open.slice(i, i + 16).map(async (job) => {
            try {
              const { state } = await this.#clients.jobs.getJobState({ jobId: job.id }, { deadlineMs: 3_000 });
              if (state === ProtoJobState.SUCCEEDED || state === ProtoJobState.FAILED || state === ProtoJobState.CANCELLED) job.terminal = jobStateFromProto(state);
            } catch {
              // The server is down or busy: next round.
            }
          }),
        );
      }
      await sleep(1_000);
    }
  }

  #inBackground(task: Promise<void>): void {
    const tracked = task.catch((error: unknown) => {
      this.givenUp.push(`background: ${(error as Error).message}`);
    });
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  /**
   * Calls `fn` until it answers, retrying what Spider's clients retry
   * (UNAVAILABLE, time-outs) for the call budget. INTERNAL (and any code in
   * `asAnswers` as FAILED_PRECONDITION) comes back as a marker for the caller
   * to handle; anything else, or the budget spent, is recorded and gives undefined.
   */
  async #retrying<T>(
    what: string,
    fn: () => Promise<T>,
    asAnswers: readonly number[] = [],
    onError?: (error: unknown) => void,
  ): Promise<T | typeof INTERNAL_ANSWER | typeof PRECONDITION_ANSWER | undefined> {
    const deadline = Date.now() + this.#options.callBudgetMs;
    for (;;) {
      try {
        return await fn();
      } catch (error) {
        onError?.(error);
        const code = statusCode(error);
        if (code === grpc.status.INTERNAL) return INTERNAL_ANSWER;
        if (code !== undefined && asAnswers.includes(code)) return PRECONDITION_ANSWER;
        if (!retriable(error) || Date.now() > deadline) {
          this.givenUp.push(`${what}: ${codeName(error)} ${(error as Error).message.slice(0, 200)}`);
          return undefined;
        }
        await sleep(100);
      }
    }
  }
}

const INTERNAL_ANSWER = Symbol("INTERNAL");
const PRECONDITION_ANSWER = Symbol("FAILED_PRECONDITION");

export function codeName(error: unknown): string {
  const code = statusCode(error);
  return code === undefined ? "no status" : (grpc.status[code] ?? String(code));
}
