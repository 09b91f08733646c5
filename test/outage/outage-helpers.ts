/**
 * Small tools for the outage tests: the leader lease as the database shows it,
 * killing a MariaDB connection, waiting for a condition, reading a server's JSON log,
 * and the newest session and dead execution managers straight from the tables.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createConnection, type RowDataPacket } from "mysql2/promise";
import { readLease, type LeaseRow } from "../../src/db/lease/readLease.ts";
import { singleConnectionDb } from "../../src/db/single-connection-db.ts";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import type { ServerProcess } from "../../testkit/server-process.ts";
import { waitFor } from "../../testkit/wait-for.ts";

async function withConnection<T>(url: string, fn: (connection: Awaited<ReturnType<typeof createConnection>>) => Promise<T>): Promise<T> {
  const connection = await createConnection({ ...poolOptionsFromUrl(url), supportBigNumbers: true, bigNumberStrings: true });
  try {
    return await fn(connection);
  } finally {
    await connection.end();
  }
}

/** A server's lease settings for tests that wait for an expiry: 2 s TTL, renewals every 200 ms. */
export const FAST_LEASE_ENV: Readonly<Record<string, string>> = {
  SPIDER_STORAGE_RUNTIME__LEASE__TTL_MS: "2000",
  SPIDER_STORAGE_RUNTIME__LEASE__RENEW_INTERVAL_MS: "200",
  SPIDER_STORAGE_RUNTIME__LEASE__STEP_DOWN_MARGIN_MS: "600",
};

/** The leader lease of the database at `url` (src/db/lease/), or undefined before any server ran. */
export function storedLease(url: string): Promise<LeaseRow | undefined> {
  return withConnection(url, (connection) => readLease(singleConnectionDb(connection)));
}

export function killConnection(url: string, id: number): Promise<void> {
  return withConnection(url, async (connection) => {
    await connection.query(`KILL CONNECTION ${Number(id)}`);
  });
}

/** Newest session, and how many execution managers are Dead. */
export function tableFacts(url: string): Promise<{ latestSession: bigint; deadExecutionManagers: number }> {
  return withConnection(url, async (connection) => {
    const [sessions] = await connection.query<RowDataPacket[]>("SELECT CAST(MAX(session_id) AS CHAR) AS id FROM sessions");
    const [dead] = await connection.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM execution_managers WHERE state = 'Dead'");
    return { latestSession: BigInt(String(sessions[0]?.["id"] ?? 0)), deadExecutionManagers: Number(dead[0]?.["n"]) };
  });
}

/**
 * Every JSON log entry of a server process from now on, by message (the
 * process helper keeps only a tail of its log, and an outage logs a lot).
 */
export class LogWatcher {
  readonly #entries = new Map<string, Record<string, unknown>[]>();
  #partial = "";

  constructor(server: ServerProcess) {
    const take = (chunk: Buffer) => {
      const lines = (this.#partial + chunk.toString()).split("\n");
      this.#partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          const message = String(entry["msg"]);
          const list = this.#entries.get(message) ?? [];
          if (list.length < 1_000) list.push(entry);
          this.#entries.set(message, list);
        } catch {
          // not one of ours
        }
      }
    };
    server.child.stdout?.on("data", take);
    server.child.stderr?.on("data", take);
  }

  entries(message: string): Record<string, unknown>[] {
    return this.#entries.get(message) ?? [];
  }

  count(message: string): number {
    return this.entries(message).length;
  }
}

/**
 * SIGSTOPs a process and resolves once every one of its threads is stopped:
 * `kill` returns before the signal is delivered, and a busy server can still
 * answer a request in between. Returns the thaw (SIGCONT).
 */
export async function freezeProcess(pid: number): Promise<() => void> {
  process.kill(pid, "SIGSTOP");
  await waitFor(`process ${pid} to stop`, () => allThreadsStopped(pid), { timeoutMs: 10_000, intervalMs: 5 });
  return () => process.kill(pid, "SIGCONT");
}

function allThreadsStopped(pid: number): boolean {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.every((tid) => {
    // Field 3 of stat, after the parenthesised command (which may contain spaces): T stopped, t traced.
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "T" || state === "t";
  });
}
