/**
 * One `mariadbd` of a throwaway Galera cluster (see `./galera.ts`): its command
 * line, start (bootstrapping a new cluster or joining one) until Synced, its
 * wsrep status, signals (SIGKILL, SIGSTOP, SIGCONT) and stop.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { findMariaDbBinary, MARIADB_MISSING_MESSAGE } from "../src/embedded/mariadbd-process.ts";
import { waitFor } from "./wait-for.ts";

export interface GaleraNodeConfig {
  /** 0-based position in the cluster. */
  readonly index: number;
  /** Holds `data/`, `tmp/`, `sock`, `mariadbd.err`, `mariadbd.pid`. */
  readonly dir: string;
  /** MariaDB's loopback TCP port. */
  readonly port: number;
  /** Group communication (gcomm), incremental (IST) and snapshot (SST) state-transfer ports. */
  readonly gcommPort: number;
  readonly istPort: number;
  readonly sstPort: number;
  readonly clusterName: string;
  /** `gcomm://127.0.0.1:P1,...`: every node's gcomm port. */
  readonly clusterAddress: string;
  readonly providerPath: string;
  readonly providerOptions: Readonly<Record<string, string>>;
  /** `--user` for mariadbd when this process is root (rsync state transfer fails as root). */
  readonly user: string | undefined;
  readonly extraArgs: readonly string[];
  readonly startTimeoutMs: number;
}

/** What `SHOW GLOBAL STATUS LIKE 'wsrep_%'` says about a node. */
export interface GaleraNodeStatus {
  /** `wsrep_local_state_comment`: Joining, Donor/Desynced, Joined, Synced, … */
  readonly state: string;
  readonly clusterSize: number;
  /** `wsrep_cluster_status`: Primary, non-Primary, Disconnected. */
  readonly clusterStatus: string;
  readonly ready: boolean;
}

export class GaleraNode {
  readonly config: GaleraNodeConfig;
  readonly dataDir: string;
  /** `mysql://root@127.0.0.1:PORT/`, no database. */
  readonly url: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stderr = "";

  constructor(config: GaleraNodeConfig) {
    this.config = config;
    this.dataDir = join(config.dir, "data");
    this.url = `mysql://root@127.0.0.1:${config.port}/`;
  }

  get index(): number {
    return this.config.index;
  }

  /** `node1`, `node2`, …: its directory and wsrep node name. */
  get name(): string {
    return `node${this.config.index + 1}`;
  }

  get port(): number {
    return this.config.port;
  }

  /** The running mariadbd's pid (also while stopped by SIGSTOP), else undefined. */
  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get logFile(): string {
    return join(this.config.dir, "mariadbd.err");
  }

  /**
   * Starts mariadbd and resolves once the node is Synced in a primary component.
   * `bootstrap` starts a new cluster from this node's data (`--wsrep-new-cluster`);
   * it first marks grastate.dat safe to bootstrap, which Galera refuses otherwise
   * after a crash of every node. Without it the node joins the others (IST or SST).
   */
  async start(options: { bootstrap?: boolean } = {}): Promise<void> {
    if (this.running) throw new Error(`Galera ${this.name} is already running`);
    const binary = findMariaDbBinary("mariadbd");
    if (!binary) throw new Error(MARIADB_MISSING_MESSAGE);
    if (options.bootstrap) await this.#markSafeToBootstrap();
    const child = spawn(binary, [...this.#args(), ...(options.bootstrap ? ["--wsrep-new-cluster"] : [])], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.#stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    let spawnError: Error | undefined;
    child.once("error", (error) => (spawnError = error));
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    await waitFor(
      () => `Galera ${this.name} (port ${this.port}) to be Synced`,
      async () => {
        if (spawnError) throw new Error(`cannot run ${binary}: ${spawnError.message}`);
        if (!this.running) throw new Error(`Galera ${this.name} exited during start-up: ${(await this.logTail()) || this.#stderr}`);
        const status = await this.status().catch(() => undefined);
        return status?.state === "Synced" && status.clusterStatus === "Primary" && status.ready;
      },
      { timeoutMs: this.config.startTimeoutMs, intervalMs: 100 },
    ).catch(async (error: unknown) => {
      await this.kill("SIGKILL");
      throw error;
    });
  }

  /** Kills and starts again (see {@link start} for `bootstrap`). */
  async restart(options: { bootstrap?: boolean } = {}): Promise<void> {
    await this.kill("SIGKILL");
    await this.start(options);
  }

  /**
   * Sends `signal`. SIGKILL and SIGTERM resolve once the process is gone;
   * SIGSTOP and SIGCONT (freeze, thaw) resolve at once.
   */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.kill(signal);
    if (signal === "SIGTERM") child.kill("SIGCONT"); // a frozen process acts on SIGTERM only once thawed
    if (signal === "SIGKILL" || signal === "SIGTERM") await this.#exited;
    // A state transfer's scripts and rsync daemon outlive a killed node, holding its SST port: the
    // next start would fail "Failed to prepare for 'rsync' SST".
    if (signal === "SIGKILL") for (const pid of processesUsing(this.config.dir)) killQuietly(pid);
  }

  /** Clean shutdown (the node leaves the cluster), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    try {
      await this.kill("SIGTERM");
    } finally {
      clearTimeout(timer);
    }
  }

  /** The node's wsrep status over TCP; throws if it does not answer. */
  async status(): Promise<GaleraNodeStatus> {
    const connection = await createConnection({ host: "127.0.0.1", port: this.port, user: "root", connectTimeout: 2_000 });
    try {
      const [rows] = await connection.query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_ready')",
      );
      const values = new Map((rows as { Variable_name: string; Value: string }[]).map((row) => [row.Variable_name, row.Value]));
      return {
        state: values.get("wsrep_local_state_comment") ?? "",
        clusterSize: Number(values.get("wsrep_cluster_size") ?? 0),
        clusterStatus: values.get("wsrep_cluster_status") ?? "",
        ready: values.get("wsrep_ready") === "ON",
      };
    } finally {
      await connection.end();
    }
  }

