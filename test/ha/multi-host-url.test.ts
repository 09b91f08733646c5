/**
 * Multi-host database URLs (issue 19 point 3), as text: the URL's host list,
 * the YAML/environment `runtime.db.hosts` key beside Spider's `host`/`port`,
 * and the mysql2 options each node gets. No database here (see
 * multi-host-failover.test.ts for the real servers).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, redactConfig, resolveConfig } from "../../src/config/load-config.ts";
import { buildDatabaseUrl, parseDatabaseUrl, parseHostEntry } from "../../src/core/database-url.ts";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import { DatabaseNodes, unusableReason } from "../../src/db/database-nodes.ts";

const credentials = { SPIDER_STORAGE_DB_USERNAME: "spider", SPIDER_STORAGE_DB_PASSWORD: "p@ss:w/rd" };

function yamlFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "mh-config-")), "storage.yaml");
  writeFileSync(path, text);
  return path;
}

describe("a database URL with a host list", () => {
  it("names every host in order, with the default port where none is given", () => {
    const url = parseDatabaseUrl("mysql://user:pw@h1:3306,h2,h3:3307/spider");
    expect(url).toEqual({
      user: "user",
      password: "pw",
      database: "spider",
      socket: undefined,
      hosts: [
        { host: "h1", port: 3306 },
        { host: "h2", port: 3306 },
        { host: "h3", port: 3307 },
      ],
    });
  });

  it("reads IPv6 addresses in brackets, with and without a port, and drops the brackets", () => {
    expect(parseDatabaseUrl("mariadb://u@[::1]:3310,[fd00::2],10.0.0.3:3311/db").hosts).toEqual([
      { host: "::1", port: 3310 },
      { host: "fd00::2", port: 3306 },
      { host: "10.0.0.3", port: 3311 },
    ]);
    // One IPv6 host too (mysql2 cannot connect to "[::1]").
    expect(poolOptionsFromUrl("mysql://u@[::1]:3310/db")).toMatchObject({ host: "::1", port: 3310 });
  });

  it("decodes credentials and the database name exactly as a single-host URL does", () => {
    const url = parseDatabaseUrl("mysql://us%40er:p%40ss%3Aw%2Frd@h1:1,h2:2/spi%20der");
    expect(url).toMatchObject({ user: "us@er", password: "p@ss:w/rd", database: "spi der" });
    const single = parseDatabaseUrl("mysql://us%40er:p%40ss%3Aw%2Frd@h1:1/spi%20der");
    expect({ ...single, hosts: undefined }).toEqual({ ...url, hosts: undefined });
    // No user: root, as before.
    expect(parseDatabaseUrl("mysql://h1,h2/db")).toMatchObject({ user: "root", password: "" });
  });

  it("keeps single-host and socket URLs as they were", () => {
    expect(poolOptionsFromUrl("mysql://u:p@db:3307/x")).toEqual({ user: "u", password: "p", database: "x", host: "db", port: 3307 });
    // The embedded MariaDB's form.
    expect(poolOptionsFromUrl("mysql://root@localhost/spider?socket=%2Frun%2Fm.sock")).toEqual({ user: "root", password: "", database: "spider", socketPath: "/run/m.sock" });
    expect(poolOptionsFromUrl("mysql:///x")).toEqual({ user: "root", password: "", database: "x", host: "127.0.0.1", port: 3306 });
    expect(new DatabaseNodes("mysql://u@db/x").several).toBe(false);
    // A host list's pool options are its first host's.
    expect(poolOptionsFromUrl("mysql://u@a:1,b:2/x")).toMatchObject({ host: "a", port: 1 });
  });

  it("refuses what it cannot connect to, saying why", () => {
    expect(() => parseDatabaseUrl("mysql://u@h1:3306,,h2/db")).toThrow(/empty host/);
    expect(() => parseDatabaseUrl("mysql://u@h1:3306,h2:99999/db")).toThrow();
    expect(() => parseDatabaseUrl("mysql://u@h1,h2/")).toThrow(/names no database/);
    expect(() => parseDatabaseUrl("postgres://u@h1,h2/db")).toThrow(/mysql:\/\/ or mariadb:\/\//);
    expect(() => parseDatabaseUrl("mysql://u@h1,h2/db?socket=/s")).toThrow(/one server/);
  });

  it("gives each node its own mysql2 options and names it host:port", () => {
    const nodes = new DatabaseNodes("mysql://u:p%2F@h1:1,[::1]:2/db");
    expect(nodes.several).toBe(true);
    expect(nodes.nodes.map((n) => n.name)).toEqual(["h1:1", "[::1]:2"]);
    expect(nodes.connectionOptions(nodes.nodes[1])).toEqual({ user: "u", password: "p/", database: "db", host: "::1", port: 2 });
    expect(nodes.current.index).toBe(0);
  });

  it("is accepted as database_url, and redacted for logs", () => {
    const { config } = resolveConfig({ env: { SPIDER_STORAGE_DATABASE_URL: "mysql://u:secret@h1:3306,h2:3306/db" } });
    expect(config.database).toMatchObject({ kind: "url", url: "mysql://u:secret@h1:3306,h2:3306/db" });
    const text = JSON.stringify(redactConfig(config));
    expect(text).not.toContain("secret");
    expect(text).toContain("mysql://u:***@h1:3306,h2:3306/db");
    expect(() => resolveConfig({ env: { SPIDER_STORAGE_DATABASE_URL: "mysql://u@h1,,h2/db" } })).toThrow(ConfigError);
  });
});

describe("runtime.db.hosts", () => {
  it("turns a YAML list into a host-list URL; entries without a port take runtime.db.port", () => {
    const configPath = yamlFile(
      ["runtime:", "  db:", "    hosts:", "      - g1:3306", "      - g2", '      - "[fd00::3]:3308"', "      - fd00::4", "    port: 3307", "    name: spider", ""].join("\n"),
    );
    const { config, warnings } = resolveConfig({ configPath, env: credentials });
    expect(warnings).toEqual([]);
    expect(config.runtime.db.hosts).toEqual(["g1:3306", "g2", "[fd00::3]:3308", "fd00::4"]);
    expect(config.database).toEqual({
      kind: "url",
      url: "mysql://spider:p%40ss%3Aw%2Frd@g1:3306,g2:3307,[fd00::3]:3308,[fd00::4]:3307/spider",
      source: "runtime.db",
    });
    expect(parseDatabaseUrl((config.database as { url: string }).url)).toMatchObject({
      password: "p@ss:w/rd",
      hosts: [
        { host: "g1", port: 3306 },
        { host: "g2", port: 3307 },
        { host: "fd00::3", port: 3308 },
        { host: "fd00::4", port: 3307 },
      ],
    });
  });

  it("takes a comma-separated list from its environment variable", () => {
    const { config } = resolveConfig({
      env: { ...credentials, SPIDER_STORAGE_RUNTIME__DB__HOSTS: "a:1, b:2", SPIDER_STORAGE_RUNTIME__DB__NAME: "x" },
    });
    expect(config.database).toMatchObject({ url: "mysql://spider:p%40ss%3Aw%2Frd@a:1,b:2/x" });
  });

  it("leaves Spider's host and port as they were, and beats host (with a warning) when both are given", () => {
    const spider = resolveConfig({ configPath: yamlFile("runtime:\n  db:\n    host: db\n    port: 3307\n    name: x\n"), env: credentials });
    expect(spider.config.database).toMatchObject({ url: "mysql://spider:p%40ss%3Aw%2Frd@db:3307/x" });
    expect(spider.config.runtime.db).not.toHaveProperty("hosts");
    const both = resolveConfig({ configPath: yamlFile("runtime:\n  db:\n    host: db\n    hosts: [a, b]\n    name: x\n"), env: credentials });
    expect(both.warnings).toEqual(["runtime.db.host is ignored: runtime.db.hosts is given"]);
    expect(both.config.database).toMatchObject({ url: "mysql://spider:p%40ss%3Aw%2Frd@a:3306,b:3306/x" });
  });

  it("refuses a bad list, naming the key", () => {
    for (const bad of ["[]", "[a, 'b c']", "[a, 'h/1']", "[a, '[not-v6]:1']", "[a, 'h:99999']", "[3306]"]) {
      const configPath = yamlFile(`runtime:\n  db:\n    hosts: ${bad}\n    name: x\n`);
      let error: unknown;
      try {
        resolveConfig({ configPath, env: credentials });
      } catch (caught) {
        error = caught;
      }
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems[0], bad).toMatch(/^runtime\.db\.hosts: expected a non-empty list of host or host:port/);
    }
    // Neither host nor hosts.
    expect(() => resolveConfig({ configPath: yamlFile("runtime:\n  db:\n    name: x\n"), env: credentials })).toThrow(/runtime\.db\.host: required .*runtime\.db\.hosts/);
  });

  it("formats what it parses (one entry, one URL)", () => {
    expect(parseHostEntry("[::1]:7", 1)).toEqual({ host: "::1", port: 7 });
    expect(parseHostEntry("::1", 5)).toEqual({ host: "::1", port: 5 });
    expect(parseHostEntry("h", 5)).toEqual({ host: "h", port: 5 });
    expect(buildDatabaseUrl({ hosts: [{ host: "::1", port: 1 }, { host: "h", port: 2 }], name: "d b", username: "u", password: "" })).toBe("mysql://u@[::1]:1,h:2/d%20b");
  });
});

describe("a node's usability", () => {
  it("refuses read_only, and on Galera anything but ready and Synced", () => {
    const plain = { readOnly: false, wsrepOn: false, wsrepReady: undefined, wsrepState: undefined };
    expect(unusableReason(plain)).toBeUndefined();
    expect(unusableReason({ ...plain, readOnly: true })).toBe("read_only = ON");
    const galera = { readOnly: false, wsrepOn: true, wsrepReady: true, wsrepState: "Synced" };
    expect(unusableReason(galera)).toBeUndefined();
    expect(unusableReason({ ...galera, wsrepReady: false })).toBe("wsrep_ready = OFF");
    expect(unusableReason({ ...galera, wsrepState: "Donor/Desynced" })).toBe("wsrep_local_state_comment = Donor/Desynced");
    expect(unusableReason({ ...galera, readOnly: true })).toBe("read_only = ON");
  });
});
