/**
 * The vocabulary of the fuzzer: what a case expects (DECISIONS D5), what it
 * got, and how a failure is reported so it can be replayed.
 */
import * as grpc from "@grpc/grpc-js";

/** The kinds of cases, as counted in the report. */
export const CASE_KINDS = [
  "random-bytes",
  "message-fields",
  "task-graph",
  "job-inputs-frame",
  "zstd-stream",
  "hostile-order",
  "reflection",
] as const;
export type CaseKind = (typeof CASE_KINDS)[number];

export interface Expectation {
  /**
   * The statuses D5 names for this request: one, except where D5 itself
   * leaves a choice (named in `rule`). DEADLINE_EXCEEDED appears only for
   * long polls, whose clamped wait may outlast the client's deadline.
   */
  readonly codes: readonly grpc.status[];
  /** Which D5 row (or README rule) says so. */
  readonly rule: string;
  /** Whether the request may change state: false for every rejection and every read. */
  readonly mayChangeState: boolean;
  /** A pattern the status details must match (limits are named). */
  readonly details?: RegExp;
}

export function expect(codes: grpc.status | readonly grpc.status[], rule: string, options: { mayChangeState?: boolean; details?: RegExp } = {}): Expectation {
  return {
    codes: typeof codes === "number" ? [codes] : codes,
    rule,
    mayChangeState: options.mayChangeState ?? false,
    ...(options.details ? { details: options.details } : {}),
  };
}

/** A request ready to send: a method, its bytes, and what must come back. */
export interface BuiltRequest {
  readonly method: string;
  readonly bytes: Uint8Array;
  readonly expect: Expectation;
  /** Client deadline; default {@link DEFAULT_DEADLINE_MS}. */
  readonly deadlineMs?: number;
  /** One line saying what the request is (for failures). */
  readonly description: string;
}

export const DEFAULT_DEADLINE_MS = 20_000;

export type FailureKind = "wrong-status" | "wrong-details" | "state-changed" | "crash" | "stall" | "wrong-state" | "error";

export interface FuzzFailure {
  readonly kind: FailureKind;
  readonly caseKind: CaseKind | "run";
  /** fast-check's seed and path of the case: `replayFuzzCase({ seed, path })` runs it again. */
  readonly seed: number;
  readonly path: string;
  readonly description: string;
  readonly message: string;
}

export function statusName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}
