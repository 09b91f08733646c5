/**
 * How many bytes a Node process promotes to V8's old generation: runs a
 * script with `--trace-gc-nvp` and adds up the `promoted=` of every
 * collection V8 reports. Allocation drives collections, not the clock, so a
 * script doing the same work promotes about the same bytes every run: tests
 * can compare two ways of doing the same work.
 */
import { spawn } from "node:child_process";

export interface PromotionReading {
  /** Bytes promoted by the collections that started at or after `fromMs` (ms since the process's isolate started). */
  readonly promotedBytes: number;
  readonly scavenges: number;
  readonly markCompacts: number;
  /** The script's stdout without V8's trace lines. */
  readonly output: string;
}

/** Runs `node [nodeFlags] script ...args` and reads its collections. Rejects when it exits non-zero. */
export async function measurePromotion(script: string, args: readonly string[], options: { nodeFlags?: readonly string[]; fromMs?: number } = {}): Promise<PromotionReading> {
  const child = spawn(process.execPath, ["--trace-gc-nvp", ...(options.nodeFlags ?? []), script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", resolve);
  });
  if (code !== 0) throw new Error(`${script} exited with ${code}`);
  return readPromotion(stdout, options.fromMs ?? 0);
}

/** Parses V8's `--trace-gc-nvp` lines (`[pid:isolate:0]  123 ms: pause=… gc=s … promoted=…`). */
export function readPromotion(log: string, fromMs = 0): PromotionReading {
  let promotedBytes = 0;
  let scavenges = 0;
  let markCompacts = 0;
  const output: string[] = [];
  for (const line of log.split("\n")) {
    const trace = /^\[\d+:0x[0-9a-f]+:\d+\]\s+([\d.]+) ms: .*\bgc=(\w+)\b/.exec(line);
    if (trace === null) {
      if (line !== "") output.push(line);
      continue;
    }
    if (Number(trace[1]) < fromMs) continue;
    if (trace[2] === "s") scavenges++;
    else if (trace[2] === "mc") markCompacts++;
    promotedBytes += Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { promotedBytes, scavenges, markCompacts, output: output.join("\n") };
}
