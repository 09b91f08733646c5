/**
 * Spider's `SerializedTaskOutputs` raw encoding (spec §1.6,
 * `spider-core/src/types/io.rs`), used for job outputs (the commit task's
 * input, `GetJobOutputs`, the database):
 *
 * ```
 * [option: u8] [payload ...]
 * option 0 = wire frame; option 1 = zstd(wire frame)
 * ```
 *
 * The writer picks option 1 iff the payloads add up to more than 1024 bytes.
 * Decoded payloads are views into the given (or decompressed) buffer.
 */
import { invalidArgument } from "./errors.ts";
import { decodeWireFrame, encodeWireFrame } from "./wire-frame.ts";
import { compressZstd, decompressZstd } from "./zstd.ts";

export const TASK_OUTPUTS_OPTION_WIRE = 0;
export const TASK_OUTPUTS_OPTION_ZSTD_WIRE = 1;
export type TaskOutputsOption = typeof TASK_OUTPUTS_OPTION_WIRE | typeof TASK_OUTPUTS_OPTION_ZSTD_WIRE;

/** Payload bytes above which the writer compresses (strictly greater, as Spider does). */
export const TASK_OUTPUTS_COMPRESSION_THRESHOLD = 1024;

/** The option Spider's writer chooses for these payloads. */
export function chooseTaskOutputsOption(payloads: readonly Uint8Array[]): TaskOutputsOption {
  let total = 0;
  for (const payload of payloads) {
    total += payload.length;
  }
  return total > TASK_OUTPUTS_COMPRESSION_THRESHOLD ? TASK_OUTPUTS_OPTION_ZSTD_WIRE : TASK_OUTPUTS_OPTION_WIRE;
}

/** Encodes payloads; the option defaults to Spider's size rule. */
export function encodeTaskOutputs(
  payloads: readonly Uint8Array[],
  option: TaskOutputsOption = chooseTaskOutputsOption(payloads),
): Uint8Array<ArrayBuffer> {
  const wire = encodeWireFrame(payloads);
  const body = option === TASK_OUTPUTS_OPTION_ZSTD_WIRE ? compressZstd(wire) : wire;
  const raw = new Uint8Array(1 + body.length);
  raw[0] = option;
  raw.set(body, 1);
  return raw;
}

export interface DecodeTaskOutputsOptions {
  /** Budget for the decompressed wire frame (option 1). */
  readonly maxOutputBytes: number;
  /** What the buffer is, for error messages. */
  readonly what?: string;
  /** The configuration key behind `maxOutputBytes`, for error messages. */
  readonly limitName?: string;
}

export function decodeTaskOutputs<B extends ArrayBufferLike>(
  bytes: Uint8Array<B>,
  options: DecodeTaskOutputsOptions,
): Uint8Array<B | ArrayBuffer>[] {
  const what = options.what ?? "task outputs";
  if (bytes.length === 0) {
    throw invalidArgument("raw task outputs buffer is empty");
  }
  const option = bytes[0]!;
  const body = bytes.subarray(1);
  switch (option) {
    case TASK_OUTPUTS_OPTION_WIRE:
      return decodeWireFrame(body, what);
    case TASK_OUTPUTS_OPTION_ZSTD_WIRE: {
      const decompressOptions = { maxOutputBytes: options.maxOutputBytes, what, limitName: options.limitName };
      return decodeWireFrame(decompressZstd(body, decompressOptions), what);
    }
    default:
      throw invalidArgument(`unknown task outputs serialize option: ${option}`);
  }
}
