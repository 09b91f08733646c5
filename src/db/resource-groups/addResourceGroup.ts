/**
 * `addResourceGroup`: creates a resource group, storing a salted scrypt hash
 * of its password (./password-hash.ts), never the password. A name already
 * taken (errno 1062) is "already_exists", naming the group as Spider does.
 * Limits (./resource-group-limits.ts) are checked before hashing.
 */
import { StorageError } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { dbErrno, ER_DUP_ENTRY } from "../db-errors.ts";
import { runStatement } from "../run-statement.ts";
import { hashPassword } from "./password-hash.ts";
import { insertIdOf } from "../insert-id.ts";
import { checkResourceGroupName, checkResourceGroupPassword } from "./resource-group-limits.ts";

export interface NewResourceGroup {
  /** The caller's unique name for the group. */
  readonly externalId: string;
  readonly password: Uint8Array;
}

export async function addResourceGroup(db: Db, group: NewResourceGroup): Promise<bigint> {
  const { externalId, password } = group;
  checkResourceGroupName(externalId);
  checkResourceGroupPassword(password);
  // Hash once, outside the statement, so a retried INSERT does not hash again.
  const passwordHash = Buffer.from(await hashPassword(password), "latin1");
  return runStatement(db, { operation: "addResourceGroup", writes: true }, async (connection) => {
    try {
      const result = await connection
        .insertInto("resource_groups")
        .values({ external_id: externalId, password_hash: passwordHash })
        .executeTakeFirstOrThrow();
      return insertIdOf(result, "resource_groups");
    } catch (error) {
      if (dbErrno(error) === ER_DUP_ENTRY) {
        throw new StorageError("already_exists", `resource group \`${JSON.stringify(externalId)}\` already exists`, {
          cause: error,
        });
      }
      throw error;
    }
  });
}
