/**
 * Typed reading of values from the strict JSON reader, with the acceptance
 * rules of serde's derived deserializers as Spider's Rust code uses them:
 * a struct may be an object (unknown members ignored, duplicate known members
 * rejected) or an array of its fields in order; an externally tagged enum is
 * `"Variant"` (unit variants) or `{"Variant": content}`; integers must be
 * integer literals in range (`1.0` is not a u32). Every error is
 * StorageError("invalid_argument") prefixed with the path of the value, which
 * a {@link JsonPath} tracks without building strings unless there is an error
 * (graphs can hold millions of values).
 */
import { invalidArgument, type StorageError } from "./errors.ts";
import { MAX_QUOTED_CHARS, quoteInput } from "./quote-input.ts";
import { duplicateKeysOf, isJsonObject, JsonNumber, type JsonValue } from "./strict-json.ts";

/** The path to the value being read, as a stack: push before descending, pop after. */
export class JsonPath {
  private readonly segments: (string | number)[] = [];

  push(segment: string | number): void {
    this.segments.push(segment);
  }

  pop(): void {
    this.segments.pop();
  }

  toString(): string {
    let text = "";
    for (const segment of this.segments) {
      text += typeof segment === "number" ? `[${segment}]` : text === "" ? segment : `.${segment}`;
    }
    return text;
  }

  /** An invalid_argument error about the value at this path. */
  error(message: string): StorageError {
    const where = this.toString();
    return invalidArgument(where === "" ? message : `${where}: ${message}`);
  }
}

/** A short description of a value's JSON type for error messages, as serde words it. */
export function describeJson(value: JsonValue): string {
  if (value === null) {
    return "null";
  }
  if (typeof value === "boolean") {
    return `boolean \`${value}\``;
  }
  if (typeof value === "number") {
    return `integer \`${value}\``;
  }
  if (typeof value === "string") {
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  }
  if (value instanceof JsonNumber) {
    return value.isIntegerLiteral && value.source !== "-0"
      ? `integer \`${value.source}\``
      : `floating point \`${value.source}\``;
  }
  if (Array.isArray(value)) {
    return "sequence";
  }
  return "map";
}

export function readString(value: JsonValue, path: JsonPath): string {
  if (typeof value !== "string") {
    throw path.error(`invalid type: ${describeJson(value)}, expected a string`);
  }
  return value;
}

export function readArray(value: JsonValue, path: JsonPath): JsonValue[] {
  if (!Array.isArray(value)) {
    throw path.error(`invalid type: ${describeJson(value)}, expected a sequence`);
  }
  return value;
}

const UINT_MAX = { 32: 0xffff_ffffn, 64: (1n << 64n) - 1n } as const;

/**
 * Reads an unsigned integer of the given width. Values above 2^53 (only
 * possible for u64) come back rounded; every caller compares them against far
 * smaller bounds, so rounding cannot turn an invalid value into a valid one.
 */
export function readUnsigned(value: JsonValue, bits: 32 | 64, path: JsonPath): number {
  if (typeof value === "number") {
    if (value < 0 || (bits === 32 && value > 0xffff_ffff)) {
      throw path.error(`invalid value: integer \`${value}\`, expected u${bits}`);
    }
    return value;
  }
  if (value instanceof JsonNumber && value.isIntegerLiteral && value.source !== "-0") {
    const big = BigInt(value.source);
    if (big < 0n || big > UINT_MAX[bits]) {
      throw path.error(`invalid value: integer \`${value.source}\`, expected u${bits}`);
    }
    return Number(big);
  }
  throw path.error(`invalid type: ${describeJson(value)}, expected u${bits}`);
}

/**
 * Reads a struct with the given field names. Returns the raw value of each
 * field (undefined when absent); the caller decides which absences are errors
 * (see {@link requireField}). In array form, at least `minArrayLength`
 * elements are required (the fields after that have serde defaults) and no
 * more than there are fields.
 */
