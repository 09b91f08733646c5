/** AddResourceGroup: a new group with its password; a taken name is "already_exists". */
import type { ServiceContext } from "./service-context.ts";

export function addResourceGroup(context: ServiceContext, externalId: string, password: Uint8Array): Promise<bigint> {
  return context.store.addResourceGroup(externalId, password);
}
