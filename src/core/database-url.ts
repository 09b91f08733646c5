/**
 * The database URL: `mysql://user:password@host:port/database`, `?socket=/path`
 * for a unix socket, or several servers of one replicated database (a Galera
 * cluster) as a host list, `mysql://user:password@h1:3306,h2:3306,h3:3306/spider`
 * (src/db/database-nodes.ts picks among them).
 *
 * Credentials, database and parameters are read by the URL standard (`new URL`)
 * exactly as for one host; only the host list is split here, because the
 * standard reads `h1:3306,h2:3306` as a bad port. Pure: the configuration
 * (src/config) checks URLs with it, src/db connects with it.
 */
import { isIP } from "node:net";

export const DEFAULT_DATABASE_PORT = 3306;

/** One server of the URL. An IPv6 address is held without its brackets. */
export interface DatabaseHost {
  readonly host: string;
  readonly port: number;
}

export interface DatabaseUrl {
  /** Decoded; "root" when the URL names no user. */
  readonly user: string;
  /** Decoded; "" when none. */
  readonly password: string;
  /** Decoded database name, never empty. */
  readonly database: string;
  /** `?socket=`: the unix socket to use instead of a host. */
  readonly socket: string | undefined;
  /** The servers, in the URL's order; one for a single-host or socket URL. */
  readonly hosts: readonly DatabaseHost[];
}

/** Scheme, authority (credentials and hosts), and the rest. */
const AUTHORITY = /^([^:/?#]+:\/\/)([^/?#]*)(.*)$/s;

export function parseDatabaseUrl(url: string): DatabaseUrl {
  const match = AUTHORITY.exec(url);
  const authority = match?.[2] ?? "";
  // As in the URL standard, credentials end at the authority's last "@".
  const at = authority.lastIndexOf("@");
  const entries = authority.slice(at + 1).split(",");
  // Everything but the host list as the standard reads it: the list stands as its first host.
  const single = match !== null && entries.length > 1 ? `${match[1]}${authority.slice(0, at + 1)}${entries[0]!.trim()}${match[3]}` : url;
  const parsed = new URL(single);
  if (parsed.protocol !== "mysql:" && parsed.protocol !== "mariadb:") {
    throw new Error(`database URL must start with mysql:// or mariadb://, got ${parsed.protocol}//`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (database === "") throw new Error("database URL names no database (mysql://user@host:port/DATABASE)");
  const socket = parsed.searchParams.get("socket") || undefined;
  if (socket !== undefined && entries.length > 1) throw new Error("a database URL with ?socket= names one server, not a host list");
  return {
    user: decodeURIComponent(parsed.username || "root"),
    password: decodeURIComponent(parsed.password),
    database,
    socket,
    hosts: entries.length > 1 ? entries.map((entry) => hostOfUrl(new URL(`mysql://${checkedEntry(entry)}/`))) : [hostOfUrl(parsed)],
  };
}

function checkedEntry(entry: string): string {
  const trimmed = entry.trim();
  if (trimmed === "") throw new Error("database URL has an empty host in its host list (h1:3306,h2:3306)");
  return trimmed;
}

function hostOfUrl(parsed: URL): DatabaseHost {
  const hostname = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return { host: hostname || "127.0.0.1", port: Number(parsed.port || DEFAULT_DATABASE_PORT) };
}

/**
 * One entry of a host list in the configuration: `host`, `host:port`, `[v6]`,
 * `[v6]:port`, or a bare IPv6 address; `defaultPort` when it names none.
 */
export function parseHostEntry(entry: string, defaultPort: number = DEFAULT_DATABASE_PORT): DatabaseHost {
  const trimmed = entry.trim();
  if (isIP(trimmed) === 6) return { host: trimmed, port: defaultPort };
  if (trimmed === "" || /[\s/@?#,]/.test(trimmed)) throw new Error(`not a host or host:port: ${JSON.stringify(entry)}`);
  const parsed = new URL(`mysql://${trimmed}/`);
  if (parsed.hostname.startsWith("[") && isIP(parsed.hostname.slice(1, -1)) !== 6) throw new Error(`not an IPv6 address: ${parsed.hostname}`);
  return { host: hostOfUrl(parsed).host, port: parsed.port === "" ? defaultPort : Number(parsed.port) };
}

/** `host:port`, an IPv6 address in brackets: as in a URL and in logs. */
export function formatHost(host: DatabaseHost): string {
  return `${isIP(host.host) === 6 ? `[${host.host}]` : host.host}:${host.port}`;
}

/** `mysql://user:password@h1:p1,h2:p2/name`, every part escaped. */
export function buildDatabaseUrl(db: { hosts: readonly DatabaseHost[]; name: string; username: string; password: string }): string {
  const auth = `${encodeURIComponent(db.username)}${db.password === "" ? "" : `:${encodeURIComponent(db.password)}`}`;
  return `mysql://${auth}@${db.hosts.map(formatHost).join(",")}/${encodeURIComponent(db.name)}`;
}

/** The URL with its password replaced by `***`, for logs. */
export function redactDatabaseUrl(url: string): string {
  const match = AUTHORITY.exec(url);
  if (match === null) return "***";
  const authority = match[2]!;
  const at = authority.lastIndexOf("@");
  if (at < 0) return url;
  const colon = authority.indexOf(":");
  if (colon < 0 || colon > at) return url;
  return `${match[1]}${authority.slice(0, colon)}:***${authority.slice(at)}${match[3]}`;
}
