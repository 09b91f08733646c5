/**
 * One-shot decoding of small zstd frames with one reused decompression
 * context (the optional native package zstd-napi, libzstd's
 * `ZSTD_decompressDCtx`). `node:zlib` builds a stream object and a fresh zstd
 * context for every call, which costs far more than decoding a job's
 * 100-byte inputs (RegisterJob's decode of a W1 job: 32.5 → 4.7 µs of CPU,
 * bench/micro/register-decode.ts; every Running or Ready job recovery reads
 * gains the same).
 *
 * Only frames whose whole size is known before decoding come here: single
 * segment (the window is the content, so no window limit applies that the
 * streaming decoder would apply) with a declared content size of at most
 * {@link SMALL_FRAME_MAX_BYTES}. The output buffer is exactly that size, and
 * libzstd refuses a frame that would write more, one that holds fewer bytes
 * than it declares, and a bad checksum. When zstd-napi is not installed (its
 * native build failed), `decodeSmallFrame` answers undefined and callers use
 * node:zlib.
 */
import { createRequire } from "node:module";

/** Largest declared content size decoded here. */
export const SMALL_FRAME_MAX_BYTES = 64 * 1024;

interface NativeDCtx {
  decompress(dst: Uint8Array, src: Uint8Array): number;
}

let context: NativeDCtx | null | undefined;
/** Why the native decoder could not be loaded (not installed, a build for another platform). */
let loadError: string | undefined;

function nativeContext(): NativeDCtx | null {
  if (context === undefined) {
    try {
      const binding = createRequire(import.meta.url)("zstd-napi/binding") as { DCtx: new () => NativeDCtx };
      context = new binding.DCtx();
    } catch (error) {
      context = null;
      loadError = error instanceof Error ? error.message : String(error);
    }
  }
  return context;
}

/** True when the native decoder is loaded (for logs and tests). */
export function smallFrameDecoderAvailable(): boolean {
  return nativeContext() !== null;
}

/** Why the native decoder is not available (undefined when it is). */
export function smallFrameDecoderLoadError(): string | undefined {
  return nativeContext() === null ? loadError : undefined;
}

/**
 * The decoded content of one single-segment frame that declares
 * `contentSize` (≤ SMALL_FRAME_MAX_BYTES) bytes, or undefined when the native
 * decoder is not available. Throws libzstd's error for a malformed frame.
 */
export function decodeSmallFrame(frame: Uint8Array, contentSize: number): Uint8Array<ArrayBuffer> | undefined {
  const dctx = nativeContext();
  if (dctx === null) return undefined;
  // Its own memory (not Node's shared pool): job inputs are kept for the life of a job.
  const out = new Uint8Array(contentSize);
  const written = dctx.decompress(out, frame);
  if (written !== contentSize) {
    // libzstd checks the declared size itself; this only guards the binding.
    throw new Error(`frame declares ${contentSize} bytes but decoded to ${written}`);
  }
  return out;
}
