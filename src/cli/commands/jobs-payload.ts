/**
 * `spider-storage jobs payload ID`: lists a job's inputs (`input:N`), outputs
 * (`output:N`) and checkpointed task outputs (`task:T:N`) with their sizes;
 * `--get ITEM` writes one item's bytes to `--out FILE` (or to stdout when it
 * is not a terminal); `--dir DIR` downloads every listed item into DIR, one
 * file per item named like the item with ':' as '_' (input_0, task_3_0).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { connectAdmin, LONG_DEADLINE_MS } from "../admin-client.ts";
import { parseId, parseInteger } from "../arguments.ts";
import { CliError } from "../cli-error.ts";
import { formatBytes, print, printJson, renderTable } from "../output.ts";

interface PayloadFlags {
  get?: string;
  out?: string;
  dir?: string;
  max: number;
}

export function addJobsPayloadCommand(jobs: Command): void {
  jobs
    .command("payload")
    .description("list a job's inputs, outputs and checkpointed task outputs, or download them")
    .argument("<id>", "job id", parseId("job id"))
    .option("--get <item>", "download one item: input:N, output:N or task:T:N")
    .option("--out <file>", "with --get: write it here (default: stdout, unless it is a terminal)")
    .option("--dir <dir>", "download every listed item into this directory")
    .option("--max <n>", "list at most this many items", parseInteger(1, 1_000_000), 1000)
    .action(async (jobId: bigint, flags: PayloadFlags, command: Command) => {
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      if (flags.get !== undefined && flags.dir !== undefined) throw new CliError("--get and --dir do not go together", 2);
      if (flags.out !== undefined && flags.get === undefined) throw new CliError("--out needs --get ITEM", 2);
      const admin = await connectAdmin(command);
      try {
        if (flags.get !== undefined) {
          const item = flags.get;
          const answer = await admin.call((o) => admin.inspection.getJobPayload({ jobId, item }, o), LONG_DEADLINE_MS);
          if (flags.out === undefined || flags.out === "-") {
            if (process.stdout.isTTY) throw new CliError("refusing to write bytes to a terminal: pass --out FILE (or pipe the output)", 2);
            process.stdout.write(answer.data);
          } else {
            await writeFile(flags.out, answer.data);
            if (json) printJson({ item, file: flags.out, size: answer.data.length });
            else print(`${item}: ${formatBytes(answer.data.length)} written to ${flags.out}`);
          }
          return;
        }
        const listing = await admin.call((o) => admin.inspection.getJobPayload({ jobId, maxItems: flags.max }, o), LONG_DEADLINE_MS);
        if (flags.dir !== undefined) {
          await mkdir(flags.dir, { recursive: true });
          const written: { item: string; file: string; size: number }[] = [];
          for (const entry of listing.items) {
            const answer = await admin.call((o) => admin.inspection.getJobPayload({ jobId, item: entry.name }, o), LONG_DEADLINE_MS);
            const file = join(flags.dir, entry.name.replaceAll(":", "_"));
            await writeFile(file, answer.data);
            written.push({ item: entry.name, file, size: answer.data.length });
          }
          if (json) printJson({ written, truncated: listing.truncated });
          else print(`${written.length} item(s) written to ${flags.dir}${listing.truncated ? ` (the first ${flags.max}; raise --max for more)` : ""}`);
          return;
        }
        if (json) return printJson(listing);
        if (listing.items.length === 0) {
          print("no payloads");
          return;
        }
        print(renderTable(["ITEM", "KIND", "SIZE"], listing.items.map((i) => [i.name, i.kind, formatBytes(i.size)])));
        if (listing.truncated) print(`… more items: raise --max (now ${flags.max})`);
      } finally {
        admin.close();
      }
    });
}
