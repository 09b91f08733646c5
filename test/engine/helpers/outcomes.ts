/** What a service call ended with, in the forms engine tests compare. */
import { isStorageError, type StorageError } from "../../../src/core/errors.ts";

/** `ok:<value>` for a call that returned, else the StorageError's kind (anything else is rethrown). */
export async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    return `ok:${String(await promise)}`;
  } catch (error) {
    if (isStorageError(error)) return error.kind;
    throw error;
  }
}

/** The StorageError a call was refused with; a call that returns fails the test. */
export async function refusal(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => e,
  );
  if (!isStorageError(error)) throw error;
  return error;
}
