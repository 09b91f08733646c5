/**
 * The configuration schema: one valibot schema for every setting (DECISIONS D10).
 *
 * Keys are snake_case in Spider's tree (`host`, `port`, `runtime.db.*`,
 * `runtime.inbound_queue.*`, `runtime.task_instance_pool.*`, `runtime.job_cache_gc.*`)
 * and keep Spider's meaning; ours sit beside them as `runtime.<component>.*`. The
 * parsed object keeps the YAML names, so a setting has one name in YAML, in its
 * environment variable, in the README table and in code.
 *
 * Every leaf carries {@link KeyMeta}: what it must be (error messages say
 * "expected <that>, got <value>"), what it means, and Spider's default where
 * ours differs. The README table is generated from the same metadata
 * (src/config/table.ts). Values from the environment and from flags arrive as
 * strings; numeric and boolean leaves accept their decimal / true-false
 * spellings, nothing looser (no "" → 0).
 *
 * valibot, not zod: every command validates its configuration before it does
 * anything, and zod's module and schema construction were ~40 ms of each start
 * (issue 20.5); valibot's schemas are plain objects, built in about a millisecond.
 */
import { isIP } from "node:net";
import * as v from "valibot";
import { parseDatabaseUrl, parseHostEntry } from "../core/database-url.ts";
import { LOG_LEVELS, normalizeLogLevel } from "../observability/log-level.ts";

/** Metadata of one leaf key (see {@link key}). */
export interface KeyMeta {
  /** What the value must be, completing "expected …": "an integer 0..65535". */
  readonly expected: string;
  /** What the key does, for the README table. */
  readonly description: string;
  /** Spider's default, when the key is Spider's. "required" when Spider has none. */
  readonly spider?: string;
  /** How the default reads in the table, when it is not the literal value. */
  readonly defaultText?: string;
  /** Never logged or shown (passwords, tokens). */
  readonly secret?: boolean;
}

type AnySchema = v.GenericSchema;

/** Each leaf schema's metadata, found again when the schema is walked (configSchemaTree). */
const keyMetas = new WeakMap<object, KeyMeta>();

function withMeta<S extends AnySchema>(schema: S, meta: KeyMeta): S {
  keyMetas.set(schema, meta);
  return schema;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const INT32_MAX = 2 ** 31 - 1;

// ---- leaf builders -------------------------------------------------------------------------

function toInteger(value: unknown): unknown {
  if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) return Number(value.trim());
  return value;
}

function toBoolean(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const lowered = value.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(lowered)) return true;
  if (["false", "0", "no", "off"].includes(lowered)) return false;
  return value;
}

/** An integer in [min, max]; decimal strings accepted (environment, flags). */
function integer(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  const expected =
    max === Number.MAX_SAFE_INTEGER
      ? min === 1
        ? "a positive integer"
        : `an integer ≥ ${String(min)}`
      : `an integer ${String(min)}..${String(max)}`;
  return { expected, schema: v.pipe(v.unknown(), v.transform(toInteger), v.number(), v.integer(), v.minValue(min), v.maxValue(max)) };
}

function boolean() {
  return { expected: "true or false", schema: v.pipe(v.unknown(), v.transform(toBoolean), v.boolean()) };
}

function text() {
  return { expected: "a non-empty string", schema: v.pipe(v.string(), v.minLength(1)) };
}

function ipLiteral() {
  return {
    expected: "an IP address literal (v4 or v6; host names are not accepted, as in Spider)",
    schema: v.pipe(
      v.string(),
      v.check((value) => isIP(value) !== 0),
    ),
  };
}

function databaseUrl() {
  return {
    expected:
      "a mysql:// or mariadb:// URL (mysql://user:password@host:port/database; several servers of one replicated database as host1:port1,host2:port2; or ?socket=/path)",
    schema: v.pipe(
      v.string(),
      v.check((value) => {
        try {
          parseDatabaseUrl(value);
          return true;
        } catch {
          return false;
        }
      }),
    ),
  };
}

/** A YAML list of strings, or one comma-separated string (environment, flags). */
function toList(value: unknown): unknown {
  if (typeof value === "string") return value.split(",").map((entry) => entry.trim());
  return value;
}

function isHostEntry(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    parseHostEntry(value);
    return true;
  } catch {
    return false;
  }
}

