/**
 * The single mapping from errors to gRPC statuses (DECISIONS D5). Handlers
 * throw {@link StorageError}s; anything else is an internal error, logged
 * with its stack and answered with a generic message: a bug fails one
 * request, never the process. Details are capped at {@link MAX_STATUS_DETAILS_CHARS}:
 * grpc-js percent-encodes them into a header, and a status many megabytes
 * long costs the event loop (or, past V8's string limit, throws).
 */
import * as grpc from "@grpc/grpc-js";
import { StorageError, type ErrorKind } from "../core/errors.ts";
import type { Logger } from "../observability/logger.ts";

const STATUS_OF_KIND: Record<ErrorKind, grpc.status> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  stale_session: grpc.status.NOT_FOUND,
  failed_precondition: grpc.status.FAILED_PRECONDITION,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  already_exists: grpc.status.ALREADY_EXISTS,
  unavailable: grpc.status.UNAVAILABLE,
  internal: grpc.status.INTERNAL,
  illegal_execution_manager: grpc.status.INVALID_ARGUMENT,
};

/** The longest status message sent (1 KiB of text); longer ones are cut, saying so. */
export const MAX_STATUS_DETAILS_CHARS = 1024;

/**
 * `message`, cut to {@link MAX_STATUS_DETAILS_CHARS} characters (never inside
 * a surrogate pair) and well-formed: grpc-js's `encodeURI` throws on a lone surrogate.
 */
export function boundedDetails(message: string): string {
  if (message.length <= MAX_STATUS_DETAILS_CHARS) return message.toWellFormed();
  const suffix = ` … (${message.length} characters, cut)`;
  let end = MAX_STATUS_DETAILS_CHARS - suffix.length;
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return (message.slice(0, end) + suffix).toWellFormed();
}

export function statusOfKind(kind: ErrorKind): grpc.status {
  return STATUS_OF_KIND[kind];
}

export function errorToStatus(error: unknown, method: string, logger: Logger): Partial<grpc.StatusObject> {
  if (error instanceof StorageError) {
    const code = STATUS_OF_KIND[error.kind];
    // Other refusals are logged once, with the request, by the call observer (src/app/operability.ts, at debug).
    if (code === grpc.status.INTERNAL) logger.error({ err: error, method }, "request failed with an internal error");
    return { code, details: boundedDetails(error.message) };
  }
  logger.error({ err: error, method }, "unexpected error in request handler");
  return { code: grpc.status.INTERNAL, details: "storage service internal error" };
}
