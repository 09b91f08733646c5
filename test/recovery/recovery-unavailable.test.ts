/**
 * While recovery runs the server is NOT_SERVING and every storage RPC answers
 * UNAVAILABLE (which Spider's clients retry); progress is logged; once the
 * cache is whole the queue is refilled and polls are answered. Recovery is
 * slowed down with the test-only SPIDER_STORAGE_TEST_RECOVERY_PAGE_DELAY_MS.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/connection.ts";
import { RECOVERY_PAGE_DELAY_ENV } from "../../src/recovery/test-hooks.ts";
import { HealthClientWrapper } from "../../testkit/health-client.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { grpcCode, insertJobs, LogCollector, ManualWorker, migratedDatabase, seedResourceGroup } from "./helpers/recovery-fixture.ts";

async function healthStatus(address: string): Promise<string> {
  const health = new HealthClientWrapper(address);
  try {
    const answer = await health.check("", 5_000);
    if (typeof answer !== "string") throw new Error(`health Check failed with status ${grpc.status[answer]}`);
    return answer;
  } finally {
    health.close();
  }
}

describe("during recovery", () => {
  let server: ServerProcess | undefined;
  let db: Db | undefined;
  afterAll(async () => {
    await server?.kill();
    await db?.destroy();
  });

  it("health is NOT_SERVING, RPCs (a poll included) answer UNAVAILABLE, progress is logged; then the refilled queue is served", async () => {
    const migrated = await migratedDatabase("recovering");
    db = migrated.db;
    const rg = await seedResourceGroup(db);
    const ids = await insertJobs(db, rg, Array.from({ length: 40 }, (_, i) => ({ state: "Running" as const, spec: singleTask({ seed: i }) })));

    server = await ServerProcess.start({
      databaseUrl: migrated.url,
      // 40 pages of one job, 250 ms each: the checks below have some 10 s of recovery to run in, however loaded the machine.
      env: { SPIDER_STORAGE_RUNTIME__RECOVERY__PAGE_SIZE: "1", [RECOVERY_PAGE_DELAY_ENV]: "250" },
    });
    const logs = new LogCollector(server);
    await logs.waitFor((r) => r.msg === "recovery started");
    const clients = connectStorage(server.address);
    try {
      const poll = await clients.queue.pollReadyTasks({ maxItems: 10n, waitMs: 0n }).catch((e: unknown) => e);
      expect(grpcCode(poll)).toBe(grpc.status.UNAVAILABLE);
      expect(String((poll as Error).message)).toMatch(/recovering/);
      expect(grpcCode(await clients.sessions.getSession({}).catch((e: unknown) => e))).toBe(grpc.status.UNAVAILABLE);
      expect(grpcCode(await clients.jobs.getJobState({ jobId: ids[0]! }).catch((e: unknown) => e))).toBe(grpc.status.UNAVAILABLE);
      expect(await healthStatus(server.address)).toBe("NOT_SERVING");
      const progress = await logs.waitFor((r) => r.msg === "recovery progress" && Number(r["done"]) < Number(r["total"]));
      expect(progress).toMatchObject({ total: 40 });
      expect(typeof progress["rate"]).toBe("number");
      // Still recovering after that: the poll is still refused.
      expect(grpcCode(await clients.queue.pollReadyTasks({ maxItems: 10n, waitMs: 0n }).catch((e: unknown) => e))).toBe(grpc.status.UNAVAILABLE);
    } finally {
      clients.close();
    }

    await server.waitServing();
    expect(await healthStatus(server.address)).toBe("SERVING");
    const pages = logs.withMessage("recovery progress").length + 1;
    expect(pages).toBeGreaterThan(2);
    const worker = await ManualWorker.connect(server.address);
    try {
      const entries = await worker.drain("pollReadyTasks");
      expect(entries.map((e) => e.jobId).sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
    } finally {
      worker.close();
    }
  });
});
