/**
 * The job repairs: `jobs cancel ID`, `jobs fail ID --reason …`,
 * `jobs requeue ID [--release-instances]`, `jobs retry ID`. Each takes
 * `--reason`, logged by the server with who asked. Online (--server) by
 * default; cancel, fail and retry also work offline (--database-url,
 * --data-dir or --offline) on a database no server holds.
 */
import type { Command } from "commander";
import { adminSettingsFrom } from "../../admin/admin-settings.ts";
import { auditWrite, type Actor } from "../../admin/audit.ts";
import { connectAdmin, LONG_DEADLINE_MS } from "../admin-client.ts";
import { parseId } from "../arguments.ts";
import { CliError } from "../cli-error.ts";
import { isOffline, withOfflineDatabase, type OfflineContext } from "../offline-database.ts";
import { print, printJson } from "../output.ts";
import { hostname, userInfo } from "node:os";

interface ReasonFlags {
  reason?: string;
  offline?: boolean;
}

function jsonFlag(command: Command): boolean {
  return command.optsWithGlobals<{ json?: boolean }>().json === true;
}

/** Runs an offline repair and writes its audit line (on stderr: there is no server to log it). */
async function offline<T>(command: Command, what: string, action: string, reason: string, fn: (context: OfflineContext) => Promise<T>): Promise<T> {
  return withOfflineDatabase(command, { write: true, what }, async (context) => {
    const result = await fn(context);
    let operator = "unknown";
    try {
      operator = `${userInfo().username}@${hostname()}`;
    } catch {
      // no user name: keep "unknown"
    }
    const actor: Actor = { kind: "offline", peer: "offline", operator };
    const { createLogger } = await import("../../observability/logger.ts");
    const audit = createLogger({ level: "info" });
    auditWrite(audit, actor, action, reason, { result });
    audit.flush();
    return result;
  });
}

export function addJobsRepairCommands(jobs: Command): void {
  jobs
    .command("cancel")
    .description("cancel a job (as the storage API's CancelJob: its cleanup task runs if it has one)")
    .argument("<id>", "job id", parseId("job id"))
    .option("--reason <text>", "why (logged)")
    .option("--offline", "work on the database directly (the server must be stopped)")
    .action(async (jobId: bigint, flags: ReasonFlags, command: Command) => {
      const reason = flags.reason ?? "";
      let result: { previousState: string; state: string };
      if (isOffline(command)) {
        const { offlineCancelJob } = await import("../../admin/offline-repairs.ts");
        result = await offline(command, "jobs cancel", "job cancelled (offline)", reason, ({ db, config }) =>
          offlineCancelJob(db, jobId, adminSettingsFrom(config).limits),
        );
      } else {
        const admin = await connectAdmin(command);
        try {
          result = await admin.call((o) => admin.repair.cancelJob({ jobId, reason }, o));
        } finally {
          admin.close();
        }
      }
      if (jsonFlag(command)) return printJson({ jobId, ...result });
      print(result.previousState === result.state ? `job ${jobId} was already ${result.state}` : `job ${jobId}: ${result.previousState} → ${result.state}`);
    });

  jobs
    .command("fail")
    .description("fail a job that has not ended, with a reason (its error message becomes \"failed by operator: <reason>\")")
    .argument("<id>", "job id", parseId("job id"))
    .requiredOption("--reason <text>", "why (required; becomes the job's error message)")
    .option("--offline", "work on the database directly (the server must be stopped)")
    .action(async (jobId: bigint, flags: ReasonFlags, command: Command) => {
      const reason = (flags.reason ?? "").trim();
      if (reason === "") throw new CliError("--reason must not be empty: it becomes the job's error message", 2);
      let result: { previousState: string; state: string };
      if (isOffline(command)) {
        const { offlineFailJob } = await import("../../admin/offline-repairs.ts");
        result = await offline(command, "jobs fail", "job failed (offline)", reason, ({ db }) => offlineFailJob(db, jobId, reason));
      } else {
        const admin = await connectAdmin(command);
        try {
          result = await admin.call((o) => admin.repair.failJob({ jobId, reason }, o));
        } finally {
          admin.close();
        }
      }
      if (jsonFlag(command)) return printJson({ jobId, ...result });
      print(`job ${jobId}: ${result.previousState} → ${result.state}`);
    });

  jobs
    .command("requeue")
    .description("re-enqueue a job's ready work (what a lost scheduler or a stuck entry needs)")
    .argument("<id>", "job id", parseId("job id"))
    .option("--release-instances", "first drop the job's live task instances (hung ones), without consuming retries")
    .option("--reason <text>", "why (logged)")
    .action(async (jobId: bigint, flags: ReasonFlags & { releaseInstances?: boolean }, command: Command) => {
      const admin = await connectAdmin(command);
      try {
        const result = await admin.call((o) =>
          admin.repair.requeueJob({ jobId, releaseInstances: flags.releaseInstances === true, reason: flags.reason ?? "" }, o),
        );
        if (jsonFlag(command)) return printJson(result);
        const released = flags.releaseInstances ? `${result.releasedInstances} instance(s) released, ` : "";
        print(`job ${jobId} (${result.state}): ${released}${result.enqueued} task(s) enqueued`);
      } finally {
        admin.close();
      }
    });

  jobs
    .command("retry")
    .description("run a Failed job again: its failed tasks and their descendants re-run, checkpointed successes are kept")
    .argument("<id>", "job id", parseId("job id"))
    .option("--reason <text>", "why (logged)")
    .option("--offline", "work on the database directly (the server must be stopped; the job runs at its next start)")
    .action(async (jobId: bigint, flags: ReasonFlags, command: Command) => {
      const reason = flags.reason ?? "";
      if (isOffline(command)) {
        const { offlineRetryJob } = await import("../../admin/offline-repairs.ts");
        const result = await offline(command, "jobs retry", "job retried (offline)", reason, ({ db, config }) =>
          offlineRetryJob(db, jobId, adminSettingsFrom(config).limits),
        );
        if (jsonFlag(command)) return printJson({ jobId, ...result });
        print(
          `job ${jobId}: ${result.previousState} → ${result.state}; at the next server start ${result.keptTasks} task(s) keep their checkpointed outputs, ${result.rerunTasks} run again`,
        );
        return;
      }
      const admin = await connectAdmin(command);
      try {
        const result = await admin.call((o) => admin.repair.retryJob({ jobId, reason }, o), LONG_DEADLINE_MS);
        if (jsonFlag(command)) return printJson(result);
        const shown = result.rerunTaskIndices.join(", ") + (result.rerunTasks > result.rerunTaskIndices.length ? ", …" : "");
        print(
          `job ${jobId}: ${result.previousState} → ${result.state}; ${result.keptTasks} task(s) keep their checkpointed outputs, ` +
            `${result.rerunTasks} run again${result.rerunTasks > 0 ? ` (${shown})` : ""}; ${result.enqueued} enqueued now`,
        );
      } finally {
        admin.close();
      }
    });
}
