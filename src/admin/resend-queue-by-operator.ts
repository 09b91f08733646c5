/**
 * `queue resend` on a running server: refills the inbound queue with every
 * ready task that has no entry (what a scheduler restart needs), logged with
 * who asked and why; answers the lanes as they are afterwards.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LaneStatusSchema } from "../gen/admin/admin_pb.ts";
import type { AdminHost } from "./admin-host.ts";
import { auditWrite, type Actor } from "./audit.ts";
import { operatorReason } from "./operator-reason.ts";
import { requireServing } from "./require-ready.ts";
import { laneStatuses } from "./status.ts";
import { refillQueue } from "../service/refill-queue.ts";

export function resendQueueByOperator(
  host: AdminHost,
  actor: Actor,
  request: { readonly reason: string },
): { enqueued: number; lanes: MessageInitShape<typeof LaneStatusSchema>[] } {
  const service = requireServing(host);
  const enqueued = refillQueue(service.engine);
  auditWrite(host.logger, actor, "queue resent", operatorReason(request.reason), { enqueued });
  return { enqueued, lanes: laneStatuses(service) };
}
