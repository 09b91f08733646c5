/**
 * What each peer provides to the shared W1 driver (bench/lib/closed-loop.ts):
 * `runJob(i)` enqueues one job with the library's ordinary single-job call
 * and resolves when the library reports that job completed; `drain()`
 * resolves once every completion is durable in the peer's store (for the
 * libraries that report success before writing it).
 */
export interface PeerHarness {
  readonly name: string;
  /** The settings used, for the report (D17's fair settings). */
  readonly settings: Record<string, unknown>;
  /** What "completion observed" means for this peer. */
  readonly completionSignal: string;
  runJob(index: number): Promise<void>;
  drain?(): Promise<void>;
  close(): Promise<void>;
}

export interface PeerOptions {
  /** Jobs worked at once (the same for every system: spider-storage runs 4 EMs × 4). */
  readonly workerConcurrency: number;
  readonly runId: string;
}

export const REDIS = { host: "127.0.0.1", port: 6379 };
export const POSTGRES_URL = process.env["BENCH_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