function hostList() {
  return {
    expected: "a non-empty list of host or host:port (IPv6 in brackets when with a port: [::1]:3306), or one comma-separated string of them",
    schema: v.pipe(
      v.unknown(),
      v.transform(toList),
      v.custom<string[]>((value) => Array.isArray(value) && value.length > 0 && value.every(isHostEntry)),
    ),
  };
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return { expected: `one of ${values.join(", ")}`, schema: v.picklist(values) };
}

type Leaf<S extends AnySchema> = { expected: string; schema: S };
type Described = Omit<KeyMeta, "expected">;

// A default typed `never` to valibot: a key or section with one is never undefined once parsed
// (the value's own type cannot be checked against a generic schema's input type).

/** A key with a default. */
function key<S extends AnySchema>(leaf: Leaf<S>, defaultValue: v.InferOutput<S>, meta: Described) {
  return withMeta(v.optional(leaf.schema, defaultValue as never), { ...meta, expected: leaf.expected });
}

/** A key without a default. */
function optionalKey<S extends AnySchema>(leaf: Leaf<S>, meta: Described) {
  return withMeta(v.optional(leaf.schema), { ...meta, expected: leaf.expected });
}

/** A section: may be omitted entirely, and each key inside may be omitted individually. */
function section<const T extends v.ObjectEntries>(shape: T) {
  return v.optional(v.object(shape), {} as never);
}

/**
 * A check across a section's keys, run once its keys are valid; `problems`
 * returns what is wrong as [key, message] pairs (the message names the rule;
 * load-config prints it as given).
 */
function crossCheck<T extends Record<string, unknown>>(problems: (section: T) => readonly (readonly [key: string, message: string])[]) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const [name, message] of problems(dataset.value)) {
      addIssue({ message, path: [{ type: "object", origin: "value", input: dataset.value, key: name, value: dataset.value[name] }] });
    }
  });
}

// ---- the schema ----------------------------------------------------------------------------

export { LOG_LEVELS };

/** A log level, in pino's or Rust's spelling (`INFO`, `off`; src/observability/log-level.ts). */
function logLevel() {
  return {
    expected: `one of ${LOG_LEVELS.join(", ")} (any case; also Rust's off and warning)`,
    schema: v.pipe(
      v.unknown(),
      v.transform((value) => (typeof value === "string" ? (normalizeLogLevel(value) ?? value) : value)),
      v.picklist(LOG_LEVELS),
    ),
  };
}

const credentialsSchema = v.optional(
  v.object({
    username: withMeta(v.string(), {
      expected: "a string",
      description:
        "Database user. When runtime.db is given without credentials, SPIDER_STORAGE_DB_USERNAME and " +
        "SPIDER_STORAGE_DB_PASSWORD must both be set, exactly as in Spider.",
      defaultText: "from SPIDER_STORAGE_DB_USERNAME",
    }),
    password: withMeta(v.string(), {
      expected: "a string",
      description: "Database password (see username).",
      defaultText: "from SPIDER_STORAGE_DB_PASSWORD",
      secret: true,
    }),
  }),
);

const dbSchema = section({
  host: optionalKey(text(), {
    description:
      "Database host (a DNS name or IP). Giving runtime.db (host and name) selects that database unless a database_url is set.",
    spider: "required",
  }),
  hosts: optionalKey(hostList(), {
    description:
      "Several servers of one replicated database (a Galera cluster), instead of host: the server connects to the first that answers and is usable (on Galera, ready and Synced; never read_only) and moves to the next in order when it is lost. An entry without a port takes runtime.db.port. Beats host.",
    defaultText: "none (host and port)",
  }),
  port: key(integer(0, 65535), 3306, { description: "Database port.", spider: "required" }),
  name: optionalKey(text(), { description: "Database name; the database must exist.", spider: "required" }),
  max_connections: key(integer(1, 10_000), 16, {
    description: "Size of the connection pool (also used with database_url and the embedded MariaDB).",
    spider: "required",
  }),
  statement_timeout_ms: key(integer(100, 3_600_000), 30_000, {
    description:
      "Client-side limit on one database statement: past it the statement fails and its connection is dropped, so a black-holed database (partition, frozen server) answers UNAVAILABLE instead of hanging. Migrations are exempt.",
  }),
  credentials: credentialsSchema,
  group_commit: section({
    enabled: key(boolean(), true, {
      description:
        "Write concurrent RegisterJob inserts and the engine's per-job moves (start, last success, commit, cleanup, fail) as one statement per batch. Every call still answers only after its own row is committed.",
    }),
    max_batch: key(integer(1, 1_000), 64, { description: "Most jobs written by one batched statement." }),
    max_in_flight: key(integer(1, 64), 1, {
      description: "Batches of one kind written at once; requests beyond wait and form the next batch (no timer: an idle server adds no delay).",
    }),
  }),
});

