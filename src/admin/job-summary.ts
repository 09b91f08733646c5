/** A job row as the admin API shows it (JobSummary). */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { JobRow } from "../db/jobs/job-row.ts";
import { isQuarantineMessage } from "../db/jobs/quarantineJob.ts";
import type { JobSummarySchema } from "../gen/admin/admin_pb.ts";

export function jobSummary(row: JobRow, cached: boolean, maxErrorChars = Number.POSITIVE_INFINITY): MessageInitShape<typeof JobSummarySchema> {
  const error = row.errorMessage ?? "";
  return {
    jobId: row.id,
    resourceGroupId: row.resourceGroupId,
    state: row.state,
    createdAtMs: BigInt(row.createdAt.getTime()),
    updatedAtMs: BigInt(row.updatedAt.getTime()),
    endedAtMs: BigInt(row.endedAt?.getTime() ?? 0),
    errorMessage: error.length > maxErrorChars ? `${error.slice(0, maxErrorChars)}…` : error,
    quarantined: isQuarantineMessage(row.errorMessage),
    cached,
  };
}
