/**
 * `startGaleraCluster()`: a private, throwaway MariaDB Galera cluster of
 * `nodes` mariadbd processes on free loopback ports, for the high-availability
 * tests and benchmarks (issue 19). Like `startMariaDb()` it lives in one
 * temporary directory, and `stop()` (or, failing that, this process's exit)
 * ends every process and removes the directory.
 *
 * Node 1 is installed and bootstraps the cluster; the others start with an
 * empty data directory and receive node 1's data by rsync state transfer, one
 * after the other (a donor serves one at a time). As root, the nodes run as
 * the `mysql` user, which owns the directory: rsync state transfer fails as root.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { chown, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findMariaDbBinary, MARIADB_MISSING_MESSAGE } from "../src/embedded/mariadbd-process.ts";
import { freePort } from "./free-port.ts";
import { GaleraNode, killQuietly, processesUsing } from "./galera-node.ts";
import { createDatabase } from "./mariadb.ts";
import { waitFor } from "./wait-for.ts";

export { GaleraNode, processesUsing, type GaleraNodeStatus } from "./galera-node.ts";

const PROVIDER_PATHS = ["/usr/lib/galera/libgalera_smm.so", "/usr/lib/galera-4/libgalera_smm.so", "/usr/lib64/galera-4/libgalera_smm.so", "/usr/lib64/galera/libgalera_smm.so"];

export const GALERA_MISSING_MESSAGE =
  "the Galera provider (libgalera_smm.so) was not found: install the Debian/Ubuntu package galera-4 (mariadb-server depends on it)";

/**
 * A failed or frozen node leaves the cluster after about 2 s instead of
 * Galera's 5-15 s, so failover tests are quick. Pass Galera's defaults in
 * `providerOptions` (`evs.suspect_timeout: "PT5S"`, …) to measure with those.
 */
export const FAST_FAILURE_DETECTION: Readonly<Record<string, string>> = {
  "evs.keepalive_period": "PT0.5S",
  "evs.suspect_timeout": "PT2S",
  "evs.inactive_timeout": "PT4S",
  "evs.install_timeout": "PT4S",
};

export interface GaleraClusterOptions {
  /** Number of nodes (default 3). */
  readonly nodes?: number;
  /** `innodb_flush_log_at_trx_commit=1` instead of 2 (as in `startMariaDb`). */
  readonly durable?: boolean;
  /** wsrep provider options, over `FAST_FAILURE_DETECTION` and a 64 MB gcache. */
  readonly providerOptions?: Readonly<Record<string, string>>;
  /** Extra mariadbd `--option=value` arguments for every node. */
  readonly extraArgs?: readonly string[];
  /** Per node start (including its state transfer), default 120 s. */
  readonly startTimeoutMs?: number;
}

export interface GaleraCluster {
  readonly nodes: readonly GaleraNode[];
  /** The temporary directory holding every node (`node1/`, `node2/`, …). */
  readonly dir: string;
  /** Node i's `mysql://root@127.0.0.1:PORT/` (0-based). */
  url(index: number): string;
  /** Every node's URL, in node order. */
  readonly urls: readonly string[];
  /** `127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`: the nodes' MariaDB ports, in node order. */
  readonly hosts: string;
  /** `mysql://root@127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/`: one URL naming every node. */
  readonly multiHostUrl: string;
  /** How long `startGaleraCluster` took, in milliseconds. */
  readonly startMs: number;
  /** Creates `name` (replicated to every node) and returns the multi-host URL of it. */
  createDatabase(name: string): Promise<string>;
  /** Resolves once every running node is Synced in one primary component of `size` (default: the running nodes). */
  waitSynced(size?: number): Promise<void>;
  /**
   * Starts every node that is not running. If none runs (every node crashed),
   * first bootstraps from the node whose data holds the latest transaction.
   */
  restartAll(): Promise<void>;
  /** Stops every node, ends any process left in the directory, removes it. */
  stop(): Promise<void>;
}

