/**
 * The schema walker (src/config/schema.ts): the keys, defaults and sections the
 * README table, the environment variables and the error messages are built from,
 * read from valibot's schema objects (their public `type`, `wrapped` and `entries`).
 */
import { describe, expect, it } from "vitest";
import { configKeys, lookupKey } from "../../src/config/schema.ts";

describe("configKeys", () => {
  const keys = new Map(configKeys().map((k) => [k.path, k]));

  it("lists leaves in schema order, nested sections and optional sections included", () => {
    const paths = [...keys.keys()];
    expect(paths.slice(0, 5)).toEqual(["host", "port", "database_url", "data_dir", "log_level"]);
    expect(paths).toContain("runtime.db.credentials.password");
    // Behind a transform (gc_interval_ms derived from gc_interval_sec), the section is still walked.
    expect(paths).toContain("runtime.task_instance_pool.execution_manager_stale_cutoff_sec");
    expect(paths).not.toContain("runtime");
    expect(paths).not.toContain("runtime.db");
  });

  it("carries each key's metadata and default, coerced keys included", () => {
    expect(keys.get("port")).toEqual({
      path: "port",
      meta: { expected: "an integer 0..65535", description: "gRPC port (0 picks a free one).", spider: "required" },
      defaultValue: 50051,
    });
    expect(keys.get("runtime.checkpoints.enabled")?.defaultValue).toBe(true);
    expect(keys.get("log_level")?.defaultValue).toBe("info");
    expect(keys.get("database_url")?.defaultValue).toBeUndefined();
    expect(keys.get("database_url")?.meta.secret).toBe(true);
  });
});

describe("lookupKey", () => {
  it("tells keys, sections and unknown paths apart", () => {
    expect(lookupKey([])).toBe("section");
    expect(lookupKey(["runtime", "db", "credentials"])).toBe("section");
    expect(lookupKey(["runtime", "db", "port"])).toMatchObject({ expected: "an integer 0..65535" });
    expect(lookupKey(["runtime", "nope"])).toBeUndefined();
    expect(lookupKey(["port", "x"])).toBeUndefined();
    // A dotted YAML key is one unknown name, not a path.
    expect(lookupKey(["runtime.db"])).toBeUndefined();
    // Names of Object.prototype are not keys.
    expect(lookupKey(["constructor"])).toBeUndefined();
    expect(lookupKey(["runtime", "toString"])).toBeUndefined();
  });
});
