/**
 * Clients and tools for the operability tests (the health client is in
 * testkit/health-client.ts): a grpc-js reflection client (grpcurl is not available here), a Prometheus
 * scrape parser, a log collector, self-signed certificates from the openssl
 * CLI, and a row count of the jobs table.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { createConnection, type RowDataPacket } from "mysql2/promise";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import type { ServerProcess } from "../../testkit/server-process.ts";
import { waitFor } from "../../testkit/wait-for.ts";

// ---- reflection --------------------------------------------------------------------------

/** The v1 reflection service definition, taken from @grpc/reflection itself. */
export function reflectionV1Definition(): grpc.ServiceDefinition {
  const definitions: grpc.ServiceDefinition[] = [];
  new ReflectionService({}).addToServer({ addService: (definition: grpc.ServiceDefinition) => void definitions.push(definition) } as Pick<grpc.Server, "addService">);
  const v1 = definitions.find((d) => Object.values(d).some((m) => m.path.startsWith("/grpc.reflection.v1.")));
  if (!v1) throw new Error("no v1 reflection definition");
  return v1;
}

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: number[][] | Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

export class ReflectionClient {
  readonly #client: grpc.Client;

  constructor(address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
    const Constructor = grpc.makeGenericClientConstructor(reflectionV1Definition(), "ServerReflection");
    this.#client = new Constructor(address, credentials);
  }

  #ask(request: Record<string, unknown>): Promise<ReflectionResponse> {
    return new Promise((resolve, reject) => {
      const stream = (this.#client as unknown as Record<string, Function>)["ServerReflectionInfo"]!.call(this.#client) as grpc.ClientDuplexStream<unknown, ReflectionResponse>;
      stream.once("data", (response: ReflectionResponse) => {
        resolve(response);
        stream.end();
      });
      stream.once("error", reject);
      stream.write(request);
    });
  }

  async listServices(): Promise<string[]> {
    const response = await this.#ask({ listServices: "*" });
    return response.listServicesResponse!.service.map((s) => s.name).sort();
  }

  async fileContainingSymbol(symbol: string): Promise<FileDescriptorProto[]> {
    const response = await this.#ask({ fileContainingSymbol: symbol });
    if (response.errorResponse) throw new Error(`reflection error ${response.errorResponse.errorCode}: ${response.errorResponse.errorMessage}`);
    return response.fileDescriptorResponse!.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, Uint8Array.from(bytes)));
  }

  close(): void {
    this.#client.close();
  }
}

// ---- metrics -----------------------------------------------------------------------------

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class Scrape {
  readonly text: string;
  readonly samples: Sample[];
  constructor(text: string) {
    this.text = text;
    this.samples = [];
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!match) continue;
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
      this.samples.push({ name: match[1]!, labels, value: Number(match[3]) });
    }
  }

  /** The sum of the samples with this name whose labels include `labels`. */
  value(name: string, labels: Record<string, string> = {}): number {
    let total = 0;
    for (const sample of this.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) total += sample.value;
    }
    return total;
  }

  has(name: string): boolean {
    return this.text.includes(`# TYPE ${name} `);
  }
}

export async function scrape(port: number, path = "/metrics"): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
  return new Scrape(await response.text());
}

/** Scrapes until `predicate` holds (gauges refreshed on a timer), returning that scrape. */
export async function scrapeUntil(port: number, predicate: (s: Scrape) => boolean, timeoutMs = 15_000): Promise<Scrape> {
  let last: Scrape | undefined;
  return waitFor(
    () => `a scrape of port ${port} the test accepts; the last one:\n${last?.text ?? "(none)"}`,
    async () => {
      last = await scrape(port);
      return predicate(last) && last;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

// ---- logs --------------------------------------------------------------------------------

/** Every JSON log line of a server process (ServerProcess keeps only a tail). */
export class LogCollector {
  readonly lines: Record<string, unknown>[] = [];
  #partial = "";

  constructor(server: ServerProcess) {
    const take = (chunk: Buffer) => {
      const text = this.#partial + chunk.toString();
      const parts = text.split("\n");
      this.#partial = parts.pop() ?? "";
      for (const part of parts) {
        try {
          this.lines.push(JSON.parse(part) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
    };
    server.child.stderr?.on("data", take);
  }

  find(msg: string, where: (line: Record<string, unknown>) => boolean = () => true): Record<string, unknown>[] {
    return this.lines.filter((line) => line["msg"] === msg && where(line));
  }
}

// ---- certificates ------------------------------------------------------------------------

export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverKey: string;
  readonly serverCert: string;
  readonly clientKey: string;
  readonly clientCert: string;
  /** A client pair signed by nobody the server trusts. */
  readonly rogueKey: string;
  readonly rogueCert: string;
}

/** A throwaway CA, a server pair for 127.0.0.1/localhost and client pairs, with the openssl CLI. */
export function generatePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "spider-tls-"));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", path("ca.key"), "-out", path("ca.pem"), "-subj", "/CN=spider-storage test CA", "-days", "2");
  const signed = (name: string, cn: string, extensions: string) => {
    writeFileSync(path(`${name}.ext`), extensions);
    openssl("req", ...ec, "-keyout", path(`${name}.key`), "-out", path(`${name}.csr`), "-subj", `/CN=${cn}`);
    openssl("x509", "-req", "-in", path(`${name}.csr`), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial", "-out", path(`${name}.pem`), "-days", "2", "-extfile", path(`${name}.ext`));
  };
  signed("server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  signed("client", "test-client", "extendedKeyUsage=clientAuth\n");
  openssl("req", "-x509", ...ec, "-keyout", path("rogue.key"), "-out", path("rogue.pem"), "-subj", "/CN=rogue", "-days", "2");
  return {
    dir,
    caCert: path("ca.pem"),
    serverKey: path("server.key"),
    serverCert: path("server.pem"),
    clientKey: path("client.key"),
    clientCert: path("client.pem"),
    rogueKey: path("rogue.key"),
    rogueCert: path("rogue.pem"),
  };
}

// ---- database ----------------------------------------------------------------------------

export async function countJobRows(databaseUrl: string): Promise<number> {
  const connection = await createConnection(poolOptionsFromUrl(databaseUrl));
  try {
    const [rows] = await connection.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM jobs");
    return Number(rows[0]?.["n"]);
  } finally {
    await connection.end();
  }
}

/** A database URL nobody listens on: a server given it stays in phase "connecting". */
export const UNREACHABLE_DATABASE_URL = "mysql://root@127.0.0.1:1/nowhere";

