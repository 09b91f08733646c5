/**
 * The leader lease for an offline command that writes (DECISIONS D3): taken
 * without waiting — while a server holds it, the command refuses and says to
 * go through the server — renewed while the command runs, released at its
 * end. Named `offline <command> on <host> pid <pid>`, so `status` on a standby
 * shows who holds the database.
 */
import { hostname } from "node:os";
import type { Config } from "../config/schema.ts";
import type { DatabaseNodes } from "../db/database-nodes.ts";
import type { Lease } from "../db/lease.ts";
import type { Logger } from "../observability/logger.ts";
import { CliError } from "./cli-error.ts";

export async function takeOfflineLease(
  url: string,
  options: { readonly config: Config; readonly logger: Logger; readonly what: string; readonly nodes?: DatabaseNodes; readonly refusal?: string },
): Promise<Lease> {
  const { acquireLease, LeaseHeldError } = await import("../db/lease.ts");
  const lease = options.config.runtime.lease;
  return acquireLease(url, {
    logger: options.logger,
    wait: false,
    holder: `offline ${options.what} on ${hostname()} pid ${process.pid}`,
    ttlMs: lease.ttl_ms,
    renewIntervalMs: lease.renew_interval_ms,
    stepDownMarginMs: lease.step_down_margin_ms,
    ...(options.nodes && { nodes: options.nodes }),
  }).catch((error: unknown) => {
    if (error instanceof LeaseHeldError) throw new CliError(options.refusal ? `${options.refusal} (the lease is held by ${error.holder})` : error.message);
    throw error;
  });
}
