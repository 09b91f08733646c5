/**
 * Memory for payloads as a whole (issue #17 item 3, engine side): a job
 * registered but not started stays out of the job cache (kept briefly, within
 * fixed bounds, for the StartJob that follows — issue 20 — and read back from
 * its row otherwise), and what must stay resident — the inputs and outputs of
 * started jobs — is bounded by runtime.limits.max_cached_payload_bytes, so
 * no sequence of valid requests can exhaust the machine.
 *
 * On MariaDB: StartJob loads the job as the server does
 * (src/recovery/ready-job-loader.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { isStorageError } from "../../src/core/errors.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { decodeTaskOutputs } from "../../src/core/task-outputs.ts";
import { createDb, type Db } from "../../src/db/connection.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { readyJobLoader } from "../../src/recovery/ready-job-loader.ts";
import type { StorageServiceConfig } from "../../src/service/service-config.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { Harness } from "./helpers/harness.ts";
import { kindOf } from "./helpers/outcomes.ts";
import { getJobOutputs } from "../../src/service/get-job-outputs.ts";
import { getJobState } from "../../src/service/get-job-state.ts";
import { jobTasks } from "../../src/service/inspect-engine.ts";
import { startJob } from "../../src/service/start-job.ts";
import { failJobByOperator } from "../../src/service/fail-job-by-operator.ts";
import { StatementTap } from "../db/statement-tap.ts";

const MiB = 1024 * 1024;

/** One task: input → output (a graph output). */
const single = () => new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES] });

describe("cached payload budget (MariaDB)", () => {
  let db: Db;
  const tap = new StatementTap();
  beforeAll(async () => {
    db = createDb({ url: await testDatabase("budget"), maxConnections: 8, wrapPool: (pool) => tap.wrap(pool) });
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await db.destroy();
  });
  const selectsOfJobs = () => tap.statements.filter((sql) => /^select .* from `jobs`/i.test(sql));

  const harness = (config?: StorageServiceConfig) =>
    Harness.create(new MariaDbJobStore(db), { readyJobLoader, ...(config ? { config } : {}) });

  const cachedPayloadBytes = (h: Harness): number => {
    let bytes = 0;
    for (const jcb of h.service.cache.values()) bytes += jcb.heldPayloadBytes;
    return bytes;
  };

  it("a registered job's inputs stay out of the job cache until StartJob, which loads them", async () => {
    const h = await harness();
    const input = new Uint8Array(MiB).map((_, i) => (i * 31) & 0xff);
    const { jobId } = await h.submit(single(), [input]);
    expect(h.service.cache.get(jobId)).toBeUndefined();
    expect(cachedPayloadBytes(h)).toBe(0);
    expect(await getJobState(h.service.engine, jobId)).toBe("Ready");

    expect(await startJob(h.service.engine, jobId)).toBe("Running");
    expect(cachedPayloadBytes(h)).toBe(MiB);
    const instance = await h.register(jobId, 0);
    expect(instance.serializedTaskIo.length).toBeGreaterThan(MiB); // the wire frame of the one input
    expect(await h.succeed(jobId, 0, instance.taskInstanceId, [input.subarray(0, 10)])).toBe("Succeeded");
    const [output] = decodeTaskOutputs(await getJobOutputs(h.service.engine, jobId), { maxOutputBytes: MiB });
    expect([...output!]).toEqual([...input.subarray(0, 10)]);
    await h.close();
  });

  it("StartJob beyond runtime.limits.max_cached_payload_bytes answers UNAVAILABLE naming the setting and changes nothing; it starts once memory is free", async () => {
    const h = await harness({ limits: { maxCachedPayloadBytes: 1.5 * MiB } });
    const first = await h.submit(single(), [new Uint8Array(MiB).fill(1)]);
    const second = await h.submit(single(), [new Uint8Array(MiB).fill(2)]);
    expect(await startJob(h.service.engine, first.jobId)).toBe("Running");

    let message = "";
    await startJob(h.service.engine, second.jobId).catch((error: unknown) => {
      message = isStorageError(error, "unavailable") ? error.message : String(error);
    });
    expect(message).toMatch(/runtime\.limits\.max_cached_payload_bytes/);
    expect(await getJobState(h.service.engine, second.jobId)).toBe("Ready");
    expect(h.service.cache.get(second.jobId)).toBeUndefined();
    expect(cachedPayloadBytes(h)).toBe(MiB);

    const instance = await h.register(first.jobId, 0);
    expect(await h.succeed(first.jobId, 0, instance.taskInstanceId, [new Uint8Array(1)])).toBe("Succeeded");
    expect(await startJob(h.service.engine, second.jobId)).toBe("Running");
    await h.close();
  });

  it("task outputs that would take the cache beyond its budget are not kept: UNAVAILABLE, and the task runs again without consuming a retry", async () => {
    const h = await harness({ limits: { maxCachedPayloadBytes: 2 * MiB } });
    const { jobId } = await h.submit(
      new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy: { maxNumRetry: 0 } }).task({ outputs: [BYTES], sources: [[0, 0]] }),
      [new Uint8Array(MiB)],
    );
    expect(await startJob(h.service.engine, jobId)).toBe("Running");
    const instance = await h.register(jobId, 0);
    expect(await kindOf(h.succeed(jobId, 0, instance.taskInstanceId, [new Uint8Array(1.5 * MiB)]))).toBe("unavailable");
    expect(jobTasks(h.service.engine, jobId)[0]).toMatchObject({ state: "Ready", retriesLeft: 0, liveInstances: 0 });
    expect(cachedPayloadBytes(h)).toBe(MiB);
    const again = await h.register(jobId, 0);
    expect(await h.succeed(jobId, 0, again.taskInstanceId, [new Uint8Array(0.5 * MiB)])).toBe("Running");
    await h.close();
  });

  it("StartJob right after RegisterJob reads nothing back: the job was kept in its validated form", async () => {
    const h = await harness();
    const { jobId } = await h.submit(single(), [new Uint8Array(100).fill(7)]);
    tap.statements.length = 0;
    expect(await startJob(h.service.engine, jobId)).toBe("Running");
    expect(selectsOfJobs()).toEqual([]);
    await h.close();
  });

  it("a registered job no longer kept (evicted) is read back from its row at StartJob", async () => {
    const h = await harness();
    const { jobId } = await h.submit(single(), [new Uint8Array(100).fill(8)]);
    h.service.engine.registeredJobs!.forget(jobId); // as an eviction would
    tap.statements.length = 0;
    expect(await startJob(h.service.engine, jobId)).toBe("Running");
    expect(selectsOfJobs().length).toBeGreaterThan(0);
    await h.close();
  });

  it("a registered job an operator failed before StartJob is not started from memory", async () => {
    const h = await harness();
    const { jobId } = await h.submit(single(), [new Uint8Array(100).fill(9)]);
    await failJobByOperator(h.service.engine, jobId, "registered by mistake");
    await expect(startJob(h.service.engine, jobId)).rejects.toThrow(/job in state Failed, expected Ready/);
    expect(await getJobState(h.service.engine, jobId)).toBe("Failed");
    await h.close();
  });
});
