/**
 * Bounded zstd (DECISIONS D15). Spider decodes with zstd's streaming decoder,
 * which accepts any number of concatenated frames, skippable frames included;
 * `node:zlib` decodes only the first frame. So we walk the frames ourselves
 * (frame header, then block headers, which give each frame's length without
 * decoding it) and decode each frame under ONE output budget shared by all of
 * them. A frame that declares a content size above the remaining budget is
 * rejected before any decoding; one that does not is stopped by
 * `maxOutputLength` as soon as it overflows. Each frame costs one native call
 * even when it holds nothing (empty frames spend no budget), so the number of
 * frames is capped too, and counted before the next frame is even located.
 * Every failure is StorageError("invalid_argument").
 */
import { promisify } from "node:util";
import { constants, createZstdDecompress, zstdCompressSync, zstdDecompress, zstdDecompressSync } from "node:zlib";
import { invalidArgument, StorageError } from "./errors.ts";
import { decodeSmallFrame, SMALL_FRAME_MAX_BYTES } from "./zstd-small-frames.ts";

/** The default decompression budget: 64 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/**
 * The default cap on frames in one field. Spider's clients send one frame;
 * each frame costs about 14 µs of native decoding here, so 64 frames stay
 * below 1 ms.
 */
export const DEFAULT_MAX_ZSTD_FRAMES = 64;

export interface DecompressOptions {
  /** Total bytes all frames together may decode to. */
  readonly maxOutputBytes: number;
  /** What the data is, for error messages ("task graph", "job inputs"). */
  readonly what?: string;
  /** The configuration key that sets the budget, named in the error when it is exceeded. */
  readonly limitName?: string;
  /** Most frames (skippable ones included); default {@link DEFAULT_MAX_ZSTD_FRAMES}. */
  readonly maxFrames?: number;
  /** The configuration key that sets `maxFrames`, named in the error when it is exceeded. */
  readonly framesLimitName?: string;
  /**
   * Called once with the first `bytes` bytes of output as soon as they exist
   * (on the async path, before the rest is decoded); throwing refuses the data
   * and stops the decoding. Not called when the output is shorter.
   */
  readonly checkPrefix?: { readonly bytes: number; readonly check: (prefix: Uint8Array) => void };
}

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_TYPE_RLE = 1;
const BLOCK_TYPE_RESERVED = 3;

/** Compresses `data` as one zstd frame (with its content size), at `level` or zstd's default (3). */
export function compressZstd(data: Uint8Array, level?: number): Uint8Array<ArrayBuffer> {
  const options =
    level === undefined ? {} : { params: { [constants.ZSTD_c_compressionLevel]: level } };
  const out = zstdCompressSync(data, options);
  const view = new Uint8Array(out.buffer as ArrayBuffer, out.byteOffset, out.byteLength);
  // Small results may sit in Node's shared Buffer pool; give callers (who may keep them) their own memory.
  return out.byteOffset === 0 && out.buffer.byteLength === out.byteLength ? view : view.slice();
}

/** One frame found in the input: [start, end), and its declared content size if any. */
interface Frame {
  readonly start: number;
  readonly end: number;
  readonly contentSize: number | undefined;
  /** A skippable frame carries no data for the decoder. */
  readonly skippable: boolean;
  /** The window is the content: the frame decodes in one shot into a buffer of contentSize. */
  readonly singleSegment: boolean;
}

/**
 * Decompresses all frames of `data` under one budget of
 * `options.maxOutputBytes`. Empty input, malformed or truncated frames,
 * trailing garbage and output above the budget are errors.
 */
export function decompressZstd(data: Uint8Array, options: DecompressOptions): Uint8Array<ArrayBuffer> {
  const run = new FrameRun(data, options);
  for (let frame = run.next(); frame !== undefined; frame = run.next()) {
    let decoded: Uint8Array;
    try {
      decoded = decodeIfSmall(run, frame) ?? zstdDecompressSync(run.input(frame), { maxOutputLength: run.outputRoom() });
    } catch (error) {
      throw run.decodeError(error);
    }
    run.observe(decoded);
    run.accept(frame, [decoded]);
  }
  return run.result();
}

