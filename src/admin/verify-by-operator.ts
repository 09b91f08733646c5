/**
 * `verify [--repair]` on a running server: compares the cache with the
 * database (./verify.ts); with `repair`, fixes what it can and logs who asked,
 * why, and each repair.
 */
import type { AdminHost } from "./admin-host.ts";
import { auditWrite, type Actor } from "./audit.ts";
import { operatorReason } from "./operator-reason.ts";
import { requireServiceDb } from "./require-ready.ts";
import { verify } from "./verify.ts";

export async function verifyByOperator(host: AdminHost, actor: Actor, request: { readonly repair: boolean; readonly reason: string }) {
  const { service, db } = requireServiceDb(host);
  const result = await verify(service, db, { repair: request.repair });
  if (request.repair) {
    auditWrite(host.logger, actor, "verify --repair", operatorReason(request.reason), {
      disagreements: result.disagreements?.length ?? 0,
      repaired: result.repaired,
      repairs: result.disagreements?.filter((d) => d.repaired).map((d) => `${d.kind} job ${String(d.jobId)}: ${d.repair}`),
    });
  }
  return result;
}
