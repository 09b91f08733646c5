/**
 * The chaos run's oracle (chaos/checks.ts `judgeJob`) on made-up histories:
 * it must count what the run claims to count — a job in a state its history
 * does not allow is wrong, an acknowledged job the server forgot is lost, a
 * non-terminal one is stuck, outputs that mix two executions of a salted task
 * are wrong — so that "0 lost, 0 wrong" in bench/results/chaos.json means
 * something. No server here: the job mix is drawn from a seed.
 */
import { describe, expect, it } from "vitest";
import type { JobState } from "../../src/core/job-state.ts";
import type { ChaosJob, CancelRecord } from "../../chaos/chaos-workload.ts";
import { judgeJob, type Observed } from "../../chaos/checks.ts";
import { DOOMED_MESSAGE, planJob, type JobKind, type PlannedJob } from "../../chaos/job-mix.ts";
import { hex, oracleOutputs } from "../../testkit/sim/cluster.ts";
import { expectedJobOutputs, runTaskFunction } from "../../testkit/sim/oracle.ts";

/** The first planned job of `kind` (seed 1), with a history. */
function jobOf(kind: JobKind, history: { startAcked?: boolean; cancels?: (JobState | "INTERNAL")[]; seenBefore?: JobState; id?: bigint } = {}, filter: (plan: PlannedJob) => boolean = () => true): ChaosJob {
  let plan: PlannedJob | undefined;
  for (let n = 0; plan === undefined; n++) {
    const candidate = planJob(1, n);
    if (candidate.kind === kind && filter(candidate)) plan = candidate;
  }
  const cancels: CancelRecord[] = (history.cancels ?? []).map((c, i) => ({
    at: i,
    answer: c === "INTERNAL" ? undefined : c,
    error: c === "INTERNAL" ? "INTERNAL" : undefined,
    seenBefore: i === 0 ? history.seenBefore : undefined,
  }));
  return {
    plan,
    id: history.id ?? 7n,
    kind,
    cancelPlan: cancels.length > 0 ? "running" : "none",
    registeredAt: 0,
    startAcked: history.startAcked ?? true,
    startAfterCancel: undefined,
    cancels,
    terminal: undefined,
  };
}

function seen(state: JobState | undefined, job: ChaosJob, extra: Partial<Observed> = {}): Observed {
  return { state, dbState: state, error: state === "Failed" ? `task failed: ${DOOMED_MESSAGE}` : null, outputs: state === "Succeeded" ? oracleOutputs(job.plan.spec) : undefined, ...extra };
}

const NO_SALTS = new Map<string, string[]>();

