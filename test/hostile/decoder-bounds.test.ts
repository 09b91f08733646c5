/**
 * Hostile requests against the decoders (issue 17 item 2): every small request
 * that once froze the event loop is refused by a bound checked before the
 * expensive step — the frame cap before frame N+1 is located, the payload
 * count before any view is built, the nesting and the number of JSON values
 * before JSON.parse builds anything, a string's length before it is copied.
 * These tests assert the order of the checks, never a duration.
 */
import { createZstdCompress } from "node:zlib";
import { afterEach, describe, expect, it, vi } from "vitest";
import { invalidArgument, isStorageError } from "../../src/core/errors.ts";
import { canonicalIp } from "../../src/service/register-execution-manager.ts";
import { DEFAULT_SUBMISSION_LIMITS, validateJobSubmission, validateJobSubmissionAsync } from "../../src/core/job-submission.ts";
import { quoteInput } from "../../src/core/quote-input.ts";
import { parseStrictJson } from "../../src/core/strict-json.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { TaskGraphCache } from "../../src/core/task-graph-cache.ts";
import { parseTaskGraphJson } from "../../src/core/task-graph.ts";
import { decodeWireFrame } from "../../src/core/wire-frame.ts";
import { compressZstd, decompressZstd, decompressZstdAsync, DEFAULT_MAX_ZSTD_FRAMES } from "../../src/core/zstd.ts";
import { hostFits, MAX_SCHEDULER_HOST_CHARS } from "../../src/db/schedulers/registerScheduler.ts";
import { registerScheduler } from "../../src/service/register-scheduler.ts";
import type { Engine } from "../../src/cache/engine.ts";
import { expectInvalid } from "../unit/core/helpers.ts";

const encoder = new TextEncoder();
const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};
const repeat = (part: Uint8Array, times: number): Uint8Array => {
  const out = new Uint8Array(part.length * times);
  for (let i = 0; i < times; i += 1) out.set(part, i * part.length);
  return out;
};
const u32 = (value: number): Uint8Array => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
};

/** zstd of `data` from the streaming compressor: one frame with no content size. */
async function streamCompressed(data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const compressor = createZstdCompress();
    compressor.on("data", (part: Buffer) => parts.push(part));
    compressor.on("end", () => resolve(Buffer.concat(parts)));
    compressor.on("error", reject);
    compressor.end(data);
  });
}

const oneTaskGraph = () => new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES] });

afterEach(() => {
  vi.restoreAllMocks();
});

describe("zstd frames are capped", () => {
  const emptyFrame = compressZstd(new Uint8Array(0));

  it("refuses frame 65 before locating it: 64 empty frames then garbage name the frame limit", () => {
    // Frame 65 is not even zstd: had it been located (or decoded), the error would say so.
    const data = concat([repeat(emptyFrame, DEFAULT_MAX_ZSTD_FRAMES), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])]);
    expectInvalid(
      () => decompressZstd(data, { maxOutputBytes: 1024, what: "task graph", framesLimitName: "runtime.limits.max_zstd_frames" }),
      `task graph has more than ${DEFAULT_MAX_ZSTD_FRAMES} zstd frames, above the limit of ${DEFAULT_MAX_ZSTD_FRAMES} (runtime.limits.max_zstd_frames)`,
    );
  });

  it("accepts exactly the cap, and the cap is configurable", () => {
    const data = concat([repeat(emptyFrame, 3), compressZstd(encoder.encode("ok"))]);
    expect(new TextDecoder().decode(decompressZstd(data, { maxOutputBytes: 1024, maxFrames: 4 }))).toBe("ok");
    expectInvalid(() => decompressZstd(data, { maxOutputBytes: 1024, maxFrames: 3 }), "more than 3 zstd frames");
  });

  it("a graph of 100 000 empty frames (900 KB) is refused by the submission's frame limit", () => {
    const graph = repeat(emptyFrame, 100_000);
    expectInvalid(() => validateJobSubmission(graph, compressZstd(u32(0))), "(runtime.limits.max_zstd_frames)");
  });

  it("inputs of 1 000 000 empty frames are refused the same way", () => {
    const graph = oneTaskGraph().toCompressed();
    const inputs = concat([compressZstd(concat([u32(1), u32(0)])), repeat(emptyFrame, 1_000_000)]);
    expectInvalid(() => validateJobSubmission(graph, inputs), "job inputs has more than 64 zstd frames");
  });
});

