/**
 * The leader fence on one MariaDB (issue 19, DECISIONS D3): with no fence a Db
 * writes as it always did; fenced at the current epoch every fenced operation
 * writes (the fast path still in one round trip) and bumps its stripe; after
 * another server's takeover (advanceFence to a newer epoch) every fenced write
 * of the old holder fails with FencedError and changes nothing — one in flight
 * when the takeover runs commits first while the takeover waits, one that
 * reaches its stripe during the takeover waits and is then refused.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyWriteFailure, StorageError } from "../../src/core/errors.ts";
import { createDb, type Db } from "../../src/db/connection.ts";
import { writeCheckpoints, type CheckpointEntry } from "../../src/db/checkpoints/writeCheckpoints.ts";
import { markExecutionManagerDead } from "../../src/db/execution-managers/markExecutionManagerDead.ts";
import { reapDeadExecutionManagers } from "../../src/db/execution-managers/reapDeadExecutionManagers.ts";
import { registerExecutionManager } from "../../src/db/execution-managers/registerExecutionManager.ts";
import { advanceFence } from "../../src/db/fence/advanceFence.ts";
import { FENCE_STRIPES, fenceStripeOfJob } from "../../src/db/fence/fence-stripes.ts";
import { FencedError, isFencedError } from "../../src/db/fence/fenced-error.ts";
import { carryWriteFence, setWriteFence, writeFenceOf } from "../../src/db/fence/write-fence.ts";
import { cancelJob } from "../../src/db/jobs/cancelJob.ts";
import { commitJobOutputs } from "../../src/db/jobs/commitJobOutputs.ts";
import { failJob } from "../../src/db/jobs/failJob.ts";
import { finishCleanup } from "../../src/db/jobs/finishCleanup.ts";
import { getJobState } from "../../src/db/jobs/getJobState.ts";
import { quarantineJob } from "../../src/db/jobs/quarantineJob.ts";
import { restoreJobOutputs } from "../../src/db/jobs/restoreJobOutputs.ts";
import { retryFailedJob } from "../../src/db/jobs/retryFailedJob.ts";
import { startJob } from "../../src/db/jobs/startJob.ts";
import { succeedCommittedJob } from "../../src/db/jobs/succeedCommittedJob.ts";
import { transitionJob } from "../../src/db/jobs/transitionJob.ts";
import { addRetryListener, type RetryListener } from "../../src/db/retry-policy.ts";
import { withTransaction } from "../../src/db/transaction.ts";
import { migratedDb, OUTPUTS, seedJob, seedResourceGroup } from "./db-fixture.ts";
import { expectStorageError } from "./expect-storage-error.ts";
import { StatementTap } from "./statement-tap.ts";
import { deleteCheckpointsOfTasks } from "../../src/db/checkpoints/deleteCheckpointsOfTasks.ts";

/** More than one statement's worth of rows (writeCheckpoints splits at 1000). */
const manyCheckpoints = (jobId: bigint): CheckpointEntry[] =>
  Array.from({ length: 1001 }, (_, taskIndex) => ({ jobId, taskIndex, outputs: Uint8Array.of(taskIndex & 0xff) }));

