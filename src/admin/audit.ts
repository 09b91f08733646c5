/**
 * The audit trail of operator writes: every repair is logged with who asked
 * (a caller holding the admin token, a loopback caller when no token is set,
 * or an offline CLI run), from where, the user the CLI says runs it (a claim,
 * not authenticated), what was done and why.
 */
import type { Logger } from "../observability/logger.ts";

export type ActorKind = "token" | "loopback" | "offline";

export interface Actor {
  readonly kind: ActorKind;
  /** The caller's address as the server saw it ("offline" for CLI runs without a server). */
  readonly peer: string;
  /** `user@host` sent by the CLI in the `x-spider-operator` metadata, if any. */
  readonly operator?: string;
}

/** Logs one operator write. `details` are its ids and outcome (bigints are logged as strings). */
export function auditWrite(logger: Logger, actor: Actor, action: string, reason: string, details: Record<string, unknown>): void {
  logger.info(
    {
      audit: true,
      action,
      actor: actor.kind,
      peer: actor.peer,
      ...(actor.operator === undefined ? {} : { operator: actor.operator }),
      reason: reason === "" ? "(no reason given)" : reason,
      ...details,
    },
    `admin: ${action}`,
  );
}
