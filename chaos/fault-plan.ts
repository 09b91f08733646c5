/**
 * The seeded fault plan: which faults fire, in which order, with which
 * durations and delays. The same seed and counts give the same plan; only the
 * machine's timing (when a recovery starts, which task is reporting when a
 * kill lands) varies between replays.
 *
 * Phase "one MariaDB" — every server fault decides the fate of the current
 * server process ("life"):
 * - `kill-serving`: SIGKILL after `gapMs` of serving under load;
 * - `kill-startup`: SIGKILL `delayMs` after the spawn, whatever it is doing
 *   (connecting, waiting out the dead server's lease, migrating, recovering);
 * - `kill-recovery`: the life starts with slowed recovery pages (the test hook
 *   SPIDER_STORAGE_TEST_RECOVERY_PAGE_DELAY_MS), SIGKILL `delayMs` after it
 *   logs "recovery started";
 * - `kill-mid-flush`: the life starts with split checkpoint flushes (the test
 *   hook SPIDER_STORAGE_TEST_CHECKPOINT_FLUSH_DELAY_MS: half a batch written,
 *   a pause, the rest), SIGKILL as soon as it logs a half-written flush.
 * and the outage faults hit a serving life, which lives on:
 * - `database-kill`: SIGKILL of mariadbd, restarted after `durationMs`;
 * - `database-pause`, `server-pause`: SIGSTOP for `durationMs`, then SIGCONT.
 *
 * Phase "Galera": `leader-kill` (SIGKILL of whichever server is SERVING,
 * restarted as the standby) and `node-kill` (SIGKILL of the Galera node the
 * leader's connections use, restarted and waited Synced).
 */
import { seededRandom } from "../src/core/seeded-random.ts";

export type ServerKillKind = "kill-serving" | "kill-startup" | "kill-recovery" | "kill-mid-flush";
export type OutageKind = "database-kill" | "database-pause" | "server-pause";
export type GaleraFaultKind = "leader-kill" | "node-kill";

export interface PlannedFault<K extends string> {
  readonly index: number;
  readonly kind: K;
  /** Serving (under load) before the fault fires. */
  readonly gapMs: number;
  /** Downtime or pause length (outage faults). */
  readonly durationMs: number;
  /** kill-startup: after the spawn; kill-recovery: after "recovery started". */
  readonly delayMs: number;
}

export interface SingleServerCounts {
  readonly serverKills: number;
  readonly databaseKills: number;
  readonly pauses: number;
}

export interface GaleraCounts {
  readonly leaderFailovers: number;
  readonly galeraNodeKills: number;
}

/** The lease and timeouts the faults must outlast (the servers run with these). */
export const TIMEOUTS = {
  leaseTtlMs: 1_000,
  leaseRenewMs: 200,
  leaseStepDownMarginMs: 500,
  statementTimeoutMs: 2_000,
  /** Execution managers silent this long are declared dead (an outage or pause must never make one so). */
  staleCutoffSec: 4,
} as const;

/** How the server kills split: 15 % each at start-up, during recovery and mid-flush (at least one each from 4 kills on). */
export function splitServerKills(total: number): Record<ServerKillKind, number> {
  const special = total >= 4 ? Math.max(1, Math.round(total * 0.15)) : 0;
  return { "kill-startup": special, "kill-recovery": special, "kill-mid-flush": special, "kill-serving": total - 3 * special };
}

/** One server process of phase "one MariaDB": the outages it lives through, then how it ends. */
export interface PlannedLife {
  readonly index: number;
  /** How it ends: one of the server kills, or "none" for the last life, which runs to the end. */
  readonly end: ServerKillKind | "none";
  /** Serving under load before the kill (kill-serving) or before each outage. */
  readonly gapMs: number;
  /** kill-startup: after the spawn; kill-recovery: after "recovery started". */
  readonly delayMs: number;
  readonly outages: readonly PlannedFault<OutageKind>[];
}

/**
 * The lives of phase "one MariaDB": one per server kill, plus the last one.
 * Outages (database kills, pauses) are spread over the lives that serve
 * until they are killed (kill-serving) and the last one.
 */
export function singleServerPlan(seed: number, counts: SingleServerCounts): PlannedLife[] {
  const random = seededRandom(seed ^ 0x51e7);
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo));
  const ends: (ServerKillKind | "none")[] = [];
  for (const [kind, n] of Object.entries(splitServerKills(counts.serverKills))) for (let i = 0; i < n; i++) ends.push(kind as ServerKillKind);
  shuffle(ends, random);
  // The first life serves (the workload starts on it).
  const firstServing = ends.indexOf("kill-serving");
  if (firstServing > 0) [ends[0], ends[firstServing]] = [ends[firstServing]!, ends[0]!];
  ends.push("none");
  const hosts = ends.map((end, i) => (end === "kill-serving" || end === "none" ? i : -1)).filter((i) => i >= 0);
  const outageKinds: OutageKind[] = [];
  for (let i = 0; i < counts.databaseKills; i++) outageKinds.push("database-kill");
  for (let i = 0; i < counts.pauses; i++) outageKinds.push(i % 2 === 0 ? "server-pause" : "database-pause");
  shuffle(outageKinds, random);
  const outagesOf = new Map<number, PlannedFault<OutageKind>[]>();
  outageKinds.forEach((kind, index) => {
    const host = hosts[Math.floor(random() * hosts.length)]!;
    const list = outagesOf.get(host) ?? [];
    list.push({
      index,
      kind,
      gapMs: between(300, 1_200),
      // Pauses outlast the lease TTL (1 s) and the statement timeout (2 s); some outlast the dead-manager cut-off (4 s).
      durationMs: kind === "database-kill" ? between(0, 1_500) : between(2_500, 5_500),
      delayMs: 0,
    });
    outagesOf.set(host, list);
  });
  return ends.map((end, index) => ({
    index,
    end,
    gapMs: between(300, 1_500),
    delayMs: end === "kill-startup" ? between(0, 900) : end === "kill-recovery" ? between(0, 250) : 0,
    outages: outagesOf.get(index) ?? [],
  }));
}

export function galeraPlan(seed: number, counts: GaleraCounts): PlannedFault<GaleraFaultKind>[] {
  const random = seededRandom(seed ^ 0x6a1e);
  const kinds: GaleraFaultKind[] = [];
  for (let i = 0; i < counts.leaderFailovers; i++) kinds.push("leader-kill");
  for (let i = 0; i < counts.galeraNodeKills; i++) kinds.push("node-kill");
  shuffle(kinds, random);
  return kinds.map((kind, index) => ({ index, kind, gapMs: 500 + Math.floor(random() * 1_500), durationMs: 0, delayMs: 0 }));
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
