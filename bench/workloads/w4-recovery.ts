/**
 * W4 recovery. For each size (plus 0, the fixed start-up cost beside the same
 * terminal rows): insert the non-terminal jobs (w4-dataset.ts), then
 *   - raw scan (the baseline): a mysql2 streaming SELECT of exactly the rows
 *     recovery needs — the jobs query of Spider's recovery (spec §5: the six
 *     columns of every Ready/Running/CommitReady/CleanupReady job) and every
 *     checkpoint row — from a new connection, timed to the last row; run
 *     before and after the server, and the faster of the two is the baseline;
 *   - the server: spawned through the `bin` entry `npm start` runs
 *     (src/cli/spider-storage.js serve, the bundle: made current first) on that database;
 *     time from spawn to the first GetSession answered OK (polled every 5 ms;
 *     every RPC answers UNAVAILABLE until SERVING); peak RSS during start-up
 *     and recovery = the highest of VmRSS sampled every 10 ms while it
 *     recovers and VmHWM at SERVING; "RSS after" = the lowest VmRSS over 2 s
 *     of samples taken from 1 s after SERVING (issue 20: it used to be read at
 *     the same instant as the peak, so peak ÷ after was 1.000 by
 *     construction); then a poll checks that recovered Running jobs' tasks are
 *     dispatched.
 * One unmeasured start comes first (cold file caches are noise). The database stays up throughout (its buffer pool is equally warm for the
 * scan and the server), as when only the storage service restarts.
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { createConnection as createCallbackConnection } from "mysql2";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { CLI_BIN, ServerProcess } from "../../testkit/server-process.ts";
import { ensureFreshBundle } from "../lib/bundle.ts";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { MiB, readMemory, RssSampler } from "../lib/proc.ts";
import { now, round } from "../lib/stats.ts";
import type { BenchContext } from "./context.ts";
import { openW4Database, resetAndInsert, type InsertedNonTerminal, type W4Database } from "./w4-dataset.ts";
import { serverEnv } from "./spider.ts";

export interface RawScan {
  readonly ms: number;
  readonly jobRows: number;
  readonly checkpointRows: number;
  readonly bytes: number;
}

export interface W4Size {
  readonly nonTerminalJobs: number;
  readonly inserted: InsertedNonTerminal;
  readonly rawScanMs: number;
  readonly rawScans: readonly RawScan[];
  readonly status: "serving" | "error";
  readonly error?: string;
  readonly toServingMs?: number;
  readonly peakRssMiB?: number;
  /** Settled RSS after SERVING: the lowest of 2 s of samples from 1 s after it. */
  readonly rssAfterMiB?: number;
  readonly rssAtServingMiB?: number;
  /** VmRSS samples taken while the server started and recovered (10 ms apart). */
  readonly rssSamplesDuringRecovery?: number;
  readonly peakOverAfter?: number;
  readonly recoveredTasksPolled?: number;
  /** The server's own log lines up to SERVING, in ms after spawn (where the time went). */
  readonly timeline?: readonly { readonly atMs: number; readonly msg: string }[];
}

export interface W4Result {
  readonly terminalJobs: number;
  readonly datasetBuiltNow: boolean;
  readonly datasetOpenMs: number;
  /** Whether the bundle the `bin` entry runs was built for this run (it did not match the sources). */
  readonly bundleBuilt: boolean;
  readonly sizes: readonly W4Size[];
}

export async function runW4(ctx: BenchContext): Promise<W4Result> {
  const { w4 } = ctx.profile;
  const bundleBuilt = await ensureFreshBundle();
  const db = await openW4Database(w4.terminalJobs, ctx.log);
  try {
    // One unmeasured start first: the first server start after the data set opens pays for
    // cold file caches (Node, node_modules, the database's buffer pool), which is noise here.
    await resetAndInsert(db, 0);
    await measureServerStart(db.databaseUrl, w4.servingTimeoutMs, false);
    const sizes: W4Size[] = [];
    for (const size of [0, ...w4.sizes]) {
      ctx.log(`W4: ${size.toLocaleString("en-US")} non-terminal jobs beside ${w4.terminalJobs.toLocaleString("en-US")} terminal`);
      sizes.push(await runSize(ctx, db, size));
    }
    await resetAndInsert(db, 0);
    return { terminalJobs: w4.terminalJobs, datasetBuiltNow: db.builtNow, datasetOpenMs: db.buildMs, bundleBuilt, sizes };
  } finally {
    await db.stop();
  }
}

async function runSize(ctx: BenchContext, db: W4Database, size: number): Promise<W4Size> {
  const inserted = await resetAndInsert(db, size);
  const scans: RawScan[] = [await rawScan(db.databaseUrl)];
  const measured = await measureServerStart(db.databaseUrl, ctx.profile.w4.servingTimeoutMs, size > 0);
  scans.push(await rawScan(db.databaseUrl));
  return { nonTerminalJobs: size, inserted, rawScanMs: Math.min(...scans.map((s) => s.ms)), rawScans: scans, ...measured };
}

