/** `doctor` through a running server: the offline doctor's checks (./doctor.ts) on the server's database pool. */
import type { AdminHost } from "./admin-host.ts";
import { runDoctor } from "./doctor.ts";
import { requireDb } from "./require-ready.ts";

export function runDoctorOnServer(host: AdminHost): ReturnType<typeof runDoctor> {
  return runDoctor(requireDb(host), { deadExecutionManagerCutoffMs: host.settings.deadExecutionManagerCutoffMs });
}
