/**
 * Group commit on MariaDB (issue 20, src/db/batched-job-writes.ts): concurrent
 * RegisterJob inserts and per-job moves become one statement per batch, and
 * every caller still gets exactly the answer it would have had alone — its
 * own id, its own refusal, its own outputs and message, the fence's refusal.
 * Batches are made deterministic by submitting in one turn of the event loop
 * and by holding a batch's COMMIT (the statement tap), never by timing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../src/db/connection.ts";
import { advanceFence } from "../../src/db/fence/advanceFence.ts";
import { isFencedError } from "../../src/db/fence/fenced-error.ts";
import { setWriteFence } from "../../src/db/fence/write-fence.ts";
import { getJob } from "../../src/db/jobs/getJob.ts";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { withTransaction } from "../../src/db/transaction.ts";
import { GRAPH, migratedDb, seedJob, seedResourceGroup } from "./db-fixture.ts";
import { expectStorageError } from "./expect-storage-error.ts";
import { StatementTap } from "./statement-tap.ts";

const BATCHING = { enabled: true, maxBatch: 64, maxInFlight: 1 };
const inputs = (n: number) => Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, n & 0xff, n >> 8]);
const outputs = (n: number) => Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, n & 0xff]);
const writesOf = (statements: readonly string[]) => statements.filter((s) => /^\s*(insert|update)/i.test(s));

describe("group commit", () => {
  let url: string;
  let plain: Db;
  let db: Db;
  let store: MariaDbJobStore;
  let rg: bigint;
  const tap = new StatementTap();

  beforeAll(async () => {
    ({ url, db: plain } = await migratedDb("group_commit"));
    rg = await seedResourceGroup(plain);
    db = createDb({ url, maxConnections: 8, wrapPool: (pool) => tap.wrap(pool) });
    store = new MariaDbJobStore(db, BATCHING);
    await store.getJobState(await seedJob(plain, rg)); // a warm pool
  });
  afterAll(async () => {
    await db?.destroy();
    await plain?.destroy();
  });

  const stateOf = async (id: bigint) => (await getJob(plain, id, { withBlobs: true })).state;

  it("concurrent inserts are one multi-row INSERT, and each caller gets its own row's id", async () => {
    tap.statements.length = 0;
    const ids = await Promise.all(Array.from({ length: 10 }, (_, n) => store.insertJob(rg, GRAPH, inputs(n))));
    expect(writesOf(tap.statements)).toHaveLength(1);
    expect(tap.statements[0]).toMatch(/^insert into `jobs`.* returning `id`$/i);
    expect(new Set(ids).size).toBe(10);
    for (const [n, id] of ids.entries()) {
      const row = await getJob(plain, id, { withBlobs: true });
      expect({ state: row.state, inputs: [...row.compressedInputs] }).toEqual({ state: "Ready", inputs: [...inputs(n)] });
    }
  });

  it("a batch with an unknown resource group: that job is refused alone, the others are inserted", async () => {
    tap.statements.length = 0;
    const answers = await Promise.allSettled([
      store.insertJob(rg, GRAPH, inputs(1)),
      store.insertJob(rg + 1000n, GRAPH, inputs(2)),
      store.insertJob(rg, GRAPH, inputs(3)),
    ]);
    expect(answers.map((a) => a.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    await expectStorageError(Promise.reject((answers[1] as PromiseRejectedResult).reason), "unauthenticated", "invalid resource group");
    for (const [i, n] of [[0, 1], [2, 3]] as const) {
      const row = await getJob(plain, (answers[i] as PromiseFulfilledResult<bigint>).value, { withBlobs: true });
      expect([...row.compressedInputs]).toEqual([...inputs(n)]);
    }
    expect(writesOf(tap.statements)).toHaveLength(1 + 3); // the refused batch, then each alone
  });

  it("a lone request is the single-job statement: no transaction around it", async () => {
    const job = await seedJob(plain, rg, "Ready");
    tap.statements.length = 0;
    await store.startJob(job);
    expect(tap.statements).toHaveLength(1);
    expect(await stateOf(job)).toBe("Running");
  });

  it("concurrent starts are one UPDATE; a job not Ready among them is refused alone and the others start", async () => {
    const ready = await Promise.all([1, 2, 3, 4].map(() => seedJob(plain, rg, "Ready")));
    const cancelled = await seedJob(plain, rg, "Cancelled");
    tap.statements.length = 0;
    const good = await Promise.allSettled(ready.map((id) => store.startJob(id)));
    expect(good.every((a) => a.status === "fulfilled")).toBe(true);
    expect(writesOf(tap.statements)).toHaveLength(1);
    for (const id of ready) expect(await stateOf(id)).toBe("Running");

    const mixed = await Promise.all([1, 2, 3].map(() => seedJob(plain, rg, "Ready")));
    const answers = await Promise.allSettled([...mixed, cancelled].map((id) => store.startJob(id)));
    expect(answers.map((a) => a.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected"]);
    await expectStorageError(Promise.reject((answers[3] as PromiseRejectedResult).reason), "failed_precondition", /job in state Cancelled, expected Ready/);
    for (const id of mixed) expect(await stateOf(id)).toBe("Running");
    expect(await stateOf(cancelled)).toBe("Cancelled");
  });

  it("last successes carry each job's own outputs, to CommitReady and to Succeeded", async () => {
    const jobs = await Promise.all([0, 1, 2, 3, 4, 5].map(() => seedJob(plain, rg, "Running")));
    tap.statements.length = 0;
    await Promise.all(jobs.map((id, n) => store.commitJobOutputs(id, outputs(n), n % 2 === 0)));
    expect(writesOf(tap.statements)).toHaveLength(2); // one batch per target state
    for (const [n, id] of jobs.entries()) {
      const row = await getJob(plain, id, { withBlobs: true });
      expect({ state: row.state, outputs: [...(row.outputs ?? [])], ended: row.endedAt !== null }).toEqual({
        state: n % 2 === 0 ? "CommitReady" : "Succeeded",
        outputs: [...outputs(n)],
        ended: n % 2 !== 0,
      });
    }
  });

  it("failures carry each job's own message", async () => {
    const jobs = await Promise.all([0, 1, 2].map(() => seedJob(plain, rg, "Running")));
    tap.statements.length = 0;
    await Promise.all(jobs.map((id, n) => store.failJob(id, `task ${n} failed`, "Running")));
    expect(writesOf(tap.statements)).toHaveLength(1);
    for (const [n, id] of jobs.entries()) {
      const row = await getJob(plain, id, { withBlobs: true });
      expect({ state: row.state, error: row.errorMessage }).toEqual({ state: "Failed", error: `task ${n} failed` });
    }
  });

  it("the next batch forms while the previous one is written, and each caller answers after its own statement", async () => {
    const jobs = await Promise.all([0, 1, 2, 3, 4].map(() => seedJob(plain, rg, "Ready")));
    tap.statements.length = 0;
    const held = tap.holdNext((sql) => /^update/i.test(sql));
    const first = jobs.slice(0, 2).map((id) => store.startJob(id));
    await held.reached;
    let firstAnswered = false;
    void Promise.all(first).then(() => (firstAnswered = true));
    const rest = jobs.slice(2).map((id) => store.startJob(id));
    await new Promise((resolve) => setImmediate(resolve));
    expect(firstAnswered).toBe(false); // its UPDATE is held
    expect(writesOf(tap.statements)).toHaveLength(1); // the rest wait: they could have gone (maxInFlight 1)
    held.release();
    await Promise.all([...first, ...rest]);
    expect(writesOf(tap.statements)).toHaveLength(2); // the three waiting became one batch
    for (const id of jobs) expect(await stateOf(id)).toBe("Running");
  });

  it("fenced: a deposed writer's batch moves nothing and every caller is told it is fenced", async () => {
    const fencedDb = createDb({ url, maxConnections: 4 });
    try {
      await withTransaction(plain, (trx) => advanceFence(trx, 5n), { operation: "takeover" });
      setWriteFence(fencedDb, 5n);
      const fenced = new MariaDbJobStore(fencedDb, BATCHING);
      const ok = await Promise.all([0, 1, 2].map(() => seedJob(plain, rg, "Ready")));
      await Promise.all(ok.map((id) => fenced.startJob(id)));
      for (const id of ok) expect(await stateOf(id)).toBe("Running");

      await withTransaction(plain, (trx) => advanceFence(trx, 6n), { operation: "takeover" }); // another server takes over
      const jobs = await Promise.all([0, 1, 2].map(() => seedJob(plain, rg, "Ready")));
      const answers = await Promise.allSettled(jobs.map((id) => fenced.startJob(id)));
      for (const answer of answers) {
        expect(answer.status).toBe("rejected");
        expect(isFencedError((answer as PromiseRejectedResult).reason)).toBe(true);
      }
      for (const id of jobs) expect(await stateOf(id)).toBe("Ready");
    } finally {
      await fencedDb.destroy();
    }
  });
});
