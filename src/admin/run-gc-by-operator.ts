/**
 * `gc` through a running server: deletes expired terminal jobs (./gc.ts) with
 * the server's runtime.gc retention and batch size unless the operator gives
 * them, and logs who deleted how many, and why (a dry run or a run that
 * deleted nothing is not logged).
 */
import type { AdminHost } from "./admin-host.ts";
import { auditWrite, type Actor } from "./audit.ts";
import { runGc } from "./gc.ts";
import { operatorReason } from "./operator-reason.ts";
import { requireDb, requireServing } from "./require-ready.ts";

export interface GcRequest {
  /** Undefined: runtime.gc.retention_sec. */
  readonly olderThanSec: number | undefined;
  /** Undefined: runtime.gc.batch_size. */
  readonly batchSize: number | undefined;
  /** 0: until none is left. */
  readonly maxBatches: number;
  readonly dryRun: boolean;
  readonly reason: string;
}

export async function runGcByOperator(
  host: AdminHost,
  actor: Actor,
  request: GcRequest,
): Promise<{ deleted: number; remaining: number; olderThanSec: number }> {
  requireServing(host); // writes only while this server serves (and so holds the lease)
  const db = requireDb(host);
  const olderThanSec = request.olderThanSec ?? host.settings.gc.retentionSec;
  const result = await runGc(db, {
    olderThanSec,
    batchSize: request.batchSize ?? host.settings.gc.batchSize,
    maxBatches: request.maxBatches,
    dryRun: request.dryRun,
  });
  if (!request.dryRun && result.deleted > 0) {
    auditWrite(host.logger, actor, "gc", operatorReason(request.reason), { olderThanSec, deleted: result.deleted, remaining: result.remaining });
  }
  return { deleted: result.deleted, remaining: result.remaining, olderThanSec };
}
