/**
 * VerifyResourceGroup: unknown group or wrong password → "unauthenticated"
 * (indistinguishable); a password over the size limit → "invalid_argument"
 * before any hashing (it cannot match one that AddResourceGroup accepted).
 */
import { checkResourceGroupPassword } from "../db/resource-groups/resource-group-limits.ts";
import type { ServiceContext } from "./service-context.ts";

export async function verifyResourceGroup(context: ServiceContext, resourceGroupId: bigint, password: Uint8Array): Promise<void> {
  checkResourceGroupPassword(password);
  return context.store.verifyResourceGroup(resourceGroupId, password);
}
