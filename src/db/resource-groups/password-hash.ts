/**
 * Resource-group password hashing: scrypt with a random 16-byte salt, stored
 * as `scrypt$N$r$p$<salt base64>$<hash base64>` so each hash carries its own
 * parameters (they can be raised later; old hashes still verify). Spider
 * stores passwords verbatim (spec §4.7); we never store them.
 *
 * Cost N=2^14, r=8, p=1 (16 MiB, tens of milliseconds): adding and verifying
 * a resource group are rare calls, and the async scrypt runs on libuv's pool,
 * not the event loop.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

const DEFAULT_PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PREFIX = "scrypt";

function deriveKey(password: Uint8Array, salt: Buffer, length: number, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** A fresh salted hash of `password`, in the stored text form. */
export async function hashPassword(password: Uint8Array): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await deriveKey(password, salt, HASH_BYTES, DEFAULT_PARAMS);
  const { N, r, p } = DEFAULT_PARAMS;
  return [PREFIX, N, r, p, salt.toString("base64"), hash.toString("base64")].join("$");
}

/** Parses the stored form, or returns undefined when it is not one of ours. */
function parse(stored: string): { N: number; r: number; p: number; salt: Buffer; hash: Buffer } | undefined {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== PREFIX) return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0)) return undefined;
  const salt = Buffer.from(parts[4]!, "base64");
  const hash = Buffer.from(parts[5]!, "base64");
  if (salt.length === 0 || hash.length === 0) return undefined;
  return { N, r, p, salt, hash };
}

/**
 * Whether `password` matches the stored hash. The final comparison takes the
 * same time whatever the bytes (timingSafeEqual); the work before it depends
 * only on the stored parameters, never on the password.
 */
export async function verifyPassword(password: Uint8Array, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (parsed === undefined) throw new Error("stored password hash is not in the scrypt$N$r$p$salt$hash form");
  const derived = await deriveKey(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(derived, parsed.hash);
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