describe("the request path decompresses off the event loop, with the same checks", () => {
  it("decompressZstdAsync gives what decompressZstd gives, and the same errors", async () => {
    const two = concat([compressZstd(encoder.encode("ab")), compressZstd(encoder.encode("cd"))]);
    expect(new TextDecoder().decode(await decompressZstdAsync(two, { maxOutputBytes: 4 }))).toBe("abcd");
    await expect(decompressZstdAsync(two, { maxOutputBytes: 3, limitName: "k" })).rejects.toThrow("above the limit of 3 bytes (k)");
    await expect(decompressZstdAsync(compressZstd(new Uint8Array(1 << 20)), { maxOutputBytes: 1000 })).rejects.toThrow("above the limit of 1000 bytes");
    await expect(decompressZstdAsync(new Uint8Array([1, 2, 3, 4, 5]), { maxOutputBytes: 9 })).rejects.toThrow("not valid zstd data");
    const frames = repeat(compressZstd(new Uint8Array(0)), 65);
    await expect(decompressZstdAsync(frames, { maxOutputBytes: 9 })).rejects.toThrow("more than 64 zstd frames");
  });

  it("decompressZstdAsync streams a large frame of unknown size under the budget", async () => {
    // zstd's streaming compressor (as Spider's Rust client uses it) writes no content size.
    const streamed = await streamCompressed(new Uint8Array(3 * 1024 * 1024).fill(7));
    const out = await decompressZstdAsync(streamed, { maxOutputBytes: 3 * 1024 * 1024 });
    expect(out.length).toBe(3 * 1024 * 1024);
    expect(out.every((b) => b === 7)).toBe(true);
    await expect(decompressZstdAsync(streamed, { maxOutputBytes: 3 * 1024 * 1024 - 1, limitName: "k" })).rejects.toThrow("(k)");
  });

  it("checkPrefix refuses inputs from their first bytes, before the rest of a large frame is decoded", async () => {
    // 16 MiB of output, no declared size, against a 1 MiB budget: decoding it all would hit the budget;
    // the check on the first chunk answers first.
    const bomb = await streamCompressed(concat([u32(16_777_215), new Uint8Array(16 * 1024 * 1024)]));
    const options = { maxOutputBytes: 1024 * 1024, what: "job inputs" };
    await expect(decompressZstdAsync(bomb, options)).rejects.toThrow("above the limit of 1048576 bytes");
    await expect(
      decompressZstdAsync(bomb, {
        ...options,
        checkPrefix: {
          bytes: 4,
          check: (prefix) => {
            throw invalidArgument(`count ${new DataView(prefix.buffer, prefix.byteOffset).getUint32(0, true)}`);
          },
        },
      }),
    ).rejects.toThrow(/^count 16777215$/);
  });

  it("a graph above max_task_graph_bytes is refused by the graph's budget, naming that limit", async () => {
    const padded = encoder.encode(oneTaskGraph().toJson() + " ".repeat(DEFAULT_SUBMISSION_LIMITS.maxTaskGraphBytes));
    const inputs = compressZstd(concat([u32(1), u32(0)]));
    await expect(validateJobSubmissionAsync(compressZstd(padded), inputs)).rejects.toThrow(
      `task graph decompresses to more than 8388608 bytes, above the limit of 8388608 bytes (runtime.limits.max_task_graph_bytes)`,
    );
    // With max_decompressed_bytes the smaller, it binds and is named.
    const limits = { ...DEFAULT_SUBMISSION_LIMITS, maxDecompressedBytes: 1024 };
    expectInvalid(() => validateJobSubmission(compressZstd(padded), inputs, limits), "(runtime.limits.max_decompressed_bytes)");
  });

  it("validateJobSubmissionAsync checks the count before the views, as the sync one does", async () => {
    const frame = concat([u32(16_777_215), new Uint8Array(40)]);
    await expect(validateJobSubmissionAsync(oneTaskGraph().toCompressed(), compressZstd(frame), DEFAULT_SUBMISSION_LIMITS, new TaskGraphCache())).rejects.toThrow(
      "task graph input size mismatch: expected 1, got 16777215",
    );
    const ok = await validateJobSubmissionAsync(oneTaskGraph().toCompressed(), compressZstd(concat([u32(1), u32(2), encoder.encode("hi")])));
    expect(ok.inputs.map((input) => new TextDecoder().decode(input))).toEqual(["hi"]);
  });
});

