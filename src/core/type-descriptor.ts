/**
 * Spider's data type descriptors (spec §1.5): validation against the grammar
 *
 * ```
 * DataType := {"Value": V} | {"SharedValue": V}
 * V        := {"Primitive": P} | {"Bytes": {}} | {"Struct": "<non-empty name>"}
 *           | {"List": V} | {"Map": {"key": K, "value": V}}
 * P        := {"Int": "Int8"|"Int16"|"Int32"|"Int64"} | {"Float": "Float32"|"Float64"} | "Boolean"
 * K        := {"Int": "Int8"|"Int16"|"Int32"|"Int64"} | {"Bytes": {}}
 * ```
 *
 * and reduction to a canonical string, so that structural type equality (the
 * only thing storage uses types for) is string identity. A {@link TypeInterner}
 * maps each type's pre-order token sequence through a trie, so a type seen
 * before costs a few Map lookups and no string building; the canonical form
 * (e.g. `Value(Map(Int(Int32),Primitive(Float(Float64))))`) is built once per
 * distinct type and is what error messages show.
 */
import { readEnum, readString, readStruct, type JsonPath, type VariantKind } from "./json-fields.ts";
import type { JsonValue } from "./strict-json.ts";

/** A validated type descriptor in canonical form; equal strings ⇔ structurally equal types. */
export type CanonicalType = string;

const DATA_TYPE_VARIANTS = new Map<string, VariantKind>([
  ["Value", "newtype"],
  ["SharedValue", "newtype"],
]);
const VALUE_VARIANTS = new Map<string, VariantKind>([
  ["Primitive", "newtype"],
  ["Bytes", "newtype"],
  ["Struct", "newtype"],
  ["List", "newtype"],
  ["Map", "struct"],
]);
const PRIMITIVE_VARIANTS = new Map<string, VariantKind>([
  ["Int", "newtype"],
  ["Float", "newtype"],
  ["Boolean", "unit"],
]);
const INT_VARIANTS = new Map<string, VariantKind>([
  ["Int8", "unit"],
  ["Int16", "unit"],
  ["Int32", "unit"],
  ["Int64", "unit"],
]);
const FLOAT_VARIANTS = new Map<string, VariantKind>([
  ["Float32", "unit"],
  ["Float64", "unit"],
]);
const MAP_KEY_VARIANTS = new Map<string, VariantKind>([
  ["Int", "newtype"],
  ["Bytes", "newtype"],
]);
const MAP_FIELDS = ["key", "value"];

/** Struct names share the trie with variant names; this prefix keeps them apart. */
const STRUCT_NAME_PREFIX = "\u0000";

class TrieNode {
  readonly children = new Map<string, TrieNode>();
  readonly token: string;
  readonly parent: TrieNode | null;
  canonical: string | undefined;

  constructor(token: string, parent: TrieNode | null) {
    this.token = token;
    this.parent = parent;
  }

  child(token: string): TrieNode {
    let node = this.children.get(token);
    if (node === undefined) {
      node = new TrieNode(token, this);
      this.children.set(token, node);
    }
    return node;
  }
}

/** Parses type descriptors of one graph and interns their canonical forms. */
export class TypeInterner {
  private readonly root = new TrieNode("", null);

  /** Validates a DataTypeDescriptor and returns its canonical form. */
  parse(value: JsonValue, path: JsonPath): CanonicalType {
    const { variant, content } = readEnum(value, "DataTypeDescriptor", DATA_TYPE_VARIANTS, path);
    path.push(variant);
    const node = parseValueType(content, path, this.root.child(variant));
    path.pop();
    return (node.canonical ??= canonicalForm(node));
  }
}

function parseValueType(value: JsonValue, path: JsonPath, node: TrieNode): TrieNode {
  const { variant, content } = readEnum(value, "ValueTypeDescriptor", VALUE_VARIANTS, path);
  path.push(variant);
  let next = node.child(variant);
  switch (variant) {
    case "Primitive":
      next = parsePrimitive(content, path, next);
      break;
    case "Bytes":
      readStruct(content, "BytesTypeDescriptor", [], path); // a struct with no fields: `{}` or `[]`
      break;
    case "Struct": {
      const name = readString(content, path);
      if (name.length === 0) {
        throw path.error("empty struct name is not allowed");
      }
      next = next.child(STRUCT_NAME_PREFIX + name);
      break;
    }
    case "List":
      next = parseValueType(content, path, next);
      break;
    default: {
      const [key, val] = readStruct(content, "Map", MAP_FIELDS, path);
      if (key === undefined) {
        throw path.error("missing field `key`");
      }
      if (val === undefined) {
        throw path.error("missing field `value`");
      }
      path.push("key");
      next = parseMapKey(key, path, next);
      path.pop();
      path.push("value");
      next = parseValueType(val, path, next);
      path.pop();
    }
  }
  path.pop();
  return next;
}

function parsePrimitive(value: JsonValue, path: JsonPath, node: TrieNode): TrieNode {
  const { variant, content } = readEnum(value, "PrimitiveTypeDescriptor", PRIMITIVE_VARIANTS, path);
  if (variant === "Boolean") {
    return node.child(variant);
  }
  path.push(variant);
  const width =
    variant === "Int"
      ? readEnum(content, "IntTypeDescriptor", INT_VARIANTS, path).variant
      : readEnum(content, "FloatTypeDescriptor", FLOAT_VARIANTS, path).variant;
  path.pop();
  return node.child(variant).child(width);
}

function parseMapKey(value: JsonValue, path: JsonPath, node: TrieNode): TrieNode {
  const { variant, content } = readEnum(value, "MapKeyTypeDescriptor", MAP_KEY_VARIANTS, path);
  path.push(variant);
  let next: TrieNode;
  if (variant === "Int") {
    next = node.child("Int").child(readEnum(content, "IntTypeDescriptor", INT_VARIANTS, path).variant);
  } else {
    readStruct(content, "BytesTypeDescriptor", [], path);
    next = node.child("Bytes");
  }
  path.pop();
  return next;
}

/** Number of sub-terms each token takes, for printing the pre-order token sequence. */
const ARITY: Readonly<Record<string, number>> = {
  Value: 1,
  SharedValue: 1,
  Primitive: 1,
  List: 1,
  Int: 1,
  Float: 1,
  Struct: 1,
  Map: 2,
};

function canonicalForm(leaf: TrieNode): string {
  const tokens: string[] = [];
  for (let node: TrieNode | null = leaf; node !== null && node.parent !== null; node = node.parent) {
    tokens.push(node.token);
  }
  tokens.reverse();
  let at = 0;
  const term = (): string => {
    const token = tokens[at++]!;
    if (token.startsWith(STRUCT_NAME_PREFIX)) {
      return JSON.stringify(token.slice(STRUCT_NAME_PREFIX.length));
    }
    const arity = ARITY[token] ?? 0;
    if (arity === 0) {
      return token;
    }
    const args: string[] = [];
    for (let i = 0; i < arity; i += 1) {
      args.push(term());
    }
    return `${token}(${args.join(",")})`;
  };
  return term();
}