const inboundQueueSchema = section({
  task_capacity: key(integer(1), 65_536, {
    description:
      "Accepted and validated for compatibility, otherwise ignored: our inbound queue holds at most one entry per ready task and never blocks (DECISIONS D7).",
  }),
  commit_capacity: key(integer(1), 1024, { description: "As task_capacity (ignored)." }),
  cleanup_capacity: key(integer(1), 1024, { description: "As task_capacity (ignored)." }),
});

const taskInstancePoolSchema = v.optional(
  v.pipe(
    v.object({
  execution_manager_stale_cutoff_sec: key(integer(1), 10, {
    description: "An execution manager silent this long is dead: its task instances fail over.",
    spider: "60",
  }),
  gc_interval_sec: key(integer(1), 1, {
    description: "How often dead execution managers and timed-out task instances are looked for.",
    spider: "30",
  }),
  gc_interval_ms: optionalKey(integer(1), {
    description: "Sub-second form of gc_interval_sec; overrides it when given.",
    defaultText: "gc_interval_sec × 1000",
  }),
  message_channel_capacity: key(integer(1), 128, {
    description: "Accepted and validated for compatibility; unused (no actor channel here).",
  }),
    }),
    v.transform((pool) => ({ ...pool, gc_interval_ms: pool.gc_interval_ms ?? pool.gc_interval_sec * 1000 })),
  ),
  {},
);

const jobCacheGcSchema = section({
  terminated_job_retention_sec: key(integer(1), 300, {
    description: "A terminated job stays in the in-memory job cache this long (its rows stay in the database).",
  }),
  gc_interval_sec: key(integer(1), 30, { description: "How often the job cache is swept." }),
});

const tlsSchema = v.optional(
  v.pipe(
    v.object({
  key_file: optionalKey(text(), { description: "PEM private key; with cert_file, the gRPC port speaks TLS." }),
  cert_file: optionalKey(text(), { description: "PEM certificate chain (with key_file)." }),
  client_ca_file: optionalKey(text(), {
    description: "PEM CA bundle; when given, clients must present a certificate it signed (mutual TLS).",
  }),
    }),
    crossCheck((tls) => {
      const problems: [string, string][] = [];
      if ((tls.key_file === undefined) !== (tls.cert_file === undefined)) {
        problems.push([tls.key_file === undefined ? "key_file" : "cert_file", "required when the other of key_file / cert_file is given"]);
      }
      if (tls.client_ca_file !== undefined && tls.key_file === undefined && tls.cert_file === undefined) {
        problems.push(["client_ca_file", "needs key_file and cert_file (mutual TLS is TLS first)"]);
      }
      return problems;
    }),
  ),
  {},
);

const leaseSchema = v.optional(
  v.pipe(
    v.object({
  ttl_ms: key(integer(1_000, 600_000), 5_000, {
    description:
      "How long the database lease lasts without renewal, by the database's clock (DECISIONS D3): a standby takes over only after it has passed.",
  }),
  renew_interval_ms: key(integer(50, 60_000), 1_000, { description: "How often the leader renews the lease (and a standby looks whether it expired)." }),
  step_down_margin_ms: key(integer(100, 600_000), 1_500, {
    description:
      "The leader stops serving (NOT_SERVING, writes fenced) when it has not renewed for ttl_ms minus this; it covers clock skew between database nodes and late timers.",
  }),
  holder_name: optionalKey(text(), {
    description: "How this server names itself in the lease (shown by `status` on every server as the leader); use an address clients can reach.",
    defaultText: "<hostname>:<port>",
  }),
    }),
    crossCheck((lease) => {
      if (lease.step_down_margin_ms >= lease.ttl_ms) return [["step_down_margin_ms", "must be below ttl_ms"]];
      if (lease.renew_interval_ms * 2 > lease.ttl_ms - lease.step_down_margin_ms) {
        return [["renew_interval_ms", "must leave two renewals before the step-down (2 × renew_interval_ms ≤ ttl_ms − step_down_margin_ms)"]];
      }
      return [];
    }),
  ),
  {},
);

