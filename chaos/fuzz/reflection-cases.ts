/**
 * Server reflection streams (v1 and v1alpha) carrying hostile requests: one to
 * three messages on a stream — well-formed requests (list the services, a
 * file by a symbol or a name, extensions of a type, with known or random
 * names), the same with bits flipped or cut short, random bytes, and requests
 * just above the 64 KiB cap. Reflection is served by a bridge of ours around
 * @grpc/reflection (src/grpc/reflection.ts), whose first version let a
 * request that did not decode end the process.
 *
 * A stream carrying a request above the cap must end INVALID_ARGUMENT naming
 * the limit (D5: a request of a method without payload above its cap), unless
 * an earlier message already ended it. Otherwise, since whether a flipped
 * message still decodes is the library's business, the judgement is a set:
 * the stream ends OK, or INVALID_ARGUMENT for a message that does not decode;
 * never another status, never a hang past the deadline. After
 * each case a fresh stream must still list the storage services: reflection
 * goes on serving. Reflection changes no state (the runner's snapshots check).
 */
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { MAX_REFLECTION_REQUEST_BYTES } from "../../src/grpc/reflection.ts";
import { lengthDelimitedField, varint } from "../../testkit/protobuf-wire.ts";
import { statusName } from "./fuzz-case.ts";
import type { RawClient } from "./raw-client.ts";

/** ServerReflectionRequest's fields (grpc/reflection/v1/reflection.proto). */
const FIELD = { host: 1, fileByFilename: 3, fileContainingSymbol: 4, fileContainingExtension: 5, allExtensionNumbersOfType: 6, listServices: 7 } as const;

const KNOWN_SYMBOLS = ["storage.JobOrchestrationService", "storage.RegisterJobRequest", "grpc.health.v1.Health", "spider_storage.admin.v1.InspectionService", "grpc.reflection.v1.ServerReflection"];
const KNOWN_FILES = ["storage/storage.proto", "common/common.proto", "admin/admin.proto", "grpc/health/v1/health.proto"];

/** A well-formed request: one of the request kinds (not the host alone), with a name and maybe a host. */
export interface WellFormedRequest {
  readonly field: Exclude<keyof typeof FIELD, "host">;
  readonly name: string;
  readonly host: string | null;
  /** fileContainingExtension's extension number (int32 on the wire). */
  readonly extensionNumber: number;
}

export type ReflectionMessage =
  | WellFormedRequest
  | { readonly flipped: WellFormedRequest; readonly flips: readonly number[]; readonly cut: number | null }
  | { readonly blob: Uint8Array }
  | { readonly oversized: number };

export interface ReflectionCase {
  readonly version: "v1" | "v1alpha";
  readonly messages: readonly ReflectionMessage[];
}

const wellFormed: fc.Arbitrary<WellFormedRequest> = fc.record({
  field: fc.constantFrom("fileByFilename", "fileContainingSymbol", "fileContainingExtension", "allExtensionNumbersOfType", "listServices"),
  name: fc.oneof(fc.constantFrom(...KNOWN_SYMBOLS, ...KNOWN_FILES, "", "*"), fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 64 })),
  host: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
  extensionNumber: fc.oneof(fc.constantFrom(0, 1, 536_870_911, -1, 2 ** 31 - 1), fc.integer()),
});

const reflectionMessage: fc.Arbitrary<ReflectionMessage> = fc.oneof(
  { weight: 4, arbitrary: wellFormed },
  {
    weight: 4,
    arbitrary: fc.record({
      flipped: wellFormed,
      flips: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ blob: fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.uint8Array({ maxLength: 2_048 })) }) },
  { weight: 1, arbitrary: fc.record({ oversized: fc.constantFrom(MAX_REFLECTION_REQUEST_BYTES + 1, MAX_REFLECTION_REQUEST_BYTES + 4_096) }) },
);

