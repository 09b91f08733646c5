/**
 * A strict JSON reader (RFC 8259, as strict as Rust's serde_json) for
 * documents whose exact text matters. `JSON.parse` silently keeps the last of
 * duplicate keys and turns `1.0` into `1` (DECISIONS D15); this reader marks
 * every object that had duplicate keys (see {@link duplicateKeysOf}) and keeps
 * the text of every number that is not a small integer literal as a
 * {@link JsonNumber}, so `1.0`, `1e3`, `-0` and integers beyond 2^53 are not
 * mistaken for exact integers. Nesting is limited to serde_json's depth (127
 * containers), and lone UTF-16 surrogates are rejected as serde_json rejects
 * them.
 *
 * Speed: the common document has no duplicates, no such numbers and no
 * `\u` escape of a lone surrogate. A single allocation-free scan checks that
 * (and the nesting and the number of values, before anything is built), and
 * then the native `JSON.parse` builds the value (several times faster than a
 * parser in JS). Only documents the scan flags go through the JS parser here.
 * (JSON.parse with a reviver reading `context.source` reads number literals
 * exactly but cannot see duplicate keys, and it took 2.2× the CPU time of the
 * JS parser on task graphs with such numbers: bench/micro/strict-json.ts.)
 */
import { invalidArgument, type StorageError } from "./errors.ts";

/** An object; when its text had duplicate keys, the last value is kept and {@link duplicateKeysOf} names them. */
export interface JsonObject {
  [key: string]: JsonValue;
}

const DUPLICATE_KEYS: unique symbol = Symbol("duplicate JSON keys");

