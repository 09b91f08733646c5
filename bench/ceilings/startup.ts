/**
 * Start-up (issue 20.5), measured only: `node src/cli/spider-storage.js serve`
 * (the `bin` entry `npm start` runs) spawned on
 * an empty database, time from spawn to
 *   - port bound: the first TCP connection to its port accepted (tried every 2 ms);
 *     the serve command binds it before the server's modules load and holds
 *     connections until the gRPC server takes them, so also
 *   - first gRPC answer: the first health Check answered (NOT_SERVING or
 *     SERVING; tried every 2 ms), when the gRPC server has taken the port,
 *   - SERVING: the first GetSession answered OK (every RPC answers UNAVAILABLE
 *     until then; tried every 5 ms with a 5 ms reconnect backoff),
 * beside a bare `node -e ''` (spawn → exit) measured in the same run. The
 * `bin` entry runs the bundle (scripts/bundle.ts; built first when it does not
 * match the sources); the same start from the sources (`node src/cli/main.ts`)
 * is measured in the same loop. The first start on a new database also applies
 * the migrations (reported apart); the figures compared with the goals are the
 * restarts on the migrated, empty database that follow. Medians over
 * `repetitions` starts, bare node, bundle and sources alternating.
 */
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { freePort } from "../../testkit/free-port.ts";
import type { PrivateMariaDb } from "../../testkit/mariadb.ts";
import { CLI_BIN, CLI_MAIN, ServerProcess } from "../../testkit/server-process.ts";
import { ensureFreshBundle } from "../lib/bundle.ts";
import { percentile, now, round } from "../lib/stats.ts";
import { serverEnv } from "../workloads/spider.ts";
import { HealthClientWrapper } from "../../testkit/health-client.ts";

export interface StartSample {
  readonly portBoundMs: number;
  readonly firstAnswerMs: number;
  readonly servingMs: number;
}

export interface StartupResult {
  readonly repetitions: number;
  readonly bareNodeMs: readonly number[];
  readonly bareNodeMedianMs: number;
  /** The first start on a new database (migrations applied during it). */
  readonly firstStart: StartSample;
  readonly starts: readonly StartSample[];
  readonly portBoundMedianMs: number;
  readonly firstAnswerMedianMs: number;
  readonly servingMedianMs: number;
  /** Whether the bundle was built for this run (it did not match the sources). */
  readonly bundleBuilt: boolean;
  /** The same starts from the sources (`node src/cli/main.ts serve`), same loop. */
  readonly sources: { readonly starts: readonly StartSample[]; readonly portBoundMedianMs: number; readonly firstAnswerMedianMs: number; readonly servingMedianMs: number };
}

/** The probes reconnect every 5 ms (grpc-js's default first backoff is 1 s), so a start is seen when it happens. */
const FAST_RECONNECT = { "grpc.initial_reconnect_backoff_ms": 5, "grpc.min_reconnect_backoff_ms": 5, "grpc.max_reconnect_backoff_ms": 5 };

const median = (xs: readonly number[]) => round(percentile([...xs].sort((a, b) => a - b), 50), 1);

function bareNode(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", () => resolve(now() - t0));
  });
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function startOnce(databaseUrl: string, timeoutMs: number, entry: string): Promise<StartSample> {
  const port = await freePort();
  const t0 = now();
  const server = await ServerProcess.start({ databaseUrl, port, env: serverEnv(), entry });
  const probe = createPromiseClient(SessionManagementService, server.address, undefined, FAST_RECONNECT);
  const health = new HealthClientWrapper(server.address, undefined, FAST_RECONNECT);
  try {
    let portBoundMs: number | undefined;
    while (now() - t0 < timeoutMs) {
      if (!server.running) throw new Error(`server exited before binding its port: ${server.logs.slice(-2_000)}`);
      if (await tcpAccepts(port)) {
        portBoundMs = now() - t0;
        break;
      }
      await sleep(2);
    }
    if (portBoundMs === undefined) throw new Error(`port not bound after ${timeoutMs} ms`);
    let firstAnswerMs: number | undefined;
    while (now() - t0 < timeoutMs) {
      if (!server.running) throw new Error(`server exited before answering: ${server.logs.slice(-2_000)}`);
      const answer = await health.check("", 1_000);
      if (answer === "SERVING" || answer === "NOT_SERVING") {
        firstAnswerMs = now() - t0;
        break;
      }
      if (answer !== grpc.status.UNAVAILABLE && answer !== grpc.status.DEADLINE_EXCEEDED) throw new Error(`health answered ${String(answer)}`);
      await sleep(2);
    }
    if (firstAnswerMs === undefined) throw new Error(`no gRPC answer after ${timeoutMs} ms`);
    while (now() - t0 < timeoutMs) {
      if (!server.running) throw new Error(`server exited before serving: ${server.logs.slice(-2_000)}`);
      try {
        await probe.getSession({}, { deadlineMs: 1_000 });
        return { portBoundMs: round(portBoundMs, 1), firstAnswerMs: round(firstAnswerMs, 1), servingMs: round(now() - t0, 1) };
      } catch (error) {
        const code = (error as grpc.ServiceError).code;
        if (code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED) throw error;
        await sleep(5);
      }
    }
    throw new Error(`not serving after ${timeoutMs} ms`);
  } finally {
    probe.close();
    health.close();
    await server.stop();
  }
}

export async function measureStartup(mariadb: PrivateMariaDb, database: string, options: { repetitions: number; timeoutMs?: number }): Promise<StartupResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const bundleBuilt = await ensureFreshBundle();
  const databaseUrl = await mariadb.createDatabase(database);
  await bareNode(); // one unmeasured start of each: cold file caches are noise
  const firstStart = await startOnce(databaseUrl, timeoutMs, CLI_BIN);
  await startOnce(databaseUrl, timeoutMs, CLI_MAIN); // unmeasured too: the sources' first compile fills the cache
  const bare: number[] = [];
  const starts: StartSample[] = [];
  const sourceStarts: StartSample[] = [];
  // Alternate, so load that comes and goes falls on all three.
  for (let i = 0; i < options.repetitions; i++) {
    bare.push(round(await bareNode(), 1));
    starts.push(await startOnce(databaseUrl, timeoutMs, CLI_BIN));
    sourceStarts.push(await startOnce(databaseUrl, timeoutMs, CLI_MAIN));
  }
  return {
    repetitions: options.repetitions,
    bareNodeMs: bare,
    bareNodeMedianMs: median(bare),
    firstStart,
    starts,
    portBoundMedianMs: median(starts.map((s) => s.portBoundMs)),
    firstAnswerMedianMs: median(starts.map((s) => s.firstAnswerMs)),
    servingMedianMs: median(starts.map((s) => s.servingMs)),
    bundleBuilt,
    sources: {
      starts: sourceStarts,
      portBoundMedianMs: median(sourceStarts.map((s) => s.portBoundMs)),
      firstAnswerMedianMs: median(sourceStarts.map((s) => s.firstAnswerMs)),
      servingMedianMs: median(sourceStarts.map((s) => s.servingMs)),
    },
  };
}
