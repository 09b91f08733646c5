/**
 * `verifyResourceGroup`: checks a resource group's password (VerifyResourceGroup).
 * An unknown group and a wrong password give the same answer —
 * "unauthenticated", "invalid resource group" — after the same work: an
 * unknown group is checked against a dummy hash, and hashes are compared in
 * constant time. A password over the size limit is "invalid_argument" before
 * any hashing. A match against a hash in the old form (./password-hash.ts)
 * stores a new hash of the password.
 */
import { StorageError, internal } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { checkPassword, dummyPasswordHash, hashPassword, type PasswordCheck } from "./password-hash.ts";
import { replacePasswordHash } from "./replacePasswordHash.ts";
import { checkResourceGroupPassword } from "./resource-group-limits.ts";

export interface ResourceGroupCredentials {
  readonly resourceGroupId: bigint;
  readonly password: Uint8Array;
}

export async function verifyResourceGroup(db: Db, credentials: ResourceGroupCredentials): Promise<void> {
  const { resourceGroupId, password } = credentials;
  checkResourceGroupPassword(password);
  const row = await runStatement(db, { operation: "verifyResourceGroup", writes: false }, (connection) =>
    connection.selectFrom("resource_groups").select("password_hash").where("id", "=", resourceGroupId).executeTakeFirst(),
  );
  const stored = row === undefined ? await dummyPasswordHash() : row.password_hash.toString("latin1");
  let check: PasswordCheck;
  try {
    check = await checkPassword(password, stored);
  } catch (error) {
    throw internal(`resource group ${resourceGroupId} has an unreadable password hash`, error);
  }
  if (row === undefined || !check.matches) throw new StorageError("unauthenticated", "invalid resource group");
  if (check.rehash) {
    const next = Buffer.from(await hashPassword(password), "latin1");
    // The caller is verified either way; a failed upgrade is tried again on the next verify.
    await replacePasswordHash(db, resourceGroupId, row.password_hash, next).catch(() => undefined);
  }
}