/** Keys that appeared more than once in this object's text, or undefined when none did. */
export function duplicateKeysOf(object: JsonObject): readonly string[] | undefined {
  return (object as { [DUPLICATE_KEYS]?: string[] })[DUPLICATE_KEYS];
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

/**
 * A number literal kept as text: anything with a fraction or exponent, `-0`,
 * and integers too long to be exact as a JS number. Short integer literals
 * become plain numbers.
 */
export class JsonNumber {
  readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  /** True when the literal has no fraction or exponent (it may still be negative or huge). */
  get isIntegerLiteral(): boolean {
    return /^-?\d+$/.test(this.source);
  }
}

export type JsonValue = null | boolean | number | string | JsonNumber | JsonValue[] | JsonObject;

/** serde_json fails on the 128th nested container; so do we. */
export const MAX_JSON_NESTING = 127;

/** Integer literals up to this many characters are exact as a JS number. */
const MAX_EXACT_INTEGER_LITERAL = 15;

const CH_TAB = 0x09;
const CH_LF = 0x0a;
const CH_CR = 0x0d;
const CH_SPACE = 0x20;
const CH_QUOTE = 0x22;
const CH_COMMA = 0x2c;
const CH_MINUS = 0x2d;
const CH_DOT = 0x2e;
const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_COLON = 0x3a;
const CH_LBRACKET = 0x5b;
const CH_BACKSLASH = 0x5c;
const CH_RBRACKET = 0x5d;
const CH_LBRACE = 0x7b;
const CH_RBRACE = 0x7d;

/** Bounds checked by the scan before anything is built. */
export interface StrictJsonLimits {
  /** Most values (objects, arrays, strings, numbers, literals; keys not counted). Default: unbounded. */
  readonly maxValues?: number;
  /** The configuration key behind `maxValues`, named in the error. */
  readonly limitName?: string;
}

/**
 * Parses `text` as one JSON value. Throws StorageError("invalid_argument")
 * naming `what`, the problem and the line and column.
 *
 * An allocation-free scan runs first, so nothing is built for a document that
 * is too deep (it goes to our parser, which stops at the 128th level) or has
 * more values than `limits.maxValues` (refused by the scan itself): what
 * JSON.parse builds is bounded by the limits, not by the text's length.
 */
export function parseStrictJson(text: string, what = "JSON document", limits: StrictJsonLimits = {}): JsonValue {
  if (!text.isWellFormed()) {
    throw invalidArgument(`${what} is not valid JSON: it contains an unpaired UTF-16 surrogate`);
  }
  const maxValues = limits.maxValues ?? Number.POSITIVE_INFINITY;
  const verdict = scan(text, maxValues);
  if (verdict === TOO_MANY_VALUES) {
    throw invalidArgument(
      `${what} has more than ${maxValues} JSON values, above the limit of ${maxValues}` +
        (limits.limitName === undefined ? "" : ` (${limits.limitName})`),
    );
  }
  if (verdict === NEEDS_STRICT_PARSE) {
    return new Parser(text, what).parseDocument();
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    // Our parser words the error (with line and column); it cannot accept what JSON.parse rejects.
    new Parser(text, what).parseDocument();
    throw invalidArgument(`${what} is not valid JSON: ${(error as Error).message}`, error);
  }
}

/** Parses with the JS parser only (no JSON.parse fast path). For tests. */
export function parseStrictJsonSlowPath(text: string, what = "JSON document"): JsonValue {
  return new Parser(text, what).parseDocument();
}

const MAX_SCAN_KEYS = 16;

/** The scan's verdicts. */
const FAST_PATH_OK = 0;
const NEEDS_STRICT_PARSE = 1;
const TOO_MANY_VALUES = 2;
type ScanVerdict = typeof FAST_PATH_OK | typeof NEEDS_STRICT_PARSE | typeof TOO_MANY_VALUES;

/**
 * One pass over `text`, allocating nothing per token, before anything is
 * parsed. TOO_MANY_VALUES as soon as more than `maxValues` values are seen
 * (whether or not the text is valid JSON). NEEDS_STRICT_PARSE when JSON.parse
 * would misrepresent the text or must not be trusted with it: a duplicate key
 * (or an object with more keys than the scan tracks), a key with an escape, a
 * `\u` escape that is not hexadecimal or makes a lone surrogate (JSON.parse
 * accepts those), a number that is not a short integer literal, nesting beyond
 * the limit, or unbalanced brackets. Our parser then reads it (and words any
 * error). Otherwise FAST_PATH_OK.
 */
function scan(text: string, maxValues: number): ScanVerdict {
  const n = text.length;
  const slots = MAX_JSON_NESTING + 2;
  const isObject = new Uint8Array(slots);
  const keyCount = new Int32Array(slots);
  const keyStart = new Int32Array(slots * MAX_SCAN_KEYS);
  const keyLength = new Int32Array(slots * MAX_SCAN_KEYS);
  // (No text.indexOf to find the closing quote: under TurboFan, in some heap
  // states, it made this loop thousands of times slower.)
  let depth = 0;
  let expectKey = false;
  let values = 0;
  let strict = false;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === CH_QUOTE) {
      const start = i + 1;
      let j = start;
      let escaped = false;
      for (;;) {
        const d = text.charCodeAt(j);
        if (d === CH_QUOTE || j >= n) {
          break;
        }
        if (d === CH_BACKSLASH) {
          escaped = true;
          if (text.charCodeAt(j + 1) === 0x75) {
            const unit = hex4At(text, j + 2);
            if (unit >= 0xd800 && unit <= 0xdbff && text.charCodeAt(j + 6) === CH_BACKSLASH && text.charCodeAt(j + 7) === 0x75) {
              const low = hex4At(text, j + 8);
              if (low >= 0xdc00 && low <= 0xdfff) {
                j += 12; // a surrogate pair, as JSON.parse reads it
                continue;
              }
            }
            if (unit < 0 || (unit >= 0xd800 && unit <= 0xdfff)) {
              strict = true; // not hex, or a lone surrogate: our parser words the error
            }
          }
          j += 2;
          continue;
        }
        j += 1;
      }
      if (expectKey) {
        expectKey = false;
        const count = keyCount[depth]!;
        if (escaped || count >= MAX_SCAN_KEYS) {
          strict = true;
        } else if (!strict) {
          const length = j - start;
          const base = depth * MAX_SCAN_KEYS;
          for (let k = 0; k < count; k += 1) {
            if (keyLength[base + k] === length && sameChars(text, keyStart[base + k]!, start, length)) {
              strict = true;
              break;
            }
          }
          keyStart[base + count] = start;
          keyLength[base + count] = length;
          keyCount[depth] = count + 1;
        }
      } else if (++values > maxValues) {
        return TOO_MANY_VALUES;
      }
      i = j + 1;
    } else if (c === CH_LBRACE || c === CH_LBRACKET) {
      if (++values > maxValues) {
        return TOO_MANY_VALUES;
      }
      depth += 1;
      if (depth > MAX_JSON_NESTING) {
        return NEEDS_STRICT_PARSE; // our parser stops at this level, having built only what encloses it
      }
      isObject[depth] = c === CH_LBRACE ? 1 : 0;
      keyCount[depth] = 0;
      expectKey = c === CH_LBRACE;
      i += 1;
    } else if (c === CH_RBRACE || c === CH_RBRACKET) {
      depth -= 1;
      if (depth < 0) {
        return NEEDS_STRICT_PARSE; // unbalanced: our parser words the error
      }
      expectKey = false;
      i += 1;
    } else if (c === CH_COMMA) {
      expectKey = isObject[depth] === 1;
      i += 1;
    } else if (c === CH_MINUS || (c >= CH_0 && c <= CH_9)) {
      if (++values > maxValues) {
        return TOO_MANY_VALUES;
      }
      const start = i;
      i += 1;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d < CH_0 || d > CH_9) {
          break;
        }
        i += 1;
      }
      const d = text.charCodeAt(i);
      if (d === CH_DOT || d === 0x65 || d === 0x45 || i - start > MAX_EXACT_INTEGER_LITERAL) {
        strict = true;
      } else if (c === CH_MINUS && i - start === 2 && text.charCodeAt(start + 1) === CH_0) {
        strict = true; // -0 is a float to serde_json
      }
    } else {
      if ((c === 0x74 || c === 0x66 || c === 0x6e) && ++values > maxValues) {
        return TOO_MANY_VALUES; // true, false, null
      }
      i += 1;
    }
  }
  return strict ? NEEDS_STRICT_PARSE : FAST_PATH_OK;
}

