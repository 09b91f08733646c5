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

/** mulberry32: small, fast, good enough for fuzzing; the seed reproduces a run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
