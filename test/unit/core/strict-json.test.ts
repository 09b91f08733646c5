/**
 * The strict JSON reader: same values as JSON.parse where JSON.parse is right,
 * and exact where it is not (duplicate keys, number literals, lone
 * surrogates, nesting), on both the fast path and the JS parser.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  duplicateKeysOf,
  isJsonObject,
  JsonNumber,
  parseStrictJson,
  parseStrictJsonSlowPath,
  toPlainJson,
  type JsonObject,
} from "../../../src/core/strict-json.ts";
import { expectInvalid } from "./helpers.ts";

const parsers = [
  ["fast path", parseStrictJson],
  ["JS parser", parseStrictJsonSlowPath],
] as const;

describe.each(parsers)("%s", (_name, parse) => {
  it("agrees with JSON.parse on arbitrary JSON (property)", () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), (text) => {
        expect(toPlainJson(parse(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it("agrees with JSON.parse on arbitrary Unicode JSON (property)", () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 3, stringUnit: "grapheme" }), (text) => {
        expect(toPlainJson(parse(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 200 },
    );
  });

  it("keeps short integer literals as numbers and others as text", () => {
    expect(parse("[0, -7, 123456789012345]")).toEqual([0, -7, 123456789012345]);
    const [float, exp, negZero, long, negLong] = parse("[1.0, 1e3, -0, 1234567890123456, -123456789012345]") as JsonNumber[];
    expect(float).toBeInstanceOf(JsonNumber);
    expect(float!.source).toBe("1.0");
    expect(float!.isIntegerLiteral).toBe(false);
    expect(exp!.source).toBe("1e3");
    expect(negZero!.source).toBe("-0");
    expect(negZero!.isIntegerLiteral).toBe(true);
    expect(long!.source).toBe("1234567890123456");
    expect(long!.isIntegerLiteral).toBe(true);
    expect(negLong!.source).toBe("-123456789012345");
  });

  it("marks duplicate keys and keeps the last value", () => {
    const value = parse('{"a":1,"b":2,"a":3,"a":4}') as JsonObject;
    expect(value["a"]).toBe(4);
    expect(duplicateKeysOf(value)).toEqual(["a", "a"]);
    expect(Object.keys(value)).toEqual(["a", "b"]);
    const nested = parse('[{"x":{"k":1,"k":2}}]') as JsonObject[];
    expect(duplicateKeysOf(nested[0]!["x"] as JsonObject)).toEqual(["k"]);
    expect(duplicateKeysOf(nested[0]!)).toBeUndefined();
    expect(duplicateKeysOf(parse('{"\\u0061":1,"a":2}') as JsonObject)).toEqual(["a"]);
  });

  it("treats __proto__ as an ordinary key", () => {
    const value = parse('{"__proto__":{"polluted":true},"x":1}') as JsonObject;
    expect(Object.hasOwn(value, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(isJsonObject(value["__proto__"])).toBe(true);
  });

  it.each([
    ['"\\ud800"', "lone leading surrogate"],
    ['"\\ud800\\u0041"', "invalid trailing surrogate"],
    ['"\\udc00"', "lone trailing surrogate"],
    ['"\\ud800\\ud800\\udc00"', "invalid trailing surrogate"],
    ['"\\udc00\\ud800"', "lone trailing surrogate"],
    ['["\\ud83d\\ude00", "x\\uDBFF"]', "lone leading surrogate"],
    ['"\\ud800\\u"', "invalid \\u escape"],
    ['"\\u00"', "invalid \\u escape"],
    ['"a\u0001b"', "control character"],
    ['"\\x41"', "invalid escape"],
    ['"\\u12G4"', "invalid \\u escape"],
    ['"abc', "unterminated string"],
    ["[1,]", "expected a value"],
    ['{"a":1,}', "expected a string key"],
    ['{"a" 1}', "expected `:`"],
    ["[1 2]", "expected `,` or `]`"],
    ['{"a":1 "b":2}', "expected `,` or `}`"],
    ["01", "trailing characters"],
    ["1.", "expected a digit after `.`"],
    ["1e", "expected a digit in the exponent"],
    ["-", "invalid number"],
    ["+1", "expected a value"],
    ["NaN", "expected a value"],
    ["tru", "expected a value"],
    ["", "unexpected end of input"],
    ["   ", "unexpected end of input"],
    ["[] []", "trailing characters"],
  ])("rejects %j", (text, message) => {
    expectInvalid(() => parse(text, "doc"), message);
  });

  it("accepts nesting to 127 levels and no deeper", () => {
    expect(parse(`${"[".repeat(127)}${"]".repeat(127)}`)).toBeDefined();
    expectInvalid(() => parse(`${"[".repeat(128)}${"]".repeat(128)}`), "recursion limit exceeded");
    expectInvalid(() => parse(`${'{"a":'.repeat(200)}1${"}".repeat(200)}`), "recursion limit exceeded");
  });
});

describe("parseStrictJson", () => {
  it("reports line and column", () => {
    expectInvalid(() => parseStrictJson('{\n  "a": [1,\n    x]\n}', "graph"), "graph is not valid JSON: expected a value at line 3 column 5");
  });

  it("rejects a raw unpaired surrogate in the text", () => {
    expectInvalid(() => parseStrictJson('"\ud800"'), "unpaired UTF-16 surrogate");
  });

  it("reads well-formed \\u escapes in values with JSON.parse alone", () => {
    const parse = vi.spyOn(JSON, "parse");
    try {
      const text = '{"s":"\\u00e9\\ud83d\\ude00\\uD83D\\uDE00\\\\u0041\\u0022","t":["\\u0000"]}';
      const value = parseStrictJson(text) as JsonObject;
      expect(parse).toHaveBeenCalledTimes(1);
      expect(value["s"]).toBe("\u00e9\u{1f600}\u{1f600}\\u0041\"");
      expect(value["t"]).toEqual(["\u0000"]);
      expect(toPlainJson(parseStrictJsonSlowPath(text))).toEqual(value);
    } finally {
      parse.mockRestore();
    }
  });

  it("refuses a \\u escape that makes a lone surrogate, and reads every other one (property)", () => {
    // Surrogates are weighted up, so that pairs, lone halves and pairs in the wrong order all come up.
    const unit = fc
      .oneof(
        fc.integer({ min: 0xd800, max: 0xdbff }),
        fc.integer({ min: 0xdc00, max: 0xdfff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.constantFrom(0x41, 0x22, 0x5c),
      )
      .map((code) => String.fromCharCode(code));
    const escapeAll = (s: string, upper: boolean): string =>
      s.replace(/[^\x20-\x7e]|["\\]/g, (c) => {
        const hex = c.charCodeAt(0).toString(16).padStart(4, "0");
        return `\\u${upper ? hex.toUpperCase() : hex}`;
      });
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 8 }), fc.boolean(), (s, upper) => {
        const text = `["${escapeAll(s, upper)}", 1]`;
        if (s.isWellFormed()) {
          expect(parseStrictJson(text)).toEqual([s, 1]);
        } else {
          expectInvalid(() => parseStrictJson(text), "surrogate");
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("takes the JS parser for objects with many keys, and still finds duplicates", () => {
    const keys = Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`);
    const value = parseStrictJson(`{${keys.join(",")},"k3":99}`) as JsonObject;
    expect(value["k3"]).toBe(99);
    expect(duplicateKeysOf(value)).toEqual(["k3"]);
    expect(duplicateKeysOf(parseStrictJson(`{${keys.join(",")}}`) as JsonObject)).toBeUndefined();
  });
});
