/**
 * `em release ID` on a running server: declares the execution manager dead now
 * and re-enqueues its instances' tasks (src/service/release-execution-manager.ts),
 * logged with who asked and why.
 */
import { releaseExecutionManager } from "../service/release-execution-manager.ts";
import type { AdminHost } from "./admin-host.ts";
import { auditWrite, type Actor } from "./audit.ts";
import { operatorReason } from "./operator-reason.ts";
import { requireServiceDb } from "./require-ready.ts";

export async function releaseExecutionManagerByOperator(
  host: AdminHost,
  actor: Actor,
  request: { readonly executionManagerId: bigint; readonly reason: string },
): Promise<{ executionManagerId: bigint; wasAlive: boolean; releasedInstances: number }> {
  const { service } = requireServiceDb(host);
  const result = await releaseExecutionManager(service.engine, request.executionManagerId);
  auditWrite(host.logger, actor, "execution manager released", operatorReason(request.reason), {
    executionManagerId: request.executionManagerId,
    ...result,
  });
  return { executionManagerId: request.executionManagerId, ...result };
}
