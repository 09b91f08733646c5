/** `spider-storage usage`: per resource group, jobs by state and bytes stored (jobs and checkpoints). */
import type { Command } from "commander";
import { JOB_STATES } from "../../core/job-state.ts";
import { connectAdmin, LONG_DEADLINE_MS } from "../admin-client.ts";
import { formatBytes, print, printJson, renderTable } from "../output.ts";

export function addUsageCommand(program: Command): void {
  program
    .command("usage")
    .description("per resource group: jobs by state and bytes stored")
    .action(async (_flags: unknown, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const admin = await connectAdmin(command);
      try {
        const answer = await admin.call((o) => admin.inspection.getUsage({}, o), LONG_DEADLINE_MS);
        if (json) return printJson(answer);
        if (answer.resourceGroups.length === 0) {
          print("no resource groups");
          return;
        }
        print(
          renderTable(
            ["RESOURCE GROUP", "NAME", "JOBS", ...JOB_STATES.map((s) => s.toUpperCase()), "JOB BYTES", "CHECKPOINTS", "CHECKPOINT BYTES"],
            answer.resourceGroups.map((g) => [
              g.resourceGroupId,
              g.externalId,
              g.jobs,
              ...JOB_STATES.map((state) => g.jobsByState.find((s) => s.state === state)?.count ?? 0n),
              formatBytes(g.jobBytes),
              g.checkpoints,
              formatBytes(g.checkpointBytes),
            ]),
          ),
        );
      } finally {
        admin.close();
      }
    });
}
