/**
 * The bench's side of the peers (D17): installs bench/peers with `npm ci` from
 * its committed lock file when its node_modules is missing or older than the
 * lock (`npm ci` never rewrites the lock, so a bench run leaves the work tree
 * clean — `npm install` used to add the optional platform builds of
 * msgpackr-extract to it), checks that Redis and PostgreSQL answer, and runs
 * each peer's W1 (capacity, then latency at the given rate) in its own child
 * process under this Node (24). A peer whose server is unreachable, or whose
 * packages cannot be installed, is reported as skipped with the reason —
 * never as a number.
 */
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";

export const PEERS_DIR = fileURLToPath(new URL("../peers/", import.meta.url));

export type PeerName = "bullmq" | "graphile-worker" | "pg-boss";
export const PEERS: readonly PeerName[] = ["bullmq", "graphile-worker", "pg-boss"];

const SERVERS: Record<PeerName, { host: string; port: number; what: string }> = {
  bullmq: { host: "127.0.0.1", port: 6379, what: "Redis at 127.0.0.1:6379" },
  "graphile-worker": { host: "127.0.0.1", port: 5432, what: "PostgreSQL at 127.0.0.1:5432" },
  "pg-boss": { host: "127.0.0.1", port: 5432, what: "PostgreSQL at 127.0.0.1:5432" },
};

export function reachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Installs the peers' packages if needed; returns an error message when that failed. */
export async function ensurePeersInstalled(log: (line: string) => void): Promise<string | undefined> {
  const installed = `${PEERS_DIR}node_modules/.package-lock.json`;
  const fresh =
    existsSync(`${PEERS_DIR}node_modules/bullmq`) &&
    existsSync(`${PEERS_DIR}node_modules/pg-boss`) &&
    existsSync(`${PEERS_DIR}node_modules/graphile-worker`) &&
    existsSync(installed) &&
    statSync(installed).mtimeMs >= statSync(`${PEERS_DIR}package-lock.json`).mtimeMs;
  if (fresh) return undefined;
  log("installing bench/peers (npm ci from its own lock file; D17)");
  const result = await runCommand("npm", ["ci", "--no-audit", "--no-fund"], PEERS_DIR, 300_000);
  return result.code === 0 ? undefined : `npm ci in bench/peers failed (exit ${result.code}): ${result.output.slice(-1_000)}`;
}

export interface PeerRunOptions {
  readonly jobs: number;
  readonly producers: number;
  readonly producerConcurrency: number;
  readonly workers: number;
  readonly timeLimitMs: number;
  readonly warmup: number;
  /** The latency mode's offered rate (jobs/s), the same for every system; 0: half of the peer's own capacity. */
  readonly latencyRate: number;
  readonly latencySeconds: number;
  readonly maxInFlight: number;
  /** A further capacity round: the capacity mode alone (no latency mode). */
  readonly capacityOnly?: boolean;
}

export type PeerOutcome =
  | { readonly status: "measured"; readonly result: Record<string, unknown> & { jobsPerSecond: number } }
  | { readonly status: "skipped" | "error"; readonly reason: string };

export async function runPeer(peer: PeerName, options: PeerRunOptions, installError: string | undefined): Promise<PeerOutcome> {
  if (installError) return { status: "skipped", reason: installError };
  const server = SERVERS[peer];
  if (!(await reachable(server.host, server.port))) return { status: "skipped", reason: `${server.what} not reachable` };
  const args = [
    fileURLToPath(new URL("../peers/run-peer.ts", import.meta.url)),
    peer,
    "--jobs", String(options.jobs),
    "--producers", String(options.producers),
    "--producer-concurrency", String(options.producerConcurrency),
    "--workers", String(options.workers),
    "--time-limit-ms", String(options.timeLimitMs),
    "--warmup", String(options.warmup),
    "--latency-rate", String(options.latencyRate),
    "--latency-seconds", String(options.latencySeconds),
    "--max-in-flight", String(options.maxInFlight),
    ...(options.capacityOnly ? ["--capacity-only"] : []),
  ];
  const result = await runCommand(process.execPath, args, PEERS_DIR, 2 * options.timeLimitMs + 180_000);
  const line = result.stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (result.code !== 0 || !line) return { status: "error", reason: `exit ${result.code}: ${result.output.slice(-1_500)}` };
  return { status: "measured", result: JSON.parse(line) };
}

function runCommand(command: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      output = (output + chunk.toString()).slice(-20_000);
    });
    child.stderr.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, output: output + String(error) });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, output });
    });
  });
}
