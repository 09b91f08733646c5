/**
 * Recovery of thousands of jobs through the real server, with memory bounded
 * by the page size plus the live cache, never by the backlog: 3 000 small
 * Running jobs (a third with checkpoints) and 1 500 never-started Ready jobs
 * carrying 16 KiB of inputs each, inserted by bulk SQL, recovered 100 rows a
 * page. The server logs heap and RSS after every page ("recovery page", debug);
 * the test prints them, checks the heap never peaks far above its
 * post-recovery value, and that the Ready backlog (24 MiB of inputs) left no
 * trace in memory (those jobs are loaded on StartJob). Then the Running jobs
 * all finish, and a few Ready ones are started from the database.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/connection.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { jobOutputs, oracleOutputs, SimulatedCluster, waitForJobs } from "../../testkit/sim/cluster.ts";
import { diamond, singleTask, type JobSpec } from "../../testkit/sim/job-shapes.ts";
import { withRetry } from "../../testkit/sim/cluster.ts";
import { insertJobs, LogCollector, migratedDatabase, oracleTaskOutputsFrame, seedResourceGroup, type SeededJob } from "./helpers/recovery-fixture.ts";

const MiB = 1024 * 1024;
const RUNNING = 3_000;
/** SPIDER_TEST_SCALE_READY=8000 makes the Ready backlog larger (125 MiB), to watch memory plateau. */
const READY = Number(process.env["SPIDER_TEST_SCALE_READY"] ?? 1_500);
const READY_INPUT_BYTES = 16 * 1024;
const PAGE_SIZE = 100;