/**
 * {@link decompressZstd} with each frame decoded on libuv's thread pool: the
 * same checks, in the same order, but decoding up to the whole budget (64 MiB
 * by default) never blocks the event loop. For request paths.
 */
export async function decompressZstdAsync(data: Uint8Array, options: DecompressOptions): Promise<Uint8Array<ArrayBuffer>> {
  const run = new FrameRun(data, options);
  for (let frame = run.next(); frame !== undefined; frame = run.next()) {
    let chunks: Uint8Array[];
    try {
      if (frame.contentSize !== undefined && frame.contentSize <= ON_LOOP_MAX_BYTES) {
        // Small: decoding here costs less than the trip to the thread pool and back.
        const decoded =
          decodeIfSmall(run, frame) ??
          zstdDecompressSync(run.input(frame), { maxOutputLength: Math.min(run.outputRoom(), ON_LOOP_MAX_BYTES) });
        run.observe(decoded);
        chunks = [decoded];
      } else if (frame.contentSize !== undefined && frame.contentSize <= ONE_SHOT_MAX_BYTES) {
        const decoded = await zstdDecompressOffThread(run.input(frame), { maxOutputLength: run.outputRoom() });
        run.observe(decoded);
        chunks = [decoded];
      } else {
        // Large or of unknown size: a chunk at a time, so the prefix check runs
        // early and nothing on the event loop handles the whole output at once.
        chunks = await decodeFrameInChunks(run.input(frame), run.remaining(), (chunk) => run.observe(chunk));
      }
    } catch (error) {
      throw run.decodeError(error);
    }
    run.accept(frame, chunks);
  }
  return run.result();
}

/**
 * Frames declaring at most this many bytes are decoded on the event loop (tens
 * of microseconds; the output is capped at this size whatever the frame
 * claims, and zstd checks the declared size). Issue 20: the thread pool's
 * round trip cost more than the decoding of a small job's inputs.
 */
const ON_LOOP_MAX_BYTES = 64 * 1024;
/**
 * A small single-segment frame decoded by the reused native context
 * (zstd-small-frames.ts), or undefined when it is not one or that decoder is
 * not installed. Its declared size is already within the budget (FrameRun.next).
 */
function decodeIfSmall(run: FrameRun, frame: Frame): Uint8Array | undefined {
  if (!frame.singleSegment || frame.contentSize === undefined || frame.contentSize > SMALL_FRAME_MAX_BYTES) return undefined;
  return decodeSmallFrame(run.input(frame), frame.contentSize);
}

/** Frames declaring at most this many bytes are decoded in one piece (one callback, one small buffer). */
const ONE_SHOT_MAX_BYTES = 1024 * 1024;
/** Output chunk of the streaming decoder: 1/256 of the default budget per callback. */
const STREAM_CHUNK_BYTES = 256 * 1024;

/**
 * Decodes one frame on the thread pool a chunk at a time, handing each chunk
 * to `onChunk` (which may throw to stop); refuses more than `room` bytes of
 * output as soon as a chunk goes past it.
 */
function decodeFrameInChunks(input: Uint8Array, room: number, onChunk: (chunk: Buffer) => void): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const stream = createZstdDecompress({ chunkSize: STREAM_CHUNK_BYTES });
    const chunks: Buffer[] = [];
    let length = 0;
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      stream.destroy();
      reject(error);
    };
    stream.on("data", (chunk: Buffer) => {
      if (failed) return;
      length += chunk.length;
      if (length > room) {
        fail(Object.assign(new Error("output above the budget"), { code: "ERR_BUFFER_TOO_LARGE" }));
        return;
      }
      chunks.push(chunk);
      try {
        onChunk(chunk);
      } catch (error) {
        fail(error);
      }
    });
    stream.on("error", fail);
    stream.on("end", () => {
      if (!failed) resolve(chunks);
    });
    stream.end(input);
  });
}

/**
 * Walks the frames of `data` without decoding them: the checks
 * {@link decompressZstd} makes before decoding anything (the frame cap, frame
 * syntax, declared sizes against the budget), so a caller can refuse junk
 * before spending anything else on it (hashing it, for one).
 */
