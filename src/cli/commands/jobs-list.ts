/**
 * `spider-storage jobs list`: jobs from the database, newest filters first —
 * `--state` (repeatable or comma-separated), `--resource-group`,
 * `--older-than` / `--newer-than` (by creation time) — a page at a time in id
 * order (`--limit`, then `--after` the last id shown), or every page with `--all`.
 */
import type { Command } from "commander";
import type { JobSummary } from "../../gen/admin/admin_pb.ts";
import { connectAdmin } from "../admin-client.ts";
import { collectList, parseDuration, parseId, parseInteger } from "../arguments.ts";
import { formatAge, formatTime, print, printJson, renderTable, truncate } from "../output.ts";

interface ListFlags {
  state?: string[];
  resourceGroup?: bigint;
  olderThan?: number;
  newerThan?: number;
  limit: number;
  after?: bigint;
  all?: boolean;
}

export function addJobsListCommand(jobs: Command): void {
  jobs
    .command("list")
    .description("list jobs, filtered by state, resource group and age, a page at a time")
    .option("--state <states>", "only these states (Ready, Running, CommitReady, CleanupReady, Succeeded, Failed, Cancelled); repeatable", collectList)
    .option("--resource-group <id>", "only this resource group", parseId("resource group id"))
    .option("--older-than <duration>", "only jobs created at least this long ago (30s, 15m, 2h, 7d)", parseDuration)
    .option("--newer-than <duration>", "only jobs created at most this long ago", parseDuration)
    .option("--limit <n>", "jobs per page", parseInteger(1, 10_000), 50)
    .option("--after <id>", "start after this job id (the last id of the previous page)", parseId("job id"))
    .option("--all", "follow every page")
    .action(async (flags: ListFlags, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const admin = await connectAdmin(command);
      try {
        const jobs: JobSummary[] = [];
        let afterId = flags.after ?? 0n;
        let next = 0n;
        do {
          const page = await admin.call((o) =>
            admin.inspection.listJobs(
              {
                states: flags.state ?? [],
                ...(flags.resourceGroup === undefined ? {} : { resourceGroupId: flags.resourceGroup }),
                olderThanMs: BigInt(flags.olderThan ?? 0),
                newerThanMs: BigInt(flags.newerThan ?? 0),
                pageSize: flags.limit,
                afterId,
              },
              o,
            ),
          );
          jobs.push(...page.jobs);
          next = page.nextAfterId;
          afterId = next;
        } while (flags.all && next !== 0n);
        if (json) return printJson({ jobs, nextAfterId: next });
        if (jobs.length === 0) {
          print("no jobs match");
          return;
        }
        print(
          renderTable(
            ["JOB", "STATE", "RESOURCE GROUP", "CREATED", "AGE", "ENDED", "CACHED", "ERROR"],
            jobs.map((job) => [
              job.jobId,
              job.quarantined ? `${job.state} (quarantined)` : job.state,
              job.resourceGroupId,
              formatTime(job.createdAtMs),
              formatAge(job.createdAtMs),
              formatTime(job.endedAtMs),
              job.cached,
              job.errorMessage === "" ? "" : truncate(job.errorMessage, 60),
            ]),
          ),
        );
        if (next !== 0n) print(`\nmore jobs: add --after ${next} (or --all)`);
      } finally {
        admin.close();
      }
    });
}
