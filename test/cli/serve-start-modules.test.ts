/**
 * What a start loads before it serves (issue 20.5): no second protobuf
 * runtime. Health is our own code over protobuf-es (src/grpc/health.ts), and
 * reflection's library — which brings protobufjs and proto-loader with it —
 * loads on the first reflection call. A real server process from the sources,
 * every module it resolves recorded by a preloaded hook; the same process then
 * answers a reflection call, which shows the hook sees those packages load.
 */
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { ReflectionClient } from "../operability/helpers.ts";

const HOOK = fileURLToPath(new URL("./fixtures/record-resolved-modules.js", import.meta.url));
const SECOND_RUNTIME = ["/node_modules/protobufjs/", "/node_modules/@grpc/proto-loader/", "/node_modules/@grpc/reflection/"];

const loadedFrom = (urls: readonly string[]) => SECOND_RUNTIME.filter((dir) => urls.some((url) => url.includes(dir)));

describe("a start", () => {
  const log = join(tmpdir(), `spider-start-modules-${process.pid}.log`);
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.kill();
    await rm(log, { force: true });
  });

  it("serves without loading protobufjs, proto-loader or reflection's library; the first reflection call loads them", async () => {
    server = await ServerProcess.start({
      databaseUrl: await testDatabase("start_modules"),
      env: { NODE_OPTIONS: `--import ${HOOK}`, SPIDER_TEST_MODULE_LOG: log },
    });
    await server.waitServing();
    const atServing = (await readFile(log, "utf8")).split("\n");
    expect(atServing.some((url) => url.includes("/node_modules/@grpc/grpc-js/")), "the hook records the server's packages").toBe(true);
    expect(loadedFrom(atServing)).toEqual([]);

    const reflection = new ReflectionClient(server.address);
    try {
      expect(await reflection.listServices()).toContain("grpc.health.v1.Health");
    } finally {
      reflection.close();
    }
    expect(loadedFrom((await readFile(log, "utf8")).split("\n"))).toEqual(SECOND_RUNTIME);
  });
});