  /**
   * The last committed seqno in this stopped node's data (`mariadbd --wsrep-recover`),
   * to pick the node to bootstrap from after every node crashed; -1 if unknown.
   */
  async recoveredSeqno(): Promise<number> {
    if (this.running) throw new Error(`Galera ${this.name} is running`);
    const binary = findMariaDbBinary("mariadbd");
    if (!binary) throw new Error(MARIADB_MISSING_MESSAGE);
    const logFile = join(this.config.dir, "recover.err");
    await new Promise<void>((resolve, reject) => {
      const child = spawn(binary, [...this.#args(), "--wsrep-recover", `--log-error=${logFile}`], { stdio: "ignore" });
      child.once("error", reject);
      child.once("exit", () => resolve());
    });
    const log = await readFile(logFile, "utf8").catch(() => "");
    const match = /Recovered position: [0-9a-f-]+:(-?\d+)/.exec(log);
    return match ? Number(match[1]) : -1;
  }

  /** The end of mariadbd's log, for error messages. */
  async logTail(chars = 3000): Promise<string> {
    return (await readFile(this.logFile, "utf8").catch(() => "")).slice(-chars);
  }

  #args(): string[] {
    const c = this.config;
    const providerOptions = Object.entries({
      "gmcast.listen_addr": `tcp://127.0.0.1:${c.gcommPort}`,
      "ist.recv_addr": `127.0.0.1:${c.istPort}`,
      ...c.providerOptions,
    })
      .map(([key, value]) => `${key}=${value}`)
      .join(";");
    return [
      "--no-defaults",
      ...(c.user ? [`--user=${c.user}`] : []),
      `--datadir=${this.dataDir}`,
      // Its own tmpdir: mariadbd deletes `#sql*` files it finds there (see mariadbd-process.ts).
      `--tmpdir=${join(c.dir, "tmp")}`,
      `--socket=${join(c.dir, "sock")}`,
      `--pid-file=${join(c.dir, "mariadbd.pid")}`,
      `--log-error=${this.logFile}`,
      `--port=${c.port}`,
      "--bind-address=127.0.0.1",
      "--skip-name-resolve",
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_bin",
      "--max-connections=1000",
      "--max-allowed-packet=1G",
      "--wsrep-on=ON",
      `--wsrep-provider=${c.providerPath}`,
      `--wsrep-cluster-name=${c.clusterName}`,
      `--wsrep-node-name=${this.name}`,
      `--wsrep-cluster-address=${c.clusterAddress}`,
      `--wsrep-node-address=127.0.0.1:${c.gcommPort}`,
      `--wsrep-provider-options=${providerOptions}`,
      "--wsrep-sst-method=rsync",
      `--wsrep-sst-receive-address=127.0.0.1:${c.sstPort}`,
      // Galera's requirements.
      "--binlog-format=ROW",
      "--innodb-autoinc-lock-mode=2",
      ...c.extraArgs,
    ];
  }

  async #markSafeToBootstrap(): Promise<void> {
    const file = join(this.dataDir, "grastate.dat");
    if (!existsSync(file)) return;
    const state = await readFile(file, "utf8");
    await writeFile(file, state.replace(/^safe_to_bootstrap:\s*0\s*$/m, "safe_to_bootstrap: 1"));
  }
}

/** Pids whose command line names a path inside `dir` (a unique temporary directory of ours). */
export function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(`${dir}/`)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
