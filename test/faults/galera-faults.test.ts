/**
 * Galera's errors injected into real database calls (issue 19, DECISIONS D8
 * as amended): a certification failure (1213 at COMMIT, or at an autocommit
 * write) and a node not ready (1047) mean nothing was written, so the work is
 * retried and lands exactly once; and full jobs through the real server still
 * end with the oracle's outputs while certification failures hit every
 * transition. 1047 at COMMIT leaves the transaction open on the node, so those
 * calls run on a pool guarded by dropRefusedConnections, as production's must.
 */
import type { MysqlPool } from "kysely";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createDb, type Db } from "../../src/db/connection.ts";
import { dropRefusedConnections } from "../../src/db/drop-refused-connections.ts";
import { FaultInjector } from "../../src/db/fault-injection/fault-injector.ts";
import type { FaultRule } from "../../src/db/fault-injection/fault-plan.ts";
import { faultyPool } from "../../src/db/fault-injection/faulty-pool.ts";
import type { JobStore } from "../../src/db/job-store.ts";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { addRetryListener, type RetryListener } from "../../src/db/retry-policy.ts";
import { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import type { Behaviour } from "../../testkit/sim/simulated-execution-manager.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { migratedDb, seedJob, seedResourceGroup } from "../db/db-fixture.ts";
import { startInProcessServer, type InProcessServer } from "./in-process-server.ts";
import { JobWorkload } from "./job-workload.ts";

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

/** Registrations the simulated cluster makes once, before any fault is armed. */
const ONE_OFF_REGISTRATIONS = ["registerExecutionManager", "registerScheduler", "addResourceGroup"];

describe("jobs under certification failures", () => {
  let inspect: Db;
  let env: InProcessServer;
  let cluster: SimulatedCluster;
  let workload: JobWorkload | undefined;
  const seed = Number(process.env["SPIDER_TEST_SEED"] ?? Math.floor(Math.random() * 1_000_000));

  beforeAll(async () => {
    const url = await testDatabase("galera_jobs");
    env = await startInProcessServer(url, {
      SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__EXECUTION_MANAGER_STALE_CUTOFF_SEC: "5",
      SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__GC_INTERVAL_MS: "200",
    });
    inspect = createDb({ url, maxConnections: 2 });
    const behaviour: Behaviour = (context) => workload?.behaviour(context) ?? { kind: "succeed" };
    cluster = await new SimulatedCluster(env.address, { executionManagers: 4, concurrency: 4, heartbeatMs: 200, behaviour }).start();
  });
  afterAll(async () => {
    await cluster?.stop();
    await env?.stop();
    await inspect?.destroy();
  });

  it("1213 at 20% of every COMMIT and autocommit write: every job ends with the oracle's outputs, nothing committed twice", async () => {
    console.log(`galera-faults: seed ${seed} (SPIDER_TEST_SEED=${seed} repeats it)`);
    const current = new JobWorkload(cluster.clients, seed);
    workload = current;
    onTestFailed(() => {
      console.log(`failed with seed ${seed}: ${current.summary()}\nfaults: ${JSON.stringify([...env.faults.counts])}\n${env.logTail()}`);
    });
    env.faults.disable();
    await current.createResourceGroup();
    env.faults.setPlan({ seed, rules: [{ kind: "certification_failure", rate: 0.2, exclude: ONE_OFF_REGISTRATIONS }] });
    await Promise.all(Array.from({ length: 4 }, () => current.submit(4)));
    await current.verify(cluster.log, { db: inspect });
    env.faults.disable();
    console.log(`${current.summary()}; faults injected: ${JSON.stringify(Object.fromEntries(env.faults.counts))}`);
    expect(env.faults.countOf("certification_failure")).toBeGreaterThan(0);
    // The explicit transactions' COMMITs were hit, not only autocommit writes.
    expect([...env.faults.counts.keys()].some((key) => /^(writeCheckpoints|cancelJob|reapDeadExecutionManagers|commitJobOutputs)\b/.test(key))).toBe(true);
    expect(cluster.executionManagers.filter((em) => em.dead), "no execution manager was declared dead").toEqual([]);
  });
});
