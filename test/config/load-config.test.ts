/**
 * Configuration (DECISIONS D10): precedence flag > env > file > default, errors
 * that name the key, Spider's own storage.yaml and credential variables.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError, redactConfig, resolveConfig, type ResolveConfigInput } from "../../src/config/load-config.ts";
import { configKeys, envNameOf, type KeyInfo } from "../../src/config/schema.ts";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";

const dir = mkdtempSync(join(tmpdir(), "sscfg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

function yamlFile(text: string): string {
  const path = join(dir, `config-${fileCount++}.yaml`);
  writeFileSync(path, text);
  return path;
}

function errorOf(input: ResolveConfigInput): ConfigError {
  try {
    resolveConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

/** A nested object setting `path` to `value`. */
function tree(path: string, value: unknown): Record<string, unknown> {
  return path
    .split(".")
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

describe("resolveConfig", () => {
  it("gives the defaults when nothing is configured, and the embedded database in ./.spider-storage", () => {
    const { config, warnings } = resolveConfig({ cwd: "/srv/app" });
    expect(warnings).toEqual([]);
    expect(config.host).toBe("127.0.0.1");
    expect(config.port).toBe(50051);
    expect(config.runtime.task_instance_pool).toEqual({
      execution_manager_stale_cutoff_sec: 10,
      gc_interval_sec: 1,
      gc_interval_ms: 1000,
      message_channel_capacity: 128,
    });
    expect(config.runtime.job_cache_gc).toEqual({ terminated_job_retention_sec: 300, gc_interval_sec: 30 });
    expect(config.runtime.limits.max_request_bytes).toBe(64 * 1024 * 1024);
    expect(config.runtime.gc.retention_sec).toBe(7 * 24 * 3600);
    expect(config.runtime.shutdown.deadline_ms).toBe(10_000);
    expect(config.database).toEqual({ kind: "embedded", data_dir: "/srv/app/.spider-storage", socket_dir: undefined, bin_dir: undefined });
  });

  it("takes flag over environment over file over default", () => {
    const configPath = yamlFile(
      ["port: 1000", "log_level: debug", "runtime:", "  recovery:", "    page_size: 10", "  queue:", "    linger_ms: 7"].join("\n"),
    );
    const env = { SPIDER_STORAGE_PORT: "2000", SPIDER_STORAGE_RUNTIME__RECOVERY__PAGE_SIZE: "20", SPIDER_STORAGE_HOST: "::1" };
    const { config } = resolveConfig({ configPath, env, flags: { port: "3000", host: undefined } });
    expect(config.port).toBe(3000); // flag
    expect(config.host).toBe("::1"); // env (the flag was not given)
    expect(config.runtime.recovery.page_size).toBe(20); // env over file
    expect(config.runtime.queue.linger_ms).toBe(7); // file
    expect(config.log_level).toBe("debug"); // file
    expect(config.runtime.recovery.concurrency).toBe(4); // default
    // An empty variable counts as unset.
    expect(resolveConfig({ configPath, env: { SPIDER_STORAGE_PORT: "" } }).config.port).toBe(1000);
  });

  it("says which key is bad, why, and where the value came from", () => {
    expect(errorOf({ env: { SPIDER_STORAGE_RUNTIME__DB__PORT: "abc" } }).message).toBe(
      'invalid configuration: runtime.db.port: expected an integer 0..65535, got "abc" (from SPIDER_STORAGE_RUNTIME__DB__PORT)',
    );
    expect(errorOf({ flags: { port: "70000" } }).problems).toEqual(['port: expected an integer 0..65535, got "70000" (from --port)']);
    const configPath = yamlFile('host: localhost\nruntime:\n  metrics:\n    enabled: maybe\n');
    expect(errorOf({ configPath }).problems).toEqual([
      `host: expected an IP address literal (v4 or v6; host names are not accepted, as in Spider), got "localhost" (from ${configPath})`,
      `runtime.metrics.enabled: expected true or false, got "maybe" (from ${configPath})`,
    ]);
    expect(errorOf({ configPath: yamlFile("runtime: 5\n") }).problems[0]).toMatch(/^runtime: expected a mapping of keys, got 5/);
    // Secrets are not echoed.
    expect(errorOf({ configPath: yamlFile("runtime:\n  admin:\n    token: 12345\n") }).problems[0]).toMatch(
      /^runtime\.admin\.token: expected a non-empty string, got a hidden number/,
    );
  });

  // Every key, through the file and through its environment variable: the error names the key.
  const keys = configKeys();
  const badValue = (key: KeyInfo): { file: unknown; env: string | undefined } => {
    const expected = key.meta.expected;
    if (expected.startsWith("an integer") || expected.startsWith("a positive integer")) return { file: "abc", env: "12x" };
    if (expected === "true or false") return { file: "maybe", env: "maybe" };
    if (expected.startsWith("an IP address")) return { file: "localhost", env: "example.org" };
    if (expected.startsWith("one of")) return { file: "loud", env: "loud" };
    if (expected.startsWith("a mysql://")) return { file: "http://db/x", env: "postgres://db/x" };
    // Strings: a number in YAML is not a string; every environment value is one.
    return { file: 42, env: undefined };
  };

  it.each(keys.map((k) => [k.path, k] as const))("rejects a bad %s, naming it", (path, key) => {
    const bad = badValue(key);
    const fileTree = tree(path, bad.file);
    // runtime.db.credentials.* need their sibling, else only "required" would be reported.
    if (path === "runtime.db.credentials.username") (fileTree as any).runtime.db.credentials.password = "x";
    if (path === "runtime.db.credentials.password") (fileTree as any).runtime.db.credentials.username = "x";
    const configPath = yamlFile(JSON.stringify(fileTree));
    const fromFile = errorOf({ configPath });
    expect(fromFile.problems.some((p) => p.startsWith(`${path}: expected ${key.meta.expected}, got `)), fromFile.message).toBe(true);
    if (bad.env !== undefined) {
      const fromEnv = errorOf({ env: { [envNameOf(path)]: bad.env } });
      expect(fromEnv.problems).toEqual([expect.stringContaining(`${path}: expected ${key.meta.expected}, got `)]);
      expect(fromEnv.problems[0]).toContain(`(from ${envNameOf(path)})`);
    }
  });

  it("accepts every key's valid spelling from the environment", () => {
    const env = {
      SPIDER_STORAGE_RUNTIME__CHECKPOINTS__ENABLED: "false",
      SPIDER_STORAGE_RUNTIME__METRICS__ENABLED: "yes",
      SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__GC_INTERVAL_MS: "250",
      SPIDER_STORAGE_RUNTIME__LIMITS__MAX_PAYLOAD_BYTES_PER_JOB: "4294967296",
      SPIDER_STORAGE_LOG_LEVEL: "warn",
    };
    const { config } = resolveConfig({ env });
    expect(config.runtime.checkpoints.enabled).toBe(false);
    expect(config.runtime.metrics.enabled).toBe(true);
    expect(config.runtime.task_instance_pool.gc_interval_ms).toBe(250);
    expect(config.runtime.task_instance_pool.gc_interval_sec).toBe(1);
    expect(config.runtime.limits.max_payload_bytes_per_job).toBe(4294967296);
    expect(config.log_level).toBe("warn");
  });

  it("warns about unknown keys and ignores them, as Spider ignores them", () => {
    const configPath = yamlFile("port: 50051\nprot: 1\nruntime:\n  recovery:\n    pagesize: 3\n  frobnicate: {a: 1}\n");
    const { config, warnings } = resolveConfig({
      configPath,
      env: { SPIDER_STORAGE_RUNTIME__RECOVERY__PAGESIZE: "1", SPIDER_STORAGE_DB_MAX_CONNECTIONS: "64", SPIDER_STORAGE_MARIADBD: "x" },
    });
    expect(config.runtime.recovery.page_size).toBe(500);
    expect(warnings).toEqual([
      `config file ${configPath}: unknown key prot ignored`,
      `config file ${configPath}: unknown key runtime.recovery.pagesize ignored`,
      `config file ${configPath}: unknown key runtime.frobnicate ignored`,
      "environment variable SPIDER_STORAGE_RUNTIME__RECOVERY__PAGESIZE names no configuration key; ignored",
    ]);
  });

  it("checks that TLS files come in pairs", () => {
    expect(errorOf({ env: { SPIDER_STORAGE_RUNTIME__TLS__KEY_FILE: "/k.pem" } }).problems).toEqual([
      "runtime.tls.cert_file: required when the other of key_file / cert_file is given",
    ]);
    expect(errorOf({ env: { SPIDER_STORAGE_RUNTIME__TLS__CLIENT_CA_FILE: "/ca.pem" } }).problems[0]).toMatch(/^runtime\.tls\.client_ca_file: /);
  });

  it("reports a missing file, bad YAML and a non-mapping document", () => {
    expect(errorOf({ configPath: join(dir, "nope.yaml") }).message).toContain("nope.yaml: not found");
    expect(errorOf({ configPath: yamlFile("port: [1\n") }).message).toMatch(/not valid YAML/);
    expect(errorOf({ configPath: yamlFile("- 1\n- 2\n") }).message).toMatch(/expected a mapping of keys at the top level/);
    expect(resolveConfig({ configPath: yamlFile("") }).config.port).toBe(50051);
  });
});

describe("Spider's storage.yaml and credentials", () => {
  /**
   * test/config/fixtures/spider-compose-storage.yaml is a verbatim copy of Spider's
   * tools/deployment/spider-compose/configs/storage.yaml (y-scope/spider 8174d9a0).
   * Compose interpolates ${VAR:-default} and mounts `content` as storage.yaml; do the same.
   */
  function spiderComposeStorageYaml(): string {
    const compose = parseYaml(readFileSync(new URL("fixtures/spider-compose-storage.yaml", import.meta.url), "utf8")) as {
      configs: Record<string, { content: string }>;
    };
    const content = compose.configs["spider-storage-config"]!.content;
    return content.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, "$1");
  }
  const spiderEnv = { SPIDER_STORAGE_DB_USERNAME: "spider-user", SPIDER_STORAGE_DB_PASSWORD: "spider-password" };

  it("loads Spider's compose storage.yaml unchanged", () => {
    const configPath = yamlFile(spiderComposeStorageYaml());
    const { config, warnings } = resolveConfig({ configPath, env: spiderEnv });
    expect(warnings).toEqual([]);
    expect(config.host).toBe("0.0.0.0");
    expect(config.port).toBe(50051);
    expect(config.runtime.db).toEqual({
      host: "spider-database",
      port: 3306,
      name: "spider-db",
      max_connections: 64,
      statement_timeout_ms: 30_000,
      credentials: { username: "spider-user", password: "spider-password" },
      group_commit: { enabled: true, max_batch: 64, max_in_flight: 1 },
    });
    expect(config.runtime.inbound_queue).toEqual({ task_capacity: 1048576, commit_capacity: 256, cleanup_capacity: 256 });
    expect(config.runtime.task_instance_pool.execution_manager_stale_cutoff_sec).toBe(60);
    expect(config.runtime.task_instance_pool.gc_interval_ms).toBe(30_000);
    expect(config.runtime.job_cache_gc).toEqual({ terminated_job_retention_sec: 300, gc_interval_sec: 30 });
    expect(config.database).toEqual({ kind: "url", url: "mysql://spider-user:spider-password@spider-database:3306/spider-db", source: "runtime.db" });
  });

  it("requires both credential variables when runtime.db has no credentials, naming the missing one (Spider's read_credential_from_env)", () => {
    const configPath = yamlFile(spiderComposeStorageYaml());
    expect(errorOf({ configPath, env: {} }).problems).toEqual([
      "runtime.db.credentials: not given, and the required environment variable `SPIDER_STORAGE_DB_USERNAME` is not set " +
        "(give runtime.db.credentials, or set both SPIDER_STORAGE_DB_USERNAME and SPIDER_STORAGE_DB_PASSWORD)",
    ]);
    expect(errorOf({ configPath, env: { SPIDER_STORAGE_DB_USERNAME: "u" } }).message).toContain(
      "the required environment variable `SPIDER_STORAGE_DB_PASSWORD` is not set",
    );
    // An empty password is a set variable, as in Spider.
    expect(resolveConfig({ configPath, env: { SPIDER_STORAGE_DB_USERNAME: "u", SPIDER_STORAGE_DB_PASSWORD: "" } }).config.database).toMatchObject({
      url: "mysql://u@spider-database:3306/spider-db",
    });
  });

  it("takes credentials from the two variables (Spider's deserialize_resolves_credentials_from_env), escaping them in the URL", () => {
    const configPath = yamlFile(JSON.stringify({ host: "0.0.0.0", port: 1, runtime: { db: { host: "db", port: 3307, name: "spi der", max_connections: 8 } } }));
    const password = "p@ss:w/rd%#?&=x";
    const { config } = resolveConfig({ configPath, env: { SPIDER_STORAGE_DB_USERNAME: "env-user", SPIDER_STORAGE_DB_PASSWORD: password } });
    expect(config.runtime.db.credentials).toEqual({ username: "env-user", password });
    if (config.database.kind !== "url") throw new Error("expected a URL");
    expect(poolOptionsFromUrl(config.database.url)).toMatchObject({ user: "env-user", password, host: "db", port: 3307, database: "spi der" });
  });

  it("prefers explicit credentials to the variables", () => {
    const configPath = yamlFile("runtime:\n  db:\n    host: db\n    name: x\n    credentials: {username: file-user, password: file-pass}\n");
    const { config } = resolveConfig({ configPath, env: spiderEnv });
    expect(config.runtime.db.credentials).toEqual({ username: "file-user", password: "file-pass" });
  });

  it("resolves the database: --database-url, then the variable, then database_url, then runtime.db, then embedded", () => {
    const configPath = yamlFile("database_url: mysql://f@file/db\nruntime:\n  db:\n    host: db\n    name: x\n");
    const flagUrl = "mysql://flag@h/db";
    const envUrl = "mysql://env@h/db";
    const both = { SPIDER_STORAGE_DATABASE_URL: envUrl, ...spiderEnv };
    expect(resolveConfig({ configPath, env: both, flags: { database_url: flagUrl } }).config.database).toEqual({
      kind: "url",
      url: flagUrl,
      source: "--database-url",
    });
    expect(resolveConfig({ configPath, env: both }).config.database).toMatchObject({ url: envUrl, source: "SPIDER_STORAGE_DATABASE_URL" });
    const fromFile = resolveConfig({ configPath, env: spiderEnv, flags: { data_dir: "/d" } });
    expect(fromFile.config.database).toMatchObject({ url: "mysql://f@file/db", source: configPath });
    expect(fromFile.warnings).toEqual([
      `runtime.db is ignored: database_url (from ${configPath}) takes precedence`,
      `data_dir (from --data-dir) is ignored: a database is configured (${configPath})`,
    ]);
    const embedded = resolveConfig({ flags: { data_dir: "rel/dir" }, env: { SPIDER_STORAGE_RUNTIME__EMBEDDED__SOCKET_DIR: "/run/s" }, cwd: "/w" });
    expect(embedded.config.database).toEqual({ kind: "embedded", data_dir: "/w/rel/dir", socket_dir: "/run/s", bin_dir: undefined });
    // runtime.db.max_connections alone only sizes the pool.
    expect(resolveConfig({ env: { SPIDER_STORAGE_RUNTIME__DB__MAX_CONNECTIONS: "3" } }).config.database.kind).toBe("embedded");
    expect(errorOf({ env: { SPIDER_STORAGE_RUNTIME__DB__HOST: "db", ...spiderEnv } }).problems).toEqual([
      "runtime.db.name: required when runtime.db is given (the database name)",
    ]);
  });

  it("redacts passwords and tokens for logging", () => {
    const { config } = resolveConfig({
      env: { SPIDER_STORAGE_DATABASE_URL: "mysql://u:secret@h/db", SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN: "tok-secret" },
    });
    const text = JSON.stringify(redactConfig(config));
    expect(text).not.toContain("secret");
    expect(text).toContain("mysql://u:***@h/db");
  });
});

describe("the README", () => {
  it("has the configuration table generated from the schema", async () => {
    const { configurationTable } = await import("../../src/config/table.ts");
    const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Configuration"));
    expect(section, "README.md's ## Configuration table is stale: regenerate it with `node src/config/table.ts`").toContain(configurationTable());
  });
});
