import { startMariaDb } from "../test/helpers/mariadb.ts";
import { SMOKE } from "./lib/profile.ts";
import { runW1 } from "./workloads/w1-small-jobs.ts";
const mariadb = await startMariaDb({ durable: true });
try {
  const r = await runW1({ profile: SMOKE, mariadb, runId: "x1", log: console.log });
  console.log(JSON.stringify(r, (_, v) => typeof v === "bigint" ? String(v) : v, 1));
} finally { await mariadb.destroy(); }
