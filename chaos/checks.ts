/**
 * The checks after a chaos phase, as counts (nothing here throws on a
 * finding): every acknowledged job in the state its history allows, with the
 * oracle's outputs.
 *
 * - `lost`: an acknowledged job the server does not know, or back in Ready
 *   after its start was acknowledged;
 * - `wrong`: a terminal state the job's history does not allow, outputs that
 *   are not the oracle's (for salted jobs: not from one acknowledged execution
 *   per task, consistently for its consumers), a Failed job without its
 *   doomed message, the server and the database disagreeing on a state, a
 *   Cancelled job started again, a cleanup task run for a job never
 *   cancelled (or not run for one whose cancel answered CleanupReady), a
 *   row nobody submitted knowingly that is not Ready (D16 allows only those);
 * - `stuck`: still not terminal after the drain;
 * - `committedTwice`: outputs written, or a move into Succeeded, more than
 *   once for one job — read from the database's own write audit.
 *
 * What a history allows (D4, D5): with no cancel, Succeeded (Failed for a
 * doomed job). With a cancel acknowledged, the first answer decides:
 * Cancelled or CleanupReady → Cancelled; Succeeded or Failed (the cancel came
 * late) → that state. A cancel that never got an answer allows both.
 */
import { sql } from "kysely";
import type { JobState } from "../src/core/job-state.ts";
import type { Db } from "../src/db/connection.ts";
import { decodeTaskOutputs } from "../src/core/task-outputs.ts";
import { jobStateFromProto } from "../testkit/job-state-from-proto.ts";
import { hex, oracleOutputs } from "../testkit/sim/cluster.ts";
import type { StorageClients } from "../testkit/sim/storage-clients.ts";
import { commitsPerJob, readAudit } from "../testkit/write-audit.ts";
import type { ChaosJob, ChaosWorkload } from "./chaos-workload.ts";
import { codeName } from "./chaos-workload.ts";
import { DOOMED_MESSAGE } from "./job-mix.ts";
import { outputsFromOneRunPerTask } from "../testkit/sim/one-run-per-task.ts";

export interface PhaseChecks {
  /** Jobs registered (acknowledged or not). */
  readonly registered: number;
  /** Jobs whose start (or cancel before start) was acknowledged: the ones judged. */
  readonly jobs: number;
  readonly byState: Record<string, number>;
  readonly byKind: Record<string, number>;
  readonly cancels: Record<string, number>;
  readonly lost: number;
  readonly wrong: number;
  readonly stuck: number;
  readonly committedTwice: number;
  /** Rows in the workload's resource group that no acknowledged RegisterJob named (D16). */
  readonly unknownRows: number;
  readonly deadExecutionManagers: number;
  readonly taskExecutions: number;
  /** Executions beyond the first of a task (injected failures included). */
  readonly repeatedExecutions: number;
  readonly injectedFailures: number;
  /** Commit tasks whose success was acknowledged more than once (allowed by D6/D9: commit tasks run at least once). */
  readonly commitSuccessesAckedTwice: number;
  readonly unknownRegistrations: number;
  readonly givenUpCalls: number;
  /** The first problems, one line each. */
  readonly problems: readonly string[];
}

type Verdict = { readonly verdict: "ok" | "lost" | "wrong" | "stuck"; readonly reason: string };

export interface Observed {
  /** From the server (GetJobState); undefined when it answered NOT_FOUND. */
  readonly state: JobState | undefined;
  /** From the database. */
  readonly dbState: JobState | undefined;
  readonly error: string | null;
  /** Hex outputs when Succeeded. */
  readonly outputs: readonly string[] | undefined;
}

