/**
 * The online commands' connection to a running server's admin API.
 *
 * - Address: `--server host:port` when given; else, with `--config`, the
 *   file's host and port (a wildcard host becomes loopback); else
 *   127.0.0.1:50051.
 * - Token: `--token`, else SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN, else the
 *   config file's runtime.admin.token — sent as `authorization: Bearer …`.
 * - Every call also sends `x-spider-operator: user@host` for the server's
 *   audit log.
 * - A failed call becomes a one-line CliError: INVALID_ARGUMENT exits 2
 *   (usage), everything else 1; an unreachable server says so and names the
 *   address.
 *
 * gRPC, the generated code and the configuration loader are imported when a
 * connection is made, so that `--help` and offline commands start quickly.
 */
import { hostname, userInfo } from "node:os";
import type * as grpc from "@grpc/grpc-js";
import type { Command } from "commander";
import type { InspectionService, RepairService } from "../gen/admin/admin_pb.ts";
import type { PromiseClient } from "../grpc/adapter.ts";
import { CliError } from "./cli-error.ts";

export const DEFAULT_SERVER = "127.0.0.1:50051";
/** Most calls answer at once; verify and GC batches may take a while. */
export const DEFAULT_DEADLINE_MS = 60_000;
export const LONG_DEADLINE_MS = 30 * 60_000;

export interface CallOptions {
  readonly deadlineMs: number;
  readonly metadata: grpc.Metadata;
}

export interface AdminConnection {
  readonly address: string;
  readonly inspection: PromiseClient<(typeof InspectionService)["method"]>;
  readonly repair: PromiseClient<(typeof RepairService)["method"]>;
  /** Runs one call with the token and operator metadata; turns failures into CliErrors. */
  call<T>(fn: (options: CallOptions) => Promise<T>, deadlineMs?: number): Promise<T>;
  close(): void;
}

interface GlobalFlags {
  config?: string;
  server?: string;
  token?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Plaintext, or TLS trusting --tls-ca (with a client certificate for mutual TLS). */
async function channelCredentials(command: Command) {
  const flags = command.optsWithGlobals<GlobalFlags>();
  const ca = flags.tlsCa ?? process.env["SPIDER_STORAGE_TLS_CA"];
  const grpcJs = await import("@grpc/grpc-js");
  if (ca === undefined || ca === "") {
    if (flags.tlsCert || flags.tlsKey) throw new CliError("--tls-cert and --tls-key need --tls-ca", 2);
    return grpcJs.credentials.createInsecure();
  }
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new CliError("--tls-cert and --tls-key go together", 2);
  const { readFileSync } = await import("node:fs");
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new CliError(`cannot read ${what} ${path}: ${(error as Error).message}`, 2);
    }
  };
  return grpcJs.credentials.createSsl(
    read(ca, "--tls-ca"),
    flags.tlsKey ? read(flags.tlsKey, "--tls-key") : null,
    flags.tlsCert ? read(flags.tlsCert, "--tls-cert") : null,
  );
}

function operatorName(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}

/** The server address and admin token the online commands use (see the module comment). */
export async function adminTarget(command: Command): Promise<{ address: string; token: string | undefined }> {
  const globals = command.optsWithGlobals<GlobalFlags>();
  const explicitServer = command.getOptionValueSourceWithGlobals("server") === "cli";
  let address = explicitServer ? globals.server! : DEFAULT_SERVER;
  let token = globals.token ?? process.env["SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN"];
  if (globals.config !== undefined) {
    const { ConfigError, resolveConfig } = await import("../config/load-config.ts");
    try {
      const { config } = resolveConfig({ env: process.env, configPath: globals.config });
      if (!explicitServer) {
        const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host === "::" ? "::1" : config.host;
        address = `${host.includes(":") ? `[${host}]` : host}:${config.port}`;
      }
      token ??= config.runtime.admin.token;
    } catch (error) {
      if (error instanceof ConfigError) throw new CliError(error.message, 2);
      throw error;
    }
  }
  if (token === "") token = undefined;
  return { address, token };
}

export async function connectAdmin(command: Command): Promise<AdminConnection> {
  const { address, token } = await adminTarget(command);
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(address)) {
    throw new CliError(`invalid --server "${address}": expected host:port`, 2);
  }
  const grpcJs = await import("@grpc/grpc-js");
  const { InspectionService, RepairService } = await import("../gen/admin/admin_pb.ts");
  const { createPromiseClient } = await import("../grpc/adapter.ts");
  const { OPERATOR_METADATA_KEY } = await import("../grpc/admin-auth.ts");
  const channelOptions = { "grpc.enable_retries": 0 };
  const credentials = await channelCredentials(command);
  const inspection = createPromiseClient(InspectionService, address, credentials, channelOptions);
  const repair = createPromiseClient(RepairService, address, credentials, channelOptions);
  const operator = operatorName();
  return {
    address,
    inspection,
    repair,
    async call(fn, deadlineMs = DEFAULT_DEADLINE_MS) {
      const metadata = new grpcJs.Metadata();
      if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
      metadata.set(OPERATOR_METADATA_KEY, operator);
      try {
        return await fn({ deadlineMs, metadata });
      } catch (error) {
        throw cliErrorOf(error, address, deadlineMs, grpcJs.status);
      }
    },
    close() {
      inspection.close();
      repair.close();
    },
  };
}

/** One line for a failed admin call, with the exit code its status deserves. */
export function cliErrorOf(error: unknown, address: string, deadlineMs: number, codes: typeof grpc.status): CliError {
  if (error instanceof CliError) return error;
  const status = error as Partial<grpc.ServiceError>;
  if (typeof status.code !== "number") return new CliError(error instanceof Error ? error.message : String(error));
  const details = status.details ?? status.message ?? "";
  switch (status.code) {
    case codes.UNAVAILABLE:
      if (/No connection established|ECONNREFUSED|Failed to connect|ENOTFOUND|EHOSTUNREACH|Name resolution failed/i.test(details)) {
        const cause = /(connect E[A-Z]+ \S+|getaddrinfo E[A-Z]+ \S+|Name resolution failed[^.]*)/.exec(details)?.[1]?.replace(/\.$/, "") ?? details;
        return new CliError(`cannot reach a spider-storage server at ${address} (${cause}): is it running? Use --server host:port`);
      }
      return new CliError(`server at ${address} is unavailable: ${details}`);
    case codes.DEADLINE_EXCEEDED:
      return new CliError(`no answer from ${address} within ${Math.round(deadlineMs / 1000)} s`);
    case codes.UNIMPLEMENTED:
      return new CliError(`the server at ${address} has no admin API (an older spider-storage, or another gRPC server?)`);
    case codes.INVALID_ARGUMENT:
      return new CliError(details, 2);
    default:
      return new CliError(details === "" ? `admin call failed with status ${status.code}` : details);
  }
}