describe("the inputs' payload count is checked before any view is built", () => {
  it("16 777 215 declared payloads against a graph of one input: the count is refused from the header", () => {
    // The frame declares 2^24 − 1 payloads but holds only 10: walking it would
    // fail at payload 10 ("unexpected end of buffer"); the header check answers first.
    const frame = concat([u32(16_777_215), new Uint8Array(40)]);
    expectInvalid(
      () => validateJobSubmission(oneTaskGraph().toCompressed(), compressZstd(frame)),
      "task graph input size mismatch: expected 1, got 16777215",
    );
  });

  it("decodeWireFrame with an expected count refuses another count before reading a payload", () => {
    const frame = concat([u32(3), new Uint8Array(0)]); // truncated right after the header
    let seen: number | undefined;
    expect(() =>
      decodeWireFrame(frame, "job inputs", {
        count: 2,
        mismatch: (count) => {
          seen = count;
          return new Error("count mismatch");
        },
      }),
    ).toThrow("count mismatch");
    expect(seen).toBe(3);
  });
});

describe("JSON nesting and size are bounded before JSON.parse builds anything", () => {
  it("33 554 432 nested `[` (32 MiB) are refused at the 128th level without calling JSON.parse", () => {
    const parse = vi.spyOn(JSON, "parse");
    const text = "[".repeat(32 * 1024 * 1024);
    expectInvalid(() => parseStrictJson(text, "task graph"), "recursion limit exceeded");
    expect(parse).not.toHaveBeenCalled();
  });

  it("a deep but well-formed document is refused the same way", () => {
    const parse = vi.spyOn(JSON, "parse");
    expectInvalid(() => parseStrictJson(`${"[".repeat(1000)}${"]".repeat(1000)}`), "recursion limit exceeded");
    expect(parse).not.toHaveBeenCalled();
  });

  it("more values than maxValues are refused by the scan, naming the limit, without calling JSON.parse", () => {
    const parse = vi.spyOn(JSON, "parse");
    const text = `[${"[],".repeat(1000)}0]`;
    expectInvalid(
      () => parseStrictJson(text, "task graph", { maxValues: 1000, limitName: "runtime.limits.max_task_graph_values" }),
      "task graph has more than 1000 JSON values, above the limit of 1000 (runtime.limits.max_task_graph_values)",
    );
    expect(parse).not.toHaveBeenCalled();
    // Exactly at the limit (the outer array, 998 inner ones and the 0): parsed.
    expect(parseStrictJson(`[${"[],".repeat(998)}0]`, "task graph", { maxValues: 1000 })).toHaveLength(999);
  });

  it("counts every kind of value, and no keys", () => {
    const text = '{"a":[1,"s",true,false,null,{"b":-2}]}'; // {}, [], 1, "s", true, false, null, {}, -2
    expect(() => parseStrictJson(text, "doc", { maxValues: 9 })).not.toThrow();
    expectInvalid(() => parseStrictJson(text, "doc", { maxValues: 8 }), "more than 8 JSON values");
  });

  it("a 580 000-task graph (a few KB compressed) is refused by the graph's byte budget before it is parsed", async () => {
    const builder = new TaskGraphBuilder();
    for (let i = 0; i < 580_000; i += 1) builder.task({ sources: null, taskFunc: "f" });
    const graph = builder.toCompressed(19);
    expect(graph.length).toBeLessThan(64 * 1024);
    const parse = vi.spyOn(JSON, "parse");
    await expect(validateJobSubmissionAsync(graph, compressZstd(u32(0)), DEFAULT_SUBMISSION_LIMITS, new TaskGraphCache())).rejects.toThrow(
      "(runtime.limits.max_task_graph_bytes)",
    );
    expect(parse).not.toHaveBeenCalled();
  });

  it("a 60 000-task graph within the byte budget is refused by max_task_graph_values before it is parsed", () => {
    const builder = new TaskGraphBuilder();
    for (let i = 0; i < 60_000; i += 1) builder.task({ sources: null, taskFunc: "f" });
    const json = builder.toJson();
    expect(json.length).toBeLessThan(DEFAULT_SUBMISSION_LIMITS.maxTaskGraphBytes);
    const parse = vi.spyOn(JSON, "parse");
    const error = expectInvalid(
      () => validateJobSubmission(compressZstd(encoder.encode(json)), compressZstd(u32(0)), DEFAULT_SUBMISSION_LIMITS, new TaskGraphCache()),
      "(runtime.limits.max_task_graph_values)",
    );
    expect(error.message).toContain(`above the limit of ${DEFAULT_SUBMISSION_LIMITS.maxTaskGraphValues}`);
    expect(parse).not.toHaveBeenCalled();
  });

  it("the largest graph the defaults accept by task count fits the value limit", () => {
    // A chain of max_tasks_per_job tasks, each with a typed input and output and a source.
    const builder = new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES] });
    for (let i = 1; i < DEFAULT_SUBMISSION_LIMITS.maxTasks; i += 1) builder.task({ outputs: [BYTES], sources: [[i - 1, 0]] });
    const { graph } = validateJobSubmission(builder.toCompressed(), compressZstd(concat([u32(1), u32(0)])));
    expect(graph.tasks).toHaveLength(DEFAULT_SUBMISSION_LIMITS.maxTasks);
  });
});

