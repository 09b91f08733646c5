/**
 * The transport comparison of issue 20.6, measured only (no switch): a no-op
 * unary RPC (SessionManagementService.GetSession) served by
 *   - `@grpc/grpc-js` (what the server uses: noop-grpc-server.ts, through the
 *     same protobuf-es adapter and, as the server's, the unary fast path on
 *     grpc-js's node:http2 server), and
 *   - `@connectrpc/connect-node` (the gRPC protocol over node:http2:
 *     noop-connect-server.ts),
 * each in its own process, called by the same number of callers as the no-op
 * ceiling. Spider's real clients are not Node, so the figure that matters is
 * the server swap with the client held constant: a grpc-js client against
 * each server, alternating (grpc-js, connect, grpc-js, connect) to spread
 * drift over both; a connect client against the connect server is measured
 * beside it. Calls/s and the server process's CPU per call (from /proc).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { readCpuSeconds } from "../lib/proc.ts";
import { ratio, round, summarizeLatencies, type LatencySummary } from "../lib/stats.ts";
import { callLoop } from "../lib/call-loop.ts";

export interface TransportCase {
  readonly server: "grpc-js" | "connect-node";
  readonly client: "grpc-js" | "connect-node";
  readonly callsPerSecond: number;
  readonly calls: number;
  readonly serverCpuUsPerCall: number;
  readonly clientCpuUsPerCall: number;
  readonly latency: LatencySummary;
}

export interface TransportComparison {
  readonly concurrency: number;
  readonly durationMsPerRound: number;
  readonly rounds: readonly TransportCase[];
  /** Mean calls/s per server with the grpc-js client. */
  readonly grpcJsCallsPerSecond: number;
  readonly connectCallsPerSecond: number;
  /** connect-node server ÷ grpc-js server, calls/s, same grpc-js client. */
  readonly ratio: number;
  /** grpc-js server CPU per call ÷ connect-node server CPU per call (> 1: connect-node is cheaper). */
  readonly serverCpuRatio: number;
  readonly connectClientOnConnectServer: TransportCase;
  readonly versions: Record<string, string>;
}

type Call = () => Promise<unknown>;

async function startServer(script: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^(\d+)\n/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { port, child };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

function grpcJsCaller(port: number): { call: Call; close(): void } {
  const client = createPromiseClient(SessionManagementService, `127.0.0.1:${port}`);
  return { call: () => client.getSession({}), close: () => client.close() };
}

function connectCaller(port: number): { call: Call; close(): void } {
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` });
  const client = createClient(SessionManagementService, transport);
  return { call: () => client.getSession({}), close: () => undefined };
}

async function measureCase(server: TransportCase["server"], client: TransportCase["client"], options: { concurrency: number; durationMs: number }): Promise<TransportCase> {
  const { port, child } = await startServer(server === "grpc-js" ? "./noop-grpc-server.ts" : "./noop-connect-server.ts");
  const caller = client === "grpc-js" ? grpcJsCaller(port) : connectCaller(port);
  try {
    await callLoop(caller.call, options.concurrency, Math.min(1_000, options.durationMs / 2)); // warm-up: connection, JIT
    const server0 = readCpuSeconds(child.pid!);
    const self0 = process.cpuUsage();
    const loaded = await callLoop(caller.call, options.concurrency, options.durationMs);
    const serverCpu = readCpuSeconds(child.pid!) - server0;
    const self = process.cpuUsage(self0);
    return {
      server,
      client,
      callsPerSecond: round(loaded.calls / (loaded.elapsedMs / 1000), 1),
      calls: loaded.calls,
      serverCpuUsPerCall: round((serverCpu * 1e6) / loaded.calls, 1),
      clientCpuUsPerCall: round((self.user + self.system) / loaded.calls, 1),
      latency: summarizeLatencies(loaded.latencies),
    };
  } finally {
    caller.close();
    await stopServer(child);
  }
}

async function version(name: string): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return (JSON.parse(await readFile(fileURLToPath(new URL(`../../node_modules/${name}/package.json`, import.meta.url)), "utf8")) as { version: string }).version;
}

export async function measureTransports(options: { concurrency: number; durationMs: number }): Promise<TransportComparison> {
  const rounds: TransportCase[] = [];
  for (let i = 0; i < 2; i++) {
    rounds.push(await measureCase("grpc-js", "grpc-js", options));
    rounds.push(await measureCase("connect-node", "grpc-js", options));
  }
  const connectClient = await measureCase("connect-node", "connect-node", options);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const of = (server: TransportCase["server"]) => rounds.filter((r) => r.server === server);
  const grpcJs = mean(of("grpc-js").map((r) => r.callsPerSecond));
  const connect = mean(of("connect-node").map((r) => r.callsPerSecond));
  return {
    concurrency: options.concurrency,
    durationMsPerRound: options.durationMs,
    rounds,
    grpcJsCallsPerSecond: round(grpcJs, 1),
    connectCallsPerSecond: round(connect, 1),
    ratio: ratio(connect, grpcJs),
    serverCpuRatio: ratio(mean(of("grpc-js").map((r) => r.serverCpuUsPerCall)), mean(of("connect-node").map((r) => r.serverCpuUsPerCall))),
    connectClientOnConnectServer: connectClient,
    versions: { "@grpc/grpc-js": await version("@grpc/grpc-js"), "@connectrpc/connect-node": await version("@connectrpc/connect-node") },
  };
}
