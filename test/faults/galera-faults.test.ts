/**
 * Galera's errors injected into real database calls (issue 19, DECISIONS D8
 * as amended): a certification failure (1213 at COMMIT, or at an autocommit
 * write) and a node not ready (1047) mean nothing was written, so the work is
 * retried and lands exactly once (full jobs under certification failures run
 * with the other fault kinds in jobs-under-faults.test.ts). 1047 at COMMIT leaves the transaction open on the node, so those
 * calls run on a pool guarded by dropRefusedConnections, as production's must.
 */
import type { MysqlPool } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../src/db/connection.ts";
import { dropRefusedConnections } from "../../src/db/drop-refused-connections.ts";
import { FaultInjector } from "../../src/db/fault-injection/fault-injector.ts";
import type { FaultRule } from "../../src/db/fault-injection/fault-plan.ts";
import { faultyPool } from "../../src/db/fault-injection/faulty-pool.ts";
import type { JobStore } from "../../src/db/job-store.ts";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { addRetryListener, type RetryListener } from "../../src/db/retry-policy.ts";
import { migratedDb, seedJob, seedResourceGroup } from "../db/db-fixture.ts";

type RetryInfo = Parameters<RetryListener>[0];

describe("Galera's errors injected into real database calls", () => {
  let plain: Db;
  let rg: bigint;
  let db: Db;
  let injector: FaultInjector;
  let store: JobStore;
  const retries: RetryInfo[] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    let url: string;
    ({ url, db: plain } = await migratedDb("galera_faults"));
    rg = await seedResourceGroup(plain);
    injector = new FaultInjector({ rules: [] });
    // One connection: a connection handed back with a transaction still open
    // would be the very next one used.
    db = createDb({ url, maxConnections: 1, wrapPool: (pool: MysqlPool) => dropRefusedConnections(faultyPool(pool, injector)) });
    store = injector.scopeCalls(new MariaDbJobStore(db));
    unsubscribe = addRetryListener((info) => retries.push(info));
  });
  afterAll(async () => {
    unsubscribe?.();
    await db?.destroy();
    await plain?.destroy();
  });

  function only(rule: FaultRule): void {
    injector.setPlan({ seed: 1, rules: [rule] });
    injector.counts.clear();
    retries.length = 0;
  }

  async function schedulerIds(): Promise<bigint[]> {
    const rows = await plain.selectFrom("schedulers").select("id").orderBy("id").execute();
    return rows.map((row) => BigInt(row.id));
  }

  it("1213 at COMMIT (certification failure): the node rolled back, the transaction is retried and applied once", async () => {
    const job = await seedJob(plain, rg, "Running");
    only({ kind: "certification_failure", nth: 1, operations: ["cancelJob"] });
    expect(await store.cancelJob(job, false)).toBe("Cancelled");
    expect(await store.getJobState(job)).toBe("Cancelled");
    expect(injector.countOf("certification_failure")).toBe(1);
    expect(retries.map((r) => [r.operation, r.errorClass])).toEqual([[`cancelJob ${job}`, "deadlock"]]);
  });

  it("1213 at COMMIT of a delete-and-insert: exactly one row results", async () => {
    only({ kind: "certification_failure", nth: 1, operations: ["registerScheduler"] });
    const id = await store.registerScheduler("127.0.0.1", 7001);
    expect(await schedulerIds()).toEqual([id]);
    expect(retries.map((r) => r.errorClass)).toEqual(["deadlock"]);
  });

  it("1213 on an autocommit write: not applied, retried", async () => {
    const job = await seedJob(plain, rg);
    only({ kind: "certification_failure", nth: 1, operations: ["startJob"] });
    await store.startJob(job);
    expect(await store.getJobState(job)).toBe("Running");
    expect(retries.map((r) => r.errorClass)).toEqual(["deadlock"]);
  });

  it("1047 at COMMIT: the refusing connection is dropped (the node rolls back), the retry applies it once, and no open transaction reaches the next call", async () => {
    only({ kind: "node_not_ready", nth: 1, operations: ["registerScheduler"] });
    const id = await store.registerScheduler("127.0.0.1", 7002);
    expect(injector.countOf("node_not_ready")).toBe(1);
    expect(retries.map((r) => r.errorClass)).toEqual(["node_not_ready"]);
    expect(await schedulerIds()).toEqual([id]);
    // The pool's only connection now is a fresh one: later transactions commit
    // what they write and nothing else.
    injector.disable();
    const job = await seedJob(plain, rg, "Running");
    expect(await store.cancelJob(job, false)).toBe("Cancelled");
    const again = await store.registerScheduler("127.0.0.1", 7003);
    expect(await schedulerIds()).toEqual([again]);
    expect(await store.getJobState(job)).toBe("Cancelled");
  });

  it("1047 on autocommit statements: refused unrun, retried", async () => {
    const job = await seedJob(plain, rg);
    only({ kind: "node_not_ready", nth: 1, operations: ["startJob"] });
    await store.startJob(job);
    only({ kind: "node_not_ready", nth: 1, operations: ["getJobState"] });
    expect(await store.getJobState(job)).toBe("Running");
    expect(retries.map((r) => r.errorClass)).toEqual(["node_not_ready"]);
  });

  it("a certification failure on every attempt: UNAVAILABLE, nothing written", async () => {
    const job = await seedJob(plain, rg, "Running");
    only({ kind: "certification_failure", nth: 1, operations: ["cancelJob"], persistent: true });
    await expect(store.cancelJob(job, false)).rejects.toMatchObject({ kind: "unavailable", outcomeUnknown: false });
    expect(injector.countOf("certification_failure")).toBe(5);
    expect(await store.getJobState(job)).toBe("Running");
  });
});
