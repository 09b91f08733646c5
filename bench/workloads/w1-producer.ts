/**
 * A W1 capacity producer for spider-storage, run in its own process by
 * w1-small-jobs.ts (bench/lib/open-loop.ts's protocol): RegisterJob + StartJob
 * for each of its jobs, `concurrency` at a time, never waiting for a
 * completion.
 *
 *   node bench/workloads/w1-producer.ts --address HOST:PORT --resource-group ID --from F --count N --concurrency C
 */
import { parseArgs } from "node:util";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { runProducer } from "../lib/open-loop.ts";
import { w1Graph, w1Inputs } from "./w1-job.ts";

const { values } = parseArgs({
  options: {
    address: { type: "string" },
    "resource-group": { type: "string" },
    from: { type: "string", default: "0" },
    count: { type: "string", default: "100" },
    concurrency: { type: "string", default: "4" },
  },
});
const clients = connectStorage(values.address!);
const resourceGroupId = BigInt(values["resource-group"]!);
const graph = w1Graph();
// Connect before "ready", so the first enqueue does not pay for the connection.
await clients.sessions.getSession({});
await runProducer(
  { from: Number(values.from), count: Number(values.count), concurrency: Number(values.concurrency) },
  async (index) => {
    const { jobId } = await clients.jobs.registerJob({ resourceGroupId, compressedSerializedTaskGraph: graph, compressedSerializedInputs: w1Inputs(index) });
    await clients.jobs.startJob({ jobId });
    return String(jobId);
  },
  async () => clients.close(),
);
