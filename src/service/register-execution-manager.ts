/**
 * RegisterExecutionManager: the address must be an IPv4 or IPv6 literal
 * ("invalid_argument" otherwise, spec §1.3); it is stored in canonical text.
 * The new manager is known alive at once, so its first task registration needs
 * no database call.
 */
import { isIP } from "node:net";
import { invalidArgument } from "../core/errors.ts";
import { quoteInput } from "../core/quote-input.ts";
import type { Engine } from "../cache/engine.ts";

export interface ExecutionManagerRegistration {
  readonly executionManagerId: bigint;
  readonly sessionId: bigint;
}

export async function registerExecutionManager(
  engine: Engine,
  ipAddress: string,
): Promise<ExecutionManagerRegistration> {
  const canonical = canonicalIp(ipAddress);
  const executionManagerId = await engine.store.registerExecutionManager(canonical);
  engine.pool.noteExecutionManagerAlive(executionManagerId);
  return { executionManagerId, sessionId: engine.sessionId };
}

/** The longest IP literal (an IPv6 address with an IPv4 tail), and the width of the database column. */
export const MAX_IP_ADDRESS_CHARS = 45;

/** The canonical text of an IP literal (IPv6 compressed and lower-case, as Rust's Display prints it). */
export function canonicalIp(ipAddress: string): string {
  // Length first: nothing below looks at more than this many characters.
  if (ipAddress.length > MAX_IP_ADDRESS_CHARS) {
    throw invalidArgument(`invalid IP address: ${quoteInput(ipAddress)} is longer than any IP literal (${MAX_IP_ADDRESS_CHARS} characters)`);
  }
  const family = isIP(ipAddress);
  if (family === 4) return ipAddress;
  if (family === 6) {
    try {
      return new URL(`http://[${ipAddress}]/`).hostname.slice(1, -1);
    } catch {
      // A zone id ("fe80::1%eth0") passes isIP but is no address literal in Spider's sense.
    }
  }
  throw invalidArgument(`invalid IP address: ${quoteInput(ipAddress)}`);
}
