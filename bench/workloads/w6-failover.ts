/**
 * W6 high availability on Galera (issue 19), on a 3-node cluster started by
 * the bench (testkit/galera.ts, durable commits on every node):
 *
 * - **W1 on Galera**: W1 exactly as on one MariaDB (same driver, sizes and
 *   cluster of simulated components), against a server whose URL names all
 *   three nodes, right after W1 on the bench's one MariaDB: the ratio of the
 *   two, measured back to back, is what replication costs in throughput.
 * - **failover**: two servers with the default lease (TTL 5 s) — A whose URL
 *   lists node 1 first, B node 2 first. A leads; `jobs` single-task jobs are
 *   registered and started through it and left in flight (no execution
 *   manager runs them yet). Then SIGKILL of A, and the time until B answers
 *   GetSession (SERVING: lease expiry by the database's clock, then migrate
 *   check, session, recovery of every in-flight job, queue refill). Then
 *   execution managers run every job on B, and the jobs not Succeeded are
 *   counted as lost.
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { sql } from "kysely";
import { createDb } from "../../src/db/connection.ts";
import { InspectionService } from "../../src/gen/admin/admin_pb.ts";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import type { GaleraCluster } from "../../testkit/galera.ts";
import type { PrivateMariaDb } from "../../testkit/mariadb.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { addResourceGroup, submitJob } from "../../testkit/sim/cluster.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { now, round } from "../lib/stats.ts";
import type { BenchContext } from "./context.ts";
import { startCluster, serverEnv } from "./spider.ts";
import { runW1, type W1Result } from "./w1-small-jobs.ts";

export interface W6Result {
  readonly nodes: number;
  /** W1 on the bench's one MariaDB, right before W1 on Galera: the baseline. */
  readonly w1Single: W1Result;
  /** W1 against the Galera cluster (all nodes in the URL). */
  readonly w1Galera: W1Result;
  readonly inFlightJobs: number;
  readonly leaseTtlMs: number;
  /** SIGKILL of the leader → the standby answers GetSession. */
  readonly takeoverMs: number;
  /** The new leader's own recovery time (from its status), part of takeoverMs. */
  readonly recoveryMs: number;
  /** The new leader's lease epoch minus the old one's (1: one takeover). */
  readonly epochAdvance: number;
  readonly succeededAfter: number;
  readonly lost: number;
  /** How long the execution managers took to finish every in-flight job on the new leader. */
  readonly drainMs: number;
}

/** The lease TTL both servers run with: the default, which the README quotes. */
const LEASE_TTL_MS = 5_000;

/** `mysql://root@<hosts in this order>/<database>`. */
function urlWithNodes(cluster: GaleraCluster, database: string, order: readonly number[]): string {
  const hosts = cluster.hosts.split(",");
  return `mysql://root@${order.map((index) => hosts[index]!).join(",")}/${database}`;
}

/** What W1 needs of a database server, for the Galera cluster: databases made on it, counters read from node 1 (the one W1's server writes through). */
function galeraAsMariaDb(cluster: GaleraCluster): PrivateMariaDb {
  return { serverUrl: cluster.url(0), createDatabase: (name: string) => cluster.createDatabase(name) } as unknown as PrivateMariaDb;
}

async function status(address: string) {
  const client = createPromiseClient(InspectionService, address);
  try {
    return await client.getStatus({}, { deadlineMs: 10_000 });
  } finally {
    client.close();
  }
}

