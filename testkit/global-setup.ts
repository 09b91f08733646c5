/**
 * Vitest global setup: one throwaway MariaDB for the whole run (DECISIONS D13).
 * Order of preference: SPIDER_TEST_DATABASE_URL (an existing server), a
 * private mariadbd from PATH, testcontainers' MariaDB when a container runtime
 * exists. With none of these the run stops at once, naming the ways out.
 */
import { existsSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { findMariaDbBinary } from "../src/embedded/mariadbd-process.ts";
import { startMariaDb, type PrivateMariaDb } from "./mariadb.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** `mysql://user:pass@host:port/` of the run's shared MariaDB, without a database. */
    mariadbServerUrl: string;
  }
}

let privateServer: PrivateMariaDb | undefined;
let container: { stop(): Promise<unknown> } | undefined;

export async function setup(project: TestProject): Promise<void> {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 24) {
    throw new Error(
      `the tests need Node.js 24 or newer, got ${process.version}; run them with \`npm test\`, which uses the Node 24 installed by \`npm ci\``,
    );
  }
  const existing = process.env["SPIDER_TEST_DATABASE_URL"];
  if (existing) {
    const url = new URL(existing);
    url.pathname = "/";
    project.provide("mariadbServerUrl", url.toString());
    return;
  }
  if (findMariaDbBinary("mariadbd")) {
    privateServer = await startMariaDb();
    project.provide("mariadbServerUrl", privateServer.serverUrl);
    return;
  }
  if (existsSync("/var/run/docker.sock") || process.env["DOCKER_HOST"]) {
    // Lazy: testcontainers is only loaded on this path (DECISIONS D1).
    const { MariaDbContainer } = await import("@testcontainers/mariadb");
    const started = await new MariaDbContainer("mariadb:10.11").withUserPassword("root").start();
    container = started;
    project.provide("mariadbServerUrl", `mysql://root:root@${started.getHost()}:${started.getPort()}/`);
    return;
  }
  throw new Error(
    "no MariaDB for the tests: install mariadbd (Debian package mariadb-server), " +
      "or set SPIDER_TEST_DATABASE_URL=mysql://user:password@host:port/ to use an existing server",
  );
}

export async function teardown(): Promise<void> {
  await privateServer?.destroy();
  await container?.stop();
}
