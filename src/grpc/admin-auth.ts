/**
 * Who may call the admin API (DECISIONS D5): with runtime.admin.token set,
 * every call must carry `authorization: Bearer <token>` (compared in constant
 * time); without it, only callers on a loopback address (127.0.0.0/8, ::1,
 * ::ffff:127.x) are served. Anything else is UNAUTHENTICATED. The CLI also
 * sends `x-spider-operator: user@host`, which only the audit log uses.
 */
import { isLoopbackHost, tokenMatches } from "../admin/admin-credentials.ts";
import { isIP } from "node:net";
import type * as grpc from "@grpc/grpc-js";
import type { Actor } from "../admin/audit.ts";
import { StorageError } from "../core/errors.ts";

export const OPERATOR_METADATA_KEY = "x-spider-operator";

function unauthenticated(message: string): StorageError {
  return new StorageError("unauthenticated", message);
}

/** The host part of a grpc-js peer string ("127.0.0.1:5000", "::1:5000", "[::1]:5000", "unknown"). */
export function peerHost(peer: string): string {
  if (peer.startsWith("[")) return peer.slice(1, peer.indexOf("]"));
  const colon = peer.lastIndexOf(":");
  if (colon < 0) return peer;
  const host = peer.slice(0, colon);
  // "::1" alone (no port) would lose its last group: keep whatever parses as an address.
  return isIP(host) !== 0 ? host : peer;
}


/** Checks one call; returns the actor for the audit log or throws "unauthenticated". */
export function authorizeAdminCall(call: grpc.ServerUnaryCall<unknown, unknown>, token: string | undefined): Actor {
  const peer = call.getPeer();
  const operatorValue = call.metadata.get(OPERATOR_METADATA_KEY)[0];
  const operator = typeof operatorValue === "string" && operatorValue !== "" ? operatorValue.slice(0, 200) : undefined;
  const base = { peer, ...(operator === undefined ? {} : { operator }) };
  if (token !== undefined) {
    const header = call.metadata.get("authorization")[0];
    if (typeof header !== "string" || header === "") {
      throw unauthenticated("admin API: this server requires a token: pass --token (or set SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN)");
    }
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match === null || !tokenMatches(match[1]!, token)) {
      throw unauthenticated("admin API: wrong token");
    }
    return { kind: "token", ...base };
  }
  if (!isLoopbackHost(peerHost(peer))) {
    throw unauthenticated(
      `admin API: callers from other hosts (${peer}) need a token: set runtime.admin.token on the server and pass --token`,
    );
  }
  return { kind: "loopback", ...base };
}
