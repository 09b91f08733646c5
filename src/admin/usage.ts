/** `usage`: per resource group, jobs by state and bytes stored (jobs and checkpoints). */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { JOB_STATES } from "../core/job-state.ts";
import type { GetUsageResponseSchema } from "../gen/admin/admin_pb.ts";
import type { AdminHost } from "./admin-host.ts";
import { requireDb } from "./require-ready.ts";
import { usageByResourceGroup } from "../db/resource-groups/usageByResourceGroup.ts";

export async function getUsage(host: AdminHost): Promise<MessageInitShape<typeof GetUsageResponseSchema>> {
  const rows = await usageByResourceGroup(requireDb(host));
  return {
    resourceGroups: rows.map((row) => {
      let jobs = 0;
      for (const count of row.jobsByState.values()) jobs += count;
      return {
        resourceGroupId: row.resourceGroupId,
        externalId: row.externalId,
        jobsByState: JOB_STATES.map((state) => ({ state, count: BigInt(row.jobsByState.get(state) ?? 0) })),
        jobs: BigInt(jobs),
        jobBytes: BigInt(row.jobBytes),
        checkpoints: BigInt(row.checkpoints),
        checkpointBytes: BigInt(row.checkpointBytes),
      };
    }),
  };
}
