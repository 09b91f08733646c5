/**
 * Runs a private `mariadbd`: initialise a data directory, start the server on a
 * unix socket (and optionally a loopback TCP port), wait until it answers, stop
 * it. Used by the embedded default of `serve` (DECISIONS D12) and by the test
 * harness (D13), so both run MariaDB the same way.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import { createConnection } from "node:net";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ensurePrivateDir } from "./private-dir.ts";
import { isProcessAlive } from "./process-info.ts";

const SEARCH_PATH = ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin", "/opt/mariadb/bin"];

export const MARIADB_MISSING_MESSAGE =
  "mariadbd was not found: install the Debian/Ubuntu package mariadb-server (or pass --database-url)";

/**
 * Finds a MariaDB binary on PATH or in the usual sbin directories, or only in
 * `binDir` when given (`runtime.embedded.bin_dir`; tests point it at an empty
 * directory to see what happens without MariaDB installed).
 */
export function findMariaDbBinary(name: "mariadbd" | "mariadb-install-db", binDir?: string): string | undefined {
  const dirs = binDir !== undefined ? [binDir] : [...(process.env["PATH"] ?? "").split(":").filter(Boolean), ...SEARCH_PATH];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface MariaDbProcessOptions {
  readonly dataDir: string;
  /** Unix socket path; must be short (over 107 characters aborts mariadbd). */
  readonly socket: string;
  /** Loopback TCP port; omit for `--skip-networking`. */
  readonly port?: number;
  /** Extra `--option=value` arguments. */
  readonly extraArgs?: readonly string[];
  readonly startTimeoutMs?: number;
  /** Where mariadbd's own log goes (default: a file in the data dir). */
  readonly logFile?: string;
  /** Look for the binaries only here (see {@link findMariaDbBinary}). */
  readonly binDir?: string;
  /**
   * Own process group, so a terminal's Ctrl-C reaches only the parent, which
   * stops mariadbd itself after closing its pool (the embedded default).
   */
  readonly detached?: boolean;
}

/**
 * Runs `mariadb-install-db` unless the data dir already holds a database. It
 * installs into a sibling directory and renames it into place, so a start-up
 * killed half-way never leaves a half-initialised data dir behind. The
 * staging directory is created 0700, so the data dir is private from its
 * first byte (mariadb-install-db would create it with the umask's mode).
 */
export async function initialiseDataDir(dataDir: string, options: { binDir?: string } = {}): Promise<void> {
  if (existsSync(join(dataDir, "mysql"))) return;
  const installer = findMariaDbBinary("mariadb-install-db", options.binDir);
  if (!installer) throw new Error(MARIADB_MISSING_MESSAGE);
  if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
    throw new Error(`${dataDir} is not empty but holds no MariaDB database (no mysql/ directory); move it away or empty it`);
  }
  const parent = dirname(dataDir);
  await mkdir(parent, { recursive: true });
  await removeAbandonedInstalls(dataDir);
  const staging = `${dataDir}.init-${process.pid}`;
  // A private temporary directory: concurrent bootstraps sharing /tmp were seen to fail.
  const scratch = `${staging}.tmp`;
  await rm(staging, { recursive: true, force: true });
  try {
    await mkdir(staging, { mode: 0o700 });
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    await run(installer, [
      "--no-defaults",
      `--datadir=${staging}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      "--skip-name-resolve",
      ...(process.getuid?.() === 0 ? ["--user=root"] : []),
    ], { ...process.env, TMPDIR: scratch });
    await rm(scratch, { recursive: true, force: true });
    if (existsSync(dataDir)) await rmdir(dataDir);
    await rename(staging, dataDir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
}

/** Staging directories of installs whose process died. */
async function removeAbandonedInstalls(dataDir: string): Promise<void> {
  const prefix = `${basename(dataDir)}.init-`;
  for (const entry of await readdir(dirname(dataDir))) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && !isProcessAlive(pid)) {
      await rm(join(dirname(dataDir), entry), { recursive: true, force: true });
    }
  }
}

export class MariaDbProcess {
  readonly options: MariaDbProcessOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<number | null> = Promise.resolve(null);

  constructor(options: MariaDbProcessOptions) {
    this.options = options;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts mariadbd and resolves once it accepts connections on its socket. */
  async start(): Promise<void> {
    const binary = findMariaDbBinary("mariadbd", this.options.binDir);
    if (!binary) throw new Error(MARIADB_MISSING_MESSAGE);
    const { dataDir, socket, port } = this.options;
    // Each server gets its own tmpdir: mariadbd deletes `#sql*` files it finds
    // in its tmpdir, so servers sharing /tmp break each other's temporary tables.
    // `<dataDir>.tmp`, beside the data dir (for the embedded default: inside
    // the private data directory), never under a predictable name in the
    // shared /tmp that another user could create first. Created 0700 and
    // removed once mariadbd exits.
    const privateTmp = `${dataDir}.tmp`;
    await ensurePrivateDir(privateTmp, "MariaDB temporary directory");
    const args = [
      "--no-defaults",
      `--datadir=${dataDir}`,
      `--tmpdir=${privateTmp}`,
      `--socket=${socket}`,
      `--pid-file=${join(dataDir, "mariadbd.pid")}`,
      `--log-error=${this.options.logFile ?? join(dataDir, "mariadbd.err")}`,
      ...(port === undefined ? ["--skip-networking"] : [`--port=${port}`, "--bind-address=127.0.0.1"]),
      "--skip-name-resolve",
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_bin",
      "--max-connections=1000",
      "--max-allowed-packet=1G",
      ...(process.getuid?.() === 0 ? ["--user=root"] : []),
      ...(this.options.extraArgs ?? []),
    ];
    const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"], detached: this.options.detached ?? false });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    let spawnError: Error | undefined;
    child.once("error", (error) => (spawnError = error));
    this.#child = child;
    this.#exited = new Promise((resolve) =>
      child.once("exit", (code) => {
        // mariadbd's temporary files die with it.
        void rm(privateTmp, { recursive: true, force: true }).finally(() => resolve(code));
      }),
    );
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      if (spawnError) throw new Error(`cannot run ${binary}: ${spawnError.message}`);
      if (!this.running) {
        const log = await readFile(this.options.logFile ?? join(dataDir, "mariadbd.err"), "utf8").catch(() => "");
        throw new Error(`mariadbd exited during start-up: ${stderr}${log.slice(-2000)}`);
      }
      if (await socketAccepts(socket)) return;
      await sleep(50);
    }
    this.kill();
    throw new Error(`mariadbd did not accept connections within ${this.options.startTimeoutMs ?? 60_000} ms`);
  }

  /** Clean shutdown (SIGTERM), escalating to SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /** SIGKILL, as a crash would; resolves when the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    child.kill("SIGKILL");
    await this.#exited;
  }
}

function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let output = "";
    child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${output.slice(-2000)}`))));
  });
}