/** The value of the four hex digits at `at`, or -1 when they are not four hex digits. */
function hex4At(text: string, at: number): number {
  let unit = 0;
  for (let k = at; k < at + 4; k += 1) {
    const c = text.charCodeAt(k); // NaN past the end: not a digit
    const lower = c | 0x20;
    if (c >= CH_0 && c <= CH_9) {
      unit = unit * 16 + (c - CH_0);
    } else if (lower >= 0x61 && lower <= 0x66) {
      unit = unit * 16 + (lower - 0x61 + 10);
    } else {
      return -1;
    }
  }
  return unit;
}

function sameChars(text: string, a: number, b: number, length: number): boolean {
  for (let m = 0; m < length; m += 1) {
    if (text.charCodeAt(a + m) !== text.charCodeAt(b + m)) {
      return false;
    }
  }
  return true;
}

/** Decodes UTF-8 strictly (invalid sequences are an error; a BOM is kept, so JSON parsing rejects it). */
export function decodeUtf8Strict(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw invalidArgument(`${what} is not valid UTF-8`, error);
  }
}

class Parser {
  private readonly text: string;
  private readonly what: string;
  private pos = 0;
  private depth = 0;

  constructor(text: string, what: string) {
    this.text = text;
    this.what = what;
  }

  parseDocument(): JsonValue {
    this.skipWhitespace();
    const value = this.parseValue();
    this.skipWhitespace();
    if (this.pos < this.text.length) {
      throw this.error("trailing characters after the JSON value");
    }
    return value;
  }

