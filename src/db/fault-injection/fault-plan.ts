/**
 * What to break, and how often: the configuration of database fault injection
 * (a test-only tool; see fault-injector.ts). A plan is a list of rules; each
 * rule picks calls of chosen operations (JobStore method names) at a rate or
 * on the Nth call, and gives each picked call one fault of a real kind:
 *
 * - `deadlock` — MariaDB error 1213: the server rolled the transaction back;
 * - `lock_wait_timeout` — error 1205: the statement was rolled back;
 * - `lost_before_commit` — the connection drops after a statement inside a
 *   transaction reached the server (the server rolls the transaction back), or
 *   before an autocommit statement was sent;
 * - `lost_during_commit` — the connection drops with COMMIT (or an autocommit
 *   write) in flight: the outcome is unknown to the client. By default the
 *   write really happened (`applied: true`), as is usual when a reply is lost;
 *   `applied: false` models a COMMIT that never arrived;
 * - `unreachable` — no connection can be opened (connection refused);
 * - `certification_failure` — Galera refused the transaction's write set:
 *   1213 at COMMIT (the node rolled the transaction back), or at an autocommit
 *   write (not applied);
 * - `node_not_ready` — a Galera node that left the primary component: 1047 at
 *   COMMIT, and at the ROLLBACK after it, so the transaction stays open on the
 *   server as it really does (src/db/drop-refused-connections.ts must drop
 *   the connection); or at an autocommit statement (not run).
 *
 * The Galera kinds are not among the kinds a rule without `kind` draws from.
 *
 * The server process reads a plan from `SPIDER_STORAGE_FAULTS` (JSON), for
 * tests only: `{"seed":7,"rate":0.05}` is one rule over every operation with
 * the four kinds seen in production; `{"seed":7,"rules":[…]}` gives rules.
 * It honours the plan only when `SPIDER_STORAGE_ENABLE_TEST_FAULTS=1` is set
 * too (tests set both), so a stray variable never breaks a production server.
 */
import * as v from "valibot";

export const FAULT_KINDS = [
  "deadlock",
  "lock_wait_timeout",
  "lost_before_commit",
  "lost_during_commit",
  "unreachable",
  "certification_failure",
  "node_not_ready",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The kinds the issue names as seen in reality; a rule without `kind` picks among them. */
export const REAL_FAULT_KINDS: readonly FaultKind[] = ["deadlock", "lock_wait_timeout", "lost_before_commit", "lost_during_commit"];

/** The environment variable the server process reads its plan from (tests only). */
export const FAULTS_ENV = "SPIDER_STORAGE_FAULTS";
/** Set to 1 by tests; without it the server ignores {@link FAULTS_ENV}. */
export const ENABLE_FAULTS_ENV = "SPIDER_STORAGE_ENABLE_TEST_FAULTS";

/** Whether `env` allows fault injection: only a test sets {@link ENABLE_FAULTS_ENV} to 1. */
export function testFaultsEnabled(env: NodeJS.ProcessEnv): boolean {
  return env[ENABLE_FAULTS_ENV] === "1";
}

export interface FaultRule {
  /** The fault a picked call gets; with several, one is drawn per call. Default {@link REAL_FAULT_KINDS}. */
  readonly kind?: FaultKind | readonly FaultKind[];
  /** Probability (0..1) that a matching call is picked. */
  readonly rate?: number;
  /** Pick the Nth matching call (1-based)… */
  readonly nth?: number;
  /** …and this many consecutive ones from it. Default 1. */
  readonly count?: number;
  /** Operations (JobStore method names) the rule applies to. Default: all. */
  readonly operations?: readonly string[];
  /** Operations the rule never applies to. */
  readonly exclude?: readonly string[];
  /**
   * Fail every attempt of a picked call, so the db layer's retries are used up
   * and the failure reaches the engine (the database is "down" for that call).
   * Default false: the first qualifying statement only, which a retry survives.
   */
  readonly persistent?: boolean;
  /** `lost_during_commit` only: whether the write took effect. Default true. */
  readonly applied?: boolean;
}

export interface FaultPlan {
  /** Seeds the random draws; printed by tests so a run can be repeated. */
  readonly seed?: number;
  readonly rules: readonly FaultRule[];
}

const kindSchema = v.picklist(FAULT_KINDS);
const ruleFields = {
  kind: v.optional(v.union([kindSchema, v.pipe(v.array(kindSchema), v.minLength(1))])),
  rate: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  nth: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  operations: v.optional(v.array(v.string())),
  exclude: v.optional(v.array(v.string())),
  persistent: v.optional(v.boolean()),
  applied: v.optional(v.boolean()),
};
const ruleSchema = v.strictObject(ruleFields);
/** Either `rules`, or the fields of one rule at the top level (shorthand). */
const planSchema = v.strictObject({ seed: v.optional(v.pipe(v.number(), v.integer())), rules: v.optional(v.array(ruleSchema)), ...ruleFields });

/** Parses a plan from JSON text; throws with the reason when it is malformed. */
export function parseFaultPlan(text: string): FaultPlan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${FAULTS_ENV}: not JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = v.safeParse(planSchema, json);
  if (!parsed.success) throw new Error(`${FAULTS_ENV}: ${v.summarize(parsed.issues)}`);
  const { seed, rules, ...top } = parsed.output;
  const all: FaultRule[] = [...(rules ?? [])];
  if (top.rate !== undefined || top.nth !== undefined) all.push(stripUndefined(top));
  for (const rule of all) {
    if (rule.rate === undefined && rule.nth === undefined) throw new Error(`${FAULTS_ENV}: a rule needs "rate" or "nth"`);
  }
  return { ...(seed === undefined ? {} : { seed }), rules: all };
}

/** The plan in `env`, or undefined when the variable is unset or empty. */
export function faultPlanFromEnv(env: NodeJS.ProcessEnv): FaultPlan | undefined {
  const text = env[FAULTS_ENV];
  if (text === undefined || text.trim() === "") return undefined;
  return parseFaultPlan(text);
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