describe("leader fence", () => {
  let plain: Db; // unfenced: seeds and reads
  let old: Db; // the server that will be deposed
  let next: Db; // the server that takes over
  let rg: bigint;
  let epoch = 0n;
  const tap = new StatementTap();
  const retries: Parameters<RetryListener>[0][] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    let url: string;
    ({ url, db: plain } = await migratedDb("fence"));
    rg = await seedResourceGroup(plain);
    old = createDb({ url, maxConnections: 4, wrapPool: (pool) => tap.wrap(pool) });
    next = createDb({ url, maxConnections: 4 });
    unsubscribe = addRetryListener((info) => retries.push(info));
  });
  afterAll(async () => {
    unsubscribe?.();
    await old?.destroy();
    await next?.destroy();
    await plain?.destroy();
  });

  /** `db` takes over as another server's lease code would: a newer epoch in every stripe, then writes under it. */
  async function takeOver(db: Db): Promise<bigint> {
    epoch += 1n;
    const taken = epoch;
    await withTransaction(db, (trx) => advanceFence(trx, taken), { operation: "takeover" });
    setWriteFence(db, taken);
    return taken;
  }

  const fenceRows = () => plain.selectFrom("leader_fence").selectAll().orderBy("stripe").execute();
  const totalWrites = async () => (await fenceRows()).reduce((sum, row) => sum + row.writes, 0n);
  const stripeWrites = async (stripe: number) =>
    (await plain.selectFrom("leader_fence").select("writes").where("stripe", "=", stripe).executeTakeFirstOrThrow()).writes;

  async function staleManager(): Promise<bigint> {
    const id = await registerExecutionManager(plain, "10.0.0.1");
    await sql`UPDATE execution_managers SET last_heartbeat_at = CURRENT_TIMESTAMP(3) - INTERVAL 60 SECOND WHERE id = ${id}`.execute(plain);
    return id;
  }

  async function succeededWithoutOutputs(): Promise<bigint> {
    const id = await seedJob(plain, rg, "Succeeded");
    await plain.updateTable("jobs").set({ serialized_job_outputs: null }).where("id", "=", id).execute();
    return id;
  }

  /** Everything a fenced write could change. */
  async function snapshot() {
    return {
      jobs: await plain.selectFrom("jobs").selectAll().orderBy("id").execute(),
      checkpoints: await plain.selectFrom("task_checkpoints").select(["job_id", "task_index"]).orderBy("job_id").orderBy("task_index").execute(),
      managers: await plain.selectFrom("execution_managers").select(["id", "state", "death_confirmed_at"]).orderBy("id").execute(),
      fence: await fenceRows(),
    };
  }

  it("the migration seeds FENCE_STRIPES stripes at epoch 0", async () => {
    const rows = await fenceRows();
    expect(rows).toEqual(Array.from({ length: FENCE_STRIPES }, (_, stripe) => ({ stripe, epoch: 0n, writes: 0n })));
    expect(writeFenceOf(old)).toBeUndefined();
  });

  it("without a fence, a write is the plain conditional UPDATE and the fence is not touched", async () => {
    const job = await seedJob(plain, rg, "Ready");
    const before = await totalWrites();
    await getJobState(old, job); // a warm pool: no connection set-up among the counted statements
    tap.statements.length = 0;
    await startJob(old, job);
    expect(tap.statements).toHaveLength(1);
    expect(tap.statements[0]).not.toMatch(/leader_fence/);
    await writeCheckpoints(old, [{ jobId: job, taskIndex: 0, outputs: OUTPUTS }]);
    await cancelJob(old, job, false);
    expect(await totalWrites()).toBe(before);
  });

  describe("fenced at the current epoch", () => {
    let current: bigint;
    beforeAll(async () => {
      current = await takeOver(old);
    });

    it("a fast-path transition is still one round trip: the UPDATE joined to the job's stripe", async () => {
      const job = await seedJob(plain, rg, "Ready");
      // A warm pool: no connection set-up among the counted statements.
      await getJobState(old, job);
      const before = await stripeWrites(fenceStripeOfJob(job));
      tap.statements.length = 0;
      expect(await startJob(old, job)).toEqual({ from: "Ready", to: "Running" });
      expect(tap.statements).toHaveLength(1);
      expect(tap.statements[0]).toMatch(/^update `jobs`, `leader_fence` set .*`writes` = writes \+ 1/);
      expect(await stripeWrites(fenceStripeOfJob(job))).toBe(before + 1n);
      expect(writeFenceOf(old)).toBe(current);
    });

    it("every fenced operation writes, each bumping one stripe once", async () => {
      const ready = await seedJob(plain, rg, "Ready");
      const running = await seedJob(plain, rg, "Running");
      const toCommit = await seedJob(plain, rg, "Running");
      const toFail = await seedJob(plain, rg, "Running");
      const toCancel = await seedJob(plain, rg, "Running");
      const byOperator = await seedJob(plain, rg, "CommitReady");
      const restorable = await succeededWithoutOutputs();
      const dead = await staleManager();
      const released = await registerExecutionManager(plain, "10.0.0.2");
      const before = await totalWrites();

      await startJob(old, ready);
      await commitJobOutputs(old, running, OUTPUTS, false);
      await commitJobOutputs(old, toCommit, OUTPUTS, true);
      await succeedCommittedJob(old, toCommit);
      await failJob(old, toFail, "boom", "engine", ["Running"]);
      await retryFailedJob(old, toFail);
      expect(await cancelJob(old, toCancel, true)).toBe("CleanupReady");
      await finishCleanup(old, toCancel);
      // Operator moves that can start from several states take the locking path.
      expect(await failJob(old, byOperator, "by hand", "operator")).toEqual({ from: "CommitReady", to: "Failed" });
      expect((await quarantineJob(old, await seedJob(plain, rg, "Ready"), "unreadable")).to).toBe("Failed");
      expect(await restoreJobOutputs(old, restorable, OUTPUTS)).toBe(true);
      expect(await writeCheckpoints(old, [{ jobId: ready, taskIndex: 3, outputs: OUTPUTS }])).toBe(1);
      expect(await writeCheckpoints(old, manyCheckpoints(running))).toBe(1001);
      expect(await deleteCheckpointsOfTasks(old, running, [5])).toBe(1);
      expect(await reapDeadExecutionManagers(old, { staleAfterMs: 30_000 })).toEqual([dead]);
      expect(await markExecutionManagerDead(old, released)).toBe(true);

      expect(await totalWrites()).toBe(before + 16n);
      expect(await getJobState(plain, ready)).toBe("Running");
      expect(await getJobState(plain, running)).toBe("Succeeded");
      expect(await getJobState(plain, toCommit)).toBe("Succeeded");
      expect(await getJobState(plain, toFail)).toBe("Running");
      expect(await getJobState(plain, toCancel)).toBe("Cancelled");
    });

    it("writes nothing that was refused, and leaves the fence as it was: refusals are as without a fence", async () => {
      const running = await seedJob(plain, rg, "Running");
      const before = await totalWrites();
      await expectStorageError(startJob(old, running), "failed_precondition", "job in state Running, expected Ready");
      await expectStorageError(startJob(old, 987_654_321n), "not_found");
      expect(await cancelJob(old, await seedJob(plain, rg, "Succeeded"), false)).toBe("Succeeded");
      expect(await writeCheckpoints(old, [{ jobId: running, taskIndex: 0, outputs: OUTPUTS }])).toBe(1);
      expect(await writeCheckpoints(old, [{ jobId: running, taskIndex: 0, outputs: OUTPUTS }])).toBe(0);
      expect(await restoreJobOutputs(old, running, OUTPUTS)).toBe(false);
      expect(await totalWrites()).toBe(before + 1n);
    });

    it("advanceFence sets every stripe, accepts the same epoch again, and refuses an older one", async () => {
      await withTransaction(next, (trx) => advanceFence(trx, current));
      expect(new Set((await fenceRows()).map((row) => row.epoch))).toEqual(new Set([current]));
      await expectStorageError(
        withTransaction(next, (trx) => advanceFence(trx, current - 1n)),
        "internal",
        /reached 0 of 64 stripes/,
      );
      expect(new Set((await fenceRows()).map((row) => row.epoch))).toEqual(new Set([current]));
    });
  });

  describe("after another server took over", () => {
    let deposed: bigint;
    beforeAll(async () => {
      deposed = await takeOver(old);
      await takeOver(next);
    });

    async function expectFenced(write: Promise<unknown>): Promise<void> {
      const error = await expectStorageError(write, "unavailable", `this server's lease epoch ${deposed} is no longer current: another spider-storage has taken over; nothing was written`);
      expect(error).toBeInstanceOf(FencedError);
      expect(isFencedError(error)).toBe(true);
      expect((error as FencedError).fenced).toBe(true);
      expect(classifyWriteFailure(error)).toBe("unreachable");
    }

    it("every fenced write of the old holder fails fenced, unretried, and changes nothing", async () => {
      const ready = await seedJob(plain, rg, "Ready");
      const running = await seedJob(plain, rg, "Running");
      const commitReady = await seedJob(plain, rg, "CommitReady");
      const cleanupReady = await seedJob(plain, rg, "CleanupReady");
      const failed = await seedJob(plain, rg, "Failed");
      const restorable = await succeededWithoutOutputs();
      await staleManager();
      const alive = await registerExecutionManager(plain, "10.0.0.3");
      expect(await writeCheckpoints(plain, [{ jobId: running, taskIndex: 7, outputs: OUTPUTS }])).toBe(1);
      const before = await snapshot();
      retries.length = 0;

      await expectFenced(startJob(old, ready));
      await expectFenced(commitJobOutputs(old, running, OUTPUTS, true));
      await expectFenced(succeedCommittedJob(old, commitReady));
      await expectFenced(failJob(old, running, "boom", "engine", ["Running"]));
      await expectFenced(failJob(old, running, "by hand", "operator"));
      await expectFenced(finishCleanup(old, cleanupReady));
      await expectFenced(cancelJob(old, running, true));
      await expectFenced(quarantineJob(old, ready, "unreadable"));
      await expectFenced(retryFailedJob(old, failed));
      await expectFenced(transitionJob(old, running, { to: "Cancelled", by: "operator" }));
      // Deposed and wrong about the state: told it is deposed.
      await expectFenced(startJob(old, running));
      await expectFenced(restoreJobOutputs(old, restorable, OUTPUTS));
      await expectFenced(writeCheckpoints(old, [{ jobId: running, taskIndex: 0, outputs: OUTPUTS }]));
      await expectFenced(writeCheckpoints(old, manyCheckpoints(running)));
      await expectFenced(reapDeadExecutionManagers(old, { staleAfterMs: 30_000 }));
      await expectFenced(markExecutionManagerDead(old, alive));
      await expectFenced(deleteCheckpointsOfTasks(old, running, [7]));

      expect(await snapshot()).toEqual(before);
      expect(retries).toEqual([]);
    });

    it("the new holder writes under its epoch", async () => {
      const job = await seedJob(plain, rg, "Ready");
      await startJob(next, job);
      expect(await writeCheckpoints(next, [{ jobId: job, taskIndex: 0, outputs: OUTPUTS }])).toBe(1);
      expect(await getJobState(plain, job)).toBe("Running");
    });

    it("an operation joined to a transaction that carries the fence is fenced too", async () => {
      const job = await seedJob(plain, rg, "Running");
      await expectFenced(
        withTransaction(old, async (trx) => {
          expect(carryWriteFence(old, trx)).toBe(deposed);
          return transitionJob(trx, job, { to: "Failed", errorMessage: "x", expectFrom: ["Running"] });
        }),
      );
      expect(await getJobState(plain, job)).toBe("Running");
    });
  });

  it("a transaction in flight at the takeover commits first; the takeover waits for it, and nothing of the old holder commits after", async () => {
    const current = await takeOver(old);
    const job = await seedJob(plain, rg, "Running");
    const order: string[] = [];
    const held = tap.holdNextCommit();
    // Locked, fenced and written; its COMMIT held.
    const inFlight = cancelJob(old, job, false).then((state) => {
      order.push("in-flight committed");
      return state;
    });
    await held.reached;

    const takeover = takeOver(next).then(() => order.push("takeover committed"));
    // The takeover's UPDATE of every stripe waits for the in-flight transaction's stripe row.
    await waitForLockWait(plain);
    await sleep(200);
    expect(order).toEqual([]);

    held.release();
    expect(await inFlight).toBe("Cancelled");
    await takeover;
    expect(order).toEqual(["in-flight committed", "takeover committed"]);
    expect(await getJobState(plain, job)).toBe("Cancelled");
    expect(new Set((await fenceRows()).map((row) => row.epoch))).toEqual(new Set([current + 1n]));

    const later = await seedJob(plain, rg, "Ready");
    await expectStorageError(startJob(old, later), "unavailable", new RegExp(`lease epoch ${current} is no longer current`));
    expect(await getJobState(plain, later)).toBe("Ready");
  });

  it("a fast-path write that reaches its stripe during the takeover waits for it, then is refused", async () => {
    await takeOver(old);
    const job = await seedJob(plain, rg, "Ready");
    const trx = await next.startTransaction().execute();
    let settled = false;
    try {
      epoch += 1n;
      await advanceFence(trx, epoch);
      const write = startJob(old, job).finally(() => (settled = true));
      await waitForLockWait(plain);
      expect(settled).toBe(false);
      await trx.commit().execute();
      const error = await write.then(() => undefined, (e: unknown) => e);
      expect(isFencedError(error)).toBe(true);
      expect(error).toBeInstanceOf(StorageError);
    } finally {
      if (!trx.isCommitted) await trx.rollback().execute();
    }
    setWriteFence(next, epoch);
    expect(await getJobState(plain, job)).toBe("Ready");
  });
});

/**
 * Resolves once some transaction of the database server waits for a row lock.
 * Polls more than 100 ms apart: InnoDB refreshes INNODB_TRX only when it was
 * not read for 100 ms, so faster polling would keep reading a stale copy.
 */
async function waitForLockWait(db: Db): Promise<void> {
  for (let i = 0; i < 25; i++) {
    await sleep(150);
    const { rows } = await sql<{ n: bigint }>`SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'`.execute(db);
    if (Number(rows[0]!.n) > 0) return;
  }
  const { rows } = await sql`SELECT * FROM information_schema.INNODB_TRX`.execute(db);
  throw new Error(`no transaction came to wait for a lock: ${JSON.stringify(rows, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
}