function rawScan(databaseUrl: string): Promise<RawScan> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const connection = createCallbackConnection({ uri: databaseUrl, supportBigNumbers: true, bigNumberStrings: true });
    let jobRows = 0;
    let checkpointRows = 0;
    let bytes = 0;
    const size = (row: Record<string, unknown>) => {
      for (const value of Object.values(row)) if (Buffer.isBuffer(value)) bytes += value.length;
    };
    const fail = (error: Error) => {
      connection.destroy();
      reject(error);
    };
    connection
      .query(
        `SELECT id, resource_group_id, state, compressed_serialized_task_graph, compressed_serialized_job_inputs, serialized_job_outputs
         FROM jobs WHERE state IN ('Ready', 'Running', 'CommitReady', 'CleanupReady')`,
      )
      .stream()
      .on("data", (row: Record<string, unknown>) => {
        jobRows++;
        size(row);
      })
      .on("error", fail)
      .on("end", () => {
        connection
          .query("SELECT job_id, task_index, outputs FROM task_checkpoints")
          .stream()
          .on("data", (row: Record<string, unknown>) => {
            checkpointRows++;
            size(row);
          })
          .on("error", fail)
          .on("end", () => {
            const ms = round(now() - t0);
            connection.end();
            resolve({ ms, jobRows, checkpointRows, bytes });
          });
      });
  });
}

async function measureServerStart(databaseUrl: string, timeoutMs: number, expectTasks: boolean): Promise<Omit<W4Size, "nonTerminalJobs" | "inserted" | "rawScanMs" | "rawScans">> {
  const t0 = now();
  const spawnedAt = Date.now();
  // Info logs here (a handful of lines at start-up): they give the timeline of the phases.
  const server = await ServerProcess.start({ databaseUrl, entry: CLI_BIN, env: { ...serverEnv(), SPIDER_STORAGE_LOG_LEVEL: "info", SPIDER_STORAGE_RUNTIME__GC__ENABLED: "false" } });
  const pid = server.child.pid!;
  const sampler = new RssSampler(pid, 10);
  const clients = connectStorage(server.address);
  // The probe reconnects every 5 ms: grpc-js's default backoff after a refused
  // connection (1 s and growing) would otherwise be counted as recovery time.
  const probe = createPromiseClient(SessionManagementService, server.address, undefined, {
    "grpc.initial_reconnect_backoff_ms": 5,
    "grpc.min_reconnect_backoff_ms": 5,
    "grpc.max_reconnect_backoff_ms": 5,
  });
  try {
    let servingAt: number | undefined;
    while (now() - t0 < timeoutMs) {
      if (!server.running) return { status: "error", error: `server exited before serving: ${server.logs.slice(-2_000)}` };
      try {
        await probe.getSession({}, { deadlineMs: 1_000 });
        servingAt = now();
        break;
      } catch (error) {
        const code = (error as grpc.ServiceError).code;
        if (code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED) {
          return { status: "error", error: `GetSession: ${(error as Error).message}` };
        }
        await sleep(5);
      }
    }
    const atServing = readMemory(pid);
    sampler.stop();
    if (servingAt === undefined || !atServing) return { status: "error", error: `not serving after ${timeoutMs} ms: ${server.logs.slice(-2_000)}` };
    // Settled RSS, read apart from the peak: the lowest of 2 s of samples from 1 s after SERVING.
    await sleep(1_000);
    let settled = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 20; i++) {
      const reading = readMemory(pid);
      if (reading) settled = Math.min(settled, reading.rssBytes);
      await sleep(100);
    }
    if (!Number.isFinite(settled)) settled = atServing.rssBytes;
    let recoveredTasksPolled = 0;
    if (expectTasks) {
      const response = await clients.queue.pollReadyTasks({ maxItems: 100n, waitMs: 1_000n }, { deadlineMs: 10_000 });
      recoveredTasksPolled = response.tasks?.tasks.length ?? 0;
    }
    const peak = Math.max(atServing.hwmBytes, sampler.peakRssBytes);
    return {
      status: "serving",
      toServingMs: round(servingAt - t0),
      peakRssMiB: round(peak / MiB, 1),
      rssAfterMiB: round(settled / MiB, 1),
      rssAtServingMiB: round(atServing.rssBytes / MiB, 1),
      rssSamplesDuringRecovery: sampler.samples,
      peakOverAfter: round(peak / settled, 3),
      recoveredTasksPolled,
      timeline: timeline(server.logs, spawnedAt),
    };
  } finally {
    sampler.stop();
    probe.close();
    clients.close();
    await server.stop();
  }
}

function timeline(logs: string, spawnedAt: number): { atMs: number; msg: string }[] {
  const entries: { atMs: number; msg: string }[] = [];
  for (const line of logs.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const record = JSON.parse(line) as { time?: string | number; msg?: string };
      const at = typeof record.time === "number" ? record.time : Date.parse(String(record.time));
      if (Number.isFinite(at) && record.msg) entries.push({ atMs: at - spawnedAt, msg: record.msg.slice(0, 120) });
    } catch {
      // not a log record
    }
    if (entries.length >= 40) break;
  }
  return entries;
}
