/**
 * The fixed limits of resource-group requests, checked before any hashing or
 * database work: names as Spider's column (1 to 256 characters; an empty name
 * is refused, though Spider's column would take it), passwords up to 2048
 * bytes (Spider's VARBINARY(2048)). A longer password can never match, so
 * VerifyResourceGroup refuses it before spending a scrypt derivation on it.
 */
import { invalidArgument } from "../../core/errors.ts";

export const MAX_EXTERNAL_ID_CHARS = 256;
export const MAX_PASSWORD_BYTES = 2048;

/** Throws "invalid_argument" unless `externalId` is a name a group may have. */
export function checkResourceGroupName(externalId: string): void {
  if (externalId === "") throw invalidArgument("resource group name is empty");
  if (longerThan(externalId, MAX_EXTERNAL_ID_CHARS)) {
    throw invalidArgument(`resource group name is longer than ${MAX_EXTERNAL_ID_CHARS} characters`);
  }
}

/** Counts characters (code points, as the VARCHAR column does), stopping past `max`: a huge name costs no more. */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let count = 0;
  for (const _ of text) if (++count > max) return true;
  return false;
}

/** Throws "invalid_argument" when `password` is over the size limit. */
export function checkResourceGroupPassword(password: Uint8Array): void {
  if (password.byteLength > MAX_PASSWORD_BYTES) {
    throw invalidArgument(`resource group password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
}
