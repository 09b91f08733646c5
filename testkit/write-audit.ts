/**
 * A record, kept by the database itself, of who wrote what: triggers on the
 * tables that hold job state append a row to `write_audit` for every change
 * that matters, naming the MariaDB user that made it (`USER()`). Give each
 * storage server its own user ({@link createServerUser}) and the audit says
 * which server wrote each change — whichever database node it went through.
 *
 * Only committed changes leave a row (the audit row is part of the same
 * transaction), so the audit shows exactly what landed:
 * - a job's outputs written, and its moves into Succeeded: once per job, or a
 *   job was committed twice;
 * - a takeover (`leader_fence` stripe 0 given a new epoch, the new leader's
 *   session allocation, DECISIONS D3) and, after it, nothing more from the
 *   previous leader.
 *
 * On Galera (ROW binlog format) a trigger fires on the node where the
 * statement ran; the other nodes apply its rows, audit rows included, without
 * firing it again, so every change is recorded once. `at` is the statement's
 * start (`NOW(6)`), which every node of a cluster on one machine reads from
 * the same clock.
 */
import { sql } from "kysely";
import type { Db } from "../src/db/connection.ts";

export interface AuditRow {
  readonly id: bigint;
  /** Microseconds since the epoch (NOW(6)), as a number (exact well beyond 2100). */
  readonly atUs: number;
  readonly writer: string;
  readonly kind: "job-insert" | "job-update" | "checkpoint-insert" | "checkpoint-delete" | "em-state" | "takeover";
  readonly jobId: bigint | null;
  readonly fromState: string | null;
  readonly toState: string | null;
  readonly outputsWritten: boolean;
  readonly epoch: bigint | null;
}

/** A MariaDB user for one storage server (all privileges: it migrates, as a server does). */
export async function createServerUser(db: Db, name: string): Promise<void> {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`bad user name ${name}`);
  await sql.raw(`CREATE USER IF NOT EXISTS '${name}'@'%'`).execute(db);
  await sql.raw(`GRANT ALL PRIVILEGES ON *.* TO '${name}'@'%'`).execute(db);
}

const WRITER = "SUBSTRING_INDEX(USER(), '@', 1)";

/** Creates `write_audit` and its triggers in `db`'s database (after the migrations: the tables must exist). */
export async function installWriteAudit(db: Db): Promise<void> {
  await sql`
    CREATE TABLE IF NOT EXISTS write_audit (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      at DATETIME(6) NOT NULL,
      writer VARCHAR(80) NOT NULL,
      kind VARCHAR(20) NOT NULL,
      job_id BIGINT UNSIGNED NULL,
      from_state VARCHAR(20) NULL,
      to_state VARCHAR(20) NULL,
      outputs_written TINYINT NOT NULL DEFAULT 0,
      epoch BIGINT UNSIGNED NULL
    ) ENGINE = InnoDB`.execute(db);
  const triggers = [
    `CREATE TRIGGER audit_job_insert AFTER INSERT ON jobs FOR EACH ROW
       INSERT INTO write_audit (at, writer, kind, job_id, to_state) VALUES (NOW(6), ${WRITER}, 'job-insert', NEW.id, NEW.state)`,
    `CREATE TRIGGER audit_job_update AFTER UPDATE ON jobs FOR EACH ROW
       INSERT INTO write_audit (at, writer, kind, job_id, from_state, to_state, outputs_written)
       VALUES (NOW(6), ${WRITER}, 'job-update', NEW.id, OLD.state, NEW.state, NOT (OLD.serialized_job_outputs <=> NEW.serialized_job_outputs))`,
    `CREATE TRIGGER audit_checkpoint_insert AFTER INSERT ON task_checkpoints FOR EACH ROW
       INSERT INTO write_audit (at, writer, kind, job_id) VALUES (NOW(6), ${WRITER}, 'checkpoint-insert', NEW.job_id)`,
    `CREATE TRIGGER audit_checkpoint_delete AFTER DELETE ON task_checkpoints FOR EACH ROW
       INSERT INTO write_audit (at, writer, kind, job_id) VALUES (NOW(6), ${WRITER}, 'checkpoint-delete', OLD.job_id)`,
    `CREATE TRIGGER audit_em_state AFTER UPDATE ON execution_managers FOR EACH ROW
       INSERT INTO write_audit (at, writer, kind, from_state, to_state)
       SELECT NOW(6), ${WRITER}, 'em-state', OLD.state, NEW.state FROM DUAL WHERE NOT (OLD.state <=> NEW.state)`,
    `CREATE TRIGGER audit_takeover AFTER UPDATE ON leader_fence FOR EACH ROW
       INSERT INTO write_audit (at, writer, kind, epoch)
       SELECT NOW(6), ${WRITER}, 'takeover', NEW.epoch FROM DUAL WHERE NEW.stripe = 0 AND NOT (OLD.epoch <=> NEW.epoch)`,
  ];
  for (const statement of triggers) await sql.raw(statement).execute(db);
}

