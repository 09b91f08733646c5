import { createHash, scryptSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/connection.ts";
import { addResourceGroup } from "../../src/db/resource-groups/addResourceGroup.ts";
import { hashPassword, verifyPassword } from "../../src/db/resource-groups/password-hash.ts";
import { verifyResourceGroup } from "../../src/db/resource-groups/verifyResourceGroup.ts";
import { migratedDb } from "./db-fixture.ts";
import { expectStorageError } from "./expect-storage-error.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

async function resourceGroupExists(db: Db, resourceGroupId: bigint): Promise<boolean> {
  return (await db.selectFrom("resource_groups").select("id").where("id", "=", resourceGroupId).executeTakeFirst()) !== undefined;
}

/** A hash in the form stored before the NUL fix: scrypt over the raw password bytes. */
function legacyHash(password: Uint8Array): string {
  const salt = Buffer.from("fedcba9876543210");
  return ["scrypt", 16384, 8, 1, salt.toString("base64"), scryptSync(password, salt, 32, { N: 16384, r: 8, p: 1 }).toString("base64")].join("$");
}

describe("resource groups", () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await migratedDb("rg"));
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("test_verify_correct_password: add, then verify", async () => {
    const id = await addResourceGroup(db, { externalId: "team-a", password: bytes("s3cret") });
    expect(id).toBeGreaterThan(0n);
    expect(await resourceGroupExists(db, id)).toBe(true);
    await verifyResourceGroup(db, { resourceGroupId: id, password: bytes("s3cret") });
  });

  it("test_add_duplicate_resource_group: already_exists, naming the group", async () => {
    await addResourceGroup(db, { externalId: "dup", password: bytes("x") });
    await expectStorageError(addResourceGroup(db, { externalId: "dup", password: bytes("y") }), "already_exists", 'resource group `"dup"` already exists');
  });

  it("test_verify_wrong_password and test_verify_nonexistent_resource_group: the same answer", async () => {
    const id = await addResourceGroup(db, { externalId: "team-b", password: bytes("right") });
    const wrong = await expectStorageError(
      verifyResourceGroup(db, { resourceGroupId: id, password: bytes("wrong") }),
      "unauthenticated",
      "invalid resource group",
    );
    const unknown = await expectStorageError(
      verifyResourceGroup(db, { resourceGroupId: 999_999n, password: bytes("right") }),
      "unauthenticated",
      "invalid resource group",
    );
    expect(unknown.message).toBe(wrong.message);
    expect(await resourceGroupExists(db, 999_999n)).toBe(false);
    // A prefix, an extension and the empty password are all wrong.
    for (const attempt of ["righ", "right!", ""]) {
      await expectStorageError(verifyResourceGroup(db, { resourceGroupId: id, password: bytes(attempt) }), "unauthenticated");
    }
  });

  it("stores a salted scrypt hash, never the password", async () => {
    const password = bytes("the same password");
    const a = await addResourceGroup(db, { externalId: "salt-a", password });
    const b = await addResourceGroup(db, { externalId: "salt-b", password });
    const rows = await db.selectFrom("resource_groups").select(["id", "password_hash"]).where("id", "in", [a, b]).execute();
    const hashes = rows.map((row) => row.password_hash.toString("latin1"));
    for (const hash of hashes) {
      expect(hash).toMatch(/^scrypt-sha256\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
      expect(hash).not.toContain("the same password");
      expect(Buffer.from(hash, "latin1").indexOf(Buffer.from(password))).toBe(-1);
    }
    expect(hashes[0]).not.toBe(hashes[1]);
    await verifyResourceGroup(db, { resourceGroupId: a, password });
    await verifyResourceGroup(db, { resourceGroupId: b, password });
  });

  it("binary passwords up to 2048 bytes; longer ones and names over 256 characters are refused", async () => {
    const password = Uint8Array.from({ length: 2048 }, (_, i) => (i * 37) % 256);
    const id = await addResourceGroup(db, { externalId: "x".repeat(256), password });
    await verifyResourceGroup(db, { resourceGroupId: id, password });
    await expectStorageError(addResourceGroup(db, { externalId: "long-pw", password: new Uint8Array(2049) }), "invalid_argument");
    await expectStorageError(addResourceGroup(db, { externalId: "y".repeat(257), password }), "invalid_argument");
  });

  it("names are exact: case and non-ASCII matter", async () => {
    const upper = await addResourceGroup(db, { externalId: "Team", password: bytes("1") });
    const lower = await addResourceGroup(db, { externalId: "team", password: bytes("2") });
    const unicode = await addResourceGroup(db, { externalId: "Grüße-群組-😀", password: bytes("3") });
    expect(new Set([upper, lower, unicode]).size).toBe(3);
    const row = await db.selectFrom("resource_groups").select("external_id").where("id", "=", unicode).executeTakeFirstOrThrow();
    expect(row.external_id).toBe("Grüße-群組-😀");
    await expectStorageError(addResourceGroup(db, { externalId: "Grüße-群組-😀", password: bytes("4") }), "already_exists");
  });

  it("verification costs the same for an unknown group as for a wrong password (no early exit)", async () => {
    const id = await addResourceGroup(db, { externalId: "timing", password: bytes("pw") });
    const time = async (resourceGroupId: bigint) => {
      const started = performance.now();
      await verifyResourceGroup(db, { resourceGroupId, password: bytes("nope") }).catch(() => undefined);
      return performance.now() - started;
    };
    await time(123_456n); // warm the dummy hash
    const median = (xs: number[]) => xs.sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      wrong.push(await time(id));
      unknown.push(await time(123_456n));
    }
    // Both are dominated by one scrypt derivation (tens of ms); a skipped
    // derivation would make the unknown case ~1 ms.
    expect(median(unknown)).toBeGreaterThan(median(wrong) * 0.5);
    expect(median(wrong)).toBeGreaterThan(median(unknown) * 0.5);
  });

  it("a stored value that is not one of our hashes is internal, never a match", async () => {
    const result = await db
      .insertInto("resource_groups")
      .values({ external_id: "imported-plaintext", password_hash: Buffer.from("hunter2") })
      .executeTakeFirstOrThrow();
    await expectStorageError(
      verifyResourceGroup(db, { resourceGroupId: result.insertId!, password: bytes("hunter2") }),
      "internal",
      /unreadable password hash/,
    );
  });

  it("passwords that differ only by trailing NUL bytes are different passwords", async () => {
    // scrypt keys an HMAC, and HMAC zero-pads short keys: fed raw, "pw" and "pw\0" derive the same hash.
    const pw = await addResourceGroup(db, { externalId: "nul-pw", password: bytes("pw") });
    await expectStorageError(verifyResourceGroup(db, { resourceGroupId: pw, password: bytes("pw\0") }), "unauthenticated");
    await expectStorageError(verifyResourceGroup(db, { resourceGroupId: pw, password: bytes("pw\0\0\0") }), "unauthenticated");
    const withNul = await addResourceGroup(db, { externalId: "nul-pw0", password: bytes("pw\0") });
    await expectStorageError(verifyResourceGroup(db, { resourceGroupId: withNul, password: bytes("pw") }), "unauthenticated");
    await verifyResourceGroup(db, { resourceGroupId: withNul, password: bytes("pw\0") });
    const empty = await addResourceGroup(db, { externalId: "nul-empty", password: new Uint8Array(0) });
    await expectStorageError(verifyResourceGroup(db, { resourceGroupId: empty, password: new Uint8Array(1) }), "unauthenticated");
    await verifyResourceGroup(db, { resourceGroupId: empty, password: new Uint8Array(0) });
    // HMAC also replaces keys over 64 bytes by their SHA-256: a long password and its digest are different passwords.
    const long = bytes("p".repeat(100));
    const longId = await addResourceGroup(db, { externalId: "nul-long", password: long });
    const digest = new Uint8Array(createHash("sha256").update(long).digest());
    await expectStorageError(verifyResourceGroup(db, { resourceGroupId: longId, password: digest }), "unauthenticated");
  });

  it("a hash stored before the NUL fix still verifies, and the next successful verify re-hashes it", async () => {
    const legacy = legacyHash(bytes("old-pw"));
    const result = await db.insertInto("resource_groups").values({ external_id: "legacy", password_hash: Buffer.from(legacy, "latin1") }).executeTakeFirstOrThrow();
    const id = result.insertId!;
    const storedHash = async () =>
      (await db.selectFrom("resource_groups").select("password_hash").where("id", "=", id).executeTakeFirstOrThrow()).password_hash.toString("latin1");
    await expectStorageError(verifyResourceGroup(db, { resourceGroupId: id, password: bytes("wrong") }), "unauthenticated");
    expect(await storedHash()).toBe(legacy);
    await verifyResourceGroup(db, { resourceGroupId: id, password: bytes("old-pw") });
    const upgraded = await storedHash();
    expect(upgraded).not.toBe(legacy);
    expect(upgraded).toMatch(/^scrypt-sha256\$16384\$8\$1\$/);
    await verifyResourceGroup(db, { resourceGroupId: id, password: bytes("old-pw") });
    // The old ambiguity is gone with the old hash.
    await expectStorageError(verifyResourceGroup(db, { resourceGroupId: id, password: bytes("old-pw\0") }), "unauthenticated");
  });

  it("a hash stored before the NUL fix is not re-hashed from a password ending in NUL (it cannot tell which one was set)", async () => {
    const legacy = legacyHash(bytes("amb"));
    const result = await db.insertInto("resource_groups").values({ external_id: "legacy-nul", password_hash: Buffer.from(legacy, "latin1") }).executeTakeFirstOrThrow();
    const id = result.insertId!;
    // The old scheme accepts both; re-hashing from "amb\0" would lock out the owner of "amb".
    await verifyResourceGroup(db, { resourceGroupId: id, password: bytes("amb\0") });
    const row = await db.selectFrom("resource_groups").select("password_hash").where("id", "=", id).executeTakeFirstOrThrow();
    expect(row.password_hash.toString("latin1")).toBe(legacy);
    await verifyResourceGroup(db, { resourceGroupId: id, password: bytes("amb") });
  });

  it("VerifyResourceGroup refuses a password over 2048 bytes before any hashing", async () => {
    const id = await addResourceGroup(db, { externalId: "verify-cap", password: bytes("pw") });
    await expectStorageError(
      verifyResourceGroup(db, { resourceGroupId: id, password: new Uint8Array(2049) }),
      "invalid_argument",
      "resource group password is longer than 2048 bytes",
    );
    await expectStorageError(verifyResourceGroup(db, { resourceGroupId: id, password: new Uint8Array(2048) }), "unauthenticated");
  });

  it("AddResourceGroup refuses an empty name and stores nothing", async () => {
    const before = await db.selectFrom("resource_groups").select(db.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    await expectStorageError(addResourceGroup(db, { externalId: "", password: bytes("pw") }), "invalid_argument", "resource group name is empty");
    const after = await db.selectFrom("resource_groups").select(db.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it("the hash format verifies with its own parameters and rejects tampering", async () => {
    const hash = await hashPassword(bytes("pw"));
    expect(await verifyPassword(bytes("pw"), hash)).toBe(true);
    expect(await verifyPassword(bytes("pw2"), hash)).toBe(false);
    const parts = hash.split("$");
    const weaker = await (async () => {
      // A hash made with other parameters still verifies: they travel with it.
      const { scryptSync } = await import("node:crypto");
      const salt = Buffer.from("0123456789abcdef");
      return ["scrypt", 1024, 8, 1, salt.toString("base64"), scryptSync(bytes("pw"), salt, 32, { N: 1024, r: 8, p: 1 }).toString("base64")].join("$");
    })();
    expect(await verifyPassword(bytes("pw"), weaker)).toBe(true);
    parts[5] = Buffer.alloc(32).toString("base64");
    expect(await verifyPassword(bytes("pw"), parts.join("$"))).toBe(false);
    await expect(verifyPassword(bytes("pw"), "plain-text-password")).rejects.toThrow(/scrypt/);
  });
});