export const configSchema = v.object({
  host: key(ipLiteral(), "127.0.0.1", { description: "Address the gRPC server listens on.", spider: "required" }),
  port: key(integer(0, 65535), 50051, { description: "gRPC port (0 picks a free one).", spider: "required" }),
  database_url: optionalKey(databaseUrl(), {
    description:
      "The database, as a URL; beats runtime.db. Several servers of one replicated database go in a host list (mysql://user:password@h1:3306,h2:3306,h3:3306/spider; see runtime.db.hosts). Without either, serve runs an embedded MariaDB in data_dir.",
    defaultText: "none",
    secret: true,
  }),
  data_dir: key(text(), "./.spider-storage", {
    description: "Data directory of the embedded MariaDB (used only when no database is configured); relative to the working directory.",
  }),
  log_level: key(logLevel(), "info", {
    description: "Log level. RUST_LOG (as Spider's image sets it: INFO, DEBUG, or directives such as warn,spider_storage=debug) is read when SPIDER_STORAGE_LOG_LEVEL is not set.",
  }),
  log_format: key(oneOf(["auto", "json", "pretty"]), "auto", {
    description: "Log lines on stderr: JSON, or coloured lines for people; auto: pretty when stderr is a terminal, else JSON (--log-format).",
  }),
  runtime: section({
    db: dbSchema,
    lease: leaseSchema,
    inbound_queue: inboundQueueSchema,
    task_instance_pool: taskInstancePoolSchema,
    job_cache_gc: jobCacheGcSchema,
    recovery: section({
      page_size: key(integer(1, 100_000), 500, { description: "Jobs read per page during restart recovery." }),
      page_bytes: key(integer(1024, INT32_MAX), 64 * MiB, {
        description:
          "Most bytes of job blobs (graph, inputs, outputs) read per recovery page, but at least one job: recovery holds at most (concurrency + 1) pages.",
        defaultText: "67108864 (64 MiB)",
      }),
      concurrency: key(integer(1, 64), 4, { description: "Pages of jobs read ahead from the database while one page is being rebuilt." }),
    }),
    checkpoints: section({
      enabled: key(boolean(), true, { description: "Write task checkpoints (outputs of finished tasks of running jobs)." }),
      flush_interval_ms: key(integer(0, 60_000), 5, { description: "Longest a checkpoint waits to be batched." }),
      max_batch: key(integer(1, 100_000), 500, { description: "Most checkpoints written in one statement." }),
    }),
    limits: section({
      max_request_bytes: key(integer(1024, INT32_MAX), 64 * MiB, {
        description: "Largest gRPC request accepted.",
        defaultText: "67108864 (64 MiB)",
      }),
      max_decompressed_bytes: key(integer(1024, INT32_MAX), 64 * MiB, {
        description: "Most bytes a task graph, or a job's inputs, may decompress to (the zstd budget).",
        defaultText: "67108864 (64 MiB)",
      }),
      max_tasks_per_job: key(integer(1), 3_000, { description: "Most tasks in one job." }),
      max_dependencies_per_job: key(integer(1), 20_000, { description: "Most dependency edges in one job." }),
      max_task_graph_values: key(integer(1), 64_000, {
        description:
          "Most JSON values (objects, arrays, strings, numbers, literals) in a task graph, counted before it is parsed; parsing costs about 0.4 µs per value, so the default bounds a graph to about 25 ms of the event loop.",
      }),
      max_task_graph_bytes: key(integer(1024, INT32_MAX), 8 * MiB, {
        description: "Most bytes a task graph's JSON may decompress to (with max_decompressed_bytes, the smaller binds).",
        defaultText: "8388608 (8 MiB)",
      }),
      max_zstd_frames: key(integer(1, 1_000_000), 64, {
        description: "Most zstd frames in a compressed task graph or compressed job inputs (Spider's clients send one).",
      }),
      max_payload_bytes_per_job: key(integer(1), GiB, {
        description: "Most bytes of inputs and outputs one job may hold.",
        defaultText: "1073741824 (1 GiB)",
      }),
      max_cached_payload_bytes: key(integer(1), 2 * GiB, {
        description:
          "Most bytes of payload all cached jobs hold together (inputs and outputs of started jobs, outputs of committed ones); StartJob and task outputs beyond it answer UNAVAILABLE until running jobs finish.",
        defaultText: "2147483648 (2 GiB)",
      }),
      max_kept_result_bytes: key(integer(0), 64 * MiB, {
        description:
          "Most bytes of reported results (job outputs, error messages) kept in memory while the database is unreachable, written when it is back; beyond it a result is dropped and its task runs again.",
        defaultText: "67108864 (64 MiB)",
      }),
      max_poll_items: key(integer(1, 1_000_000), 10_000, { description: "Most tasks one poll of the inbound queue returns." }),
      max_poll_wait_ms: key(integer(0, 3_600_000), 60_000, { description: "Longest a poll may wait for ready work." }),
      max_waiting_polls: key(integer(1, 1_000_000), 1_024, {
        description: "Most polls waiting for ready work at once (all lanes); a poll beyond it answers at once without waiting, counted in a metric.",
      }),
      max_response_bytes: key(integer(1024, INT32_MAX), 4 * MiB, {
        description:
          "Largest answer sent (RegisterTaskInstance, GetJobOutputs); Spider's clients read at most 4 MiB. A larger one is refused, naming this key; a task whose inputs can never fit fails its job.",
        defaultText: "4194304 (4 MiB)",
      }),
      max_control_request_bytes: key(integer(1024, INT32_MAX), 64 * KiB, {
        description:
          "Largest request of the RPCs that carry no payload (polls, heartbeats, registrations, state queries); only RegisterJob, ReportTaskSuccess and ReportTaskFailure may reach max_request_bytes.",
        defaultText: "65536 (64 KiB)",
      }),
      max_concurrent_streams: key(integer(1, INT32_MAX), 1_000, {
        description: "Most calls in flight on one client connection (HTTP/2 max_concurrent_streams); clients queue the rest.",
      }),
    }),
    grpc: section({
      unary_fast_path: key(boolean(), true, {
        description:
          "Answer the storage and admin services' unary calls straight from node:http2 instead of through grpc-js's per-call machinery (same statuses and wire format; compressed requests, health and reflection always go through grpc-js). false: every call through grpc-js.",
      }),
    }),
    queue: section({
      linger_ms: key(integer(0, 10_000), 2, { description: "How long a poll lingers to gather more ready tasks once it has one." }),
      reoffer_unclaimed_after_ms: key(integer(0, 86_400_000), 30_000, {
        description:
          "A ready task handed out by a poll and not registered (RegisterTaskInstance) within this time is offered again; 0: never. The protocol has no owner for a poll, so a poller that vanishes would otherwise hold its tasks until a restart.",
      }),
    }),
    metrics: section({
      enabled: key(boolean(), false, { description: "Serve Prometheus metrics over HTTP at /metrics." }),
      host: key(ipLiteral(), "127.0.0.1", { description: "Address of the metrics endpoint." }),
      port: key(integer(0, 65535), 9464, { description: "Port of the metrics endpoint." }),
    }),
    console: section({
      enabled: key(boolean(), true, {
        description:
          "Serve the web console (overview, jobs, task graphs, execution managers, repairs) over HTTP, behind the admin token and the TLS of runtime.tls.",
      }),
      host: key(ipLiteral(), "127.0.0.1", { description: "Address of the web console." }),
      port: key(integer(0, 65535), 9465, { description: "Port of the web console (0 picks a free one; the log line \"web console listening\" names it)." }),
    }),
    tls: tlsSchema,
    admin: section({
      token: optionalKey(text(), {
        description:
          "Bearer token every admin API call must carry (`authorization: Bearer <token>`; the CLI's --token); without it, the admin API serves loopback callers only.",
        defaultText: "none",
        secret: true,
      }),
    }),
    embedded: section({
      socket_dir: optionalKey(text(), {
        description:
          "Directory for the embedded MariaDB's socket (the path must stay under 108 characters).",
        defaultText: "$XDG_RUNTIME_DIR/spider-storage-<hash>, else /tmp/spider-storage-<hash>",
      }),
      bin_dir: optionalKey(text(), {
        description: "Directory holding mariadbd and mariadb-install-db; only it is searched when given.",
        defaultText: "PATH, then /usr/sbin, /usr/local/sbin, …",
      }),
    }),
    gc: section({
      enabled: key(boolean(), true, { description: "Delete terminated jobs from the database after retention_sec." }),
      retention_sec: key(integer(1), 7 * 24 * 3600, {
        description: "How long a terminated job's rows are kept.",
        defaultText: "604800 (7 days)",
      }),
      interval_sec: key(integer(1), 3600, { description: "How often expired jobs are deleted." }),
      batch_size: key(integer(1, 1_000_000), 1000, { description: "Jobs deleted per statement." }),
    }),
    shutdown: section({
      deadline_ms: key(integer(0, 3_600_000), 10_000, { description: "How long in-flight calls may drain on SIGTERM." }),
    }),
  }),
});

