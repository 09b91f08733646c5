/**
 * The embedded default (DECISIONS D12): with no database configured, `serve`
 * (and offline commands given --data-dir) run a private mariadbd whose data
 * lives in the data directory.
 *
 * Layout of the data directory (0700, as are the directories in it; see ./private-dir.ts):
 *   spider-storage.lock      pid of the spider-storage that holds it, 0600 (./data-dir-lock.ts)
 *   spider-storage.lock-key  the lock's private key, 0600 (./data-dir-lock.ts)
 *   mariadb/                 MariaDB's own data directory, with mariadbd.pid and mariadbd.err
 *   mariadb.tmp/             mariadbd's temporary files (./mariadbd-process.ts)
 *
 * mariadbd runs with `--skip-networking`; its socket lives in a short private
 * directory (mode 0700: root has no password over it), by default
 * `$XDG_RUNTIME_DIR/spider-storage-<hash>` or `/tmp/spider-storage-<hash>`, the
 * hash being of the data directory's real path and private key: socket paths
 * over 107 characters abort mariadbd. The database is `spider`, created if missing.
 *
 * A spider-storage killed outright leaves its mariadbd running. The next start
 * finds it through mariadbd.pid, checks /proc that the pid is a mariadbd on this
 * data directory, and adopts it if it answers, else stops it (SIGTERM, then
 * SIGKILL) and starts a fresh one. A data-dir lock is taken first, so any
 * mariadbd found there has no living owner.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, realpath, rmdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createConnection } from "mysql2/promise";
import type { Logger } from "../observability/logger.ts";
import { acquireDataDirLock, dataDirKey } from "./data-dir-lock.ts";
import { findMariaDbBinary, initialiseDataDir, MARIADB_MISSING_MESSAGE, MariaDbProcess } from "./mariadbd-process.ts";
import { ensurePrivateDir } from "./private-dir.ts";
import { isProcessAlive, processCommandLine, terminateProcess } from "./process-info.ts";

export const EMBEDDED_DATABASE_NAME = "spider";
/** Longest unix socket path mariadbd accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;
const STOP_TIMEOUT_MS = 60_000;

export interface EmbeddedOptions {
  readonly logger?: Logger;
  /** `runtime.embedded.socket_dir`. */
  readonly socketDir?: string;
  /** `runtime.embedded.bin_dir`. */
  readonly binDir?: string;
  readonly startTimeoutMs?: number;
  /**
   * Creates the database on the server at this socket unless it exists:
   * src/db/server/createDatabaseIfMissing.ts, handed in because embedded sits
   * below the database layer.
   */
  readonly createDatabase: (socketPath: string, name: string) => Promise<void>;
}

export interface EmbeddedDatabase {
  /** `mysql://root@localhost/spider?socket=…` */
  readonly url: string;
  readonly socket: string;
  /** Real path of the data directory. */
  readonly dataDir: string;
  readonly mariadbPid: number;
  /** True if an orphaned mariadbd was taken over instead of starting one. */
  readonly adopted: boolean;
  /** Stops mariadbd cleanly and releases the data directory. Call it after closing every pool. */
  stop(): Promise<void>;
}

