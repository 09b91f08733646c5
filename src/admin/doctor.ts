/**
 * `doctor` (pg-boss's `doctor` is the model): checks a database for what an
 * operator should know before (or while) a server runs on it — the schema
 * against this code, rows that break the jobs table's invariants, quarantined
 * jobs, checkpoint rows that should not exist, execution managers left Alive
 * with a silent heartbeat, and whether a server holds the lease. Read-only and
 * the same online (RunDoctor, on the server's pool) and offline (the CLI's own
 * connection). `healthy` is false when a finding has severity "error".
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { checkpointsOfTerminalJobs } from "../db/checkpoints/checkpointsOfTerminalJobs.ts";
import { checkpointsOfUnstartedJobs } from "../db/checkpoints/checkpointsOfUnstartedJobs.ts";
import { orphanedCheckpoints } from "../db/checkpoints/orphanedCheckpoints.ts";
import type { Db } from "../db/connection.ts";
import { staleAliveExecutionManagers } from "../db/execution-managers/staleAliveExecutionManagers.ts";
import { countJobRowViolations } from "../db/jobs/countJobRowViolations.ts";
import { jobsWithUnknownResourceGroup } from "../db/jobs/jobsWithUnknownResourceGroup.ts";
import { sampleJobIds } from "../db/jobs/sampleJobIds.ts";
import { readLease } from "../db/lease/readLease.ts";
import { schemaStatus } from "../db/migrate.ts";
import type { DoctorReportSchema, FindingSchema } from "../gen/admin/admin_pb.ts";
import { JOB_ROW_CHECKS } from "./job-row-checks.ts";

/** How many job ids a finding lists. */
export const SAMPLE_SIZE = 20;

type Finding = MessageInitShape<typeof FindingSchema>;
export type DoctorReportInit = MessageInitShape<typeof DoctorReportSchema>;

export interface DoctorOptions {
  /** Execution managers silent this long should have been declared dead. */
  readonly deadExecutionManagerCutoffMs: number;
}

export async function runDoctor(db: Db, options: DoctorOptions): Promise<DoctorReportInit> {
  const findings: Finding[] = [];
  const schema = await schemaStatus(db);
  if (schema.unknown.length > 0) {
    findings.push({
      check: "schema-newer-than-code",
      severity: "error",
      message: `the database has migrations this spider-storage does not know (${schema.unknown.join(", ")}): it was upgraded by a newer version`,
      count: BigInt(schema.unknown.length),
      fix: "run the newer spider-storage, or restore a backup taken before the upgrade",
    });
  }
  if (schema.pending.length > 0) {
    findings.push({
      check: "pending-migrations",
      severity: "warning",
      message: `${schema.pending.length} migration(s) not applied yet: ${schema.pending.join(", ")}`,
      count: BigInt(schema.pending.length),
      fix: "spider-storage migrate (serve applies them at start unless --no-migrate)",
    });
  }

  // The row checks need the tables; with none, the schema findings say it all.
  if (schema.applied.length > 0 && schema.pending.length === 0) {
    const counts = await countJobRowViolations(db);
    for (const check of JOB_ROW_CHECKS) {
      const count = counts[check.check];
      if (count === 0) continue;
      findings.push({
        check: check.check,
        severity: check.severity,
        message: `${count} job(s) ${check.message}`,
        count: BigInt(count),
        jobIds: await sampleJobIds(db, check.check, SAMPLE_SIZE),
        fix: check.fix,
      });
    }

    const unknownGroup = await jobsWithUnknownResourceGroup(db, SAMPLE_SIZE);
    if (unknownGroup.count > 0) {
      findings.push({
        check: "unknown-resource-group",
        severity: "error",
        message: `${unknownGroup.count} job(s) belong to a resource group that does not exist`,
        count: BigInt(unknownGroup.count),
        jobIds: unknownGroup.jobIds,
        fix: "spider-storage jobs fail ID --reason 'resource group lost', then let GC delete them",
      });
    }

    const orphans = await orphanedCheckpoints(db, SAMPLE_SIZE);
    if (orphans.rows > 0) {
      findings.push({
        check: "orphaned-checkpoints",
        severity: "error",
        message: `${orphans.rows} checkpoint row(s) belong to jobs that no longer exist (were foreign-key checks off?)`,
        count: BigInt(orphans.rows),
        jobIds: orphans.jobIds,
        fix: "DELETE FROM task_checkpoints WHERE job_id IN (…) — nothing reads them",
      });
    }
    const unstarted = await checkpointsOfUnstartedJobs(db, SAMPLE_SIZE);
    if (unstarted.rows > 0) {
      findings.push({
        check: "checkpoints-of-unstarted-jobs",
        severity: "error",
        message: `${unstarted.rows} checkpoint row(s) belong to jobs that are still Ready (never started)`,
        count: BigInt(unstarted.rows),
        jobIds: unstarted.jobIds,
        fix: "inspect with spider-storage jobs show ID; the checkpoints are ignored until the job runs",
      });
    }
    const finished = await checkpointsOfTerminalJobs(db, SAMPLE_SIZE);
    if (finished.rows > 0) {
      findings.push({
        check: "checkpoints-of-finished-jobs",
        severity: "info",
        message: `${finished.rows} checkpoint row(s) belong to terminal jobs (kept so \`jobs retry\` can reuse them; GC deletes them with the job)`,
        count: BigInt(finished.rows),
        jobIds: finished.jobIds,
        fix: "none needed; spider-storage gc removes them with their jobs",
      });
    }

    const stale = await staleAliveExecutionManagers(db, options.deadExecutionManagerCutoffMs);
    if (stale.length > 0) {
      findings.push({
        check: "silent-alive-execution-managers",
        severity: "info",
        message:
          `${stale.length} execution manager(s) are Alive but silent for longer than the cutoff ` +
          `(${Math.round(options.deadExecutionManagerCutoffMs / 1000)} s): a running server declares them dead within a second; ` +
          `a stopped one does at start (ids: ${stale.slice(0, SAMPLE_SIZE).join(", ")})`,
        count: BigInt(stale.length),
        fix: "none needed; spider-storage em release ID does it at once",
      });
    }
  }

  const lease = await readLease(db);
  return {
    schema: { applied: schema.applied, pending: schema.pending, unknown: schema.unknown },
    findings,
    leaseHeld: lease?.held ?? false,
    leaseHolder: lease?.holder ?? "",
    leaseEpoch: lease?.epoch ?? 0n,
    leaseRemainingMs: BigInt(Math.max(0, Math.round(lease?.remainingMs ?? 0))),
    healthy: !findings.some((finding) => finding.severity === "error"),
  };
}
