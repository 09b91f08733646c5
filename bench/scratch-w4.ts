import { SMOKE } from "./lib/profile.ts";
import { runW4 } from "./workloads/w4-recovery.ts";
const r = await runW4({ profile: SMOKE, mariadb: undefined as never, runId: "x4", log: console.log });
console.log(JSON.stringify(r, null, 1));