describe("chaos oracle (judgeJob)", () => {
  it("accepts what each history allows", () => {
    const normal = jobOf("normal");
    expect(judgeJob(normal, seen("Succeeded", normal), NO_SALTS, 0).verdict).toBe("ok");
    const doomed = jobOf("doomed");
    expect(judgeJob(doomed, seen("Failed", doomed), NO_SALTS, 0).verdict).toBe("ok");
    const cancelled = jobOf("normal", { cancels: ["Cancelled"] });
    expect(judgeJob(cancelled, seen("Cancelled", cancelled), NO_SALTS, 0).verdict).toBe("ok");
    const late = jobOf("normal", { cancels: ["Succeeded"] });
    expect(judgeJob(late, seen("Succeeded", late), NO_SALTS, 0).verdict).toBe("ok");
    const cleanup = jobOf("normal", { cancels: ["CleanupReady", "CleanupReady"] }, (p) => p.cleanup);
    expect(judgeJob(cleanup, seen("Cancelled", cleanup), NO_SALTS, 1).verdict).toBe("ok");
    const unknown = jobOf("normal", { cancels: ["INTERNAL", "INTERNAL"] });
    expect(judgeJob(unknown, seen("Succeeded", unknown), NO_SALTS, 0).verdict).toBe("ok");
    expect(judgeJob(unknown, seen("Cancelled", unknown), NO_SALTS, 0).verdict).toBe("ok");
  });

  it("counts a state the history does not allow as wrong", () => {
    const normal = jobOf("normal");
    expect(judgeJob(normal, seen("Failed", normal), NO_SALTS, 0)).toMatchObject({ verdict: "wrong" }); // a fault cost a retry
    expect(judgeJob(normal, seen("Cancelled", normal), NO_SALTS, 0)).toMatchObject({ verdict: "wrong" }); // nobody cancelled it
    const cancelled = jobOf("normal", { cancels: ["Cancelled"] });
    expect(judgeJob(cancelled, seen("Succeeded", cancelled), NO_SALTS, 0)).toMatchObject({ verdict: "wrong" }); // committed after an acknowledged cancel
    const late = jobOf("doomed", { cancels: ["Failed"] });
    expect(judgeJob(late, seen("Cancelled", late), NO_SALTS, 0)).toMatchObject({ verdict: "wrong" });
    const stepBack = jobOf("normal", { cancels: ["Cancelled", "CleanupReady"] });
    expect(judgeJob(stepBack, seen("Cancelled", stepBack), NO_SALTS, 0)).toMatchObject({ verdict: "wrong" });
    const noCleanup = jobOf("normal", { cancels: ["CleanupReady"] }, (p) => p.cleanup);
    expect(judgeJob(noCleanup, seen("Cancelled", noCleanup), NO_SALTS, 0)).toMatchObject({ verdict: "wrong" }); // the cleanup never ran
    expect(judgeJob(normal, seen("Succeeded", normal), NO_SALTS, 1)).toMatchObject({ verdict: "wrong" }); // cleanup run for a job never cancelled
    const doomed = jobOf("doomed");
    expect(judgeJob(doomed, seen("Failed", doomed, { error: "some other failure" }), NO_SALTS, 0)).toMatchObject({ verdict: "wrong" });
    expect(judgeJob(normal, seen("Succeeded", normal, { dbState: "Running" }), NO_SALTS, 0)).toMatchObject({ verdict: "wrong" }); // cache and database disagree
    const outputs = [...oracleOutputs(normal.plan.spec)];
    outputs[0] = "00";
    expect(judgeJob(normal, seen("Succeeded", normal, { outputs }), NO_SALTS, 0)).toMatchObject({ verdict: "wrong" });
  });

  it("counts a forgotten job as lost and an unfinished one as stuck", () => {
    const normal = jobOf("normal");
    expect(judgeJob(normal, seen(undefined, normal), NO_SALTS, 0).verdict).toBe("lost");
    expect(judgeJob(normal, seen("Ready", normal), NO_SALTS, 0).verdict).toBe("lost"); // its start was acknowledged
    const cancelledFirst = jobOf("normal", { startAcked: false, cancels: ["Cancelled"] });
    expect(judgeJob(cancelledFirst, seen("Ready", cancelledFirst), NO_SALTS, 0).verdict).toBe("lost");
    expect(judgeJob(normal, seen("Running", normal), NO_SALTS, 0).verdict).toBe("stuck");
    expect(judgeJob(normal, seen("CommitReady", normal), NO_SALTS, 0).verdict).toBe("stuck");
  });

  it("accepts a salted job's outputs from one execution per task, and not a mix of two", () => {
    const job = jobOf("salted", {}, (p) => p.shape === "diamond");
    const graph = job.plan.spec.builder.build();
    // Task 0 ran twice (salts a, b); every other task once.
    const salts = new Map<string, string[]>(graph.tasks.map((_, t) => [`${job.id}/${t}`, t === 0 ? ["a", "b"] : [`s${t}`]]));
    const run = (pick: string) => (taskFunc: string, inputs: readonly Uint8Array[], count: number) => {
      const index = graph.tasks.findIndex((task) => task.tdlContext.taskFunc === taskFunc);
      return runTaskFunction(taskFunc, inputs, count, index === 0 ? pick : `s${index}`);
    };
    const fromB = expectedJobOutputs(graph, job.plan.spec.inputs, run("b")).map(hex);
    expect(judgeJob(job, seen("Succeeded", job, { outputs: fromB }), salts, 0).verdict).toBe("ok");
    // Task 1 read run a of task 0, task 2 read run b: the diamond's join mixes two executions.
    const mixedTask0 = [runTaskFunction(graph.tasks[0]!.tdlContext.taskFunc, job.plan.spec.inputs.slice(0, 1), 2, "a")[0]!, runTaskFunction(graph.tasks[0]!.tdlContext.taskFunc, job.plan.spec.inputs.slice(0, 1), 2, "b")[1]!];
    const b = runTaskFunction(graph.tasks[1]!.tdlContext.taskFunc, [mixedTask0[0]!], 1, "s1")[0]!;
    const c = runTaskFunction(graph.tasks[2]!.tdlContext.taskFunc, [mixedTask0[1]!], 1, "s2")[0]!;
    const mixed = [hex(runTaskFunction(graph.tasks[3]!.tdlContext.taskFunc, [b, c], 1, "s3")[0]!)];
    expect(judgeJob(job, seen("Succeeded", job, { outputs: mixed }), salts, 0).verdict).toBe("wrong");
  });
});
