/**
 * What a console request may send, checked before anything is read: ids are
 * unsigned 64-bit decimals, page sizes have a ceiling, bodies are small JSON
 * objects read up to a byte limit (a larger body is refused while it
 * arrives, never buffered whole). Anything else is a 400 naming the rule.
 */
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-error.ts";

const U64_MAX = 2n ** 64n - 1n;

/** Most bytes of a repair's body: a reason and a flag. */
export const MAX_BODY_BYTES = 16 * 1024;

/** The start of caller text quoted back in a refusal. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 32 ? `${text.slice(0, 32)}…` : text);
}

/** A u64 id in decimal (no sign, no leading zeros beyond "0"). */
export function parseId(text: string, what: string): bigint {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text) || BigInt(text) > U64_MAX) {
    throw new HttpError(400, `invalid ${what} ${quoted(text)}: expected an unsigned 64-bit decimal number`);
  }
  return BigInt(text);
}

/** An integer query parameter in [min, max]; `fallback` when absent. */
export function parseIntegerParam(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const text = params.get(name);
  if (text === null || text === "") return fallback;
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new HttpError(400, `invalid ${name} ${quoted(text)}: expected an integer ${min}..${max}`);
  }
  return Number(text);
}

/** Reads a JSON object body of at most MAX_BODY_BYTES. */
export async function readJsonObject(request: IncomingMessage): Promise<Record<string, unknown>> {
  const type = request.headers["content-type"] ?? "";
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, "expected a JSON body (content-type: application/json)");
  const declared = Number(request.headers["content-length"] ?? "0");
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, `body above ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body above ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = size === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "the body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new HttpError(400, "the body must be a JSON object");
  return value as Record<string, unknown>;
}

/** An optional string field of a body (absent: ""). */
export function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new HttpError(400, `${name} must be a string`);
  return value;
}

/** An optional boolean field of a body (absent: false). */
export function booleanField(body: Record<string, unknown>, name: string): boolean {
  const value = body[name];
  if (value === undefined || value === null) return false;
  if (typeof value !== "boolean") throw new HttpError(400, `${name} must be true or false`);
  return value;
}
