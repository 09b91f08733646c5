/**
 * `verifyResourceGroup`: checks a resource group's password (VerifyResourceGroup).
 * An unknown group and a wrong password give the same answer —
 * "unauthenticated", "invalid resource group" — after the same work: an
 * unknown group is checked against a dummy hash, and hashes are compared in
 * constant time.
 */
import { StorageError, internal } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { dummyPasswordHash, verifyPassword } from "./password-hash.ts";

export interface ResourceGroupCredentials {
  readonly resourceGroupId: bigint;
  readonly password: Uint8Array;
}

export async function verifyResourceGroup(db: Db, credentials: ResourceGroupCredentials): Promise<void> {
  const { resourceGroupId, password } = credentials;
  const row = await runStatement(db, { operation: "verifyResourceGroup", writes: false }, (connection) =>
    connection.selectFrom("resource_groups").select("password_hash").where("id", "=", resourceGroupId).executeTakeFirst(),
  );
  const stored = row === undefined ? await dummyPasswordHash() : row.password_hash.toString("latin1");
  let matches: boolean;
  try {
    matches = await verifyPassword(password, stored);
  } catch (error) {
    throw internal(`resource group ${resourceGroupId} has an unreadable password hash`, error);
  }
  if (row === undefined || !matches) throw new StorageError("unauthenticated", "invalid resource group");
}
