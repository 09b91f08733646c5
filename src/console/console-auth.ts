/**
 * Who may use the console: the admin API's rule (src/grpc/admin-auth.ts,
 * DECISIONS D5), for HTTP. With runtime.admin.token set, every API request
 * must carry `authorization: Bearer <token>` (compared in constant time);
 * without it, only callers on a loopback address are served. Anything else
 * is a 401, as the admin API answers UNAUTHENTICATED.
 *
 * Two browser attacks need more than that. A web page the operator has open
 * elsewhere can make the browser send requests to 127.0.0.1 (cross-site
 * requests): every API request must carry the `x-spider-console` header,
 * which a page of another origin cannot add without a CORS preflight the
 * console never grants. And without a token, a hostile DNS name resolving
 * to 127.0.0.1 could let such a page read the answers (DNS rebinding): the
 * Host header must then name an IP address or localhost.
 */
import { isLoopbackHost, tokenMatches } from "../admin/admin-credentials.ts";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import type { Actor } from "../admin/audit.ts";
import { HttpError } from "./http-error.ts";

/** The header every console API request carries (set by the console's own script). */
export const CONSOLE_HEADER = "x-spider-console";
/** Who the operator says they are, for the audit log (a claim, as the CLI's). */
export const OPERATOR_HEADER = "x-spider-operator";


function peerOf(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? "unknown";
  return `${address.includes(":") ? `[${address}]` : address}:${request.socket.remotePort ?? 0}`;
}

/** The host name of a Host header ("127.0.0.1:9465", "[::1]:9465", "localhost"). */
function hostNameOf(header: string): string {
  if (header.startsWith("[")) return header.slice(1, header.indexOf("]"));
  const colon = header.lastIndexOf(":");
  return colon < 0 ? header : header.slice(0, colon);
}

/** Whether the caller may load the console's page and scripts (they hold no data). */
export function mayLoadPage(request: IncomingMessage, token: string | undefined): boolean {
  return token !== undefined || isLoopbackHost(request.socket.remoteAddress ?? "");
}

/** Checks one API request; returns the actor for the audit log or throws a 401/403. */
export function authorizeConsoleRequest(request: IncomingMessage, token: string | undefined): Actor {
  if (request.headers[CONSOLE_HEADER] !== "1") {
    throw new HttpError(403, `console API: requests must carry the ${CONSOLE_HEADER} header (sent by the console's own page)`);
  }
  const claimed = request.headers[OPERATOR_HEADER];
  const name = typeof claimed === "string" ? claimed.trim().slice(0, 100) : "";
  const actor = { peer: peerOf(request), operator: name === "" ? "web console" : `${name} (web console)` };
  if (token !== undefined) {
    const header = request.headers.authorization;
    if (header === undefined || header === "") throw new HttpError(401, "console: this server requires the admin token (runtime.admin.token)");
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match === null || !tokenMatches(match[1]!, token)) throw new HttpError(401, "console: wrong token");
    return { kind: "token", ...actor };
  }
  if (!isLoopbackHost(request.socket.remoteAddress ?? "")) {
    throw new HttpError(401, `console: callers from other hosts (${actor.peer}) need a token: set runtime.admin.token on the server`);
  }
  const host = hostNameOf(request.headers.host ?? "");
  if (isIP(host) === 0 && host.toLowerCase() !== "localhost") {
    throw new HttpError(403, "console: without runtime.admin.token the console answers only requests addressed to an IP address or localhost");
  }
  return { kind: "loopback", ...actor };
}
