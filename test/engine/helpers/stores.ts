/**
 * Runs a suite once per JobStore (DECISIONS D13): on the in-memory store and
 * on MariaDB (this file's own database on the run's shared server, migrated
 * to the latest schema; writes group-committed as the server does). `storeFixture(kind)` registers the hooks in the
 * current `describe` and hands out the store.
 */
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { JobStore } from "../../../src/db/job-store.ts";
import { MariaDbJobStore } from "../../../src/db/mariadb-job-store.ts";
import { MemoryJobStore } from "../../../testkit/memory-job-store.ts";
import { createDb, type Db } from "../../../src/db/connection.ts";
import { migrateToLatest } from "../../../src/db/migrate.ts";
import { addRetryListener } from "../../../src/db/retry-policy.ts";
import { testDatabase } from "../../../testkit/test-database.ts";

export type StoreKind = "memory" | "mariadb";
export const STORE_KINDS: readonly StoreKind[] = ["memory", "mariadb"];

export interface StoreFixture {
  readonly kind: StoreKind;
  /** The store for the current test (a fresh one per test in memory; the file's database for MariaDB). */
  readonly store: JobStore;
  readonly db: Db | undefined;
}

export function storeFixture(kind: StoreKind): StoreFixture {
  let store: JobStore | undefined;
  let db: Db | undefined;
  if (kind === "mariadb") {
    let unsubscribe: (() => void) | undefined;
    beforeAll(async () => {
      // Retried database errors are rare here; say so when they happen (a slow test is then explained).
      unsubscribe = addRetryListener(({ operation, attempt, errorClass }) =>
        console.log(`[engine test] database retry: ${operation}, attempt ${attempt}, ${errorClass}`),
      );
      db = createDb({ url: await testDatabase("engine"), maxConnections: 16 });
      await migrateToLatest(db);
      // Group commit as the server runs it (runtime.db.group_commit's defaults).
      store = new MariaDbJobStore(db, { enabled: true, maxBatch: 64, maxInFlight: 1 });
    });
    afterAll(async () => {
      unsubscribe?.();
      await db?.destroy();
    });
  } else {
    beforeEach(() => {
      store = new MemoryJobStore();
    });
  }
  return {
    kind,
    get store(): JobStore {
      if (store === undefined) throw new Error("store used outside a test");
      return store;
    },
    get db(): Db | undefined {
      return db;
    },
  };
}
