/**
 * The console under the gRPC port's TLS (runtime.tls.*): with a key, a
 * certificate and a client CA it speaks HTTPS with the same pair and serves
 * only clients presenting a certificate that CA signed, as the gRPC port does.
 */
import { rmSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabase } from "../../testkit/test-database.ts";
import { generatePki, type TestPki } from "../operability/helpers.ts";
import { consoleHeaders, startServerWithConsole, type ConsoleServer } from "./console-helpers.ts";

function httpsStatus(url: string, options: RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { headers: consoleHeaders(), ...options }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.on("error", reject);
    request.end();
  });
}

describe("web console with mutual TLS", () => {
  let pki: TestPki;
  let consoleServer: ConsoleServer;

  beforeAll(async () => {
    pki = generatePki();
    consoleServer = await startServerWithConsole({
      databaseUrl: await testDatabase("console_tls"),
      env: {
        SPIDER_STORAGE_RUNTIME__TLS__KEY_FILE: pki.serverKey,
        SPIDER_STORAGE_RUNTIME__TLS__CERT_FILE: pki.serverCert,
        SPIDER_STORAGE_RUNTIME__TLS__CLIENT_CA_FILE: pki.caCert,
      },
    });
  });
  afterAll(async () => {
    await consoleServer?.server.stop();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it("speaks HTTPS with the server's certificate and serves only clients the CA signed", async () => {
    expect(consoleServer.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const url = `${consoleServer.url}api/status`;
    const ca = readFileSync(pki.caCert);
    expect(await httpsStatus(url, { ca, key: readFileSync(pki.clientKey), cert: readFileSync(pki.clientCert) })).toBe(200);
    await expect(httpsStatus(url, { ca })).rejects.toThrow();
    await expect(httpsStatus(url, { ca, key: readFileSync(pki.rogueKey), cert: readFileSync(pki.rogueCert) })).rejects.toThrow();
    // Plain HTTP gets no answer.
    await expect(
      new Promise((resolve, reject) => {
        const request = httpRequest(url.replace("https:", "http:"), (response) => resolve(response.statusCode));
        request.on("error", reject);
        request.end();
      }),
    ).rejects.toThrow();
  });
});
