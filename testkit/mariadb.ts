/**
 * `startMariaDb()`: a private, throwaway mariadbd for one test run or one test
 * (DECISIONS D13). Tests that kill or restart MariaDB use their own; everything
 * else shares the run's server through `testDatabase()`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { initialiseDataDir, MariaDbProcess } from "../src/embedded/mariadbd-process.ts";
import { freePort } from "./free-port.ts";

export interface PrivateMariaDb {
  readonly port: number;
  readonly dataDir: string;
  /** `mysql://root@127.0.0.1:PORT/` with no database. */
  readonly serverUrl: string;
  readonly process: MariaDbProcess;
  /** Creates the database if needed and returns its URL. */
  createDatabase(name: string): Promise<string>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server and deletes its data. */
  destroy(): Promise<void>;
}

export async function startMariaDb(options: { durable?: boolean } = {}): Promise<PrivateMariaDb> {
  // Short path: socket paths over 107 characters abort mariadbd.
  const dataDir = await mkdtemp(join(tmpdir(), "ssdb-"));
  const port = await freePort();
  await initialiseDataDir(dataDir);
  const process = new MariaDbProcess({
    dataDir,
    socket: join(dataDir, "sock"),
    port,
    extraArgs: [
      // Tests kill the server process, never the OS: flushing the log to the
      // OS at each commit keeps every committed row across a SIGKILL.
      `--innodb-flush-log-at-trx-commit=${options.durable ? 1 : 2}`,
      "--innodb-buffer-pool-size=256M",
      "--innodb-log-file-size=256M",
      "--skip-log-bin",
    ],
  });
  await process.start();
  const serverUrl = `mysql://root@127.0.0.1:${port}/`;
  return {
    port,
    dataDir,
    serverUrl,
    process,
    createDatabase: (name) => createDatabase(serverUrl, name),
    kill: () => process.kill(),
    restart: async () => {
      await process.kill();
      await process.start();
    },
    destroy: async () => {
      await process.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates `name` on the server at `serverUrl` (if missing) and returns its URL. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  const url = new URL(serverUrl);
  const connection = await createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username || "root"),
    password: decodeURIComponent(url.password),
  });
  try {
    await connection.query(`CREATE DATABASE IF NOT EXISTS \`${name}\``);
  } finally {
    await connection.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}