/** Starts (or adopts) the data directory's mariadbd and returns its URL. */
export async function openDataDirDatabase(dataDirPath: string, options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const logger = options.logger;
  // Fail before touching anything when MariaDB is not installed.
  if (!findMariaDbBinary("mariadbd", options.binDir)) throw new Error(MARIADB_MISSING_MESSAGE);
  await mkdir(resolve(dataDirPath), { recursive: true, mode: 0o700 });
  // The real path: a data directory given through a symbolic link is fine; what it points to is checked.
  const dataDir = await realpath(resolve(dataDirPath));
  await ensurePrivateDir(dataDir, "data directory");
  const lock = await acquireDataDirLock(dataDir);
  try {
    const mariadbDir = join(dataDir, "mariadb");
    const socketDir = options.socketDir ?? defaultSocketDir(dataDir);
    const socket = join(socketDir, "mariadbd.sock");
    if (socket.length > MAX_SOCKET_PATH) {
      throw new Error(
        `the embedded MariaDB's socket path ${socket} is ${socket.length} characters, over mariadbd's limit of ${MAX_SOCKET_PATH}: ` +
          "set runtime.embedded.socket_dir to a shorter directory",
      );
    }
    await ensurePrivateDir(socketDir, "socket directory", "; or set runtime.embedded.socket_dir");

    let server: { pid: number; socket: string; stop(): Promise<void> } | undefined;
    const orphan = await findOrphan(mariadbDir);
    if (orphan) {
      if (orphan.socket && (await answers(orphan.socket))) {
        logger?.warn({ mariadbPid: orphan.pid, socket: orphan.socket }, "adopting the mariadbd left running by a previous spider-storage");
        server = {
          pid: orphan.pid,
          socket: orphan.socket,
          stop: () => terminateProcess(orphan.pid, STOP_TIMEOUT_MS),
        };
      } else {
        logger?.warn({ mariadbPid: orphan.pid }, "stopping an unresponsive mariadbd left running by a previous spider-storage");
        await terminateProcess(orphan.pid, STOP_TIMEOUT_MS);
      }
    }
    const adopted = server !== undefined;
    if (!server) {
      if (!existsSync(join(mariadbDir, "mysql"))) logger?.info({ dataDir: mariadbDir }, "initialising the embedded MariaDB");
      await initialiseDataDir(mariadbDir, { binDir: options.binDir });
      await ensurePrivateDir(mariadbDir, "MariaDB data directory");
      const child = new MariaDbProcess({
        dataDir: mariadbDir,
        socket,
        binDir: options.binDir,
        detached: true,
        startTimeoutMs: options.startTimeoutMs ?? 120_000,
      });
      await child.start();
      const pid = child.pid!;
      // If this process ends without stopping it (process.exit on a lost lease,
      // an uncaught error), ask mariadbd to shut down cleanly on its own.
      const onExit = () => {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      };
      process.once("exit", onExit);
      server = {
        pid,
        socket,
        stop: async () => {
          process.removeListener("exit", onExit);
          await child.stop(STOP_TIMEOUT_MS);
        },
      };
      logger?.info({ mariadbPid: pid, socket, dataDir }, "embedded MariaDB started");
    }
    await options.createDatabase(server.socket, EMBEDDED_DATABASE_NAME);
    const running = server;
    let stopping: Promise<void> | undefined;
    return {
      url: `mysql://root@localhost/${EMBEDDED_DATABASE_NAME}?socket=${encodeURIComponent(running.socket)}`,
      socket: running.socket,
      dataDir,
      mariadbPid: running.pid,
      adopted,
      stop: () =>
        (stopping ??= (async () => {
          try {
            await running.stop();
            logger?.info({ mariadbPid: running.pid }, "embedded MariaDB stopped");
            // Our default socket directory goes too once mariadbd has removed its socket.
            if (options.socketDir === undefined) await rmdir(socketDir).catch(() => {});
          } finally {
            await lock.release();
          }
        })()),
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/**
 * `$XDG_RUNTIME_DIR/spider-storage-<hash>`, else `/tmp/spider-storage-<hash>`,
 * the hash being of the data directory's real path and its private key
 * (./data-dir-lock.ts): another user cannot create that name first.
 */
export function defaultSocketDir(dataDir: string): string {
  const hash = createHash("sha256").update(`${dataDir}\0${dataDirKey(dataDir)}`).digest("hex").slice(0, 16);
  const runtimeDir = process.env["XDG_RUNTIME_DIR"];
  const base = runtimeDir && existsSync(runtimeDir) && runtimeDir.length < 60 ? runtimeDir : "/tmp";
  return join(base, `spider-storage-${hash}`);
}

interface Orphan {
  readonly pid: number;
  readonly socket: string | undefined;
}

/** A live mariadbd on `mariadbDir`, named by its pid file and confirmed by its command line. */
async function findOrphan(mariadbDir: string): Promise<Orphan | undefined> {
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(join(mariadbDir, "mariadbd.pid"), "utf8")).trim(), 10);
  } catch {
    return undefined;
  }
  if (!isProcessAlive(pid)) return undefined;
  const argv = processCommandLine(pid);
  if (!argv) return undefined;
  const program = argv[0]?.split("/").pop() ?? "";
  // A reused pid belonging to something else is not ours to stop.
  if (!/^(mariadbd|mysqld)$/.test(program) || !argv.includes(`--datadir=${mariadbDir}`)) return undefined;
  const socketArg = argv.find((a) => a.startsWith("--socket="));
  return { pid, socket: socketArg?.slice("--socket=".length) };
}

/** Whether the mariadbd on `socket` takes a root connection and answers a ping (no SQL), each within 3 s. */
async function answers(socket: string): Promise<boolean> {
  try {
    const connection = await createConnection({ socketPath: socket, user: "root", connectTimeout: 3_000 });
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no answer to a ping within 3 s")), 3_000);
    });
    const ping = connection.ping();
    // A ping still pending when the connection is dropped must not become an unhandled rejection.
    ping.catch(() => {});
    try {
      await Promise.race([ping, silence]);
      return true;
    } finally {
      clearTimeout(timer);
      connection.destroy();
    }
  } catch {
    return false;
  }
}
