/** What run.ts hands every workload: the sizes of this mode, the durable MariaDB, a run id and a logger. */
import type { PrivateMariaDb } from "../../testkit/mariadb.ts";
import type { Profile } from "../lib/profile.ts";

export interface BenchContext {
  readonly profile: Profile;
  readonly mariadb: PrivateMariaDb;
  readonly runId: string;
  log(line: string): void;
}
