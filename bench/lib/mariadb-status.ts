/**
 * MariaDB's global status counters, read before and after a workload, so a
 * result can say how many statements and log fsyncs each job cost (the
 * durable-commit ceiling divided by fsyncs per job bounds jobs/s).
 */
import { createConnection } from "mysql2/promise";
import { round } from "./stats.ts";

// Com_update_multi: a fenced write joins its fence stripe (a multi-table UPDATE). Com_rollback: a group-commit batch that fell back.
const COUNTERS = ["Questions", "Com_select", "Com_insert", "Com_update", "Com_update_multi", "Com_delete", "Com_commit", "Com_rollback", "Com_begin", "Innodb_os_log_fsyncs", "Innodb_data_fsyncs"] as const;
export type StatusCounters = Record<(typeof COUNTERS)[number], number>;

export async function readStatus(serverUrl: string): Promise<StatusCounters> {
  const connection = await createConnection({ uri: serverUrl });
  try {
    const [rows] = (await connection.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTERS.map(() => "?").join(", ")})`, [...COUNTERS])) as unknown as [
      { Variable_name: string; Value: string }[],
    ];
    const result = Object.fromEntries(COUNTERS.map((name) => [name, 0])) as StatusCounters;
    for (const row of rows) result[row.Variable_name as (typeof COUNTERS)[number]] = Number(row.Value);
    return result;
  } finally {
    await connection.end();
  }
}

/** (after − before) ÷ units, per counter. */
export function perUnit(before: StatusCounters, after: StatusCounters, units: number): StatusCounters {
  return Object.fromEntries(Object.keys(before).map((k) => [k, round((after[k as keyof StatusCounters] - before[k as keyof StatusCounters]) / Math.max(1, units), 2)])) as StatusCounters;
}