export function checkZstdFrames(data: Uint8Array, options: DecompressOptions): void {
  const run = new FrameRun(data, options);
  while (run.next() !== undefined) {
    // next() checks each frame
  }
}

const zstdDecompressOffThread = promisify(zstdDecompress) as (data: Uint8Array, options: { maxOutputLength: number }) => Promise<Buffer>;

/** One decompression: walks the frames (capped in number), keeps the budget, joins the output. */
class FrameRun {
  private readonly data: Uint8Array;
  private readonly what: string;
  private readonly budget: number;
  private readonly options: DecompressOptions;
  private readonly maxFrames: number;
  private readonly outputs: Uint8Array<ArrayBuffer>[] = [];
  private total = 0;
  private pos = 0;
  private frames = 0;
  /** The output's first bytes, gathered for options.checkPrefix until it has run. */
  private prefix: Uint8Array | undefined;
  private prefixLength = 0;

  constructor(data: Uint8Array, options: DecompressOptions) {
    this.data = data;
    this.options = options;
    this.what = options.what ?? "zstd data";
    this.budget = options.maxOutputBytes;
    this.maxFrames = options.maxFrames ?? DEFAULT_MAX_ZSTD_FRAMES;
    if (!Number.isSafeInteger(this.budget) || this.budget < 0) {
      throw new RangeError(`maxOutputBytes must be a non-negative integer, got ${this.budget}`);
    }
    if (data.length === 0) {
      throw invalidArgument(`${this.what} is empty, expected zstd-compressed data`);
    }
  }

  /** The next frame to decode (skippable frames are passed over), or undefined at the end. */
  next(): Frame | undefined {
    while (this.pos < this.data.length) {
      this.frames += 1;
      if (this.frames > this.maxFrames) {
        throw invalidArgument(
          `${this.what} has more than ${this.maxFrames} zstd frames, above the limit of ${this.maxFrames}` +
            (this.options.framesLimitName === undefined ? "" : ` (${this.options.framesLimitName})`),
        );
      }
      const frame = findFrame(this.data, this.pos, this.what);
      this.pos = frame.end;
      if (frame.skippable) {
        continue;
      }
      if (frame.contentSize !== undefined && frame.contentSize > this.budget - this.total) {
        throw this.overBudget();
      }
      return frame;
    }
    return undefined;
  }

  input(frame: Frame): Uint8Array {
    return this.data.subarray(frame.start, frame.end);
  }

  /** maxOutputLength for the next frame: must be at least 1; an overshoot by that byte is caught in accept. */
  outputRoom(): number {
    return Math.max(1, this.budget - this.total);
  }

  /** Bytes of budget left. */
  remaining(): number {
    return this.budget - this.total;
  }

  /** Output as it is decoded: feeds options.checkPrefix until it has run. */
  observe(chunk: Uint8Array): void {
    const wanted = this.options.checkPrefix;
    if (wanted === undefined || this.prefixLength < 0) {
      return;
    }
    this.prefix ??= new Uint8Array(wanted.bytes);
    const take = Math.min(chunk.length, wanted.bytes - this.prefixLength);
    this.prefix.set(chunk.subarray(0, take), this.prefixLength);
    this.prefixLength += take;
    if (this.prefixLength === wanted.bytes) {
      this.prefixLength = -1; // checked: never again
      wanted.check(this.prefix);
    }
  }

