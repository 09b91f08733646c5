/**
 * Resource-group requests over the fixed limits are refused by the use case
 * before any store work, the same on both stores: an empty name on
 * AddResourceGroup, an over-long password on VerifyResourceGroup.
 */
import { describe, expect, it } from "vitest";
import { isStorageError } from "../../src/core/errors.ts";
import { Harness } from "./helpers/harness.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";
import { addResourceGroup } from "../../src/service/add-resource-group.ts";
import { verifyResourceGroup } from "../../src/service/verify-resource-group.ts";

async function errorOf(promise: Promise<unknown>): Promise<{ kind: string; message: string } | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (isStorageError(error)) return { kind: error.kind, message: error.message };
    throw error;
  }
}

for (const storeKind of STORE_KINDS) {
  describe(`resource-group limits (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    it("AddResourceGroup refuses an empty name with invalid_argument", async () => {
      const h = await Harness.create(fixture.store);
      expect(await errorOf(addResourceGroup(h.service.engine, "", new Uint8Array([1])))).toEqual({
        kind: "invalid_argument",
        message: "resource group name is empty",
      });
      // A one-character name is fine.
      expect(await addResourceGroup(h.service.engine, "x", new Uint8Array([1]))).toBeGreaterThan(0n);
      await h.close();
    });

    it("VerifyResourceGroup refuses a password over 2048 bytes with invalid_argument; 2048 bytes is merely wrong", async () => {
      const h = await Harness.create(fixture.store);
      expect(await errorOf(verifyResourceGroup(h.service.engine, h.resourceGroupId, new Uint8Array(2049)))).toEqual({
        kind: "invalid_argument",
        message: "resource group password is longer than 2048 bytes",
      });
      expect(await errorOf(verifyResourceGroup(h.service.engine, h.resourceGroupId, new Uint8Array(2048)))).toMatchObject({ kind: "unauthenticated" });
      expect(await errorOf(verifyResourceGroup(h.service.engine, h.resourceGroupId, new Uint8Array([1, 2, 3])))).toBe("ok");
      await h.close();
    });

    it("AddResourceGroup refuses a password over 2048 bytes and a name over 256 characters", async () => {
      const h = await Harness.create(fixture.store);
      expect(await errorOf(addResourceGroup(h.service.engine, `big-${h.sessionId}`, new Uint8Array(2049)))).toMatchObject({ kind: "invalid_argument" });
      expect(await errorOf(addResourceGroup(h.service.engine, "é".repeat(257), new Uint8Array(1)))).toMatchObject({ kind: "invalid_argument" });
      await h.close();
    });
  });
}
