/** VerifyResourceGroup: unknown group or wrong password → "unauthenticated" (indistinguishable). */
import type { ServiceContext } from "./service-context.ts";

export function verifyResourceGroup(context: ServiceContext, resourceGroupId: bigint, password: Uint8Array): Promise<void> {
  return context.store.verifyResourceGroup(resourceGroupId, password);
}
