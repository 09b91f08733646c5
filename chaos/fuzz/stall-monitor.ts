/**
 * Measures how long the server's event loop stalls while it is fuzzed, in the
 * server itself: prom-client's process metrics (on with runtime.metrics.enabled)
 * export `nodejs_eventloop_lag_max_seconds`, the largest event-loop delay
 * since the previous scrape (perf_hooks.monitorEventLoopDelay, reset on
 * every scrape). Scraped every `intervalMs`; each window remembers which cases
 * ran in it, so a stall can be traced to its case.
 *
 * Beside it, from outside: GetSession every `probeMs`, the longest answer
 * (it includes this process's own delays, so it is reported, not judged).
 */
import type { PromiseClient } from "../../src/grpc/adapter.ts";
import type { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";

export interface StallWindow {
  readonly maxLagMs: number;
  /** Garbage collections of the server longer than 100 ms that ended in the window (nodejs_gc_duration_seconds). */
  readonly gcOver100ms: number;
  /** Case indices that ran (at least partly) in the window. */
  readonly firstCase: number;
  readonly lastCase: number;
}

export class StallMonitor {
  readonly #metricsUrl: string;
  readonly #sessions: PromiseClient<(typeof SessionManagementService)["method"]>;
  readonly #intervalMs: number;
  readonly #probeMs: number;
  #scrapeTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #windowFirstCase = 0;
  #currentCase = 0;
  #scraping: Promise<void> = Promise.resolve();
  #gcOver100msTotal = 0;
  readonly windows: StallWindow[] = [];
  maxProbeMs = 0;
  probes = 0;
  probeFailures = 0;
  scrapeFailures = 0;

  constructor(options: { metricsUrl: string; sessions: PromiseClient<(typeof SessionManagementService)["method"]>; intervalMs?: number; probeMs?: number }) {
    this.#metricsUrl = options.metricsUrl;
    this.#sessions = options.sessions;
    this.#intervalMs = options.intervalMs ?? 1_000;
    this.#probeMs = options.probeMs ?? 20;
  }

  /** Resets the server's histogram (start-up is not the fuzz's) and starts scraping and probing. */
  async start(): Promise<void> {
    this.#gcOver100msTotal = (await this.#read()).gcOver100msTotal;
    this.#scrapeTimer = setInterval(() => void this.scrape(), this.#intervalMs);
    this.#probeTimer = setInterval(() => {
      const started = performance.now();
      this.#sessions.getSession({}, { deadlineMs: 10_000 }).then(
        () => {
          this.probes += 1;
          this.maxProbeMs = Math.max(this.maxProbeMs, performance.now() - started);
        },
        () => {
          this.probes += 1;
          this.probeFailures += 1;
        },
      );
    }, this.#probeMs);
  }

  /** The case about to run (for attributing stalls). */
  noteCase(index: number): void {
    this.#currentCase = index;
  }

  /** Closes the current window now. */
  scrape(): Promise<void> {
    this.#scraping = this.#scraping.then(async () => {
      const first = this.#windowFirstCase;
      const last = this.#currentCase;
      this.#windowFirstCase = last;
      try {
        const { lagMs, gcOver100msTotal } = await this.#read();
        this.windows.push({ maxLagMs: lagMs, gcOver100ms: gcOver100msTotal - this.#gcOver100msTotal, firstCase: first, lastCase: last });
        this.#gcOver100msTotal = gcOver100msTotal;
      } catch {
        this.scrapeFailures += 1;
      }
    });
    return this.#scraping;
  }

  async stop(): Promise<void> {
    clearInterval(this.#scrapeTimer);
    clearInterval(this.#probeTimer);
    await this.scrape();
  }

  get maxLagMs(): number {
    return Math.max(0, ...this.windows.map((w) => w.maxLagMs));
  }

  /** Windows whose delay exceeded `limitMs`. */
  over(limitMs: number): StallWindow[] {
    return this.windows.filter((w) => w.maxLagMs > limitMs);
  }

  /** Garbage collections of the server longer than 100 ms so far. */
  get gcOver100ms(): number {
    return this.windows.reduce((n, w) => n + w.gcOver100ms, 0);
  }

  async #read(): Promise<{ lagMs: number; gcOver100msTotal: number }> {
    const response = await fetch(this.#metricsUrl, { signal: AbortSignal.timeout(10_000) });
    const lines = (await response.text()).split("\n");
    const line = lines.find((l) => l.startsWith("nodejs_eventloop_lag_max_seconds "));
    if (line === undefined) throw new Error("the server exports no nodejs_eventloop_lag_max_seconds");
    // Per GC kind: all collections minus those within 0.1 s (prom-client's default buckets include 0.1).
    let gcOver100msTotal = 0;
    for (const l of lines) {
      const count = /^nodejs_gc_duration_seconds_count\{kind="(\w+)"\} (\d+)/.exec(l);
      if (count) gcOver100msTotal += Number(count[2]);
      const within = /^nodejs_gc_duration_seconds_bucket\{le="0\.1",kind="(\w+)"\} (\d+)/.exec(l);
      if (within) gcOver100msTotal -= Number(within[2]);
    }
    return { lagMs: Number(line.split(" ")[1]) * 1000, gcOver100msTotal };
  }
}
