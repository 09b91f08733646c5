/**
 * VerifyResourceGroup: unknown group or wrong password → "unauthenticated"
 * (indistinguishable); a password over the size limit → "invalid_argument"
 * before any hashing (it cannot match one that AddResourceGroup accepted).
 */
import { checkResourceGroupPassword } from "../db/resource-groups/resource-group-limits.ts";
import type { Engine } from "../cache/engine.ts";

export async function verifyResourceGroup(engine: Engine, resourceGroupId: bigint, password: Uint8Array): Promise<void> {
  checkResourceGroupPassword(password);
  return engine.store.verifyResourceGroup(resourceGroupId, password);
}
