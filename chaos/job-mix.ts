/**
 * The chaos run's job mix, drawn from the seed and the job's number alone (so
 * a replay submits the same jobs in the same order whatever the timing):
 * DAG shapes with fan-out and fan-in, commit and cleanup tasks, four kinds of
 * job and six ways of cancelling one.
 *
 * Kinds:
 * - `normal`: every task succeeds; no retries allowed (a fault must never
 *   cost a retry: D6, D9), so any failure shows as a wrong state;
 * - `flaky`: task 0 fails on its first execution; two retries;
 * - `doomed`: task 0 always fails; one retry; the job must end Failed with
 *   {@link DOOMED_MESSAGE};
 * - `salted`: non-deterministic tasks — every execution of a regular task
 *   gets its own salt, so a re-run produces different outputs; the job's
 *   outputs must come from one acknowledged execution of each task,
 *   consistently for its consumers.
 *
 * Cancel plans: never; before StartJob; while Running (50-800 ms after the
 * start); while CommitReady (jobs with a slow commit task: watched until
 * CommitReady); while CleanupReady (a cancel, then another once the job is
 * CleanupReady with a slow cleanup task: CancelJob is idempotent there);
 * after the job ended (the answer must be its terminal state).
 */
import { createHash } from "node:crypto";
import { seededRandom } from "../src/core/seeded-random.ts";
import { diamond, flat, layered, singleTask, wide, type JobSpec, type ShapeOptions } from "../testkit/sim/job-shapes.ts";

export type JobKind = "normal" | "flaky" | "doomed" | "salted";
export type CancelPlan = "none" | "before-start" | "running" | "commit-ready" | "cleanup-ready" | "after-terminal";

export const DOOMED_MESSAGE = "doomed task (chaos)";
export const FLAKY_MESSAGE = "flaky first run (chaos)";

export interface PlannedJob {
  readonly n: number;
  readonly kind: JobKind;
  readonly shape: string;
  readonly spec: JobSpec;
  readonly commit: boolean;
  readonly cleanup: boolean;
  readonly cancelPlan: CancelPlan;
  /** For `running` and `cleanup-ready`: how long after the start the (first) cancel goes. */
  readonly cancelDelayMs: number;
}

/** A number in [0, 1) from the seed and some words: the same words, the same number, in any run. */
export function hashUnit(seed: number, ...words: (string | number | bigint)[]): number {
  return createHash("sha256").update(`${seed}|${words.join("|")}`).digest().readUInt32LE(0) / 2 ** 32;
}

export function planJob(seed: number, n: number): PlannedJob {
  const random = seededRandom(Math.floor(hashUnit(seed, "job", n) * 2 ** 32));
  const kindDraw = random();
  const kind: JobKind = kindDraw < 0.1 ? "doomed" : kindDraw < 0.25 ? "flaky" : kindDraw < 0.42 ? "salted" : "normal";
  const retries = kind === "flaky" ? 2 : kind === "doomed" ? 1 : 0;
  const cancelDraw = random();
  let cancelPlan: CancelPlan =
    cancelDraw < 0.04 ? "before-start" : cancelDraw < 0.12 ? "running" : cancelDraw < 0.17 ? "commit-ready" : cancelDraw < 0.22 ? "cleanup-ready" : cancelDraw < 0.27 ? "after-terminal" : "none";
  const commit = cancelPlan === "commit-ready" || random() < 0.35;
  const cleanup = cancelPlan === "cleanup-ready" || random() < 0.3;
  // A doomed job never reaches CommitReady: cancel it while Running instead.
  if (cancelPlan === "commit-ready" && kind === "doomed") cancelPlan = "running";
  const options: ShapeOptions = {
    seed: seed * 100_003 + n,
    commit,
    cleanup,
    policy: { maxNumRetry: retries },
    // Commit and cleanup tasks always succeed; a retry would only hide a fault's cost.
    commitPolicy: { maxNumRetry: 0 },
    cleanupPolicy: { maxNumRetry: 0 },
  };
  const pick = Math.floor(random() * 5);
  let spec: JobSpec;
  let shape: string;
  if (pick === 0) {
    spec = singleTask(options);
    shape = "single";
  } else if (pick === 1) {
    spec = diamond(options);
    shape = "diamond";
  } else if (pick === 2) {
    const width = 3 + Math.floor(random() * 4);
    spec = wide(width, options);
    shape = `wide(${width})`;
  } else if (pick === 3) {
    const count = 2 + Math.floor(random() * 3);
    spec = flat(count, options);
    shape = `flat(${count})`;
  } else {
    spec = layered(3, 3, 2, seededRandom(seed + n), options);
    shape = "layered(3x3)";
  }
  return { n, kind, shape, spec, commit, cleanup, cancelPlan, cancelDelayMs: 50 + Math.floor(random() * 750) };
}