export function readStruct(
  value: JsonValue,
  structName: string,
  fields: readonly string[],
  path: JsonPath,
  minArrayLength: number = fields.length,
): (JsonValue | undefined)[] {
  if (isJsonObject(value)) {
    const duplicates = duplicateKeysOf(value);
    if (duplicates !== undefined) {
      // Unknown members may repeat: serde skips them without looking.
      const known = duplicates.find((key) => fields.includes(key));
      if (known !== undefined) {
        throw path.error(`duplicate field \`${known}\``);
      }
    }
    const result: (JsonValue | undefined)[] = new Array<JsonValue | undefined>(fields.length);
    for (let i = 0; i < fields.length; i += 1) {
      const field = fields[i]!;
      result[i] = Object.hasOwn(value, field) ? value[field] : undefined;
    }
    return result;
  }
  if (Array.isArray(value)) {
    if (value.length < minArrayLength || value.length > fields.length) {
      const count = minArrayLength === fields.length ? `${fields.length}` : `${minArrayLength} to ${fields.length}`;
      throw path.error(`invalid length ${value.length}, expected struct ${structName} with ${count} elements`);
    }
    const result: (JsonValue | undefined)[] = new Array<JsonValue | undefined>(fields.length).fill(undefined);
    for (let i = 0; i < value.length; i += 1) {
      result[i] = value[i]!;
    }
    return result;
  }
  throw path.error(`invalid type: ${describeJson(value)}, expected struct ${structName}`);
}

export function requireField(value: JsonValue | undefined, field: string, path: JsonPath): JsonValue {
  if (value === undefined) {
    throw path.error(`missing field \`${field}\``);
  }
  return value;
}

export type VariantKind = "unit" | "newtype" | "struct";

/** A variant of an externally tagged enum as read: its name, its kind and its content (null for unit). */
export interface EnumValue {
  readonly variant: string;
  readonly content: JsonValue;
}

/** Reads an externally tagged enum. */
export function readEnum(
  value: JsonValue,
  enumName: string,
  variants: ReadonlyMap<string, VariantKind>,
  path: JsonPath,
): EnumValue {
  if (typeof value === "string") {
    const kind = variantKind(value, enumName, variants, path);
    if (kind !== "unit") {
      throw path.error(`invalid type: unit variant \`${value}\`, expected ${kind} variant of ${enumName}`);
    }
    return { variant: value, content: null };
  }
  if (isJsonObject(value)) {
    let variant: string | undefined;
    let size = 0;
    for (const key in value) {
      if (Object.hasOwn(value, key)) {
        variant ??= key;
        size += 1;
      }
    }
    const duplicates = duplicateKeysOf(value)?.length ?? 0;
    if (variant === undefined || size + duplicates !== 1) {
      throw path.error(
        `invalid type: map with ${size + duplicates} entries, expected enum ${enumName} (a map with exactly one key)`,
      );
    }
    const content = value[variant]!;
    if (variantKind(variant, enumName, variants, path) === "unit" && content !== null) {
      path.push(variant);
      throw path.error(`invalid type: ${describeJson(content)}, expected unit (null)`);
    }
    return { variant, content };
  }
  throw path.error(`invalid type: ${describeJson(value)}, expected enum ${enumName}`);
}

function variantKind(
  name: string,
  enumName: string,
  variants: ReadonlyMap<string, VariantKind>,
  path: JsonPath,
): VariantKind {
  const kind = variants.get(name);
  if (kind === undefined) {
    const expected = [...variants.keys()].map((v) => `\`${v}\``).join(", ");
    // serde's wording for a short name; a long one is quoted in part (never echoed whole).
    const named = name.length <= MAX_QUOTED_CHARS ? `\`${name}\`` : quoteInput(name);
    throw path.error(`unknown variant ${named} of ${enumName}, expected one of ${expected}`);
  }
  return kind;
}
