/**
 * The console's HTTP API against a real server without an admin token
 * (loopback callers only): every malformed or hostile request gets the right
 * status and a short message, and changes nothing (the job keeps its state,
 * no audit line is written, the server keeps serving); the browser defences
 * (the x-spider-console header, the Host check against DNS rebinding) hold;
 * a repair writes its audit line as "loopback"; and a console that is off or
 * whose port is taken leaves the server serving.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addResourceGroup, submitJob, withRetry } from "../../testkit/sim/cluster.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import { connectStorage, type StorageClients } from "../../testkit/sim/storage-clients.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { auditLines, consoleHeaders, consoleRequest, startServerWithConsole, waitForAudit, type ConsoleServer } from "./console-helpers.ts";

describe("console API", () => {
  let consoleServer: ConsoleServer;
  let clients: StorageClients;
  let jobId: bigint;

  beforeAll(async () => {
    consoleServer = await startServerWithConsole({ databaseUrl: await testDatabase("console_api") });
    clients = connectStorage(consoleServer.server.address);
    jobId = await submitJob(clients, await addResourceGroup(clients), singleTask({ seed: 1 })); // no execution manager: stays Running
  });
  afterAll(async () => {
    clients?.close();
    await consoleServer?.server.stop();
  });

  const get = (path: string, headers: Record<string, string> = consoleHeaders()) => consoleRequest(consoleServer.url, path, { headers });
  const post = (path: string, body: string | Buffer, headers: Record<string, string> = { ...consoleHeaders(), "content-type": "application/json" }) =>
    consoleRequest(consoleServer.url, path, { method: "POST", headers, body });
  const errorOf = (answer: { body: string }) => (JSON.parse(answer.body) as { error: string }).error;

  it("serves its page and libraries, nothing else, with a content security policy", async () => {
    const page = await get("/", {});
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.body).toContain('<script type="module" src="/assets/app.js">');
    for (const path of ["/assets/app.js", "/vendor/dagre.min.js", "/vendor/panzoom.min.js"]) expect((await get(path, {})).status, path).toBe(200);
    for (const path of ["/assets/../console-server.ts", "/src/console/console-server.ts", "/assets/%2e%2e/console-server.ts", "/package.json"]) {
      expect((await get(path, {})).status, path).toBe(404);
    }
    expect((await consoleRequest(consoleServer.url, "/", { method: "DELETE" })).status).toBe(405);
  });

  it("answers its pages' reads", async () => {
    const status = await get("/api/status");
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toMatchObject({ phase: "serving", adminTokenRequired: false });
    const jobs = JSON.parse((await get("/api/jobs?state=running&limit=10")).body) as { jobs: { jobId: string; state: string }[] };
    expect(jobs.jobs).toEqual([expect.objectContaining({ jobId: String(jobId), state: "Running" })]);
    const graph = JSON.parse((await get(`/api/jobs/${jobId}/graph`)).body) as { tasks: unknown[]; commit: unknown };
    expect(graph).toMatchObject({ jobId: String(jobId), tasks: [{ index: 0, parents: [], maxRetries: 0, softTimeoutMs: 150_000 }], commit: null, edges: 0 });
    const job = JSON.parse((await get(`/api/jobs/${jobId}`)).body) as { tasks: { task: string; state: string }[] };
    expect(job.tasks).toEqual([expect.objectContaining({ task: "0", state: "Ready" })]);
    const input = await get(`/api/jobs/${jobId}/payload/input%3A0`);
    expect(input.headers["content-disposition"]).toBe(`attachment; filename="job-${jobId}-input-0.bin"`);
    expect(input.body).toBe("input-1-0");
    expect(JSON.parse((await get("/api/execution-managers")).body)).toEqual({ executionManagers: [] });
  });

  it("refuses bad input with 400/404/405/413/415 and a short message, and changes nothing", async () => {
    const auditBefore = auditLines(consoleServer.server).length;
    const refusals: [Promise<{ status: number; body: string }>, number, RegExp][] = [
      [get("/api/jobs/abc"), 400, /invalid job id "abc": expected an unsigned 64-bit decimal number/],
      [get("/api/jobs/-1"), 400, /invalid job id/],
      [get("/api/jobs/18446744073709551616"), 400, /invalid job id/],
      [get(`/api/jobs/${"9".repeat(5000)}`), 400, /invalid job id "9{32}…"/],
      [get("/api/jobs/18446744073709551615"), 404, /job 18446744073709551615 not found/],
      [get("/api/jobs?limit=100000"), 400, /invalid limit "100000": expected an integer 1\.\.500/],
      [get("/api/jobs?limit=0"), 400, /invalid limit/],
      [get("/api/jobs?state=Bogus"), 400, /unknown job state "Bogus"/],
      [get("/api/jobs?resourceGroup=x"), 400, /invalid resource group id/],
      [get(`/api/jobs/${jobId}/payload/bogus`), 400, /invalid payload item "bogus"/],
      [get(`/api/jobs/${jobId}/payload/output%3A0`), 404, /has no stored outputs/],
      [get("/api/jobs/%E0%A4%A"), 400, /malformed request path/],
      [get("/api/no/such/path/at/all"), 404, /no such console API path/],
      [get("/api/execution-managers?state=zombie"), 400, /unknown execution manager state "zombie"/],
      [consoleRequest(consoleServer.url, "/api/status", { method: "PUT", headers: consoleHeaders() }), 405, /not allowed/],
      [post(`/api/jobs/${jobId}/cancel`, '{"reason":"x"}', consoleHeaders()), 415, /expected a JSON body/],
      [post(`/api/jobs/${jobId}/cancel`, Buffer.alloc(1024 * 1024, 0x20)), 413, /body above 16384 bytes/],
      [post(`/api/jobs/${jobId}/cancel`, "{not json"), 400, /not valid JSON/],
      [post(`/api/jobs/${jobId}/cancel`, "[1,2]"), 400, /must be a JSON object/],
      [post(`/api/jobs/${jobId}/cancel`, '{"reason":5}'), 400, /reason must be a string/],
      [post(`/api/jobs/${jobId}/requeue`, '{"reason":"r","releaseInstances":"yes"}'), 400, /releaseInstances must be true or false/],
      [post(`/api/jobs/${jobId}/fail`, '{"reason":"   "}'), 400, /failing a job needs a reason/],
      [post(`/api/jobs/${jobId}/explode`, '{"reason":"r"}'), 404, /no such console API path/],
      [post("/api/execution-managers/abc/release", '{"reason":"r"}'), 400, /invalid execution manager id/],
    ];
    for (const [answer, status, message] of refusals) {
      const { status: got, body } = await answer;
      expect({ got, body }).toMatchObject({ got: status });
      expect(errorOf({ body })).toMatch(message);
      expect(errorOf({ body }).length).toBeLessThanOrEqual(1024);
    }
    const state = await withRetry(() => clients.jobs.getJobState({ jobId }));
    expect(state.state).toBe(JobState.RUNNING);
    expect(auditLines(consoleServer.server).length).toBe(auditBefore);
    expect((await get("/api/status")).status).toBe(200);
  });

  it("refuses what another web page could make a browser send", async () => {
    // A cross-site request cannot carry the console's header.
    const plain = await consoleRequest(consoleServer.url, `/api/jobs/${jobId}/cancel`, { method: "POST", headers: { "content-type": "text/plain" }, body: '{"reason":"csrf"}' });
    expect(plain.status).toBe(403);
    expect(errorOf(plain)).toMatch(/must carry the x-spider-console header/);
    expect((await get("/api/status", {})).status).toBe(403);
    // Without a token, a DNS name pointing at 127.0.0.1 (rebinding) is refused; addresses and localhost are not.
    const port = new URL(consoleServer.url).port;
    const rebound = await get("/api/status", { ...consoleHeaders(), host: `attacker.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(errorOf(rebound)).toMatch(/only requests addressed to an IP address or localhost/);
    expect((await get("/api/status", { ...consoleHeaders(), host: `localhost:${port}` })).status).toBe(200);
    expect((await withRetry(() => clients.jobs.getJobState({ jobId }))).state).toBe(JobState.RUNNING);
  });

  it("a repair from a loopback caller is audited as loopback, through the web console", async () => {
    const answer = await post(`/api/jobs/${jobId}/cancel`, '{"reason":"api test"}', { ...consoleHeaders(), "content-type": "application/json", "x-spider-operator": "ops" });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ jobId: String(jobId), previousState: "Running", state: "Cancelled" });
    const audit = await waitForAudit(consoleServer.server, "api test");
    expect(audit).toMatchObject({ action: "job cancelled", actor: "loopback", operator: "ops (web console)", jobId: String(jobId) });
    expect(audit["peer"]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("a console that is off, or whose port is taken, leaves the server serving", async () => {
    const taken = new URL(consoleServer.url).port;
    const databaseUrl = await testDatabase("console_off");
    const [off, busy] = await Promise.all([
      ServerProcess.start({ databaseUrl, env: { SPIDER_STORAGE_RUNTIME__CONSOLE__ENABLED: "false" } }),
      ServerProcess.start({ databaseUrl: await testDatabase("console_busy"), env: { SPIDER_STORAGE_RUNTIME__CONSOLE__PORT: taken } }),
    ]);
    try {
      await Promise.all([off.waitServing(), busy.waitServing()]);
      expect(off.logs).not.toContain("web console");
      expect(busy.logs).toContain("web console not started");
      expect(busy.logs).not.toContain('"web console listening"');
    } finally {
      await Promise.all([off.stop(), busy.stop()]);
    }
  });
});
