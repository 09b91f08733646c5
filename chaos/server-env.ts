/**
 * The environment of every server the chaos run starts: short lease settings
 * (so a restart after a SIGKILL waits out at most 1 s of the dead server's
 * lease), a short statement timeout (so a frozen database is an outage within
 * 2 s), a dead-manager cut-off the longest pauses outlast (so an outage or a
 * pause that made a manager dead would show), and no web console (its fixed
 * port would clash between servers).
 */
import { TIMEOUTS } from "./fault-plan.ts";

export function chaosServerEnv(holderName: string): Record<string, string> {
  return {
    SPIDER_STORAGE_RUNTIME__LEASE__TTL_MS: String(TIMEOUTS.leaseTtlMs),
    SPIDER_STORAGE_RUNTIME__LEASE__RENEW_INTERVAL_MS: String(TIMEOUTS.leaseRenewMs),
    SPIDER_STORAGE_RUNTIME__LEASE__STEP_DOWN_MARGIN_MS: String(TIMEOUTS.leaseStepDownMarginMs),
    SPIDER_STORAGE_RUNTIME__LEASE__HOLDER_NAME: holderName,
    SPIDER_STORAGE_RUNTIME__DB__STATEMENT_TIMEOUT_MS: String(TIMEOUTS.statementTimeoutMs),
    SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__EXECUTION_MANAGER_STALE_CUTOFF_SEC: String(TIMEOUTS.staleCutoffSec),
    SPIDER_STORAGE_RUNTIME__CONSOLE__ENABLED: "false",
  };
}