export async function startGaleraCluster(options: GaleraClusterOptions = {}): Promise<GaleraCluster> {
  const started = Date.now();
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new Error(`bad Galera node count ${count}`);
  const providerPath = PROVIDER_PATHS.find((path) => existsSync(path));
  if (!providerPath) throw new Error(GALERA_MISSING_MESSAGE);
  const installer = findMariaDbBinary("mariadb-install-db");
  if (!installer) throw new Error(MARIADB_MISSING_MESSAGE);
  const owner = process.getuid?.() === 0 ? mysqlUser() : undefined;

  // Short path: socket paths over 107 characters abort mariadbd.
  const dir = await mkdtemp(join(tmpdir(), "ssgal-"));
  let nodes: GaleraNode[] = [];
  const removeOnExit = () => removeLeftovers(dir, nodes);
  process.once("exit", removeOnExit);
  try {
    const ports = await distinctFreePorts(4 * count);
    const gcommPorts = ports.slice(count, 2 * count);
    nodes = Array.from({ length: count }, (_, index) => {
      return new GaleraNode({
        index,
        dir: join(dir, `node${index + 1}`),
        port: ports[index]!,
        gcommPort: gcommPorts[index]!,
        istPort: ports[2 * count + index]!,
        sstPort: ports[3 * count + index]!,
        // Unique, so a node can never join another cluster on this machine.
        clusterName: `spider-test-${process.pid}-${dir.slice(-6)}`,
        clusterAddress: `gcomm://${gcommPorts.map((port) => `127.0.0.1:${port}`).join(",")}`,
        providerPath,
        providerOptions: { ...FAST_FAILURE_DETECTION, "gcache.size": "64M", ...options.providerOptions },
        user: owner?.name,
        extraArgs: [`--innodb-flush-log-at-trx-commit=${options.durable ? 1 : 2}`, ...(options.extraArgs ?? [])],
        startTimeoutMs: options.startTimeoutMs ?? 120_000,
      });
    });
    for (const node of nodes) {
      await mkdir(node.dataDir, { recursive: true, mode: 0o700 });
      await mkdir(join(node.config.dir, "tmp"), { mode: 0o700 });
    }
    if (owner) await chownTree(dir, owner.uid, owner.gid);
    await install(installer, nodes[0]!.dataDir, owner?.name);
    if (owner) await chownTree(nodes[0]!.dataDir, owner.uid, owner.gid);

    await nodes[0]!.start({ bootstrap: true });
    await Promise.all(nodes.slice(1).map((node) => node.start()));
    await waitAllSynced(nodes, count);
  } catch (error) {
    await stopAll(dir, nodes);
    process.removeListener("exit", removeOnExit);
    throw error;
  }

  const hosts = nodes.map((node) => `127.0.0.1:${node.port}`).join(",");
  const multiHostUrl = `mysql://root@${hosts}/`;
  let stopping: Promise<void> | undefined;
  return {
    nodes,
    dir,
    url: (index) => nodeAt(nodes, index).url,
    urls: nodes.map((node) => node.url),
    hosts,
    multiHostUrl,
    startMs: Date.now() - started,
    createDatabase: async (name) => {
      const node = nodes.find((n) => n.running);
      if (!node) throw new Error("no Galera node is running");
      await createDatabase(node.url, name);
      return `${multiHostUrl}${name}`;
    },
    waitSynced: (size) => waitAllSynced(nodes.filter((node) => node.running), size ?? nodes.filter((node) => node.running).length),
    restartAll: async () => {
      const stopped = nodes.filter((node) => !node.running);
      if (stopped.length === 0) return;
      if (stopped.length === nodes.length) {
        const seqnos = await Promise.all(stopped.map((node) => node.recoveredSeqno()));
        const latest = stopped[seqnos.indexOf(Math.max(...seqnos))]!;
        await latest.start({ bootstrap: true });
      }
      await Promise.all(nodes.filter((node) => !node.running).map((node) => node.start()));
      await waitAllSynced(nodes, nodes.length);
    },
    stop: () =>
      (stopping ??= (async () => {
        await stopAll(dir, nodes);
        process.removeListener("exit", removeOnExit);
      })()),
  };
}

function nodeAt(nodes: readonly GaleraNode[], index: number): GaleraNode {
  const node = nodes[index];
  if (!node) throw new Error(`no Galera node ${index} (the cluster has ${nodes.length}, counted from 0)`);
  return node;
}

async function waitAllSynced(nodes: readonly GaleraNode[], size: number): Promise<void> {
  let last = "";
  await waitFor(
    () => `${nodes.length} Galera nodes to be Synced in a cluster of ${size}; last seen: ${last}`,
    async () => {
      const statuses = await Promise.all(nodes.map((node) => node.status().catch((error: Error) => error)));
      last = statuses.map((s, i) => `${nodes[i]!.name}: ${s instanceof Error ? s.message : `${s.state}/${s.clusterStatus}/size ${s.clusterSize}`}`).join("; ");
      return statuses.every((s) => !(s instanceof Error) && s.state === "Synced" && s.clusterStatus === "Primary" && s.clusterSize === size);
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

/** Stops every node (in parallel: the cluster is thrown away), then anything else still using `dir`. */
async function stopAll(dir: string, nodes: readonly GaleraNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.stop()));
  // State-transfer scripts and rsync daemons a node started, should one outlive it.
  await waitFor(`the processes using ${dir} to end`, () => {
    const leftovers = processesUsing(dir);
    for (const pid of leftovers) killQuietly(pid);
    return leftovers.length === 0;
  }, { timeoutMs: 10_000 });
  await rm(dir, { recursive: true, force: true });
}

/** On this process's exit: no time for a clean shutdown, only SIGKILL and a synchronous removal. */
function removeLeftovers(dir: string, nodes: readonly GaleraNode[]): void {
  for (const node of nodes) if (node.pid !== undefined) killQuietly(node.pid);
  for (const pid of processesUsing(dir)) killQuietly(pid);
  rmSync(dir, { recursive: true, force: true });
}


async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** The `mysql` account from /etc/passwd (created by the mariadb-server package). */
function mysqlUser(): { name: string; uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("mysql:"));
  const fields = line?.split(":");
  if (!fields || fields.length < 4) {
    throw new Error("running as root, the Galera nodes need the `mysql` user (rsync state transfer fails as root): install mariadb-server, which creates it");
  }
  return { name: "mysql", uid: Number(fields[2]), gid: Number(fields[3]) };
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { recursive: true })) await chown(join(dir, entry), uid, gid);
}

function install(installer: string, dataDir: string, user: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = [
      "--no-defaults",
      `--datadir=${dataDir}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      "--skip-name-resolve",
      ...(user ? [`--user=${user}`] : []),
    ];
    const child = spawn(installer, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TMPDIR: join(dataDir, "..", "tmp") } });
    let output = "";
    child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${installer} exited with ${code}: ${output.slice(-2000)}`))));
  });
}
