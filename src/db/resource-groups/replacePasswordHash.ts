/**
 * `replacePasswordHash`: stores a re-made hash of a group's password, only if
 * the stored one is still the hash it replaces (so two verifies racing, or a
 * password changed meanwhile, never overwrite a newer hash).
 */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function replacePasswordHash(db: Db, resourceGroupId: bigint, previous: Buffer, next: Buffer): Promise<void> {
  await runStatement(db, { operation: "replacePasswordHash", writes: true, idempotent: true }, (connection) =>
    connection
      .updateTable("resource_groups")
      .set({ password_hash: next })
      .where("id", "=", resourceGroupId)
      .where("password_hash", "=", previous)
      .execute(),
  );
}
