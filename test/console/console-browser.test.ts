/**
 * The web console in a real browser (Debian's chromium, playwright-core)
 * against a real server with an admin token and simulated execution
 * managers: a caller without the token is refused; the overview shows the
 * right counts; a running DAG's colours change as its tasks finish; a cancel
 * through the console moves the job and writes the audit entry; and how long
 * a 1 000-task DAG takes to appear is measured and printed.
 *
 * Every wait is for something the page shows, never for a time. With
 * SPIDER_CONSOLE_SCREENSHOT_DIR set (e.g. docs/images) the overview and a
 * DAG are saved there as PNGs for the README.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../src/core/seeded-random.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { addResourceGroup, registerJob, SimulatedCluster, submitJob, waitForJobs, withRetry } from "../../testkit/sim/cluster.ts";
import { layered, singleTask } from "../../testkit/sim/job-shapes.ts";
import { connectStorage, type StorageClients } from "../../testkit/sim/storage-clients.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { consoleHeaders, consoleRequest, launchChromium, startServerWithConsole, waitForAudit, type ConsoleServer } from "./console-helpers.ts";

const TOKEN = "console-browser-token";
/** The page's window as these page-side functions use it (this file is compiled without the DOM's types). */
type PageWindow = { getComputedStyle(element: unknown): { fill: string; transform: string } };
const TRANSFORM_NOW = 'getComputedStyle(document.querySelector(".graph-stage")).transform';
const SCREENSHOTS = process.env["SPIDER_CONSOLE_SCREENSHOT_DIR"];

/** The colours of console.css, as chromium computes them. */
const FILL = {
  Pending: "rgb(154, 165, 177)",
  Ready: "rgb(76, 142, 232)",
  Running: "rgb(240, 160, 32)",
  Succeeded: "rgb(46, 158, 87)",
  Cancelled: "rgb(107, 107, 107)",
} as const;

