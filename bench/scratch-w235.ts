import { startMariaDb } from "../test/helpers/mariadb.ts";
import { SMOKE } from "./lib/profile.ts";
import { runW2 } from "./workloads/w2-big-job.ts";
import { runW3 } from "./workloads/w3-dispatch-latency.ts";
import { runW5 } from "./workloads/w5-memory.ts";
const mariadb = await startMariaDb({ durable: true });
const ctx = { profile: SMOKE, mariadb, runId: "x2", log: console.log };
try {
  console.log(JSON.stringify(await runW2(ctx), null, 1));
  console.log(JSON.stringify(await runW3(ctx, 160), null, 1));
  console.log(JSON.stringify(await runW5(ctx), null, 1));
} finally { await mariadb.destroy(); }
