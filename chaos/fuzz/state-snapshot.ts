/**
 * A digest of everything a request could change: the rows of the durable
 * tables, read straight from MariaDB (row count and CHECKSUM TABLE, which
 * covers every column of every row), and the engine's in-memory counts from
 * the admin API's GetStatus (jobs by state, cached jobs, live task instances,
 * execution managers alive and dead). Two equal snapshots around a batch of
 * rejected requests show that none of them changed anything.
 */
import type { Connection } from "mysql2/promise";
import type { FuzzEnvironment } from "./fuzz-environment.ts";

export const SNAPSHOT_TABLES = ["jobs", "task_checkpoints", "execution_managers", "schedulers", "resource_groups", "sessions"] as const;

export type StateSnapshot = Readonly<Record<string, string>>;

export async function takeSnapshot(environment: FuzzEnvironment): Promise<StateSnapshot> {
  const [tables, status] = await Promise.all([tableDigest(environment.db), environment.inspection.getStatus({})]);
  const digest: Record<string, string> = { ...tables };
  for (const count of status.jobsByState) digest[`status.jobs.${count.state}`] = String(count.count);
  digest["status.cachedJobs"] = String(status.cachedJobs);
  digest["status.liveTaskInstances"] = String(status.liveTaskInstances);
  digest["status.aliveExecutionManagers"] = String(status.aliveExecutionManagers);
  digest["status.deadExecutionManagers"] = String(status.deadExecutionManagers);
  return digest;
}

async function tableDigest(db: Connection): Promise<Record<string, string>> {
  const digest: Record<string, string> = {};
  const [checksums] = (await db.query(`CHECKSUM TABLE ${SNAPSHOT_TABLES.map((t) => `\`${t}\``).join(", ")}`)) as unknown as [{ Table: string; Checksum: string | null }[]];
  for (const row of checksums) digest[`${row.Table.split(".").pop()}.checksum`] = String(row.Checksum);
  const [counts] = (await db.query(
    SNAPSHOT_TABLES.map((t) => `SELECT '${t}' AS t, COUNT(*) AS n FROM \`${t}\``).join(" UNION ALL "),
  )) as unknown as [{ t: string; n: string | number }[]];
  for (const row of counts) digest[`${row.t}.rows`] = String(row.n);
  return digest;
}

/** The keys whose values differ, as `key: before → after`. */
export function snapshotDiff(before: StateSnapshot, after: StateSnapshot): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k]).map((k) => `${k}: ${before[k]} → ${after[k]}`);
}

/**
 * Waits until the state stops moving (checkpoint flushes and other work an
 * accepted request set off in the background), then returns it: two
 * snapshots 30 ms apart that agree, or the last one after `timeoutMs`.
 */
export async function settledSnapshot(environment: FuzzEnvironment, timeoutMs = 3_000): Promise<StateSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let previous = await takeSnapshot(environment);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 30));
    const next = await takeSnapshot(environment);
    if (snapshotDiff(previous, next).length === 0 || Date.now() > deadline) return next;
    previous = next;
  }
}