/** What `database_url`, `runtime.db` and `data_dir` resolve to (src/config/load-config.ts). */
export type DatabaseTarget =
  | {
      readonly kind: "url";
      /** The URL, credentials included. */
      readonly url: string;
      /** Where it came from: a flag, a variable, a key. */
      readonly source: string;
    }
  | {
      readonly kind: "embedded";
      /** Absolute path of the data directory. */
      readonly data_dir: string;
      readonly socket_dir: string | undefined;
      readonly bin_dir: string | undefined;
    };

export type ParsedConfig = v.InferOutput<typeof configSchema>;

/** The validated configuration. */
export type Config = ParsedConfig & {
  /** The database to use, resolved from database_url, runtime.db and data_dir. */
  readonly database: DatabaseTarget;
};

// ---- walking the schema --------------------------------------------------------------------

/** One leaf key of the schema. */
export interface KeyInfo {
  /** Dotted path: `runtime.db.port`. */
  readonly path: string;
  readonly meta: KeyMeta;
  /** The value the key takes when nothing sets it, or undefined when it has none. */
  readonly defaultValue: unknown;
}

/** A node of the schema's tree: a section has `properties`; a key carries its {@link KeyMeta}. */
type SchemaNode = Partial<KeyMeta> & { readonly properties?: Readonly<Record<string, SchemaNode>> };

