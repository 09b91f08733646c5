/**
 * `usageByResourceGroup`: for `usage` — per resource group, jobs by state and
 * the bytes stored (task graph, inputs and outputs as stored), plus the
 * number and bytes of task checkpoints. Two grouped scans; LENGTH() on the
 * blobs makes this an operator command, not something to poll.
 */
import { sql } from "kysely";
import type { JobState } from "../../core/job-state.ts";
import type { Db } from "../../db/connection.ts";
import { runStatement } from "../../db/run-statement.ts";

export interface ResourceGroupUsageRow {
  readonly resourceGroupId: bigint;
  readonly externalId: string;
  readonly jobsByState: Map<JobState, number>;
  jobBytes: number;
  checkpoints: number;
  checkpointBytes: number;
}

export async function usageByResourceGroup(db: Db): Promise<ResourceGroupUsageRow[]> {
  return runStatement(db, { operation: "usageByResourceGroup", writes: false }, async (connection) => {
    const groups = await connection.selectFrom("resource_groups").select(["id", "external_id"]).orderBy("id").execute();
    const usage = new Map<bigint, ResourceGroupUsageRow>();
    for (const group of groups) {
      usage.set(group.id, { resourceGroupId: group.id, externalId: group.external_id, jobsByState: new Map(), jobBytes: 0, checkpoints: 0, checkpointBytes: 0 });
    }
    const of = (id: bigint): ResourceGroupUsageRow => {
      let row = usage.get(id);
      if (row === undefined) {
        row = { resourceGroupId: id, externalId: "", jobsByState: new Map(), jobBytes: 0, checkpoints: 0, checkpointBytes: 0 };
        usage.set(id, row);
      }
      return row;
    };
    const jobs = await sql<{ resource_group_id: bigint; state: JobState; jobs: bigint; bytes: bigint | string | null }>`
      SELECT resource_group_id, state, COUNT(*) AS jobs,
        SUM(LENGTH(compressed_serialized_task_graph) + LENGTH(compressed_serialized_job_inputs)
            + COALESCE(LENGTH(serialized_job_outputs), 0)) AS bytes
      FROM jobs GROUP BY resource_group_id, state
    `.execute(connection);
    for (const row of jobs.rows) {
      const group = of(row.resource_group_id);
      group.jobsByState.set(row.state, Number(row.jobs));
      group.jobBytes += Number(row.bytes ?? 0);
    }
    const checkpoints = await sql<{ resource_group_id: bigint; checkpoints: bigint; bytes: bigint | string | null }>`
      SELECT j.resource_group_id, COUNT(*) AS checkpoints, SUM(LENGTH(c.outputs)) AS bytes
      FROM task_checkpoints c JOIN jobs j ON j.id = c.job_id
      GROUP BY j.resource_group_id
    `.execute(connection);
    for (const row of checkpoints.rows) {
      const group = of(row.resource_group_id);
      group.checkpoints = Number(row.checkpoints);
      group.checkpointBytes = Number(row.bytes ?? 0);
    }
    return [...usage.values()].sort((a, b) => (a.resourceGroupId < b.resourceGroupId ? -1 : 1));
  });
}
