/**
 * The console's refusals: an HTTP status and a short message for the page.
 * The admin use cases throw StorageErrors; their kinds map here the way
 * src/grpc/status.ts maps them to gRPC codes (DECISIONS D5), so the console
 * refuses exactly what the admin API refuses. An error without a kind is a
 * bug: the caller gets a generic 500 and the log the details.
 */
import { StorageError, type ErrorKind } from "../core/errors.ts";

export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
    this.name = "HttpError";
  }
}

const STATUS_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid_argument: 400,
  not_found: 404,
  stale_session: 404,
  failed_precondition: 409,
  unauthenticated: 401,
  already_exists: 409,
  unavailable: 503,
  internal: 500,
  illegal_execution_manager: 400,
};

/** Longest message a refusal carries (a use case may quote stored text). */
const MAX_MESSAGE_CHARS = 1024;

/** The status and message a failed request answers; undefined for an unexpected error (answer 500, log it). */
export function httpRefusal(error: unknown): { status: number; message: string } | undefined {
  if (error instanceof HttpError) return { status: error.status, message: error.message.slice(0, MAX_MESSAGE_CHARS) };
  if (error instanceof StorageError) return { status: STATUS_OF_KIND[error.kind], message: error.message.slice(0, MAX_MESSAGE_CHARS) };
  return undefined;
}
