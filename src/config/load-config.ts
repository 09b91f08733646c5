/**
 * Resolves the configuration from its layers (DECISIONS D10):
 * flag > environment > YAML file > default.
 *
 * - File: Spider's storage.yaml loads unchanged. Unknown keys are ignored, as
 *   Spider ignores them, but each one is reported as a warning (a typo should
 *   not pass silently).
 * - Environment: `SPIDER_STORAGE_` + the key path in capitals with `__` between
 *   levels (`SPIDER_STORAGE_RUNTIME__RECOVERY__PAGE_SIZE`, `SPIDER_STORAGE_PORT`).
 *   Empty values count as unset. Other `SPIDER_STORAGE_*` names are ignored: the
 *   prefix is shared with Spider's compose variables (`SPIDER_STORAGE_DB_MAX_CONNECTIONS`);
 *   a name that contains `__` but matches no key is reported as a warning.
 *   Spider's `SPIDER_STORAGE_DB_USERNAME` / `SPIDER_STORAGE_DB_PASSWORD` supply the
 *   credentials when `runtime.db` is given without `credentials`, exactly as in
 *   Spider (both must be set then).
 * - Flags: by dotted key path (`{ port: "50051", database_url: … }`).
 *
 * The database: `database_url` (flag, then environment, then file), else
 * `runtime.db.*` (→ mysql://user:password@host:port/name; with `runtime.db.hosts`,
 * mysql://user:password@h1:p1,h2:p2/name), else the embedded MariaDB in `data_dir`.
 *
 * Errors name every bad key, why, and where the value came from; they are
 * thrown together as one {@link ConfigError}.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createRequire } from "node:module";
import type * as Yaml from "yaml";
import * as v from "valibot";
import { buildDatabaseUrl, parseHostEntry, redactDatabaseUrl } from "../core/database-url.ts";
import { configSchema, configKeys, envNameOf, lookupKey, type Config, type DatabaseTarget, type ParsedConfig } from "./schema.ts";

export const DB_USERNAME_ENV = "SPIDER_STORAGE_DB_USERNAME";
export const DB_PASSWORD_ENV = "SPIDER_STORAGE_DB_PASSWORD";
const ENV_PREFIX = "SPIDER_STORAGE_";

export interface ResolveConfigInput {
  /** Values from the command line by dotted key path; `undefined` means not given. */
  readonly flags?: Readonly<Record<string, unknown>>;
  /** The environment (normally `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The YAML file (`--config`). */
  readonly configPath?: string;
  /** Base of relative paths (data_dir, socket_dir, bin_dir); default `process.cwd()`. */
  readonly cwd?: string;
}

export interface LoadedConfig {
  readonly config: Config;
  /** Things worth logging once the logger exists: unknown keys, ignored settings. */
  readonly warnings: readonly string[];
}

