/**
 * The fuzz from the command line: prints progress on stderr and the report
 * as JSON on stdout; exits 1 on any failure or crash.
 *
 *   node chaos/fuzz/main.ts --cases 10000 [--seed N] [--database-url mysql://root@127.0.0.1:3306/]
 *   node chaos/fuzz/main.ts --replay --seed N --path P [--shrink]
 */
import { parseArgs } from "node:util";
import { replayFuzzCase, runFuzz } from "./run-fuzz.ts";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "10000" },
    seed: { type: "string" },
    "database-url": { type: "string" },
    replay: { type: "boolean", default: false },
    path: { type: "string" },
    shrink: { type: "boolean", default: false },
  },
});
const seed = values.seed === undefined ? undefined : Number(values.seed);
const databaseUrl = values["database-url"];
const json = (value: unknown) => JSON.stringify(value, (_, v) => (typeof v === "bigint" ? String(v) : v), 2);

if (values.replay) {
  if (seed === undefined || values.path === undefined) throw new Error("--replay needs --seed and --path");
  const result = await replayFuzzCase({ seed, path: values.path, shrink: values.shrink, ...(databaseUrl ? { databaseUrl } : {}) });
  process.stdout.write(`${json(result)}\n`);
  process.exitCode = result.failures.length === 0 ? 0 : 1;
} else {
  const report = await runFuzz({
    cases: Number(values.cases),
    ...(seed === undefined ? {} : { seed }),
    ...(databaseUrl ? { databaseUrl } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${json(report)}\n`);
  process.exitCode = report.failureCount === 0 && report.crashes === 0 ? 0 : 1;
}
