/**
 * The two checks every admin entry point makes (the gRPC admin API, the web
 * console): is the caller on loopback (served without a token when none is
 * set), and does the bearer token it sent match. Tokens are compared as
 * SHA-256 digests with timingSafeEqual, so neither their length nor their
 * content leaks through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";

/** 127.0.0.0/8, ::1, and IPv4-mapped 127.x (a dual-stack listener's view of an IPv4 peer). */
export function isLoopbackHost(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith("127.");
  if (host === "::1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped !== null && mapped[1]!.startsWith("127.");
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Whether `given` (an `authorization` header's token) is the configured admin token. */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(digest(given.trim()), digest(token));
}