/** What the job's history allows, and whether `observed` is it. */
export function judgeJob(job: ChaosJob, observed: Observed, salts: ReadonlyMap<string, string[]>, cleanupStarts: number): Verdict {
  const state = observed.state;
  if (state === undefined) return { verdict: "lost", reason: "the server does not know it (NOT_FOUND)" };
  if (observed.dbState !== undefined && observed.dbState !== state) return { verdict: "wrong", reason: `server says ${state}, database says ${observed.dbState}` };
  const firstAnswer = job.cancels.find((c) => c.answer !== undefined)?.answer;
  const cancelSent = job.cancels.length > 0;
  if (state === "Ready") {
    if (job.startAcked) return { verdict: "lost", reason: "Ready after its start was acknowledged" };
    if (firstAnswer !== undefined) return { verdict: "lost", reason: `Ready after CancelJob answered ${firstAnswer}` };
    return { verdict: "stuck", reason: "Ready" };
  }
  if (state === "Running" || state === "CommitReady" || state === "CleanupReady") return { verdict: "stuck", reason: state };
  if (job.startAfterCancel === "OK") return { verdict: "wrong", reason: "StartJob succeeded after an acknowledged cancel" };

  const natural: JobState = job.kind === "doomed" ? "Failed" : "Succeeded";
  let allowed: JobState[];
  if (firstAnswer === undefined) allowed = cancelSent ? [natural, "Cancelled"] : [natural];
  else if (firstAnswer === "Cancelled" || firstAnswer === "CleanupReady") allowed = ["Cancelled"];
  else if (firstAnswer === "Succeeded" || firstAnswer === "Failed") allowed = [firstAnswer];
  else return { verdict: "wrong", reason: `CancelJob answered ${firstAnswer}` };
  if (!allowed.includes(state)) return { verdict: "wrong", reason: `${state}; its history allows ${allowed.join(" or ")} (cancels: ${describeCancels(job)})` };
  // Later answers of an idempotent cancel: the state then, never a step back.
  for (const c of job.cancels) {
    if (c.answer !== undefined && firstAnswer !== undefined && !laterAnswerFits(firstAnswer, c.answer)) return { verdict: "wrong", reason: `cancel answers ${describeCancels(job)}` };
  }
  const seenBefore = job.cancels[0]?.seenBefore;
  if (firstAnswer !== undefined && job.cancelPlan === "after-terminal" && (seenBefore === "Succeeded" || seenBefore === "Failed" || seenBefore === "Cancelled") && firstAnswer !== seenBefore) {
    return { verdict: "wrong", reason: `cancel of a ${seenBefore} job answered ${firstAnswer}` };
  }

  if (!cancelSent && cleanupStarts > 0) return { verdict: "wrong", reason: `cleanup task ran ${cleanupStarts}× for a job never cancelled` };
  if (firstAnswer === "CleanupReady" && cleanupStarts === 0) return { verdict: "wrong", reason: "cancel answered CleanupReady but the cleanup task never ran" };

  if (state === "Failed" && !(observed.error ?? "").includes(DOOMED_MESSAGE)) return { verdict: "wrong", reason: `Failed with "${(observed.error ?? "").slice(0, 200)}"` };
  if (state === "Succeeded") {
    const outputs = observed.outputs ?? [];
    if (job.kind === "salted") {
      const graph = job.plan.spec.builder.build();
      const perTask = graph.tasks.map((_, t) => salts.get(`${job.id}/${t}`) ?? []);
      if (!outputsFromOneRunPerTask(graph, job.plan.spec.inputs, perTask, outputs)) return { verdict: "wrong", reason: `outputs not from one execution per task (executions: ${perTask.map((s) => s.length).join(",")})` };
    } else if (JSON.stringify(outputs) !== JSON.stringify(oracleOutputs(job.plan.spec))) {
      return { verdict: "wrong", reason: "outputs differ from the oracle's" };
    }
  }
  return { verdict: "ok", reason: "" };
}

function laterAnswerFits(first: JobState, later: JobState): boolean {
  if (first === "Cancelled") return later === "Cancelled";
  if (first === "CleanupReady") return later === "CleanupReady" || later === "Cancelled";
  return later === first;
}

function describeCancels(job: ChaosJob): string {
  return job.cancels.map((c) => c.answer ?? `(${c.error})`).join(", ") || "none";
}

export interface CheckContext {
  readonly workload: ChaosWorkload;
  readonly clients: StorageClients;
  readonly db: Db;
  readonly galera: boolean;
  /** Simulated execution managers that were told they are dead. */
  readonly simDeadExecutionManagers: number;
}

