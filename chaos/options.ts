/**
 * The chaos run's options: how many faults of each kind, the fuzz size, the
 * time budget, where the results go — the defaults (sized for about ten
 * minutes on a 2-core machine), the smoke size CI runs, and the command-line
 * flags of `npm run chaos`.
 */
import { parseArgs } from "node:util";

export interface ChaosOptions {
  /** Replays the same fault plan and job mix (thread timing still varies). */
  readonly seed: number;
  /** SIGKILLs of the single server (while serving, at start-up, during recovery, mid-checkpoint-flush). */
  readonly serverKills: number;
  /** SIGKILLs of the private MariaDB (restarted after a random downtime). */
  readonly databaseKills: number;
  /** SIGSTOP/SIGCONT of the server or of MariaDB, longer than the lease TTL and the statement timeout (half each). */
  readonly pauses: number;
  /** SIGKILLs of the Galera leader (the standby takes over; the killed one restarts as standby). 0 skips the Galera phase unless node kills are asked. */
  readonly leaderFailovers: number;
  /** SIGKILLs of the Galera node the leader uses (restarted, waited Synced). */
  readonly galeraNodeKills: number;
  /** Fuzz cases (chaos/fuzz); 0 skips the fuzz. */
  readonly fuzzCases: number;
  /** Budget for the whole run: once spent, no new fault fires and the phases drain. */
  readonly maxMinutes: number;
  /** Time for the jobs to end once the faults stop, before the survivors count as stuck. */
  readonly drainSeconds: number;
  /** Where the results JSON goes (undefined: not written). */
  readonly out: string | undefined;
  /** The command that reproduces this run (printed and written). */
  readonly command: string;
  /** Progress lines. */
  readonly log: (line: string) => void;
  /** Echo the servers' logs to stderr. */
  readonly echoServerLogs: boolean;
}

export const DEFAULT_OUT = "bench/results/chaos.json";

/** The full run: ≥ 100 server kills, ≥ 20 database kills, ≥ 5 Galera leader failovers, ≥ 10 000 fuzz cases. */
export const FULL_SIZE = {
  serverKills: 100,
  databaseKills: 20,
  pauses: 8,
  leaderFailovers: 6,
  galeraNodeKills: 3,
  fuzzCases: 10_000,
  maxMinutes: 25,
  drainSeconds: 180,
} as const;

/** The CI size (test/chaos/chaos-smoke.test.ts): a few of each, well under 3 minutes. */
export const SMOKE_SIZE = {
  serverKills: 4,
  databaseKills: 1,
  pauses: 2,
  leaderFailovers: 1,
  galeraNodeKills: 1,
  fuzzCases: 200,
  maxMinutes: 5,
  drainSeconds: 60,
} as const;

export function randomSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) >>> 0;
}

const COUNT_FLAGS = {
  "server-kills": "serverKills",
  "database-kills": "databaseKills",
  pauses: "pauses",
  "leader-failovers": "leaderFailovers",
  "galera-node-kills": "galeraNodeKills",
  "fuzz-cases": "fuzzCases",
  "max-minutes": "maxMinutes",
  "drain-seconds": "drainSeconds",
} as const;

export const USAGE = `npm run chaos -- [--seed S] [--smoke] [--server-kills N] [--database-kills N] [--pauses N]
                     [--leader-failovers N] [--galera-node-kills N] [--fuzz-cases N]
                     [--max-minutes M] [--drain-seconds S] [--out PATH | --no-out] [--echo-server-logs]`;

/** Options from `argv` (without node and the script). Throws on a bad flag or value. */
export function parseChaosArgs(argv: readonly string[], log: (line: string) => void): ChaosOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      seed: { type: "string" },
      smoke: { type: "boolean", default: false },
      out: { type: "string" },
      "no-out": { type: "boolean", default: false },
      "echo-server-logs": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
      ...Object.fromEntries(Object.keys(COUNT_FLAGS).map((flag) => [flag, { type: "string" as const }])),
    },
  });
  if (values.help) throw new UsageError(USAGE);
  const base: Record<string, number> = { ...(values.smoke ? SMOKE_SIZE : FULL_SIZE) };
  const parts: string[] = [];
  if (values.smoke) parts.push("--smoke");
  for (const [flag, key] of Object.entries(COUNT_FLAGS)) {
    const raw = (values as Record<string, unknown>)[flag];
    if (raw === undefined) continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0 || (key !== "maxMinutes" && !Number.isInteger(value))) throw new UsageError(`--${flag} wants a non-negative ${key === "maxMinutes" ? "number" : "integer"}, got ${String(raw)}`);
    base[key] = value;
    parts.push(`--${flag} ${value}`);
  }
  const seed = values.seed === undefined ? randomSeed() : Number(values.seed) >>> 0;
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) throw new UsageError(`--seed wants a non-negative integer, got ${values.seed}`);
  const out = values["no-out"] ? undefined : (values.out ?? DEFAULT_OUT);
  if (values.out !== undefined) parts.push(`--out ${values.out}`);
  return {
    seed,
    serverKills: base["serverKills"]!,
    databaseKills: base["databaseKills"]!,
    pauses: base["pauses"]!,
    leaderFailovers: base["leaderFailovers"]!,
    galeraNodeKills: base["galeraNodeKills"]!,
    fuzzCases: base["fuzzCases"]!,
    maxMinutes: base["maxMinutes"]!,
    drainSeconds: base["drainSeconds"]!,
    out,
    command: ["npm run chaos --", "--seed", String(seed), ...parts].join(" "),
    log,
    echoServerLogs: values["echo-server-logs"] === true,
  };
}

export class UsageError extends Error {}
