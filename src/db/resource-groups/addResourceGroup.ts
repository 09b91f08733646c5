/**
 * `addResourceGroup`: creates a resource group, storing a salted scrypt hash
 * of its password (./password-hash.ts), never the password. A name already
 * taken (errno 1062) is "already_exists", naming the group as Spider does.
 * Limits as Spider's columns: name up to 256 characters, password up to 2048
 * bytes.
 */
import { StorageError, invalidArgument } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { dbErrno, ER_DUP_ENTRY } from "../db-errors.ts";
import { runStatement } from "../run-statement.ts";
import { hashPassword } from "./password-hash.ts";
import { insertIdOf } from "../insert-id.ts";

export const MAX_EXTERNAL_ID_CHARS = 256;
export const MAX_PASSWORD_BYTES = 2048;

export interface NewResourceGroup {
  /** The caller's unique name for the group. */
  readonly externalId: string;
  readonly password: Uint8Array;
}

export async function addResourceGroup(db: Db, group: NewResourceGroup): Promise<bigint> {
  const { externalId, password } = group;
  if ([...externalId].length > MAX_EXTERNAL_ID_CHARS) {
    throw invalidArgument(`resource group name is longer than ${MAX_EXTERNAL_ID_CHARS} characters`);
  }
  if (password.byteLength > MAX_PASSWORD_BYTES) {
    throw invalidArgument(`resource group password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
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