/**
 * The schema's keys as a tree, walked once from valibot's own nodes: a key is a node
 * registered with metadata ({@link key}, {@link optionalKey}), a section an object
 * behind its `v.optional(…, {})` (a piped object keeps its `entries`).
 */
let schemaTree: SchemaNode | undefined;
function configSchemaTree(): SchemaNode {
  const walk = (schema: AnySchema): SchemaNode => {
    const meta = keyMetas.get(schema);
    if (meta !== undefined) return meta;
    let inner: AnySchema = schema;
    while (inner.type === "optional") inner = (inner as v.OptionalSchema<AnySchema, unknown>).wrapped;
    if (inner.type !== "object") return {};
    const entries = (inner as v.ObjectSchema<v.ObjectEntries, undefined>).entries;
    return { properties: Object.fromEntries(Object.entries(entries).map(([name, child]) => [name, walk(child as AnySchema)])) };
  };
  schemaTree ??= walk(configSchema);
  return schemaTree;
}

/** A key's metadata; undefined for a section. */
function keyMetaOf(node: SchemaNode): KeyMeta | undefined {
  const { expected, description, spider, defaultText, secret } = node;
  if (expected === undefined) return undefined;
  return {
    expected,
    description: description ?? "",
    ...(spider !== undefined && { spider }),
    ...(defaultText !== undefined && { defaultText }),
    ...(secret !== undefined && { secret }),
  };
}

function childOf(node: SchemaNode, name: string): SchemaNode | undefined {
  return node.properties !== undefined && Object.hasOwn(node.properties, name) ? node.properties[name] : undefined;
}

/**
 * Every leaf key, in schema order. Defaults come from parsing an empty configuration (a
 * key's default may be coerced on the way in).
 */
export function configKeys(): KeyInfo[] {
  const keys: KeyInfo[] = [];
  const walk = (node: SchemaNode, defaults: unknown, prefix: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const path = prefix === "" ? name : `${prefix}.${name}`;
      const value = typeof defaults === "object" && defaults !== null ? (defaults as Record<string, unknown>)[name] : undefined;
      const meta = keyMetaOf(child);
      if (meta !== undefined) keys.push({ path, meta, defaultValue: value });
      else walk(child, value, path);
    }
  };
  walk(configSchemaTree(), v.parse(configSchema, {}), "");
  return keys;
}

/** The schema node at a dotted path: a leaf's metadata, or "section", or undefined if unknown. */
export function lookupKey(path: readonly (string | number)[]): KeyMeta | "section" | undefined {
  let node: SchemaNode | undefined = configSchemaTree();
  for (const part of path) {
    node = childOf(node, String(part));
    if (node === undefined) return undefined;
  }
  return keyMetaOf(node) ?? (node.properties !== undefined ? "section" : undefined);
}

/** `runtime.recovery.page_size` → `SPIDER_STORAGE_RUNTIME__RECOVERY__PAGE_SIZE`. */
export function envNameOf(path: string): string {
  return `SPIDER_STORAGE_${path.split(".").map((p) => p.toUpperCase()).join("__")}`;
}
