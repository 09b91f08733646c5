/** Asserts that a promise rejects with a StorageError of a given kind (and message). */
import { expect } from "vitest";
import { StorageError, type ErrorKind } from "../../src/core/errors.ts";

export async function expectStorageError(
  promise: Promise<unknown>,
  kind: ErrorKind,
  message?: string | RegExp,
): Promise<StorageError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a StorageError "${kind}"`).toBeInstanceOf(StorageError);
  const error = caught as StorageError;
  expect({ kind: error.kind, message: error.message }).toMatchObject({ kind });
  if (typeof message === "string") expect(error.message).toBe(message);
  else if (message) expect(error.message).toMatch(message);
  return error;
}
