/**
 * The configuration reaches the engine: every engine limit set in the
 * configuration shows up in the service's tunables (a key read by nobody
 * looks like a setting and does nothing).
 */
import { describe, expect, it } from "vitest";
import { serviceConfigFrom } from "../../src/app/service-config-from.ts";
import { resolveConfig } from "../../src/config/load-config.ts";
import { resolveServiceConfig } from "../../src/service/service-config.ts";

describe("serviceConfigFrom", () => {
  it("passes the kept-result bound and the cached-payload budget to the engine", () => {
    const { config } = resolveConfig({
      env: {
        SPIDER_STORAGE_RUNTIME__LIMITS__MAX_KEPT_RESULT_BYTES: "12345",
        SPIDER_STORAGE_RUNTIME__LIMITS__MAX_CACHED_PAYLOAD_BYTES: "67890",
      },
    });
    const resolved = resolveServiceConfig(serviceConfigFrom(config));
    expect(resolved.maxKeptResultBytes).toBe(12345);
    expect(resolved.maxCachedPayloadBytes).toBe(67890);
  });
});