  private parseValue(): JsonValue {
    const text = this.text;
    if (this.pos >= text.length) {
      throw this.error("unexpected end of input, expected a value");
    }
    const c = text.charCodeAt(this.pos);
    switch (c) {
      case CH_LBRACE:
        return this.parseObject();
      case CH_LBRACKET:
        return this.parseArray();
      case CH_QUOTE:
        return this.parseString();
      case 0x74: // t
        return this.parseLiteral("true", true);
      case 0x66: // f
        return this.parseLiteral("false", false);
      case 0x6e: // n
        return this.parseLiteral("null", null);
      default:
        if (c === CH_MINUS || (c >= CH_0 && c <= CH_9)) {
          return this.parseNumber();
        }
        throw this.error("expected a value");
    }
  }

  private enter(): void {
    this.depth += 1;
    if (this.depth > MAX_JSON_NESTING) {
      throw this.error(`recursion limit exceeded (more than ${MAX_JSON_NESTING} nested arrays and objects)`);
    }
  }

  private parseObject(): JsonObject {
    this.enter();
    const object = Object.create(null) as JsonObject;
    this.pos += 1; // {
    this.skipWhitespace();
    if (this.peek() === CH_RBRACE) {
      this.pos += 1;
      this.depth -= 1;
      return object;
    }
    let duplicates: string[] | undefined;
    for (;;) {
      if (this.peek() !== CH_QUOTE) {
        throw this.error("expected a string key");
      }
      const key = this.parseString();
      this.skipWhitespace();
      if (this.peek() !== CH_COLON) {
        throw this.error("expected `:` after an object key");
      }
      this.pos += 1;
      this.skipWhitespace();
      const value = this.parseValue();
      if (Object.hasOwn(object, key)) {
        (duplicates ??= []).push(key);
      }
      object[key] = value; // null prototype: even "__proto__" is an own data property
      this.skipWhitespace();
      const next = this.peek();
      if (next === CH_COMMA) {
        this.pos += 1;
        this.skipWhitespace();
        continue;
      }
      if (next === CH_RBRACE) {
        this.pos += 1;
        this.depth -= 1;
        if (duplicates !== undefined) {
          Object.defineProperty(object, DUPLICATE_KEYS, { value: duplicates, enumerable: false });
        }
        return object;
      }
      throw this.error("expected `,` or `}` in an object");
    }
  }

  private parseArray(): JsonValue[] {
    this.enter();
    const array: JsonValue[] = [];
    this.pos += 1; // [
    this.skipWhitespace();
    if (this.peek() === CH_RBRACKET) {
      this.pos += 1;
      this.depth -= 1;
      return array;
    }
    for (;;) {
      array.push(this.parseValue());
      this.skipWhitespace();
      const next = this.peek();
      if (next === CH_COMMA) {
        this.pos += 1;
        this.skipWhitespace();
        continue;
      }
      if (next === CH_RBRACKET) {
        this.pos += 1;
        this.depth -= 1;
        return array;
      }
      throw this.error("expected `,` or `]` in an array");
    }
  }

