/**
 * AddResourceGroup: a new group with its password; a taken name is
 * "already_exists"; an empty or over-long name, or an over-long password, is
 * "invalid_argument" before any hashing, whatever the store.
 */
import { checkResourceGroupName, checkResourceGroupPassword } from "../db/resource-groups/resource-group-limits.ts";
import type { Engine } from "../cache/engine.ts";

export async function addResourceGroup(engine: Engine, externalId: string, password: Uint8Array): Promise<bigint> {
  checkResourceGroupName(externalId);
  checkResourceGroupPassword(password);
  return engine.store.addResourceGroup(externalId, password);
}
