/**
 * `tcpPeerPorts(pid)`: the remote ports of a process's established TCP
 * connections on loopback, from `ss` (iproute2) — how a test finds which
 * database node a storage server is using right now without asking the
 * server (a multi-host URL lets it move on its own).
 */
import { execFileSync } from "node:child_process";

export function tcpPeerPorts(pid: number): number[] {
  const output = execFileSync("ss", ["-tnpH", "state", "established"], { encoding: "utf8" });
  const ports: number[] = [];
  for (const line of output.split("\n")) {
    if (!line.includes(`pid=${pid},`)) continue;
    // Recv-Q Send-Q Local:Port Peer:Port Process
    const peer = line.trim().split(/\s+/)[3];
    const port = Number(peer?.slice(peer.lastIndexOf(":") + 1));
    if (Number.isInteger(port)) ports.push(port);
  }
  return ports;
}

/** Of `candidates`, the port `pid` holds the most connections to (undefined when none). */
export function mostUsedPeerPort(pid: number, candidates: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const port of tcpPeerPorts(pid)) if (candidates.includes(port)) counts.set(port, (counts.get(port) ?? 0) + 1);
  let best: number | undefined;
  for (const [port, count] of counts) if (best === undefined || count > counts.get(best)!) best = port;
  return best;
}
