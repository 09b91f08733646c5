/**
 * `readNodeState`: what decides whether a database server may take our writes
 * (src/db/database-nodes.ts): `read_only`, and on a Galera node (`wsrep_on`)
 * whether it is ready and Synced. SHOW statements, because a Galera node that
 * is not ready refuses almost everything else (error 1047) but always answers
 * these; kysely cannot say SHOW, so they are sent as they are. A server built
 * without wsrep has no such variables: it reads as off.
 *
 * It runs on a bare connection, before any pool exists on that server.
 */
import type { Connection, RowDataPacket } from "mysql2/promise";

export interface NodeState {
  readonly readOnly: boolean;
  readonly wsrepOn: boolean;
  /** `wsrep_ready`; undefined when wsrep is off. */
  readonly wsrepReady: boolean | undefined;
  /** `wsrep_local_state_comment` ("Synced", "Donor/Desynced", "Joining", …); undefined when wsrep is off. */
  readonly wsrepState: string | undefined;
}

/** Our own timer, not mysql2's `timeout` (which stays armed when the connection dies first): past it the connection is destroyed. */
async function show(connection: Connection, statement: string, timeoutMs: number): Promise<Map<string, string>> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      connection.destroy();
      reject(Object.assign(new Error(`${statement.split(" WHERE")[0]} timed out after ${timeoutMs} ms`), { code: "PROTOCOL_SEQUENCE_TIMEOUT" }));
    }, timeoutMs);
    timer.unref();
  });
  try {
    const [rows] = await Promise.race([connection.query<RowDataPacket[]>(statement), timedOut]);
    return new Map(rows.map((row) => [String(row["Variable_name"]).toLowerCase(), String(row["Value"] ?? "")]));
  } finally {
    clearTimeout(timer);
  }
}

const isOn = (value: string | undefined) => value !== undefined && ["on", "1", "true"].includes(value.toLowerCase());

export async function readNodeState(connection: Connection, options: { readonly timeoutMs: number }): Promise<NodeState> {
  const variables = await show(connection, "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'wsrep_on')", options.timeoutMs);
  const readOnly = isOn(variables.get("read_only"));
  const wsrepOn = isOn(variables.get("wsrep_on"));
  if (!wsrepOn) return { readOnly, wsrepOn, wsrepReady: undefined, wsrepState: undefined };
  const status = await show(connection, "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment')", options.timeoutMs);
  return { readOnly, wsrepOn, wsrepReady: isOn(status.get("wsrep_ready")), wsrepState: status.get("wsrep_local_state_comment") };
}