  private parseString(): string {
    const text = this.text;
    let pos = this.pos + 1; // opening quote
    let start = pos;
    let result = "";
    for (;;) {
      if (pos >= text.length) {
        this.pos = pos;
        throw this.error("unterminated string");
      }
      const c = text.charCodeAt(pos);
      if (c === CH_QUOTE) {
        result += text.slice(start, pos);
        this.pos = pos + 1;
        return result;
      }
      if (c < 0x20) {
        this.pos = pos;
        throw this.error("control character in a string (must be escaped)");
      }
      if (c !== CH_BACKSLASH) {
        pos += 1;
        continue;
      }
      result += text.slice(start, pos);
      this.pos = pos;
      const escape = pos + 1 < text.length ? text.charCodeAt(pos + 1) : -1;
      pos += 2;
      switch (escape) {
        case 0x22:
          result += '"';
          break;
        case 0x5c:
          result += "\\";
          break;
        case 0x2f:
          result += "/";
          break;
        case 0x62:
          result += "\b";
          break;
        case 0x66:
          result += "\f";
          break;
        case 0x6e:
          result += "\n";
          break;
        case 0x72:
          result += "\r";
          break;
        case 0x74:
          result += "\t";
          break;
        case 0x75: {
          const unit = this.readHex4(pos);
          pos += 4;
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (text.charCodeAt(pos) !== CH_BACKSLASH || text.charCodeAt(pos + 1) !== 0x75) {
              throw this.error("lone leading surrogate in a \\u escape");
            }
            const low = this.readHex4(pos + 2);
            if (low < 0xdc00 || low > 0xdfff) {
              throw this.error("invalid trailing surrogate in a \\u escape");
            }
            pos += 6;
            result += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            throw this.error("lone trailing surrogate in a \\u escape");
          } else {
            result += String.fromCharCode(unit);
          }
          break;
        }
        default:
          throw this.error("invalid escape in a string");
      }
      start = pos;
    }
  }

  private readHex4(at: number): number {
    const hex = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
      throw this.error("invalid \\u escape");
    }
    return Number.parseInt(hex, 16);
  }

  private parseNumber(): number | JsonNumber {
    const text = this.text;
    const start = this.pos;
    let pos = start;
    if (text.charCodeAt(pos) === CH_MINUS) {
      pos += 1;
    }
    const first = text.charCodeAt(pos);
    if (first === CH_0) {
      pos += 1;
    } else if (first > CH_0 && first <= CH_9) {
      pos = this.skipDigits(pos);
    } else {
      this.pos = pos;
      throw this.error("invalid number");
    }
    let integer = true;
    if (text.charCodeAt(pos) === CH_DOT) {
      integer = false;
      const afterDot = pos + 1;
      pos = this.skipDigits(afterDot);
      if (pos === afterDot) {
        this.pos = pos;
        throw this.error("invalid number: expected a digit after `.`");
      }
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      integer = false;
      pos += 1;
      const sign = text.charCodeAt(pos);
      if (sign === 0x2b || sign === CH_MINUS) {
        pos += 1;
      }
      const expStart = pos;
      pos = this.skipDigits(pos);
      if (pos === expStart) {
        this.pos = pos;
        throw this.error("invalid number: expected a digit in the exponent");
      }
    }
    this.pos = pos;
    const source = text.slice(start, pos);
    if (integer && source.length <= MAX_EXACT_INTEGER_LITERAL && source !== "-0") {
      return Number(source);
    }
    return new JsonNumber(source);
  }

  private skipDigits(pos: number): number {
    const text = this.text;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c < CH_0 || c > CH_9) {
        break;
      }
      pos += 1;
    }
    return pos;
  }

  private parseLiteral<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) {
      throw this.error("expected a value");
    }
    this.pos += word.length;
    return value;
  }

  private peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  private skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== CH_SPACE && c !== CH_LF && c !== CH_CR && c !== CH_TAB) {
        break;
      }
      pos += 1;
    }
    this.pos = pos;
  }

  private error(message: string): StorageError {
    let line = 1;
    let lineStart = 0;
    const end = Math.min(this.pos, this.text.length);
    for (let i = 0; i < end; i += 1) {
      if (this.text.charCodeAt(i) === CH_LF) {
        line += 1;
        lineStart = i + 1;
      }
    }
    return invalidArgument(
      `${this.what} is not valid JSON: ${message} at line ${line} column ${end - lineStart + 1}`,
    );
  }
}

/** Converts to what JSON.parse returns (JsonNumber → number; the last of duplicate keys). For tests and diagnostics. */
export function toPlainJson(value: JsonValue): unknown {
  if (value instanceof JsonNumber) {
    return Number(value.source);
  }
  if (Array.isArray(value)) {
    return value.map(toPlainJson);
  }
  if (value !== null && typeof value === "object") {
    const result: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(result, key, {
        value: toPlainJson(value[key]!),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }
  return value;
}
