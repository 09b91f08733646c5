/**
 * `jobs payload ID`: what a job holds — its inputs, its outputs once stored,
 * and the outputs of every task with a checkpoint — as a list of items with
 * their sizes, or one item's bytes. Items are named `input:N`, `output:N` and
 * `task:T:N` (output N of task T).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { invalidArgument, notFound } from "../core/errors.ts";
import { decodeTaskOutputs } from "../core/task-outputs.ts";
import { decodeWireFrame } from "../core/wire-frame.ts";
import type { GetJobPayloadRequest, GetJobPayloadResponseSchema, PayloadItemSchema } from "../gen/admin/admin_pb.ts";
import type { AdminHost } from "./admin-host.ts";
import { decodeStoredInputs } from "./decode-stored-job.ts";
import { findJob } from "./find-job.ts";
import { requireDb } from "./require-ready.ts";
import { readCheckpointRange } from "../db/checkpoints/readCheckpointRange.ts";

export const DEFAULT_MAX_ITEMS = 1000;

type Item = MessageInitShape<typeof PayloadItemSchema>;

export type PayloadSelector =
  | { readonly kind: "input"; readonly position: number }
  | { readonly kind: "output"; readonly position: number }
  | { readonly kind: "task-output"; readonly taskIndex: number; readonly position: number };

const INDEX = "(0|[1-9][0-9]{0,9})";

/** Parses `input:N`, `output:N` or `task:T:N`. */
export function parsePayloadSelector(text: string): PayloadSelector {
  let match = new RegExp(`^(input|output):${INDEX}$`).exec(text);
  if (match) return { kind: match[1] as "input" | "output", position: Number(match[2]) };
  match = new RegExp(`^task:${INDEX}:${INDEX}$`).exec(text);
  if (match) return { kind: "task-output", taskIndex: Number(match[1]), position: Number(match[2]) };
  throw invalidArgument(`invalid payload item "${text}": expected input:N, output:N or task:T:N`);
}

export async function jobPayload(
  host: AdminHost,
  request: GetJobPayloadRequest,
): Promise<MessageInitShape<typeof GetJobPayloadResponseSchema>> {
  const db = requireDb(host);
  const limits = host.settings.limits;
  const selector = request.item === "" ? undefined : parsePayloadSelector(request.item);
  const row = await findJob(db, request.jobId, { withBlobs: true });
  const decodeOptions = { maxOutputBytes: limits.maxDecompressedBytes, limitName: "runtime.limits.max_decompressed_bytes" };

  if (selector !== undefined) {
    const missing = () => notFound(`job ${row.id} has no payload item ${request.item}`);
    let payloads: Uint8Array[];
    if (selector.kind === "input") {
      payloads = decodeStoredInputs(row.compressedInputs, limits);
    } else if (selector.kind === "output") {
      if (row.outputs === null) throw notFound(`job ${row.id} (${row.state}) has no stored outputs`);
      payloads = decodeTaskOutputs(row.outputs, { ...decodeOptions, what: "job outputs" });
    } else {
      const [checkpoint] = await readCheckpointRange(db, row.id, { fromIndex: selector.taskIndex, limit: 1 });
      if (checkpoint === undefined || checkpoint.taskIndex !== selector.taskIndex) {
        throw notFound(`job ${row.id}: task ${selector.taskIndex} has no checkpoint`);
      }
      payloads = decodeWireFrame(checkpoint.outputs, "task checkpoint");
    }
    const data = payloads[selector.position];
    if (data === undefined) throw missing();
    return { items: [item(request.item, selector, data.length)], data };
  }

  const maxItems = request.maxItems === 0 ? DEFAULT_MAX_ITEMS : request.maxItems;
  const items: Item[] = [];
  let truncated = false;
  const add = (next: Item): boolean => {
    if (items.length >= maxItems) {
      truncated = true;
      return false;
    }
    items.push(next);
    return true;
  };
  decodeStoredInputs(row.compressedInputs, limits).every((payload, i) => add(item(`input:${i}`, { kind: "input", position: i }, payload.length)));
  if (row.outputs !== null) {
    decodeTaskOutputs(row.outputs, { ...decodeOptions, what: "job outputs" }).every((payload, i) =>
      add(item(`output:${i}`, { kind: "output", position: i }, payload.length)),
    );
  }
  // Checkpoints a page at a time, so a huge job is never read whole.
  let fromIndex = 0;
  while (!truncated) {
    const page = await readCheckpointRange(db, row.id, { fromIndex, limit: Math.min(500, maxItems) });
    for (const checkpoint of page) {
      const outputs = decodeWireFrame(checkpoint.outputs, "task checkpoint");
      const t = checkpoint.taskIndex;
      if (!outputs.every((payload, p) => add(item(`task:${t}:${p}`, { kind: "task-output", taskIndex: t, position: p }, payload.length)))) break;
    }
    if (page.length < Math.min(500, maxItems)) break;
    fromIndex = page[page.length - 1]!.taskIndex + 1;
  }
  return { items, truncated };
}

function item(name: string, selector: PayloadSelector, size: number): Item {
  return {
    name,
    kind: selector.kind,
    taskIndex: selector.kind === "task-output" ? selector.taskIndex : 0,
    position: selector.position,
    size: BigInt(size),
  };
}
