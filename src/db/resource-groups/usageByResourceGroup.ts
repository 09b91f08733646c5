/**
 * `usageByResourceGroup`: for `usage` — per resource group, jobs by state and
 * the bytes stored (task graph, inputs and outputs as stored), plus the
 * number and bytes of task checkpoints. Two grouped scans; LENGTH() on the
 * blobs makes this an operator command, not something to poll.
 */
import type { JobState } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

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
    const jobs = await connection
      .selectFrom("jobs")
      .select((eb) => {
        const length = (column: "compressed_serialized_task_graph" | "compressed_serialized_job_inputs" | "serialized_job_outputs") =>
          eb.fn<number>("length", [column]);
        const stored = eb(eb(length("compressed_serialized_task_graph"), "+", length("compressed_serialized_job_inputs")), "+", eb.fn.coalesce(length("serialized_job_outputs"), eb.lit(0)));
        return ["resource_group_id", "state", eb.fn.countAll<bigint>().as("jobs"), eb.fn.sum<bigint | string | null>(stored).as("bytes")];
      })
      .groupBy(["resource_group_id", "state"])
      .execute();
    for (const row of jobs) {
      const group = of(row.resource_group_id);
      group.jobsByState.set(row.state, Number(row.jobs));
      group.jobBytes += Number(row.bytes ?? 0);
    }
    const checkpoints = await connection
      .selectFrom("task_checkpoints as c")
      .innerJoin("jobs as j", "j.id", "c.job_id")
      .select((eb) => [
        "j.resource_group_id",
        eb.fn.countAll<bigint>().as("checkpoints"),
        eb.fn.sum<bigint | string | null>(eb.fn<number>("length", ["c.outputs"])).as("bytes"),
      ])
      .groupBy("j.resource_group_id")
      .execute();
    for (const row of checkpoints) {
      const group = of(row.resource_group_id);
      group.checkpoints = Number(row.checkpoints);
      group.checkpointBytes = Number(row.bytes ?? 0);
    }
    return [...usage.values()].sort((a, b) => (a.resourceGroupId < b.resourceGroupId ? -1 : 1));
  });
}