  decodeError(error: unknown): Error {
    if (error instanceof StorageError) {
      return error; // a refusal by checkPrefix, already worded
    }
    if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      return this.overBudget();
    }
    return invalidArgument(`${this.what} is not valid zstd data: ${(error as Error).message ?? String(error)}`, error);
  }

  /** A frame's output, in one or more chunks. */
  accept(frame: Frame, chunks: readonly Uint8Array[]): void {
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    if (length > this.budget - this.total) {
      throw this.overBudget();
    }
    if (frame.contentSize !== undefined && length !== frame.contentSize) {
      throw invalidArgument(
        `${this.what} is not valid zstd data: frame at byte ${frame.start} declares ${frame.contentSize} bytes but holds ${length}`,
      );
    }
    this.total += length;
    for (const chunk of chunks) {
      // neither zlib nor the small-frame decoder returns a SharedArrayBuffer
      this.outputs.push(new Uint8Array(chunk.buffer as ArrayBuffer, chunk.byteOffset, chunk.byteLength));
    }
  }

  result(): Uint8Array<ArrayBuffer> {
    const outputs = this.outputs;
    if (outputs.length === 1) {
      const only = outputs[0]!;
      // zlib may hand back a view into a larger pooled buffer; callers keep job
      // inputs for the life of a job, so never pin more than twice the data.
      return only.buffer.byteLength > 2 * only.byteLength + 64 ? only.slice() : only;
    }
    const joined = new Uint8Array(this.total);
    let offset = 0;
    for (const part of outputs) {
      joined.set(part, offset);
      offset += part.length;
    }
    return joined;
  }

  private overBudget(): Error {
    const budget = this.budget;
    return invalidArgument(
      `${this.what} decompresses to more than ${budget} bytes, above the limit of ${budget} bytes` +
        (this.options.limitName === undefined ? "" : ` (${this.options.limitName})`),
    );
  }
}

function u32le(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

/**
 * Finds the frame that starts at `pos` and returns its extent, walking the
 * frame header and block headers (RFC 8878 §3.1) without decoding anything.
 */
function findFrame(data: Uint8Array, pos: number, what: string): Frame {
  const bad = (reason: string): Error => invalidArgument(`${what} is not valid zstd data: ${reason} at byte ${pos}`);
  if (data.length - pos < 4) {
    throw bad("truncated frame magic number");
  }
  const magic = u32le(data, pos);
  if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
    if (data.length - pos < 8) {
      throw bad("truncated skippable frame header");
    }
    const end = pos + 8 + u32le(data, pos + 4);
    if (end > data.length) {
      throw bad("truncated skippable frame");
    }
    return { start: pos, end, contentSize: 0, skippable: true, singleSegment: false };
  }
  if (magic !== ZSTD_MAGIC) {
    throw bad(`unknown frame magic number 0x${magic.toString(16).padStart(8, "0")}`);
  }
  if (data.length - pos < 5) {
    throw bad("truncated frame header");
  }
  const descriptor = data[pos + 4]!;
  const contentSizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  if ((descriptor >> 3) & 1) {
    throw bad("reserved bit set in the frame header descriptor");
  }
  const hasChecksum = (descriptor >> 2) & 1;
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 3]!;
  const contentSizeBytes = contentSizeFlag === 0 ? singleSegment : [0, 2, 4, 8][contentSizeFlag]!;
  const contentSizeAt = pos + 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes;
  let cursor = contentSizeAt + contentSizeBytes;
  if (cursor > data.length) {
    throw bad("truncated frame header");
  }
  let contentSize: number | undefined;
  switch (contentSizeBytes) {
    case 1:
      contentSize = data[contentSizeAt]!;
      break;
    case 2:
      contentSize = (data[contentSizeAt]! | (data[contentSizeAt + 1]! << 8)) + 256;
      break;
    case 4:
      contentSize = u32le(data, contentSizeAt);
      break;
    case 8: // may round above 2^53; it is only compared against budgets far below that
      contentSize = u32le(data, contentSizeAt + 4) * 2 ** 32 + u32le(data, contentSizeAt);
      break;
    default:
      contentSize = undefined;
  }
  for (;;) {
    if (cursor + 3 > data.length) {
      throw bad("truncated block header");
    }
    const header = data[cursor]! | (data[cursor + 1]! << 8) | (data[cursor + 2]! << 16);
    const last = header & 1;
    const blockType = (header >> 1) & 3;
    const blockSize = header >>> 3;
    if (blockType === BLOCK_TYPE_RESERVED) {
      throw bad(`reserved block type in the block at byte ${cursor}`);
    }
    cursor += 3 + (blockType === BLOCK_TYPE_RLE ? 1 : blockSize);
    if (cursor > data.length) {
      throw bad("truncated block");
    }
    if (last) {
      break;
    }
  }
  if (hasChecksum) {
    cursor += 4;
    if (cursor > data.length) {
      throw bad("truncated frame checksum");
    }
  }
  return { start: pos, end: cursor, contentSize, skippable: false, singleSegment: singleSegment === 1 };
}