describe("strings are bounded before they are copied, and never echoed whole", () => {
  it("quoteInput quotes a short escaped prefix and the length", () => {
    expect(quoteInput("10.0.0.1")).toBe('"10.0.0.1"');
    const quoted = quoteInput("\u0001".repeat(1 << 20));
    expect(quoted).toBe(`${JSON.stringify("\u0001".repeat(32))}… (1048576 characters)`);
    expect(quoteInput(`${"a".repeat(31)}😀`)).toBe(`"${"a".repeat(31)}"… (33 characters)`);
  });

  it("an ip_address of 64 MiB of 0x01 is refused with a message of a few hundred characters", () => {
    const error = expectInvalid(() => canonicalIp("\u0001".repeat(64 * 1024 * 1024)), "invalid IP address");
    expect(error.message.length).toBeLessThan(400);
    expect(error.message).toContain("(67108864 characters)");
  });

  it("a graph naming an unknown field or variant a megabyte long is quoted in part", () => {
    const long = "x".repeat(1 << 20);
    const graph = JSON.parse(oneTaskGraph().toJson()) as Record<string, unknown>;
    const unknownField = expectInvalid(() => parseTaskGraphJson(JSON.stringify({ ...graph, [long]: 1 })), 'unknown field "xxxx');
    expect(unknownField.message.length).toBeLessThan(400);
    const tasks = graph["tasks"] as { inputs: unknown[] }[];
    tasks[0]!.inputs = [{ [long]: null }];
    const unknownVariant = expectInvalid(() => parseTaskGraphJson(JSON.stringify(graph)), "unknown variant");
    expect(unknownVariant.message.length).toBeLessThan(400);
  });

  it("an invalid short ip_address is still quoted whole", () => {
    expectInvalid(() => canonicalIp("not-an-ip"), 'invalid IP address: "not-an-ip"');
  });

  it("a scheduler host of 64 MiB is refused by the use case before the store sees it", async () => {
    const context = {
      store: {
        registerScheduler: () => {
          throw new Error("the store must not be called");
        },
      },
    } as unknown as Engine;
    const error = await registerScheduler(context, "h".repeat(64 * 1024 * 1024), 80).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStorageError(error, "invalid_argument"), String(error)).toBe(true);
    expect((error as Error).message).toBe(`host is longer than ${MAX_SCHEDULER_HOST_CHARS} characters (67108864 UTF-16 units)`);
  });

  it("hostFits counts code points, deciding from the length alone when it can", () => {
    expect(hostFits("")).toBe(false);
    expect(hostFits("a".repeat(MAX_SCHEDULER_HOST_CHARS))).toBe(true);
    expect(hostFits("a".repeat(MAX_SCHEDULER_HOST_CHARS + 1))).toBe(false);
    expect(hostFits("😀".repeat(MAX_SCHEDULER_HOST_CHARS))).toBe(true); // 510 UTF-16 units, 255 characters
    expect(hostFits("😀".repeat(MAX_SCHEDULER_HOST_CHARS + 1))).toBe(false);
  });
});
