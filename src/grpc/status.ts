/**
 * The single mapping from errors to gRPC statuses (DECISIONS D5). Handlers
 * throw {@link StorageError}s; anything else is an internal error, logged
 * with its stack and answered with a generic message: a bug fails one
 * request, never the process.
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

export function statusOfKind(kind: ErrorKind): grpc.status {
  return STATUS_OF_KIND[kind];
}

export function errorToStatus(error: unknown, method: string, logger: Logger): Partial<grpc.StatusObject> {
  if (error instanceof StorageError) {
    const code = STATUS_OF_KIND[error.kind];
    // Other refusals are logged once, with the request, by the call observer (src/app/operability.ts, at debug).
    if (code === grpc.status.INTERNAL) logger.error({ err: error, method }, "request failed with an internal error");
    return { code, details: error.message };
  }
  logger.error({ err: error, method }, "unexpected error in request handler");
  return { code: grpc.status.INTERNAL, details: "storage service internal error" };
}
