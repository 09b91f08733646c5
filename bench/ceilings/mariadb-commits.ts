/**
 * Ceiling 2: durable MariaDB commits per second — single-row INSERTs in
 * autocommit from N concurrent connections (the server's pool size), on the
 * same durable mariadbd (innodb_flush_log_at_trx_commit=1) the workloads use.
 */
import { createPool } from "mysql2/promise";
import { now, round, summarizeLatencies, type LatencySummary } from "../lib/stats.ts";

export interface CommitCeiling {
  readonly connections: number;
  readonly commitsPerSecond: number;
  readonly commits: number;
  readonly durationMs: number;
  readonly latency: LatencySummary;
  readonly flushLogAtTrxCommit: number;
}

export async function measureMariaDbCommits(databaseUrl: string, options: { connections: number; durationMs: number }): Promise<CommitCeiling> {
  const pool = createPool({ uri: databaseUrl, connectionLimit: options.connections });
  try {
    const [flush] = (await pool.query("SELECT @@innodb_flush_log_at_trx_commit AS v")) as unknown as [{ v: number }[]];
    await pool.query("CREATE TABLE IF NOT EXISTS bench_commits (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, payload VARBINARY(64) NOT NULL) ENGINE=InnoDB");
    const payload = Buffer.alloc(32, 7);
    const drive = async (durationMs: number) => {
      const latencies: number[] = [];
      const start = now();
      const end = start + durationMs;
      await Promise.all(
        Array.from({ length: options.connections }, async () => {
          const connection = await pool.getConnection();
          try {
            while (now() < end) {
              const t0 = now();
              await connection.query("INSERT INTO bench_commits (payload) VALUES (?)", [payload]);
              latencies.push(now() - t0);
            }
          } finally {
            connection.release();
          }
        }),
      );
      return { latencies, elapsedMs: now() - start };
    };
    await drive(Math.min(500, options.durationMs / 4));
    const { latencies, elapsedMs } = await drive(options.durationMs);
    await pool.query("DROP TABLE bench_commits");
    return {
      connections: options.connections,
      commitsPerSecond: round(latencies.length / (elapsedMs / 1000), 1),
      commits: latencies.length,
      durationMs: round(elapsedMs),
      latency: summarizeLatencies(latencies),
      flushLogAtTrxCommit: Number(flush[0]!.v),
    };
  } finally {
    await pool.end();
  }
}
