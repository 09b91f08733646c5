/**
 * One real server process on its own database plus a simulated cluster, for an
 * end-to-end test file. Extra server flags (e.g. short cutoffs) go through env
 * so every config key is reachable.
 */
import { ServerProcess } from "./server-process.ts";
import { SimulatedCluster, type ClusterOptions } from "./sim/cluster.ts";
import { testDatabase } from "./test-database.ts";

export interface E2eEnvironment {
  readonly server: ServerProcess;
  readonly cluster: SimulatedCluster;
  readonly databaseUrl: string;
  stop(): Promise<void>;
}

export async function startE2e(options: { cluster?: ClusterOptions; env?: Record<string, string>; args?: string[] } = {}): Promise<E2eEnvironment> {
  const databaseUrl = await testDatabase("e2e");
  const server = await ServerProcess.start({ databaseUrl, ...(options.env ? { env: options.env } : {}), ...(options.args ? { args: options.args } : {}) });
  await server.waitServing();
  const cluster = await new SimulatedCluster(server.address, options.cluster).start();
  return {
    server,
    cluster,
    databaseUrl,
    stop: async () => {
      await cluster.stop();
      await server.stop();
    },
  };
}
