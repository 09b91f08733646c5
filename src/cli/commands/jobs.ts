/** `spider-storage jobs …`: list, show, payload (look) and cancel, fail, requeue, retry (repair). */
import type { Command } from "commander";
import { addJobsListCommand } from "./jobs-list.ts";
import { addJobsPayloadCommand } from "./jobs-payload.ts";
import { addJobsRepairCommands } from "./jobs-repair.ts";
import { addJobsShowCommand } from "./jobs-show.ts";

export function addJobsCommand(program: Command): void {
  const jobs = program.command("jobs").description("look at jobs and repair them");
  addJobsListCommand(jobs);
  addJobsShowCommand(jobs);
  addJobsPayloadCommand(jobs);
  addJobsRepairCommands(jobs);
}