export async function checkPhase(context: CheckContext): Promise<PhaseChecks> {
  const { workload, clients, db } = context;
  const problems: string[] = [];
  const note = (line: string) => {
    if (problems.length < 60) problems.push(line);
  };
  const judged = workload.jobs.filter((job) => job.startAcked || job.cancels.some((c) => c.answer !== undefined));
  const ids = workload.jobs.map((job) => job.id);

  // The database's view: every row of the workload's resource group.
  const rows = await sql<{ id: bigint; state: JobState; error_message: string | null }>`
    SELECT id, state, error_message FROM jobs WHERE resource_group_id = ${workload.resourceGroupId}`.execute(db);
  const dbRows = new Map(rows.rows.map((r) => [BigInt(r.id), r]));

  const byState: Record<string, number> = {};
  const byKind: Record<string, number> = {};
  const cancels: Record<string, number> = {};
  let lost = 0;
  let wrong = 0;
  let stuck = 0;
  const observe = async (job: ChaosJob): Promise<Observed> => {
    const row = dbRows.get(job.id);
    let state: JobState | undefined;
    try {
      state = jobStateFromProto((await clients.jobs.getJobState({ jobId: job.id })).state);
    } catch (error) {
      if (codeName(error) !== "NOT_FOUND") throw error;
    }
    let outputs: string[] | undefined;
    if (state === "Succeeded") {
      const response = await clients.jobs.getJobOutputs({ jobId: job.id });
      outputs = decodeTaskOutputs(response.serializedOutputs, { maxOutputBytes: 1 << 30 }).map(hex);
    }
    return { state, dbState: row?.state, error: row?.error_message ?? null, outputs };
  };
  for (let i = 0; i < judged.length; i += 16) {
    const batch = judged.slice(i, i + 16);
    const observed = await Promise.all(batch.map((job) => observe(job).catch((error: unknown) => error as Error)));
    batch.forEach((job, k) => {
      const seen = observed[k]!;
      byKind[job.kind] = (byKind[job.kind] ?? 0) + 1;
      if (job.cancelPlan !== "none") {
        const landed = job.cancels.find((c) => c.answer !== undefined);
        const key = `${job.cancelPlan}${job.cancels[0]?.seenBefore ? ` (seen ${job.cancels[0].seenBefore})` : ""} → ${landed?.answer ?? "no answer"}`;
        cancels[key] = (cancels[key] ?? 0) + 1;
      }
      if (seen instanceof Error) {
        wrong++;
        note(`job ${job.id}: could not read it: ${codeName(seen)} ${seen.message.slice(0, 200)}`);
        return;
      }
      byState[seen.state ?? "missing"] = (byState[seen.state ?? "missing"] ?? 0) + 1;
      const verdict = judgeJob(job, seen, workload.salts, workload.log.starts.get(`${job.id}/cleanup`) ?? 0);
      if (verdict.verdict === "ok") return;
      if (verdict.verdict === "lost") lost++;
      if (verdict.verdict === "wrong") wrong++;
      if (verdict.verdict === "stuck") stuck++;
      note(`${verdict.verdict}: job ${job.id} (${job.kind}, ${job.plan.shape}${job.plan.commit ? ", commit" : ""}${job.plan.cleanup ? ", cleanup" : ""}, cancel ${job.cancelPlan}): ${verdict.reason}`);
    });
  }

  // D16: rows no acknowledged RegisterJob named must be Ready (never started).
  const known = new Set(ids);
  const unknownRows = rows.rows.filter((r) => !known.has(BigInt(r.id)));
  for (const r of unknownRows) {
    if (r.state !== "Ready") {
      wrong++;
      note(`wrong: job ${r.id} nobody submitted knowingly is ${r.state}`);
    }
  }

  const commits = commitsPerJob(await readAudit(db, { galera: context.galera }));
  let committedTwice = 0;
  for (const [jobId, c] of commits) {
    if (c.outputsWritten > 1 || c.succeeded > 1) {
      committedTwice++;
      note(`committed twice: job ${jobId}: outputs written ${c.outputsWritten}×, moved to Succeeded ${c.succeeded}×`);
    }
  }

  const dead = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM execution_managers WHERE state = 'Dead'`.execute(db);
  const deadExecutionManagers = Math.max(Number(dead.rows[0]?.n ?? 0), context.simDeadExecutionManagers);
  if (deadExecutionManagers > 0) note(`${deadExecutionManagers} execution manager(s) declared dead (none was ever stopped)`);

  const log = workload.log;
  let taskExecutions = 0;
  for (const n of log.starts.values()) taskExecutions += n;
  let commitSuccessesAckedTwice = 0;
  for (const job of judged) if ((log.successesReported.get(`${job.id}/commit`) ?? 0) > 1) commitSuccessesAckedTwice++;
  return {
    registered: workload.jobs.length,
    jobs: judged.length,
    byState,
    byKind,
    cancels,
    lost,
    wrong,
    stuck,
    committedTwice,
    unknownRows: unknownRows.length,
    deadExecutionManagers,
    taskExecutions,
    repeatedExecutions: log.repeatedExecutions,
    injectedFailures: workload.injectedFailures,
    commitSuccessesAckedTwice,
    unknownRegistrations: workload.unknownRegistrations,
    givenUpCalls: workload.givenUp.length,
    problems,
  };
}
