/**
 * Bytes a gRPC call leaves promoted to V8's old generation on the server, by
 * configuration: the no-op server of the call-rate ceiling under 32 callers
 * (GetSession), read from the server's own `--trace-gc-nvp` over the loaded
 * window after a warm-up. What the server's GC copies and later marks is
 * what its calls leave promoted; src/grpc/http2-stream-tables.ts and
 * src/cli/v8-heap-flags.js say why each configuration differs.
 *
 *   node bench/micro/call-promotion.ts [--seconds 4] [--warmup 5] [--rounds 2] [--only TEXT]…
 *
 * (--only keeps the configurations whose name contains TEXT.)
 *
 * Configurations alternate within each round; each row is a median over
 * rounds. Also printed: the server's CPU per call (process.cpuUsage of the
 * child is not visible here, so /proc) and the calls per second.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { readPromotion } from "../../testkit/gc/promotion.ts";
import { callLoop } from "../lib/call-loop.ts";
import { readCpuSeconds } from "../lib/proc.ts";
import { percentile } from "../lib/stats.ts";

const { values: options } = parseArgs({
  options: {
    seconds: { type: "string", default: "4" },
    warmup: { type: "string", default: "5" },
    rounds: { type: "string", default: "2" },
    only: { type: "string", multiple: true },
  },
});
const SECONDS = Number(options.seconds);
const WARMUP_SECONDS = Number(options.warmup);
const ROUNDS = Number(options.rounds);
const SERVER = fileURLToPath(new URL("./call-promotion-server.ts", import.meta.url));

interface Configuration {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly nodeFlags: readonly string[];
}

const ALL: readonly Configuration[] = [
  { name: "no-op server alone, V8 defaults", env: {}, nodeFlags: [] },
  // Alone, pretenuring does not strike: the renewed tables suffice. The server's modules change that.
  { name: "no-op server alone, stream tables renewed", env: { RENEW_STREAM_TABLES: "1" }, nodeFlags: [] },
  { name: "+ the server's modules loaded (the server before)", env: { LOAD_SERVER_MODULES: "1" }, nodeFlags: [] },
  { name: "+ stream tables renewed", env: { LOAD_SERVER_MODULES: "1", RENEW_STREAM_TABLES: "1" }, nodeFlags: [] },
  { name: "+ no pretenuring (tables not renewed)", env: { LOAD_SERVER_MODULES: "1" }, nodeFlags: ["--no-allocation-site-pretenuring"] },
  { name: "+ both (the server before its unary fast path)", env: { LOAD_SERVER_MODULES: "1", RENEW_STREAM_TABLES: "1" }, nodeFlags: ["--no-allocation-site-pretenuring"] },
  {
    name: "+ both, through the server's gRPC layer, grpc-js's call path (src/grpc/server.ts, metrics)",
    env: { LOAD_SERVER_MODULES: "1", OUR_GRPC_SERVER: "1", UNARY_FAST_PATH: "0" },
    nodeFlags: ["--no-allocation-site-pretenuring"],
  },
  {
    name: "+ both, through the server's gRPC layer, its unary fast path (the server now)",
    env: { LOAD_SERVER_MODULES: "1", OUR_GRPC_SERVER: "1" },
    nodeFlags: ["--no-allocation-site-pretenuring"],
  },
  {
    name: "+ both, node:http2 alone answering by hand (no gRPC library: the floor)",
    env: { LOAD_SERVER_MODULES: "1", RENEW_STREAM_TABLES: "1", BARE_HTTP2: "1" },
    nodeFlags: ["--no-allocation-site-pretenuring"],
  },
];

interface Reading {
  readonly promotedPerCall: number;
  readonly cpuUsPerCall: number;
  readonly callsPerSecond: number;
  readonly scavenges: number;
  readonly markCompacts: number;
}

async function measure(configuration: Configuration): Promise<Reading> {
  const child = spawn(process.execPath, ["--trace-gc-nvp", ...configuration.nodeFlags, SERVER], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...configuration.env } });
  let log = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const poll = setInterval(() => {
        const match = /^(\d+)$/m.exec(log);
        if (match) {
          clearInterval(poll);
          resolve(Number(match[1]));
        }
      }, 10);
      child.once("exit", (code) => {
        clearInterval(poll);
        reject(new Error(`server exited with ${code}`));
      });
    });
    const client = createPromiseClient(SessionManagementService, `127.0.0.1:${port}`);
    try {
      // Warm-up: the connection, the JIT, and V8 growing the young generation
      // from its first small size (while it is small, calls in flight at a
      // scavenge are promoted for real).
      await callLoop(() => client.getSession({}), 32, WARMUP_SECONDS * 1000);
      child.kill("SIGUSR2");
      const cpuBefore = readCpuSeconds(child.pid!);
      const loaded = await callLoop(() => client.getSession({}), 32, SECONDS * 1000);
      const cpuSeconds = readCpuSeconds(child.pid!) - cpuBefore;
      const mark = Number(/^mark (\d+)$/m.exec(log)?.[1] ?? 0);
      const promotion = readPromotion(log, mark);
      return {
        promotedPerCall: promotion.promotedBytes / loaded.calls,
        cpuUsPerCall: (cpuSeconds * 1e6) / loaded.calls,
        callsPerSecond: loaded.calls / (loaded.elapsedMs / 1000),
        scavenges: promotion.scavenges,
        markCompacts: promotion.markCompacts,
      };
    } finally {
      client.close();
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

const CONFIGURATIONS = options.only === undefined ? ALL : ALL.filter((c) => options.only!.some((text) => c.name.includes(text)));
const readings = new Map<string, Reading[]>(CONFIGURATIONS.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const configuration of round % 2 === 0 ? CONFIGURATIONS : [...CONFIGURATIONS].reverse()) {
    const reading = await measure(configuration);
    readings.get(configuration.name)!.push(reading);
    process.stderr.write(`round ${round + 1}: ${configuration.name}: ${Math.round(reading.promotedPerCall)} B promoted per call, ${reading.cpuUsPerCall.toFixed(1)} µs CPU per call\n`);
  }
}

const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
console.log(`| Server (no-op GetSession, 32 callers, ${SECONDS} s × ${ROUNDS} rounds, medians) | Promoted per call | Server CPU per call | Calls/s | Scavenges | Mark-compacts |`);
console.log("|---|---:|---:|---:|---:|---:|");
for (const configuration of CONFIGURATIONS) {
  const rs = readings.get(configuration.name)!;
  console.log(
    `| ${configuration.name} | ${Math.round(median(rs.map((r) => r.promotedPerCall)))} B | ${median(rs.map((r) => r.cpuUsPerCall)).toFixed(1)} µs | ${Math.round(median(rs.map((r) => r.callsPerSecond)))} | ${median(rs.map((r) => r.scavenges))} | ${median(rs.map((r) => r.markCompacts))} |`,
  );
}
