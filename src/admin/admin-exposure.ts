/**
 * Whether the admin API is more exposed than its loopback rule assumes.
 *
 * Without runtime.admin.token the admin API serves callers whose source
 * address is loopback (src/grpc/admin-auth.ts). That is private only on a
 * plain host with the port bound to loopback. A service-mesh sidecar
 * forwards remote callers from a loopback address (Istio's inbound traffic
 * arrives from 127.0.0.6), the containers of a Kubernetes pod share one
 * loopback, and `kubectl port-forward` connects from it: there, anyone who
 * reaches the port through the mesh, the pod or the API server is an admin.
 * Mutual TLS (runtime.tls.client_ca_file) closes that gap too: a forwarder
 * without a client certificate cannot connect.
 */
import { isIP } from "node:net";
import type { Config } from "../config/schema.ts";

function isLoopbackListener(host: string): boolean {
  return host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

/** The start-up warning to log, or undefined when the loopback rule is sound here. */
export function adminExposureWarning(config: Config, env: NodeJS.ProcessEnv): string | undefined {
  if (config.runtime.admin.token !== undefined || config.runtime.tls.client_ca_file !== undefined) return undefined;
  const inPod = (env["KUBERNETES_SERVICE_HOST"] ?? "") !== "";
  if (isLoopbackListener(config.host) && !inPod) return undefined;
  const where = inPod ? "in a Kubernetes pod" : `listening on ${config.host}`;
  return (
    `the admin API has no token and trusts every caller from a loopback address; ${where}, that includes callers ` +
    "forwarded by a service-mesh sidecar (Istio's 127.0.0.6), the pod's other containers and port-forwards: " +
    "set runtime.admin.token (or mutual TLS with runtime.tls.client_ca_file)"
  );
}
