/**
 * `npm run chaos`: the seeded, replayable chaos run of issue 21 (see
 * chaos/run-chaos.ts). Prints its seed and the command that replays it,
 * progress on stderr, a summary at the end; writes bench/results/chaos.json
 * (or --out PATH; --no-out writes nothing); exits 1 when any check failed,
 * 2 on a usage error.
 *
 *   npm run chaos                       # the full run, ~10 minutes here
 *   npm run chaos -- --seed 1234        # replay a run's fault plan and job mix
 *   npm run chaos -- --smoke            # the CI size
 *   npm run chaos -- --server-kills 20 --database-kills 5 --pauses 2 --leader-failovers 0 --fuzz-cases 0
 */
import { parseChaosArgs, UsageError } from "./options.ts";
import { summaryLines, violations, writeResults } from "./results.ts";
import { runChaos } from "./run-chaos.ts";

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
let options;
try {
  options = parseChaosArgs(process.argv.slice(2), log);
} catch (error) {
  if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
const result = await runChaos(options);
if (options.out) {
  await writeResults(options.out, result);
  log(`results written to ${options.out}`);
}
for (const line of summaryLines(result)) process.stdout.write(`${line}\n`);
process.exitCode = violations(result).length === 0 ? 0 : 1;
// Every process of ours has ended; a client's lingering socket must not keep the run waiting.
setTimeout(() => process.exit(), 2_000).unref();
