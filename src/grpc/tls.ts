/**
 * Credentials of the gRPC port (runtime.tls.*): plaintext unless key_file and
 * cert_file are set; with client_ca_file too, clients must present a
 * certificate that CA signed (mutual TLS). The files are read and checked at
 * start-up (a key that does not match its certificate, or an unreadable file,
 * fails the start with the key named) — never at the first handshake.
 */
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import * as grpc from "@grpc/grpc-js";

export interface TlsSettings {
  readonly key_file?: string | undefined;
  readonly cert_file?: string | undefined;
  readonly client_ca_file?: string | undefined;
}

export type TlsMode = "plaintext" | "tls" | "mutual-tls";

export function tlsMode(tls: TlsSettings): TlsMode {
  if (tls.key_file === undefined || tls.cert_file === undefined) return "plaintext";
  return tls.client_ca_file === undefined ? "tls" : "mutual-tls";
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`runtime.tls.${key}: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export function serverCredentials(tls: TlsSettings): grpc.ServerCredentials {
  if (tls.key_file === undefined || tls.cert_file === undefined) return grpc.ServerCredentials.createInsecure();
  const key = readPem(tls.key_file, "key_file");
  const cert = readPem(tls.cert_file, "cert_file");
  const ca = tls.client_ca_file === undefined ? null : readPem(tls.client_ca_file, "client_ca_file");
  try {
    // What grpc-js would do at the first handshake, now: bad PEM or a key that does not match fails the start.
    createSecureContext({ key, cert, ...(ca ? { ca } : {}) });
  } catch (error) {
    throw new Error(
      `runtime.tls: the key (${tls.key_file}), certificate (${tls.cert_file})` +
        (ca ? ` or client CA (${tls.client_ca_file})` : "") +
        ` cannot be used: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return grpc.ServerCredentials.createSsl(ca, [{ private_key: key, cert_chain: cert }], ca !== null);
}
