/**
 * The fuzz's one arbitrary: a case of each kind, weighted. fast-check draws
 * case N of a run from the seed alone, so `{ seed, path: "N" }` draws it again.
 */
import fc from "fast-check";
import type { CaseKind } from "./fuzz-case.ts";
import { hostileOrderCase, type HostileOrderCase } from "./hostile-orders.ts";
import { submissionCase, type SubmissionCase } from "./job-submission-cases.ts";
import { messageFieldsCase, type MessageFieldsCase } from "./message-field-cases.ts";
import { randomBytesCase, type RandomBytesCase } from "./random-bytes-cases.ts";
import { reflectionCase, type ReflectionCase } from "./reflection-cases.ts";

export type FuzzCase =
  | { readonly kind: "random-bytes"; readonly c: RandomBytesCase }
  | { readonly kind: "message-fields"; readonly c: MessageFieldsCase }
  | { readonly kind: "task-graph" | "job-inputs-frame" | "zstd-stream"; readonly c: SubmissionCase }
  | { readonly kind: "hostile-order"; readonly c: HostileOrderCase }
  | { readonly kind: "reflection"; readonly c: ReflectionCase };

/** Share of each kind (relative weights). */
export const DEFAULT_WEIGHTS: Readonly<Record<CaseKind, number>> = {
  "random-bytes": 30,
  "message-fields": 25,
  "task-graph": 15,
  "job-inputs-frame": 6,
  "zstd-stream": 10,
  "hostile-order": 14,
  reflection: 5,
};

export function fuzzCase(weights: Partial<Record<CaseKind, number>> = {}): fc.Arbitrary<FuzzCase> {
  const w = { ...DEFAULT_WEIGHTS, ...weights };
  return fc.oneof(
    { weight: w["random-bytes"], arbitrary: randomBytesCase.map((c): FuzzCase => ({ kind: "random-bytes", c })) },
    { weight: w["message-fields"], arbitrary: messageFieldsCase.map((c): FuzzCase => ({ kind: "message-fields", c })) },
    { weight: w["task-graph"], arbitrary: submissionCase("task-graph").map((c): FuzzCase => ({ kind: "task-graph", c })) },
    { weight: w["job-inputs-frame"], arbitrary: submissionCase("job-inputs-frame").map((c): FuzzCase => ({ kind: "job-inputs-frame", c })) },
    { weight: w["zstd-stream"], arbitrary: submissionCase("zstd-stream").map((c): FuzzCase => ({ kind: "zstd-stream", c })) },
    { weight: w["hostile-order"], arbitrary: hostileOrderCase.map((c): FuzzCase => ({ kind: "hostile-order", c })) },
    { weight: w.reflection, arbitrary: reflectionCase.map((c): FuzzCase => ({ kind: "reflection", c })) },
  );
}
