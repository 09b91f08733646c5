/**
 * What each peer provides to W1's two modes (issue 20; bench/lib/open-loop.ts):
 *
 * - the **worker side** (`PeerHarness`, in run-peer.ts's process): the peer's
 *   workers, configured as the peer's docs advise for throughput, each job
 *   completed with a ~100-byte result (payload.ts); `enqueue` (used by the
 *   warm-up and the latency mode), `waitDurable(key)` resolving when that job's
 *   completion is durable in the peer's store, and `durableCount` for the
 *   capacity mode;
 * - the **producer side** (`PeerProducer`, in producer processes): enqueue one
 *   job with the library's ordinary single-job call, ~100-byte payload.
 *
 * The durable settings are read back from the store (`durability`), never
 * assumed.
 */
export interface PeerHarness {
  readonly name: string;
  /** The settings used, for the report. */
  readonly settings: Record<string, unknown>;
  /** The store's durability settings, read back from the server. */
  readonly durability: Record<string, string>;
  /** What "completion counted" means for this peer, and how durable it is. */
  readonly completionSignal: string;
  /** Processes of the store, for CPU per job: pids, or a command-name prefix summed over /proc. */
  readonly store: { readonly pids?: readonly number[]; readonly command?: string; readonly note: string };
  enqueue(index: number): Promise<string>;
  waitDurable(key: string): Promise<void>;
  /**
   * Durable completions since `resetCount()`, and when the last was seen
   * (this process's performance.now()). `produced` is the number of jobs
   * enqueued since the reset (for peers that count by the jobs left in the
   * store; only asked once every producer has finished).
   */
  durableCount(produced: number): Promise<{ count: number; lastAt: number }>;
  resetCount(): Promise<void>;
  close(): Promise<void>;
}

export interface PeerProducer {
  enqueue(index: number): Promise<string>;
  close(): Promise<void>;
}

export interface PeerOptions {
  /** Jobs worked at once (the same for every system: spider-storage runs 4 EMs × 4). */
  readonly workerConcurrency: number;
  readonly runId: string;
}

/** The bench's own Redis database number on the shared Redis (flushed of its queue after the run). */
export const REDIS = { host: "127.0.0.1", port: 6379, db: 11 };
/** The bench's own PostgreSQL database (created if missing), a fresh schema per run inside it. */
export const POSTGRES_ADMIN_URL = process.env["BENCH_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
export const POSTGRES_DATABASE = "spider_bench_peers";

export function postgresUrl(): string {
  const u = new URL(POSTGRES_ADMIN_URL);
  u.pathname = `/${POSTGRES_DATABASE}`;
  return u.toString();
}

/** The URL every peer connection uses: its own database, synchronous_commit=on asked for explicitly (and read back). */
export function withSynchronousCommit(url: string): string {
  const u = new URL(url);
  u.searchParams.set("options", "-c synchronous_commit=on");
  return u.toString();
}

export async function ensurePostgresDatabase(): Promise<void> {
  const { Client } = (await import("pg")).default;
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [POSTGRES_DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${POSTGRES_DATABASE}`).catch((error: Error) => {
      if (!/already exists/.test(error.message)) throw error;
    });
  } finally {
    await client.end();
  }
}

/** PostgreSQL's durability settings as this connection sees them. */
export async function readPostgresDurability(connectionString: string): Promise<Record<string, string>> {
  const { Client } = (await import("pg")).default;
  const client = new Client({ connectionString });
  await client.connect();
  try {
    const out: Record<string, string> = {};
    for (const name of ["synchronous_commit", "fsync", "wal_sync_method", "full_page_writes", "commit_delay", "server_version"]) {
      const result = await client.query(`SHOW ${name}`);
      out[name] = String((result.rows[0] as Record<string, unknown>)[name]);
    }
    return out;
  } finally {
    await client.end();
  }
}

export async function packageVersion(name: string): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const path = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(await readFile(path, "utf8")) as { version: string }).version;
}