/**
 * Every audit row, in statement order. On Galera pass a connection that waits
 * for its node to apply everything committed before (`wsrep_sync_wait`):
 * {@link readAudit} sets it for its own statement.
 */
export async function readAudit(db: Db, options: { galera?: boolean } = {}): Promise<AuditRow[]> {
  const prefix = options.galera ? sql.raw("SET STATEMENT wsrep_sync_wait = 1 FOR ") : sql.raw("");
  const { rows } = await sql<{
    id: bigint;
    at_us: string;
    writer: string;
    kind: AuditRow["kind"];
    job_id: bigint | null;
    from_state: string | null;
    to_state: string | null;
    outputs_written: number;
    epoch: bigint | null;
  }>`${prefix}SELECT id, CAST(UNIX_TIMESTAMP(at) * 1000000 AS CHAR) AS at_us, writer, kind, job_id, from_state, to_state, outputs_written, epoch
       FROM write_audit ORDER BY at, id`.execute(db);
  return rows.map((r) => ({
    id: BigInt(r.id),
    atUs: Number(String(r.at_us).split(".")[0]),
    writer: r.writer,
    kind: r.kind,
    jobId: r.job_id === null ? null : BigInt(r.job_id),
    fromState: r.from_state,
    toState: r.to_state,
    outputsWritten: Number(r.outputs_written) !== 0,
    epoch: r.epoch === null ? null : BigInt(r.epoch),
  }));
}

/** Per job: how often its outputs were written and how often it moved into Succeeded. */
export function commitsPerJob(rows: readonly AuditRow[]): Map<bigint, { outputsWritten: number; succeeded: number }> {
  const perJob = new Map<bigint, { outputsWritten: number; succeeded: number }>();
  for (const row of rows) {
    if (row.kind !== "job-update" || row.jobId === null) continue;
    const entry = perJob.get(row.jobId) ?? { outputsWritten: 0, succeeded: 0 };
    if (row.outputsWritten) entry.outputsWritten++;
    if (row.toState === "Succeeded" && row.fromState !== "Succeeded") entry.succeeded++;
    perJob.set(row.jobId, entry);
  }
  return perJob;
}

/**
 * Rows written by a server outside its own terms: a term runs from a
 * server's takeover to the next takeover (by statement start). A fenced
 * leader's writes after a successor's takeover must never land (D3).
 */
export function writesOutsideTerm(rows: readonly AuditRow[]): AuditRow[] {
  let holder: string | undefined;
  const outside: AuditRow[] = [];
  for (const row of rows) {
    if (row.kind === "takeover") {
      holder = row.writer;
      continue;
    }
    if (holder !== undefined && row.writer !== holder) outside.push(row);
  }
  return outside;
}

/** The takeovers, in order: who took the fence, at which epoch, when. */
export function takeovers(rows: readonly AuditRow[]): AuditRow[] {
  return rows.filter((row) => row.kind === "takeover");
}