/** Invalid configuration: one line per problem, each naming its key. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? `invalid configuration: ${problems[0]}` : `invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

type Tree = Record<string, unknown>;

const isTree = (value: unknown): value is Tree => typeof value === "object" && value !== null && !Array.isArray(value);

export function resolveConfig(input: ResolveConfigInput = {}): LoadedConfig {
  const env = input.env ?? {};
  const warnings: string[] = [];
  /** Where each leaf's value came from, for error messages. */
  const sources = new Map<string, string>();
  let raw: Tree = {};

  // File.
  if (input.configPath !== undefined) {
    raw = loadYamlFile(input.configPath);
    for (const path of leafPaths(raw)) {
      const known = lookupKey(path);
      if (known === undefined) warnings.push(`config file ${input.configPath}: unknown key ${path.join(".")} ignored`);
      sources.set(path.join("."), input.configPath);
    }
  }

  // Environment.
  const envPaths = new Map(configKeys().map((k) => [envNameOf(k.path), k.path]));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || value === "") continue;
    const path = envPaths.get(name);
    if (path !== undefined) {
      setPath(raw, path.split("."), value);
      sources.set(path, name);
    } else if (name.includes("__")) {
      warnings.push(`environment variable ${name} names no configuration key; ignored`);
    }
  }

  // Flags.
  for (const [path, value] of Object.entries(input.flags ?? {})) {
    if (value === undefined) continue;
    const known = lookupKey(path.split("."));
    if (known === undefined || known === "section") throw new Error(`flag for unknown configuration key ${path}`);
    setPath(raw, path.split("."), value);
    sources.set(path, path.includes(".") ? `flag for ${path}` : `--${path.replace(/_/g, "-")}`);
  }

  // Spider's credential variables: only when runtime.db is given without credentials.
  let missingCredentialEnv: string | undefined;
  const rawDb = isTree(raw["runtime"]) ? (raw["runtime"] as Tree)["db"] : undefined;
  if (isTree(rawDb) && rawDb["credentials"] === undefined) {
    const username = env[DB_USERNAME_ENV];
    const password = env[DB_PASSWORD_ENV];
    if (username !== undefined && password !== undefined) {
      rawDb["credentials"] = { username, password };
      sources.set("runtime.db.credentials.username", DB_USERNAME_ENV);
      sources.set("runtime.db.credentials.password", DB_PASSWORD_ENV);
    } else {
      missingCredentialEnv = username === undefined ? DB_USERNAME_ENV : DB_PASSWORD_ENV;
    }
  }

  const result = v.safeParse(configSchema, raw);
  if (!result.success) {
    const problems = [...new Set(result.issues.map((issue) => describeIssue(issue, raw, sources)))];
    throw new ConfigError(problems);
  }
  const parsed = result.output;
  const database = resolveDatabase(parsed, raw, sources, missingCredentialEnv, input.cwd ?? process.cwd(), warnings);
  return { config: { ...parsed, database }, warnings };
}

function resolveDatabase(
  parsed: ParsedConfig,
  raw: Tree,
  sources: Map<string, string>,
  missingCredentialEnv: string | undefined,
  cwd: string,
  warnings: string[],
): DatabaseTarget {
  const rawDb = isTree(raw["runtime"]) ? (raw["runtime"] as Tree)["db"] : undefined;
  // runtime.db selects a database when it says which one; max_connections alone only sizes the pool.
  const dbGiven = isTree(rawDb) && Object.keys(rawDb).some((k) => k !== "max_connections" && k !== "credentials");
  const dataDirGiven = sources.has("data_dir");
  let target: DatabaseTarget;
  if (parsed.database_url !== undefined) {
    const source = sources.get("database_url") ?? "database_url";
    if (dbGiven) warnings.push(`runtime.db is ignored: database_url (from ${source}) takes precedence`);
    target = { kind: "url", url: parsed.database_url, source };
  } else if (dbGiven) {
    const db = parsed.runtime.db;
    const problems: string[] = [];
    if (db.host === undefined && db.hosts === undefined) {
      problems.push("runtime.db.host: required when runtime.db is given (a host name or IP address; or runtime.db.hosts, a list of them)");
    }
    if (db.host !== undefined && db.hosts !== undefined) warnings.push("runtime.db.host is ignored: runtime.db.hosts is given");
    if (db.name === undefined) problems.push("runtime.db.name: required when runtime.db is given (the database name)");
    if (db.credentials === undefined) {
      problems.push(
        `runtime.db.credentials: not given, and the required environment variable \`${missingCredentialEnv ?? DB_USERNAME_ENV}\` is not set ` +
          `(give runtime.db.credentials, or set both ${DB_USERNAME_ENV} and ${DB_PASSWORD_ENV})`,
      );
    }
    if (problems.length > 0) throw new ConfigError(problems);
    target = {
      kind: "url",
      url: buildDatabaseUrl({
        hosts: db.hosts !== undefined ? db.hosts.map((entry) => parseHostEntry(entry, db.port)) : [{ host: db.host!, port: db.port }],
        name: db.name!,
        ...db.credentials!,
      }),
      source: "runtime.db",
    };
  } else {
    const embedded = parsed.runtime.embedded;
    return {
      kind: "embedded",
      data_dir: resolve(cwd, parsed.data_dir),
      socket_dir: embedded.socket_dir === undefined ? undefined : resolve(cwd, embedded.socket_dir),
      bin_dir: embedded.bin_dir === undefined ? undefined : resolve(cwd, embedded.bin_dir),
    };
  }
  if (dataDirGiven) warnings.push(`data_dir (from ${sources.get("data_dir")}) is ignored: a database is configured (${target.source})`);
  return target;
}

