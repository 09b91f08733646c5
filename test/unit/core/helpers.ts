/**
 * Shared helpers for the core unit tests: expectations about StorageError,
 * a seeded PRNG for randomised tests, and byte helpers.
 */
import { expect } from "vitest";
import { isStorageError, type StorageError } from "../../../src/core/errors.ts";

/** Runs `fn`, expects a StorageError("invalid_argument") whose message matches `pattern`; returns it. */
export function expectInvalid(fn: () => unknown, pattern?: RegExp | string): StorageError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) {
    throw new Error(`expected a StorageError${pattern === undefined ? "" : ` matching ${String(pattern)}`}, got success`);
  }
  if (!isStorageError(thrown, "invalid_argument")) {
    throw new Error(`expected StorageError(invalid_argument), got ${String(thrown)}`, { cause: thrown });
  }
  if (pattern !== undefined) {
    if (typeof pattern === "string") {
      expect(thrown.message).toContain(pattern);
    } else {
      expect(thrown.message).toMatch(pattern);
    }
  }
  return thrown;
}

/** The service's own generator (fault injection uses it too): one implementation, the seed reproduces a run. */
export { seededRandom } from "../../../src/core/seeded-random.ts";

/** A seed from the environment variable `name`, or a fresh one; printed so a failure can be replayed. */
export function testSeed(name: string): number {
  const fromEnv = process.env[name];
  const seed = fromEnv === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(fromEnv);
  console.log(`${name}=${seed}`);
  return seed;
}

export function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * node:zlib with `zstdDecompressSync` counted: each call pushes its input's length to `decodes`.
 * For `vi.mock("node:zlib", …)` factories (hoisted, so they import this dynamically).
 */
export function countingZlib(zlib: typeof import("node:zlib"), decodes: number[]): typeof import("node:zlib") {
  return {
    ...zlib,
    zstdDecompressSync: ((input: Uint8Array, options?: { maxOutputLength?: number }) => {
      decodes.push(input.length);
      return zlib.zstdDecompressSync(input, options);
    }) as typeof zlib.zstdDecompressSync,
  };
}
