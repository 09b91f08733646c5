/**
 * Without a token the admin API trusts every caller whose source address is
 * loopback — and a service-mesh sidecar (Istio forwards inbound calls from
 * 127.0.0.6), the other containers of a pod and `kubectl port-forward` all
 * arrive from loopback. The server says so at start when it listens beyond
 * loopback (or runs in Kubernetes) with neither a token nor mutual TLS.
 */
import { describe, expect, it } from "vitest";
import { adminExposureWarning } from "../../src/admin/admin-exposure.ts";
import { resolveConfig } from "../../src/config/load-config.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";

const loadConfig = (flags: Record<string, string>) => resolveConfig({ flags, env: {} }).config;
const WARNING = "the admin API has no token and trusts every caller from a loopback address";

describe("the admin API's exposure warning", () => {
  it("is given for a non-loopback listener or a pod, without a token or mutual TLS", () => {
    const plain = {};
    expect(adminExposureWarning(loadConfig({ host: "127.0.0.1" }), plain)).toBeUndefined();
    expect(adminExposureWarning(loadConfig({ host: "::1" }), plain)).toBeUndefined();
    expect(adminExposureWarning(loadConfig({ host: "0.0.0.0" }), plain)).toContain(WARNING);
    expect(adminExposureWarning(loadConfig({ host: "::" }), plain)).toContain("127.0.0.6");
    expect(adminExposureWarning(loadConfig({ host: "10.1.2.3" }), plain)).toContain(WARNING);
    // In a pod, loopback is shared with the other containers and reached by port-forwards.
    expect(adminExposureWarning(loadConfig({ host: "127.0.0.1" }), { KUBERNETES_SERVICE_HOST: "10.0.0.1" })).toContain(WARNING);
    expect(adminExposureWarning(loadConfig({ host: "0.0.0.0", "runtime.admin.token": "t" }), plain)).toBeUndefined();
  });

  it("a server listening on 0.0.0.0 without a token logs it once; with a token it does not", async () => {
    const url = await testDatabase("admin_exposure");
    const open = await ServerProcess.start({ databaseUrl: url, args: ["--host", "0.0.0.0"], env: { KUBERNETES_SERVICE_HOST: "" } });
    try {
      await open.waitServing();
      expect(open.logs.split(WARNING).length - 1).toBe(1);
    } finally {
      await open.stop();
    }
    const tokened = await ServerProcess.start({
      databaseUrl: url,
      args: ["--host", "0.0.0.0"],
      env: { KUBERNETES_SERVICE_HOST: "", SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN: "tok" },
    });
    try {
      await tokened.waitServing();
      expect(tokened.logs).not.toContain(WARNING);
    } finally {
      await tokened.stop();
    }
  });
});