describe("web console in chromium", () => {
  let consoleServer: ConsoleServer;
  let clients: StorageClients;
  let browser: Browser;
  let page: Page;
  let resourceGroup: bigint;

  beforeAll(async () => {
    consoleServer = await startServerWithConsole({ databaseUrl: await testDatabase("console_browser"), env: { SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN: TOKEN } });
    clients = connectStorage(consoleServer.server.address);
    resourceGroup = await addResourceGroup(clients);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    clients?.close();
    await consoleServer?.server.stop();
  });

  /** The fill chromium paints task `task`'s node with, and the state the page gave it. */
  async function nodeLook(task: number): Promise<{ state: string | null; fill: string }> {
    const node = page.locator(`svg.graph g.node[data-task="${task}"]`);
    return { state: await node.getAttribute("data-state"), fill: await node.locator("rect").evaluate((rect) => (globalThis as unknown as PageWindow).getComputedStyle(rect).fill) };
  }

  async function waitForNodes(tasks: readonly number[], state: keyof typeof FILL): Promise<void> {
    for (const task of tasks) await page.locator(`svg.graph g.node[data-task="${task}"][data-state="${state}"]`).waitFor({ timeout: 30_000 });
    for (const task of tasks) expect(await nodeLook(task)).toEqual({ state, fill: FILL[state] });
  }

  it("refuses a request without the token, and signs in with it", async () => {
    const status = (headers: Record<string, string>) => consoleRequest(consoleServer.url, "/api/status", { headers });
    const [missing, wrong, right] = await Promise.all([status(consoleHeaders()), status(consoleHeaders("not-it")), status(consoleHeaders(TOKEN))]);
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toEqual({ error: "console: this server requires the admin token (runtime.admin.token)" });
    expect(missing.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body)).toEqual({ error: "console: wrong token" });
    expect(right.status).toBe(200);
    expect(JSON.parse(right.body)).toMatchObject({ phase: "serving", adminTokenRequired: true });

    // The browser: the page loads, its first API call is refused, and it asks for the token.
    await page.goto(consoleServer.url);
    await page.locator("#login[open]").waitFor();
    expect(await page.locator("#login-message").textContent()).toContain("requires the admin token");
    await page.fill("#login-token", TOKEN);
    await page.fill("#login-operator", "browser-test");
    await page.click("#login-submit");
    await page.locator('[data-field="phase"] [data-state="serving"]').waitFor();
  });

  it("the overview shows the right counts", async () => {
    const cluster = await new SimulatedCluster(consoleServer.server.address, { executionManagers: 2 }).start();
    try {
      const succeeded = [await submitJob(clients, resourceGroup, singleTask({ seed: 1 })), await submitJob(clients, resourceGroup, singleTask({ seed: 2 }))];
      expect([...(await waitForJobs(clients, succeeded)).values()]).toEqual(["Succeeded", "Succeeded"]);
      await registerJob(clients, resourceGroup, singleTask({ seed: 3 })); // stays Ready: never started
      const cancelled = await registerJob(clients, resourceGroup, singleTask({ seed: 4 }));
      await withRetry(() => clients.jobs.cancelJob({ jobId: cancelled }));

      await page.goto(`${consoleServer.url}#/overview`);
      const count = (state: string) => page.locator(`tr[data-job-state="${state}"] td[data-count]`);
      // The overview refreshes itself: wait until it shows this test's jobs, then check every count.
      await page.locator('tr[data-job-state="Succeeded"] td[data-count="2"]').waitFor();
      await page.locator('[data-field="em-alive"]', { hasText: "2" }).waitFor();
      const expected: Record<string, string> = { Ready: "1", Running: "0", CommitReady: "0", CleanupReady: "0", Succeeded: "2", Failed: "0", Cancelled: "1" };
      for (const [state, value] of Object.entries(expected)) expect(await count(state).getAttribute("data-count"), state).toBe(value);
      expect(await page.locator('[data-field="em-dead"]').textContent()).toBe("0");
      expect(await page.locator('[data-field="session"] .value').textContent()).toMatch(/^[1-9][0-9]*$/);
      expect(await page.locator("tr[data-lane]").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-lane")))).toEqual(["task", "commit", "cleanup"]);
      if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, "console-overview.png") });

      // The jobs list: newest first; a state link from the overview filters it.
      await page.click('tr[data-job-state="Succeeded"] a');
      await page.locator(`table.jobs tr[data-job="${succeeded[1]}"]`).waitFor();
      expect(await page.locator("table.jobs tbody tr").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-job")))).toEqual([String(succeeded[1]), String(succeeded[0])]);
      await page.goto(`${consoleServer.url}#/jobs`);
      await page.locator(`table.jobs tr[data-job="${cancelled}"]`).waitFor();
      const ids = await page.locator("table.jobs tbody tr").evaluateAll((rows) => rows.map((row) => Number(row.getAttribute("data-job"))));
      expect(ids).toEqual([...ids].sort((a, b) => b - a));
      expect(ids).toHaveLength(4);

      // The execution managers page: both alive.
      await page.goto(`${consoleServer.url}#/execution-managers`);
      await page.locator("tr[data-em]").first().waitFor();
      expect(await page.locator('tr[data-em] [data-state="Alive"]').count()).toBe(2);
    } finally {
      await cluster.stop();
    }
  });

  // 4 layers of 5 tasks (each reading 2 outputs of the layer above) and a commit task.
  const graph = layered(4, 5, 2, seededRandom(7), { commit: true, seed: 7 });
  const layer = (n: number) => [0, 1, 2, 3, 4].map((i) => n * 5 + i);
  let dagJob: bigint;
  let dagCluster: SimulatedCluster | undefined;

  it("a running DAG's colours change as its tasks finish", async () => {
    // No execution manager yet: the first layer is Ready, the rest Pending.
    dagJob = await submitJob(clients, resourceGroup, graph);
    await page.goto(`${consoleServer.url}#/jobs/${dagJob}`);
    await page.locator('svg.graph[data-rendered="20"]').waitFor();
    await waitForNodes(layer(0), "Ready");
    await waitForNodes([...layer(1), ...layer(2), ...layer(3)], "Pending");
    expect(await page.locator('.termination-task[data-task="commit"]').getAttribute("data-state")).toBe("Pending");

    // Execution managers arrive; the last layer's tasks run until the test stops them.
    dagCluster = await new SimulatedCluster(consoleServer.server.address, {
      executionManagers: 2,
      concurrency: 4,
      behaviour: (task) => (task.taskFunc.startsWith("l3_") ? { kind: "succeed", delayMs: 600_000 } : { kind: "succeed" }),
    }).start();
    await waitForNodes([...layer(0), ...layer(1), ...layer(2)], "Succeeded");
    await waitForNodes(layer(3), "Running");

    // A task's details: retries left, its live instance and execution manager, its timeouts.
    await page.locator(`svg.graph g.node[data-task="${layer(3)[0]}"]`).click();
    const detail = page.locator(`[data-task-detail="${layer(3)[0]}"]`);
    await detail.waitFor();
    expect(await detail.textContent()).toMatch(/Retries left0 of 0.*Live instances1 .*soft 2 min 30 s, hard 5 min/s);
    expect(await page.locator(".task-detail table tbody tr").count()).toBe(1);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, "console-dag.png"), fullPage: true });
  });

  it("a cancel through the console moves the job and writes the audit entry", async () => {
    await page.goto(`${consoleServer.url}#/jobs/${dagJob}`);
    await page.locator('h1 [data-state="Running"]').waitFor();
    await page.click('button[data-repair="cancel"]');
    await page.fill("#repair-reason", "cancelled from the browser test");
    await page.click("#repair-confirm");
    await page.locator('h1 [data-state="Cancelled"]').waitFor();
    await waitForNodes(layer(3), "Cancelled");

    const state = await withRetry(() => clients.jobs.getJobState({ jobId: dagJob }));
    expect(state.state).toBe(JobState.CANCELLED);
    const audit = await waitForAudit(consoleServer.server, "cancelled from the browser test");
    expect(audit).toMatchObject({ action: "job cancelled", actor: "token", operator: "browser-test (web console)", jobId: String(dagJob), previousState: "Running", state: "Cancelled" });
    await dagCluster?.stop();
  });

  it("draws a 1 000-task DAG, pans and zooms it; measures how long it takes to appear", async () => {
    const big = layered(10, 100, 2, seededRandom(1000), { seed: 1000 });
    const jobId = await submitJob(clients, resourceGroup, big); // no execution manager: stays Running, first layer Ready

    const started = performance.now();
    await page.goto(`${consoleServer.url}#/jobs/${jobId}`);
    await page.locator('svg.graph[data-rendered="1000"]').waitFor({ timeout: 60_000 });
    await page.locator('svg.graph g.node[data-task="0"][data-state="Ready"]').waitFor();
    const appearedMs = performance.now() - started;
    const layoutMs = Number(await page.locator(".graph-box").getAttribute("data-layout-ms"));
    const pageMs = Number(await page.locator(".graph-box").getAttribute("data-drawn-ms"));
    const drawnText = await page.locator(".graph-status").textContent();
    console.log(`1000-task DAG (10 layers × 100; ${drawnText?.split(" · ")[0]}): appeared ${Math.round(appearedMs)} ms after navigation (the page's own count: ${pageMs} ms, of which dagre layout ${layoutMs} ms)`);
    expect(await page.locator("svg.graph g.node").count()).toBe(1000);

    // Usable: the wheel zooms, a drag pans, and a click on a task shows it.
    const stage = page.locator(".graph-stage");
    const before = await stage.evaluate((element) => (globalThis as unknown as PageWindow).getComputedStyle(element).transform);
    const frame = await page.locator(".graph-frame").boundingBox();
    await page.mouse.move(frame!.x + frame!.width / 2, frame!.y + frame!.height / 2);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction(`${TRANSFORM_NOW} !== ${JSON.stringify(before)}`);
    const zoomed = await stage.evaluate((element) => (globalThis as unknown as PageWindow).getComputedStyle(element).transform);
    await page.mouse.down();
    await page.mouse.move(frame!.x + frame!.width / 2 + 120, frame!.y + frame!.height / 2 + 60, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(`${TRANSFORM_NOW} !== ${JSON.stringify(zoomed)}`);
    await page.click('button[title="show the whole graph"]');
    await page.locator('svg.graph g.node[data-task="999"]').dispatchEvent("click");
    await page.locator('[data-task-detail="999"]').waitFor();
    expect(await page.locator('[data-task-detail="999"]').textContent()).toContain("Pending");
  });

  it("inputs and outputs download with the token", async () => {
    const cluster = await new SimulatedCluster(consoleServer.server.address, { executionManagers: 1 }).start();
    try {
      const jobId = await submitJob(clients, resourceGroup, singleTask({ seed: 99 }));
      expect((await waitForJobs(clients, [jobId])).get(jobId)).toBe("Succeeded");
      await page.goto(`${consoleServer.url}#/jobs/${jobId}`);
      const row = page.locator('tr[data-item="input:0"]');
      await row.waitFor();
      const [download] = await Promise.all([page.waitForEvent("download"), row.locator("button").click()]);
      expect(download.suggestedFilename()).toBe(`job-${jobId}-input-0.bin`);
      const path = await download.path();
      expect(readFileSync(path).toString("utf8")).toBe("input-99-0");
    } finally {
      await cluster.stop();
    }
  });
});