export async function runW6(ctx: BenchContext, galera: GaleraCluster): Promise<W6Result> {
  ctx.log("W6: W1 on one MariaDB, then on Galera");
  const w1Single = await runW1({ ...ctx, runId: `${ctx.runId}one` });
  const w1Galera = await runW1({ ...ctx, mariadb: galeraAsMariaDb(galera), runId: `${ctx.runId}gal` });
  ctx.log(`W6: W1 ${w1Single.jobsPerSecond} jobs/s on one MariaDB, ${w1Galera.jobsPerSecond} on Galera`);

  const database = `bench_w6_${ctx.runId}`;
  await galera.createDatabase(database);
  const env = { ...serverEnv(), SPIDER_STORAGE_RUNTIME__LEASE__TTL_MS: String(LEASE_TTL_MS) };
  const a = await ServerProcess.start({ databaseUrl: urlWithNodes(galera, database, [0, 1, 2]), env: { ...env, SPIDER_STORAGE_RUNTIME__LEASE__HOLDER_NAME: "A" } });
  let b: ServerProcess | undefined;
  try {
    await a.waitServing(120_000);
    b = await ServerProcess.start({ databaseUrl: urlWithNodes(galera, database, [1, 0, 2]), env: { ...env, SPIDER_STORAGE_RUNTIME__LEASE__HOLDER_NAME: "B" } });
    const standby = b;
    await waitUntil(() => standby.logs.includes("standby: another spider-storage holds the database lease"), 60_000, "B to wait as a standby");
    const epochBefore = (await status(a.address)).leader?.epoch ?? 0n;

    // In flight: registered and started through A, not run yet.
    const jobs = ctx.profile.w6.jobs;
    const clients = connectStorage(a.address);
    try {
      const resourceGroupId = await addResourceGroup(clients);
      let next = 0;
      await Promise.all(
        Array.from({ length: ctx.profile.concurrency }, async () => {
          while (next < jobs) {
            next++;
            await submitJob(clients, resourceGroupId, singleTask({ seed: next }));
          }
        }),
      );
    } finally {
      clients.close();
    }
    ctx.log(`W6: ${jobs} jobs in flight on A; SIGKILL A`);

    const killedAt = now();
    await a.kill();
    const sessions = createPromiseClient(SessionManagementService, standby.address);
    try {
      for (;;) {
        const answered = await sessions.getSession({}, { deadlineMs: 1_000 }).then(
          () => true,
          (error: grpc.ServiceError) => {
            if (error.code !== grpc.status.UNAVAILABLE && error.code !== grpc.status.DEADLINE_EXCEEDED) throw error;
            return false;
          },
        );
        if (answered) break;
        if (now() - killedAt > 120_000) throw new Error(`B did not serve within 120 s of A's SIGKILL:\n${standby.logs.slice(-3_000)}`);
        await sleep(10);
      }
    } finally {
      sessions.close();
    }
    const takeoverMs = round(now() - killedAt, 0);
    const after = await status(standby.address);
    ctx.log(`W6: B serving ${takeoverMs} ms after A's SIGKILL (recovery ${after.recovery?.elapsedMs ?? "?"} ms)`);

    const drainStarted = now();
    const cluster = await startCluster(standby.address);
    const db = createDb({ url: urlWithNodes(galera, database, [1, 0, 2]), maxConnections: 1 });
    let succeededAfter = 0;
    try {
      const deadline = now() + Math.max(60_000, jobs * 20);
      while (now() < deadline) {
        const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM jobs WHERE state = 'Succeeded'`.execute(db);
        succeededAfter = Number(rows[0]!.n);
        if (succeededAfter >= jobs) break;
        await sleep(250);
      }
    } finally {
      await cluster.stop();
      await db.destroy();
    }
    const drainMs = round(now() - drainStarted, 0);
    return {
      nodes: galera.nodes.length,
      w1Single,
      w1Galera,
      inFlightJobs: jobs,
      leaseTtlMs: LEASE_TTL_MS,
      takeoverMs,
      recoveryMs: Number(after.recovery?.elapsedMs ?? 0n),
      epochAdvance: Number((after.leader?.epoch ?? 0n) - epochBefore),
      succeededAfter,
      lost: jobs - succeededAfter,
      drainMs,
    };
  } finally {
    await a.kill();
    await b?.stop(20_000).catch(() => b?.kill());
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = now() + timeoutMs;
  while (!condition()) {
    if (now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