/** A copy safe to log: passwords and tokens replaced. */
export function redactConfig(config: Config): unknown {
  const copy = structuredClone(config) as Config & Record<string, unknown>;
  const mask = (url: string) => {
    try {
      const parsed = new URL(url);
      if (parsed.password) parsed.password = "***";
      return parsed.toString();
    } catch {
      // A host list is no URL to the URL standard.
      return redactDatabaseUrl(url);
    }
  };
  const mutable = copy as unknown as {
    database_url?: string;
    database: { kind: string; url?: string };
    runtime: { db: { credentials?: { password: string } }; admin: { token?: string } };
  };
  if (mutable.database_url !== undefined) mutable.database_url = mask(mutable.database_url);
  if (mutable.database.url !== undefined) mutable.database.url = mask(mutable.database.url);
  if (mutable.runtime.db.credentials) mutable.runtime.db.credentials.password = "***";
  if (mutable.runtime.admin.token !== undefined) mutable.runtime.admin.token = "***";
  return copy;
}

// ---- helpers -------------------------------------------------------------------------------

function loadYamlFile(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([`config file ${path}: ${code === "ENOENT" ? "not found" : (error as Error).message}`]);
  }
  let document: unknown;
  try {
    // Loaded only when a file is given: most starts have none (issue 20.5).
    const { parse: parseYaml } = createRequire(import.meta.url)("yaml") as typeof Yaml;
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError([`config file ${path}: not valid YAML: ${(error as Error).message.split("\n")[0]}`]);
  }
  if (document === null || document === undefined) return {};
  if (!isTree(document)) throw new ConfigError([`config file ${path}: expected a mapping of keys at the top level`]);
  return dropNulls(document);
}

/** `key:` with no value (null) counts as absent, so an empty section is an omitted one. */
function dropNulls(tree: Tree): Tree {
  const out: Tree = {};
  for (const [k, v] of Object.entries(tree)) {
    if (v === null) continue;
    out[k] = isTree(v) ? dropNulls(v) : v;
  }
  return out;
}

/** Paths of the leaves (non-mapping values) of a tree, and of keys the schema does not know. */
function leafPaths(tree: Tree, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(tree)) {
    const path = [...prefix, k];
    const known = lookupKey(path);
    if (isTree(v) && known === "section") out.push(...leafPaths(v, path));
    else out.push(path);
  }
  return out;
}

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const part of path.slice(0, -1)) {
    if (!isTree(node[part])) node[part] = {};
    node = node[part] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

function getPath(tree: unknown, path: readonly (string | number)[]): unknown {
  let node = tree;
  for (const part of path) {
    if (!isTree(node)) return undefined;
    node = node[String(part)];
  }
  return node;
}

function show(value: unknown, secret: boolean): string {
  if (value === undefined) return "nothing";
  if (secret) return `a hidden ${typeof value}`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

function describeIssue(issue: v.BaseIssue<unknown>, raw: Tree, sources: Map<string, string>): string {
  const path = (issue.path ?? []).map((item) => String(item.key));
  const dotted = path.length > 0 ? path.join(".") : "(top level)";
  const source = sources.get(dotted);
  const from = source ? ` (from ${source})` : "";
  // A section's own rule across its keys (schema.ts, crossCheck) says what is wrong itself.
  if (issue.type === "raw_check") return `${dotted}: ${issue.message}`;
  const node = lookupKey(path);
  const value = getPath(raw, path);
  if (node === "section") return `${dotted}: expected a mapping of keys, got ${show(value, false)}${from}`;
  if (node !== undefined) {
    if (value === undefined) return `${dotted}: required (${node.expected})`;
    return `${dotted}: expected ${node.expected}, got ${show(value, node.secret === true)}${from}`;
  }
  return `${dotted}: ${issue.message}${from}`;
}