export const reflectionCase: fc.Arbitrary<ReflectionCase> = fc.record({
  version: fc.constantFrom("v1" as const, "v1alpha" as const),
  messages: fc.array(reflectionMessage, { minLength: 1, maxLength: 3 }),
});

function reflectionPath(version: ReflectionCase["version"]): string {
  return `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`;
}

function encodeWellFormed(m: WellFormedRequest): Buffer {
  const parts: Buffer[] = [];
  if (m.host !== null) parts.push(lengthDelimitedField(FIELD.host, Buffer.from(m.host)));
  if (m.field === "fileContainingExtension") {
    // ExtensionRequest { containing_type = 1; extension_number = 2 (int32) }
    const number = Buffer.from([0x10, ...varintOfInt32(m.extensionNumber)]);
    parts.push(lengthDelimitedField(FIELD.fileContainingExtension, Buffer.concat([lengthDelimitedField(1, Buffer.from(m.name)), number])));
  } else {
    parts.push(lengthDelimitedField(FIELD[m.field], Buffer.from(m.name)));
  }
  return Buffer.concat(parts);
}

/** int32 on the wire: negative values as ten-byte varints. */
function varintOfInt32(value: number): number[] {
  if (value >= 0) return varint(value);
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(value));
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

export function buildReflectionMessage(m: ReflectionMessage): Buffer {
  if ("blob" in m) return Buffer.from(m.blob);
  if ("oversized" in m) return lengthDelimitedField(FIELD.fileContainingSymbol, Buffer.alloc(m.oversized, 0x61));
  if ("flipped" in m) {
    const base = encodeWellFormed(m.flipped);
    for (const flip of m.flips) base[flip % base.length]! ^= 1 << (flip % 8);
    return m.cut === null ? base : base.subarray(0, Math.floor(m.cut * base.length));
  }
  return encodeWellFormed(m);
}

/** The statuses the stream may end with (see the file's comment). */
export function expectedReflectionCodes(c: ReflectionCase): readonly grpc.status[] {
  return c.messages.some((m) => buildReflectionMessage(m).length > MAX_REFLECTION_REQUEST_BYTES) ? [grpc.status.INVALID_ARGUMENT] : [grpc.status.OK, grpc.status.INVALID_ARGUMENT];
}

export function describeReflectionCase(c: ReflectionCase): string {
  const sizes = c.messages.map((m) => {
    const bytes = buildReflectionMessage(m);
    return `${bytes.length} bytes ${bytes.subarray(0, 24).toString("hex")}${bytes.length > 24 ? "…" : ""}`;
  });
  return `reflection ${c.version}: ${sizes.join(" | ")}`;
}

const DEADLINE_MS = 20_000;

/** Runs one case: the stream's own status, then a fresh stream that must still list the storage services. */
export async function runReflectionCase(c: ReflectionCase, raw: RawClient): Promise<{ problems: string[]; code: grpc.status }> {
  const problems: string[] = [];
  const answer = await raw.stream(reflectionPath(c.version), c.messages.map(buildReflectionMessage), DEADLINE_MS);
  const expected = expectedReflectionCodes(c);
  if (!expected.includes(answer.code)) {
    problems.push(`${statusName(answer.code)} "${answer.details.slice(0, 300)}", expected ${expected.map(statusName).join(" or ")} (D5: INVALID_ARGUMENT for a reflection request that does not decode or is above the cap)`);
  }
  const check = await raw.stream(reflectionPath("v1"), [lengthDelimitedField(FIELD.listServices, Buffer.from("*"))], DEADLINE_MS);
  const listed = check.responses[0]?.includes(Buffer.from("storage.JobOrchestrationService")) ?? false;
  if (check.code !== grpc.status.OK || !listed) {
    problems.push(`reflection stopped serving after the case: list services answered ${statusName(check.code)} "${check.details.slice(0, 200)}"${listed ? "" : " without the storage services"}`);
  }
  return { problems, code: answer.code };
}
