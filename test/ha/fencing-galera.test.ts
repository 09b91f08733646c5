/**
 * The leader fence on Galera (issue 19, DECISIONS D3), where no lock crosses
 * nodes: a fenced transaction of the old holder on node 1 has done its work
 * and is about to COMMIT when another server's takeover (advanceFence)
 * commits on node 2. Both changed the same fence stripe, so certification
 * refuses node 1's write set: its COMMIT fails with 1213, D8 runs the
 * transaction again, and the retry finds the new epoch and is fenced.
 * Nothing of the old holder lands; the new holder writes on.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../src/db/connection.ts";
import { dbErrno, ER_LOCK_DEADLOCK } from "../../src/db/db-errors.ts";
import { advanceFence } from "../../src/db/fence/advanceFence.ts";
import { isFencedError } from "../../src/db/fence/fenced-error.ts";
import { setWriteFence } from "../../src/db/fence/write-fence.ts";
import { cancelJob } from "../../src/db/jobs/cancelJob.ts";
import { getJobState } from "../../src/db/jobs/getJobState.ts";
import { startJob } from "../../src/db/jobs/startJob.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { addRetryListener, type RetryListener } from "../../src/db/retry-policy.ts";
import { withTransaction } from "../../src/db/transaction.ts";
import { startGaleraCluster, type GaleraCluster } from "../../testkit/galera.ts";
import { seedJob, seedResourceGroup } from "../db/db-fixture.ts";
import { StatementTap } from "../db/statement-tap.ts";

describe("the leader fence on Galera", () => {
  let cluster: GaleraCluster;
  let plain: Db; // node 1, unfenced: seeds and reads
  let old: Db; // the old holder, on node 1
  let next: Db; // the new holder, on node 2
  let rg: bigint;
  const tap = new StatementTap();
  const retries: Parameters<RetryListener>[0][] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    cluster = await startGaleraCluster({ nodes: 2 });
    console.log(`Galera cluster of 2 started in ${cluster.startMs} ms`);
    await cluster.createDatabase("fencing");
    plain = createDb({ url: `${cluster.url(0)}fencing`, maxConnections: 2 });
    await migrateToLatest(plain);
    rg = await seedResourceGroup(plain);
    old = createDb({ url: `${cluster.url(0)}fencing`, maxConnections: 2, wrapPool: (pool) => tap.wrap(pool) });
    next = createDb({ url: `${cluster.url(1)}fencing`, maxConnections: 2 });
    await withTransaction(old, (trx) => advanceFence(trx, 1n));
    setWriteFence(old, 1n);
    unsubscribe = addRetryListener((info) => retries.push(info));
  });
  afterAll(async () => {
    unsubscribe?.();
    await Promise.all([old?.destroy(), next?.destroy(), plain?.destroy()]);
    await cluster?.stop();
  });

  /** A job's state on node 2 once it has applied everything committed before (a causal read). */
  async function stateOnNode2(jobId: bigint): Promise<string> {
    const { rows } = await sql<{ state: string }>`SET STATEMENT wsrep_sync_wait = 1 FOR SELECT state FROM jobs WHERE id = ${jobId}`.execute(next);
    return rows[0]!.state;
  }

  it("an in-flight transaction on node 1 fails certification at COMMIT after the takeover committed on node 2; its retry is fenced", async () => {
    const warmUp = await seedJob(plain, rg, "Ready");
    await startJob(old, warmUp); // epoch 1 is current: the old holder writes
    const job = await seedJob(plain, rg, "Running");
    const order: string[] = [];
    retries.length = 0;

    const held = tap.holdNextCommit();
    // Locked, fenced and written on node 1; its COMMIT held.
    const inFlight = cancelJob(old, job, false).then(
      () => order.push("in-flight committed"),
      (error: unknown) => {
        order.push("in-flight refused");
        return error;
      },
    );
    await held.reached;

    // No lock crosses nodes: the takeover commits at once on node 2.
    await withTransaction(next, (trx) => advanceFence(trx, 2n), { operation: "takeover" });
    setWriteFence(next, 2n);
    order.push("takeover committed");

    held.release();
    const error = await inFlight;
    expect(order).toEqual(["takeover committed", "in-flight refused"]);
    expect(isFencedError(error), String(error)).toBe(true);
    // The first COMMIT failed certification (1213) and was retried by D8; the retry was fenced, not retried.
    const certification = retries.find((r) => r.operation === `cancelJob ${job}`);
    expect(certification).toMatchObject({ attempt: 1, errorClass: "deadlock" });
    expect(dbErrno(certification!.error)).toBe(ER_LOCK_DEADLOCK);
    expect((certification!.error as { sql?: string }).sql).toMatch(/^commit/i);

    expect(await getJobState(plain, job)).toBe("Running");
    expect(await stateOnNode2(job)).toBe("Running");
  });

  it("after the takeover, the old holder's fast path is fenced on node 1 and the new holder writes on node 2", async () => {
    const job = await seedJob(plain, rg, "Ready");
    const error = await startJob(old, job).then(() => undefined, (e: unknown) => e);
    expect(isFencedError(error), String(error)).toBe(true);
    expect(await getJobState(plain, job)).toBe("Ready");
    expect(await startJob(next, job)).toEqual({ from: "Ready", to: "Running" });
  });
});
