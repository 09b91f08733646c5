/**
 * Resource-group password hashing: scrypt with a random 16-byte salt, stored
 * as `scrypt-sha256$N$r$p$<salt base64>$<hash base64>` so each hash carries its
 * own parameters (they can be raised later; old hashes still verify). Spider
 * stores passwords verbatim (spec §4.7); we never store them.
 *
 * Passwords are opaque bytes compared exactly, as Spider compares them. scrypt
 * keys an HMAC with the password, and HMAC zero-pads keys shorter than its
 * block and replaces longer ones by their SHA-256, so raw passwords collide:
 * `pw` and `pw\0` derive the same hash. Hence scrypt gets the password's
 * SHA-256 — always 32 bytes, so no two byte strings share a key short of a
 * SHA-256 collision.
 *
 * Hashes stored before that change (`scrypt$…`, over the raw bytes) still
 * verify; {@link verifyPassword} says when a match should be re-hashed.
 *
 * Cost N=2^14, r=8, p=1 (16 MiB, tens of milliseconds): adding and verifying
 * a resource group are rare calls, and the async scrypt runs on libuv's pool,
 * not the event loop.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

const DEFAULT_PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PREFIX = "scrypt-sha256";
/** Hashes made before the NUL fix: scrypt over the raw password. */
const LEGACY_PREFIX = "scrypt";

interface ParsedHash {
  readonly legacy: boolean;
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function deriveKey(key: Uint8Array, salt: Buffer, length: number, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(key, salt, length, options, (error, derived) => (error ? reject(error) : resolve(derived)));
  });
}

/** The scrypt key of a password: its SHA-256, a fixed length that HMAC never pads or re-hashes. */
function passwordKey(password: Uint8Array): Buffer {
  return createHash("sha256").update(password).digest();
}

/** A fresh salted hash of `password`, in the stored text form. */
export async function hashPassword(password: Uint8Array): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await deriveKey(passwordKey(password), salt, HASH_BYTES, DEFAULT_PARAMS);
  const { N, r, p } = DEFAULT_PARAMS;
  return [PREFIX, N, r, p, salt.toString("base64"), hash.toString("base64")].join("$");
}

/** Parses the stored form, or returns undefined when it is not one of ours. */
function parse(stored: string): ParsedHash | undefined {
  const parts = stored.split("$");
  if (parts.length !== 6 || (parts[0] !== PREFIX && parts[0] !== LEGACY_PREFIX)) return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0)) return undefined;
  const salt = Buffer.from(parts[4]!, "base64");
  const hash = Buffer.from(parts[5]!, "base64");
  if (salt.length === 0 || hash.length === 0) return undefined;
  return { legacy: parts[0] === LEGACY_PREFIX, N, r, p, salt, hash };
}

export interface PasswordCheck {
  readonly matches: boolean;
  /**
   * The password matched a hash in the old form and should be stored again
   * with {@link hashPassword}. Never for a password ending in NUL: the old
   * form cannot tell it from the same password without those NULs, and
   * re-hashing the wrong one would lock out the group's real owner.
   */
  readonly rehash: boolean;
}

/**
 * Checks `password` against the stored hash. The final comparison takes the
 * same time whatever the bytes (timingSafeEqual); the work before it depends
 * only on the stored parameters, never on the password.
 */
export async function checkPassword(password: Uint8Array, stored: string): Promise<PasswordCheck> {
  const parsed = parse(stored);
  if (parsed === undefined) throw new Error("stored password hash is not in the scrypt-sha256$N$r$p$salt$hash form");
  const key = parsed.legacy ? password : passwordKey(password);
  const derived = await deriveKey(key, parsed.salt, parsed.hash.length, parsed);
  const matches = timingSafeEqual(derived, parsed.hash);
  return { matches, rehash: matches && parsed.legacy && password.at(-1) !== 0 };
}

/** Whether `password` matches the stored hash (see {@link checkPassword}). */
export async function verifyPassword(password: Uint8Array, stored: string): Promise<boolean> {
  return (await checkPassword(password, stored)).matches;
}

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random password, made once per process: verifying against it
 * costs what verifying a real group costs, so an unknown group answers no
 * sooner than a wrong password.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32));
  return dummyHash;
}
