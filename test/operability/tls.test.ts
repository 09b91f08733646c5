/**
 * TLS on the gRPC port (runtime.tls.*), with a CA and certificates generated
 * for the test by the openssl CLI: TLS alone (plaintext clients are refused),
 * mutual TLS (clients without a certificate from the configured CA are
 * refused), and a start-up that fails clearly on an unreadable key.
 */
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { spawnSync } from "node:child_process";
import { CLI_MAIN, REPO_ROOT, ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { HealthClientWrapper } from "../../testkit/health-client.ts";
import { generatePki, UNREACHABLE_DATABASE_URL, type TestPki } from "./helpers.ts";
import { waitFor } from "../../testkit/wait-for.ts";

function tlsEnv(pki: TestPki, mutual: boolean): Record<string, string> {
  return {
    SPIDER_STORAGE_RUNTIME__TLS__KEY_FILE: pki.serverKey,
    SPIDER_STORAGE_RUNTIME__TLS__CERT_FILE: pki.serverCert,
    ...(mutual ? { SPIDER_STORAGE_RUNTIME__TLS__CLIENT_CA_FILE: pki.caCert } : {}),
  };
}

describe("TLS on the gRPC port", () => {
  let pki: TestPki;
  const servers: ServerProcess[] = [];

  beforeAll(() => {
    pki = generatePki();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  const trusting = (client?: { key: string; cert: string }) =>
    grpc.credentials.createSsl(
      readFileSync(pki.caCert),
      client ? readFileSync(client.key) : null,
      client ? readFileSync(client.cert) : null,
    );

  it("TLS: a client trusting the CA is answered; a plaintext client is not", async () => {
    // No database needed: health answers from the moment the port is bound.
    const server = await ServerProcess.start({ databaseUrl: UNREACHABLE_DATABASE_URL, env: tlsEnv(pki, false) });
    servers.push(server);
    await waitFor("the port", () => server.logs.includes("listening (not serving yet)"), { timeoutMs: 20_000 });
    expect(server.logs).toMatch(/"tls":"tls"/);

    const secure = new HealthClientWrapper(server.address, trusting());
    const plain = new HealthClientWrapper(server.address);
    try {
      expect(await secure.check("")).toBe("NOT_SERVING");
      expect(await plain.check("")).toBe(grpc.status.UNAVAILABLE);
    } finally {
      secure.close();
      plain.close();
    }
    expect((await server.stop()).code).toBe(0);
  });

  it("mutual TLS: storage calls work with a client certificate from the CA, and fail without one or with a stranger's", async () => {
    const databaseUrl = await testDatabase("tls");
    const server = await ServerProcess.start({ databaseUrl, env: tlsEnv(pki, true) });
    servers.push(server);
    await waitFor("serving", () => server.logs.includes('"msg":"serving"'), { timeoutMs: 30_000 });
    expect(server.logs).toMatch(/"tls":"mutual-tls"/);

    // The operator CLI reaches the admin API over the same mutual TLS.
    const cli = spawnSync(process.execPath, [CLI_MAIN, "status", "--json", "--server", server.address, "--tls-ca", pki.caCert, "--tls-cert", pki.clientCert, "--tls-key", pki.clientKey], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    });
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ phase: "serving" });
    const plainCli = spawnSync(process.execPath, [CLI_MAIN, "status", "--server", server.address], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(plainCli.status).toBe(1);

    const good = connectStorage(server.address, trusting({ key: pki.clientKey, cert: pki.clientCert }));
    const noCert = connectStorage(server.address, trusting());
    const stranger = connectStorage(server.address, trusting({ key: pki.rogueKey, cert: pki.rogueCert }));
    try {
      // Generous deadlines: a slow handshake must not read as DEADLINE_EXCEEDED instead of the code under test.
      expect((await good.sessions.getSession({}, { deadlineMs: 20_000 })).sessionId).toBeGreaterThan(0n);
      const rg = await good.resourceGroups.addResourceGroup({ externalResourceGroupId: "tls", password: new Uint8Array([1]) });
      expect(rg.resourceGroupId).toBeGreaterThan(0n);
      await expect(noCert.sessions.getSession({}, { deadlineMs: 20_000 })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await expect(stranger.sessions.getSession({}, { deadlineMs: 20_000 })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      good.close();
      noCert.close();
      stranger.close();
    }
    expect((await server.stop()).code).toBe(0);
  });

  it("an unreadable key fails the start-up with exit code 1, naming the key", async () => {
    const server = await ServerProcess.start({
      databaseUrl: UNREACHABLE_DATABASE_URL,
      env: { ...tlsEnv(pki, false), SPIDER_STORAGE_RUNTIME__TLS__KEY_FILE: `${pki.dir}/missing.key` },
    });
    servers.push(server);
    const exit = await server.exited;
    expect(exit.code).toBe(1);
    expect(server.logs).toContain("runtime.tls.key_file: cannot read");
  });

  it("a key that does not match the certificate fails the start-up", async () => {
    const server = await ServerProcess.start({
      databaseUrl: UNREACHABLE_DATABASE_URL,
      env: { ...tlsEnv(pki, false), SPIDER_STORAGE_RUNTIME__TLS__KEY_FILE: pki.clientKey },
    });
    servers.push(server);
    expect((await server.exited).code).toBe(1);
    expect(server.logs).toContain("cannot be used");
  });
});