describe("recovery at scale", () => {
  let server: ServerProcess | undefined;
  let cluster: SimulatedCluster | undefined;
  let db: Db | undefined;
  afterAll(async () => {
    await cluster?.stop();
    await server?.kill();
    await db?.destroy();
  });

  it(`recovers ${RUNNING} Running and ${READY} Ready jobs page by page with flat memory, then runs them`, { timeout: 300_000 }, async () => {
    const migrated = await migratedDatabase("scale");
    db = migrated.db;
    const rg = await seedResourceGroup(db);

    const running: { spec: JobSpec; checkpointed: boolean }[] = [];
    for (let i = 0; i < RUNNING; i++) {
      const spec = i % 2 === 0 ? singleTask({ seed: i }) : diamond({ seed: i });
      running.push({ spec, checkpointed: i % 3 === 1 }); // every third job: a diamond or single with task 0 checkpointed
    }
    const seeded: SeededJob[] = running.map(({ spec }) => ({ state: "Running", spec }));
    const readySpecs: JobSpec[] = [];
    for (let i = 0; i < READY; i++) {
      const spec = singleTask({ seed: 100_000 + i });
      spec.inputs[0] = randomBytes(READY_INPUT_BYTES); // incompressible: really 16 KiB each in the database
      readySpecs.push(spec);
      seeded.push({ state: "Ready", spec });
    }
    const t0 = performance.now();
    const ids = await insertJobs(db, rg, seeded);
    const runningIds = ids.slice(0, RUNNING);
    const readyIds = ids.slice(RUNNING);
    const checkpoints = running.flatMap(({ spec, checkpointed }, i) =>
      checkpointed && spec.builder.build().tasks.length > 1 ? [{ job_id: runningIds[i]!, task_index: 0, outputs: Buffer.from(oracleTaskOutputsFrame(spec, 0)) }] : [],
    );
    for (let start = 0; start < checkpoints.length; start += 500) await db.insertInto("task_checkpoints").values(checkpoints.slice(start, start + 500)).execute();
    console.log(`seeded ${ids.length} jobs and ${checkpoints.length} checkpoints in ${Math.round(performance.now() - t0)} ms`);

    server = await ServerProcess.start({
      databaseUrl: migrated.url,
      env: { SPIDER_STORAGE_LOG_LEVEL: "debug", SPIDER_STORAGE_RUNTIME__RECOVERY__PAGE_SIZE: String(PAGE_SIZE) },
    });
    const logs = new LogCollector(server);
    await server.waitServing(120_000);

    // SERVING can be seen before the log pipe delivers the summary logged just before it: wait for the line itself.
    const summary = await logs.waitFor((r) => r.msg === "recovery summary");
    const pages = logs.withMessage("recovery page");
    expect(pages.length).toBe(Math.ceil(RUNNING / PAGE_SIZE) + Math.ceil(READY / PAGE_SIZE));
    expect(summary).toMatchObject({ total: RUNNING + READY, quarantined: 0, deferredReady: READY, restoredTasks: checkpoints.length });
    expect(summary["cached"]).toMatchObject({ Running: RUNNING, Ready: 0 });

    const heap = pages.map((p) => Number(p["heapUsedBytes"]));
    const rss = pages.map((p) => Number(p["rssBytes"]));
    const buffers = pages.map((p) => Number(p["arrayBuffersBytes"]));
    const mb = (n: number) => (n / MiB).toFixed(1);
    const rows: string[] = [];
    for (let i = 0; i < pages.length; i++) {
      if (i % 5 === 0 || i === pages.length - 1 || i === Math.ceil(RUNNING / PAGE_SIZE)) {
        rows.push(`  page ${String(i + 1).padStart(2)} done ${String(pages[i]!["done"]).padStart(4)} cached ${String(pages[i]!["cachedJobs"]).padStart(4)}  heap ${mb(heap[i]!).padStart(6)} MiB  buffers ${mb(buffers[i]!).padStart(6)} MiB  rss ${mb(rss[i]!).padStart(6)} MiB`);
      }
    }
    const finalHeap = heap[heap.length - 1]!;
    const peakHeap = Math.max(...heap);
    const runningPages = Math.ceil(RUNNING / PAGE_SIZE);
    const readyHeap = heap.slice(runningPages - 1);
    const readyGrowth = Math.max(...readyHeap) - readyHeap[0]!;
    const perPage = (heap[runningPages - 1]! - heap[0]!) / (runningPages - 1);
    console.log(
      [
        `recovery of ${summary["total"]} jobs: ${summary["durationMs"]} ms, ${summary["rate"]} jobs/s, ${summary["pages"]} pages of ${PAGE_SIZE}`,
        ...rows,
        `  heap: peak ${mb(peakHeap)} MiB, post-recovery ${mb(finalHeap)} MiB; rss peak ${mb(Math.max(...rss))} MiB`,
        `  Running pages: the heap grows ${(perPage / 1024).toFixed(0)} KiB per page of ${PAGE_SIZE} cached jobs (the live cache)`,
        `  Ready pages (${mb(READY * READY_INPUT_BYTES)} MiB of inputs read): heap growth ${mb(readyGrowth)} MiB`,
      ].join("\n"),
    );
    // Memory never peaks far above what the live cache needs once recovery is done…
    expect(peakHeap).toBeLessThan(finalHeap * 1.5 + 32 * MiB);
    // …and the Ready backlog is read a page at a time and not kept.
    expect(readyGrowth).toBeLessThan((READY * READY_INPUT_BYTES) / 3);

    // Every recovered Running job finishes with the oracle's outputs; Ready jobs load on StartJob.
    cluster = await new SimulatedCluster(server.address, { executionManagers: 4, concurrency: 8, scheduler: { maxItems: 500 } }).start();
    const t1 = performance.now();
    const started = readyIds.slice(0, 20);
    for (const jobId of started) await withRetry(() => cluster!.clients.jobs.startJob({ jobId }));
    const states = await waitForJobs(cluster.clients, [...runningIds, ...started], 240_000);
    console.log(`ran ${runningIds.length + started.length} recovered jobs to the end in ${Math.round(performance.now() - t1)} ms`);
    expect([...states.values()].every((s) => s === "Succeeded")).toBe(true);
    for (const i of [0, 1, 4, 1001, RUNNING - 1]) expect(await jobOutputs(cluster.clients, runningIds[i]!)).toEqual(oracleOutputs(running[i]!.spec));
    expect(await jobOutputs(cluster.clients, started[0]!)).toEqual(oracleOutputs(readySpecs[0]!));
    // Checkpointed diamonds did not run task 0 again.
    const diamondWithCheckpoint = running.findIndex((r, i) => r.checkpointed && i % 2 === 1);
    expect(cluster.log.starts.get(`${runningIds[diamondWithCheckpoint]}/0`)).toBeUndefined();
    expect(cluster.log.starts.get(`${runningIds[diamondWithCheckpoint]}/3`)).toBe(1);
  });
});
