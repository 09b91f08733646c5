/**
 * The fault-injection wrapper itself (src/db/fault-injection/), on a real
 * MariaDB: each fault kind happens where it would in reality, with the
 * driver's error, and src/db reacts to it as to the real thing (D5, D8) —
 * retried when nothing was written, "unavailable" once retries are used up,
 * "internal" when a commit's outcome is unknown, and the write really
 * happened (or not) behind a lost COMMIT.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import type { JobStore } from "../../src/db/job-store.ts";
import { StorageError } from "../../src/core/errors.ts";
import { createDb, type Db } from "../../src/db/connection.ts";
import { FaultInjector } from "../../src/db/fault-injection/fault-injector.ts";
import { faultPlanFromEnv, parseFaultPlan, REAL_FAULT_KINDS, type FaultRule } from "../../src/db/fault-injection/fault-plan.ts";
import { faultyPool, statementKind } from "../../src/db/fault-injection/faulty-pool.ts";
import { addRetryListener, type RetryListener } from "../../src/db/retry-policy.ts";
import { migratedDb, seedJob, seedResourceGroup } from "../db/db-fixture.ts";

type RetryInfo = Parameters<RetryListener>[0];

describe("fault plans", () => {
  it("parse the shorthand and rule lists, and refuse nonsense", () => {
    expect(parseFaultPlan('{"seed":7,"rate":0.05}')).toEqual({ seed: 7, rules: [{ rate: 0.05 }] });
    expect(parseFaultPlan('{"rules":[{"kind":"deadlock","nth":3,"operations":["startJob"]}]}')).toEqual({
      rules: [{ kind: "deadlock", nth: 3, operations: ["startJob"] }],
    });
    expect(() => parseFaultPlan('{"rate":2}')).toThrow(/SPIDER_STORAGE_FAULTS/);
    expect(() => parseFaultPlan('{"kind":"meteor","rate":0.1}')).toThrow(/SPIDER_STORAGE_FAULTS/);
    expect(() => parseFaultPlan('{"rules":[{"kind":"deadlock"}]}')).toThrow(/rate.*nth/);
    expect(() => parseFaultPlan("{")).toThrow(/not JSON/);
    expect(faultPlanFromEnv({})).toBeUndefined();
    expect(faultPlanFromEnv({ SPIDER_STORAGE_FAULTS: " " })).toBeUndefined();
  });

  it("classifies statements the way the pool wrapper needs", () => {
    expect(statementKind("select `state` from `jobs`")).toBe("read");
    expect(statementKind("  UPDATE jobs SET x = 1")).toBe("write");
    expect(statementKind("set transaction isolation level read committed")).toBe("set");
    expect(statementKind("begin")).toBe("begin");
    expect(statementKind("commit")).toBe("commit");
  });

  it("draw the same faults from the same seed", () => {
    const draws = (seed: number) => {
      const injector = new FaultInjector({ seed, rules: [{ rate: 0.3 }] });
      const kinds: string[] = [];
      for (let i = 0; i < 200; i++) injector.scope("op", () => kinds.push(injector.current()?.fault?.kind ?? "-"));
      return kinds;
    };
    expect(draws(11)).toEqual(draws(11));
    expect(draws(11)).not.toEqual(draws(12));
    const kinds = new Set(draws(11));
    for (const kind of REAL_FAULT_KINDS) expect(kinds).toContain(kind);
    expect(kinds).not.toContain("unreachable");
  });
});

describe("faults injected into real database calls", () => {
  let url: string;
  let plain: Db;
  let rg: bigint;
  let db: Db;
  let injector: FaultInjector;
  let store: JobStore;
  const retries: RetryInfo[] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    ({ url, db: plain } = await migratedDb("faults"));
    rg = await seedResourceGroup(plain);
    injector = new FaultInjector({ rules: [] });
    db = createDb({ url, maxConnections: 4, wrapPool: (pool) => faultyPool(pool, injector) });
    store = injector.scopeCalls(new MariaDbJobStore(db));
    unsubscribe = addRetryListener((info) => retries.push(info));
  });
  afterAll(async () => {
    unsubscribe();
    await db.destroy();
    await plain.destroy();
  });

  /** One rule, fresh counters, no retries recorded yet. */
  function only(rule: FaultRule): void {
    injector.setPlan({ seed: 1, rules: [rule] });
    injector.counts.clear();
    retries.length = 0;
  }

  async function errorOf(promise: Promise<unknown>): Promise<StorageError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }

  it("deadlock and lock-wait timeout: retried by the transaction, written once", async () => {
    for (const kind of ["deadlock", "lock_wait_timeout"] as const) {
      const job = await seedJob(plain, rg);
      only({ kind, nth: 1, operations: ["startJob"] });
      await store.startJob(job);
      expect(await store.getJobState(job)).toBe("Running");
      expect(injector.countOf(kind)).toBe(1);
      expect(retries.map((r) => r.errorClass)).toEqual([kind]);
    }
  });

  it("persistent deadlock: the retries are used up and the caller gets UNAVAILABLE, nothing written", async () => {
    const job = await seedJob(plain, rg);
    only({ kind: "deadlock", nth: 1, operations: ["startJob"], persistent: true });
    const error = await errorOf(store.startJob(job));
    expect(error.kind).toBe("unavailable");
    expect(injector.countOf("deadlock")).toBe(5);
    expect(await store.getJobState(job)).toBe("Ready");
  });

  // cancelJob runs an explicit transaction (lock, check, update, COMMIT); the
  // engine's single-source moves (startJob, …) are one autocommit UPDATE with
  // no separate COMMIT to lose.
  it("connection lost before COMMIT: the server rolls back, the transaction is retried and applied once", async () => {
    const job = await seedJob(plain, rg);
    only({ kind: "lost_before_commit", nth: 1, operations: ["cancelJob"] });
    expect(await store.cancelJob(job, false)).toBe("Cancelled");
    expect(await store.getJobState(job)).toBe("Cancelled");
    expect(retries.map((r) => r.errorClass)).toEqual(["connection_lost"]);
  });

  it("connection lost during COMMIT that took effect: INTERNAL (outcome unknown), and the row did change", async () => {
    const job = await seedJob(plain, rg);
    only({ kind: "lost_during_commit", nth: 1, operations: ["startJob"] });
    const error = await errorOf(store.startJob(job));
    expect(error.kind).toBe("internal");
    expect(error.message).toMatch(/outcome unknown/);
    expect(retries).toEqual([]);
    expect(await store.getJobState(job)).toBe("Running");
  });

  it("connection lost during a COMMIT that never arrived: INTERNAL, and the row did not change", async () => {
    const job = await seedJob(plain, rg);
    only({ kind: "lost_during_commit", applied: false, nth: 1, operations: ["startJob"] });
    expect((await errorOf(store.startJob(job))).kind).toBe("internal");
    expect(await store.getJobState(job)).toBe("Ready");
  });

  it("connection lost during an autocommit insert that took effect: INTERNAL, and the row exists", async () => {
    const before = await plain.selectFrom("jobs").select(plain.fn.countAll<bigint>().as("n")).executeTakeFirstOrThrow();
    only({ kind: "lost_during_commit", nth: 1, operations: ["insertJob"] });
    expect((await errorOf(store.insertJob(rg, Uint8Array.of(1), Uint8Array.of(2)))).kind).toBe("internal");
    const after = await plain.selectFrom("jobs").select(plain.fn.countAll<bigint>().as("n")).executeTakeFirstOrThrow();
    expect(BigInt(after.n)).toBe(BigInt(before.n) + 1n);
  });

  it("reads survive a lost connection; an unreachable database is retried, then UNAVAILABLE", async () => {
    const job = await seedJob(plain, rg);
    only({ kind: "lost_before_commit", nth: 1, operations: ["getJobState"] });
    expect(await store.getJobState(job)).toBe("Ready");
    expect(retries.map((r) => r.errorClass)).toEqual(["connection_lost"]);

    only({ kind: "unreachable", nth: 1, operations: ["getJobState"] });
    expect(await store.getJobState(job)).toBe("Ready");
    expect(retries.map((r) => r.errorClass)).toEqual(["not_connected"]);

    only({ kind: "unreachable", nth: 1, operations: ["getJobState"], persistent: true });
    expect((await errorOf(store.getJobState(job))).kind).toBe("unavailable");
  });

  it("fires on the Nth matching call only, and never outside the chosen operations", async () => {
    only({ kind: "deadlock", nth: 3, operations: ["startJob"] });
    const jobs = [await seedJob(plain, rg), await seedJob(plain, rg), await seedJob(plain, rg), await seedJob(plain, rg)];
    for (const job of jobs) {
      await store.getJobState(job);
      await store.startJob(job);
    }
    expect([...injector.counts]).toEqual([["startJob deadlock", 1]]);
    expect(retries).toHaveLength(1);
  });

  it("leaves the pool healthy: destroyed connections are replaced and no transaction leaks into the next user", async () => {
    only({ rate: 0.5, kind: ["lost_before_commit", "lost_during_commit", "deadlock"], operations: ["cancelJob"] });
    const jobs = await Promise.all(Array.from({ length: 30 }, () => seedJob(plain, rg)));
    const results = await Promise.allSettled(jobs.map((job) => store.cancelJob(job, false)));
    injector.disable();
    for (const [i, result] of results.entries()) {
      const state = await store.getJobState(jobs[i]!);
      if (result.status === "rejected") expect((result.reason as StorageError).kind).toBe("internal"); // lost during COMMIT; applied
      expect(state).toBe("Cancelled");
    }
    expect(injector.injected).toBeGreaterThan(5);
  });
});
