/**
 * `spider-storage jobs show ID`: a job's state, timestamps and error, a
 * summary of its graph, each task's state with live instances and retries
 * left, and its checkpoints. `--tasks N` lists at most N tasks (counts always
 * cover all); `--task-state S` lists only tasks in state S.
 */
import type { Command } from "commander";
import { connectAdmin } from "../admin-client.ts";
import { parseId, parseInteger } from "../arguments.ts";
import { formatAge, formatBytes, formatDuration, formatTime, print, printJson, renderFields, renderTable } from "../output.ts";

export function addJobsShowCommand(jobs: Command): void {
  jobs
    .command("show")
    .description("show one job: state, graph, tasks, live instances, retries left, timestamps, error")
    .argument("<id>", "job id", parseId("job id"))
    .option("--tasks <n>", "list at most this many tasks", parseInteger(0, 1_000_000), 50)
    .option("--task-state <state>", "list only tasks in this state (Pending, Ready, Running, Succeeded, Failed, Cancelled)")
    .action(async (jobId: bigint, flags: { tasks: number; taskState?: string }, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const admin = await connectAdmin(command);
      try {
        const shown = await admin.call((o) =>
          admin.inspection.getJob({ jobId, maxTasks: flags.tasks === 0 ? 1 : flags.tasks, taskState: flags.taskState ?? "" }, o),
        );
        if (json) return printJson(shown);
        const job = shown.job!;
        const graph = shown.graph!;
        print(
          renderFields([
            ["job", job.jobId],
            ["state", job.quarantined ? `${job.state} (quarantined)` : job.state],
            ["resource group", job.resourceGroupId],
            ["created", `${formatTime(job.createdAtMs)} (${formatAge(job.createdAtMs)} ago)`],
            ["updated", `${formatTime(job.updatedAtMs)} (${formatAge(job.updatedAtMs)} ago)`],
            ["ended", formatTime(job.endedAtMs)],
            ["cached", job.cached ? `yes (holds ${formatBytes(shown.heldPayloadBytes)} of payloads)` : "no"],
            ["error", job.errorMessage === "" ? "-" : job.errorMessage],
          ]),
        );
        print();
        if (shown.graphError) {
          print(`graph: cannot be decoded: ${shown.graphError}`);
        } else {
          print(
            renderFields([
              ["tasks", `${graph.tasks} (${graph.inputTasks} input, ${graph.outputTasks} output; depth ${graph.depth}; ${graph.dependencies} dependencies)`],
              ["commit / cleanup task", `${graph.hasCommitTask ? "yes" : "no"} / ${graph.hasCleanupTask ? "yes" : "no"}`],
              ["job inputs / outputs", `${graph.graphInputs} / ${graph.graphOutputs}`],
              [
                "stored",
                `graph ${formatBytes(graph.compressedGraphBytes)}, inputs ${formatBytes(graph.compressedInputsBytes)}, outputs ${formatBytes(graph.outputsBytes)} (compressed as stored)`,
              ],
              ["checkpoints", `${shown.checkpoints} (${formatBytes(shown.checkpointBytes)})`],
            ]),
          );
        }
        print();
        print(`task states (${shown.tasksSource}): ${shown.tasksByState.map((s) => `${s.state} ${s.count}`).join(", ") || "-"}`);
        if (flags.tasks > 0 && shown.tasks.length > 0) {
          print(
            renderTable(
              ["TASK", "STATE", "FUNCTION", "INSTANCES", "RETRIES LEFT", "QUEUED", "CHECKPOINT"],
              shown.tasks.map((t) => [
                t.task,
                t.state,
                t.function,
                t.liveInstances,
                shown.tasksSource === "cache" ? `${t.retriesLeft}/${t.maxRetries}` : `-/${t.maxRetries}`,
                shown.tasksSource === "cache" ? t.queued : null,
                t.checkpointed,
              ]),
            ),
          );
          if (shown.tasksMatching > shown.tasks.length) print(`… ${shown.tasksMatching - shown.tasks.length} more (use --tasks N or --task-state S)`);
        }
        if (shown.instances.length > 0) {
          print();
          print(
            renderTable(
              ["INSTANCE", "TASK", "EXECUTION MANAGER", "AGE", "SOFT TIMEOUT PASSED"],
              shown.instances.map((i) => [i.taskInstanceId, i.task, i.executionManagerId, formatDuration(i.ageMs), i.softTimeoutPassed]),
            ),
          );
        }
      } finally {
        admin.close();
      }
    });
}
