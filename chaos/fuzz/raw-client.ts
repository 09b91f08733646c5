/**
 * Sends a request's bytes as they are (an identity serializer), so the
 * server's own decoder is what sees random or malformed messages, and hands
 * back the status and the raw answer.
 */
import * as grpc from "@grpc/grpc-js";

export interface RawAnswer {
  readonly code: grpc.status;
  readonly details: string;
  /** The response message's bytes (OK only). */
  readonly response?: Buffer;
  readonly ms: number;
}

export interface RawStreamAnswer {
  readonly code: grpc.status;
  readonly details: string;
  /** The messages the server wrote before the status. */
  readonly responses: readonly Buffer[];
  readonly ms: number;
}

export class RawClient {
  readonly #client: grpc.Client;

  constructor(address: string) {
    this.#client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 256 * 1024 * 1024,
      "grpc.max_send_message_length": 256 * 1024 * 1024,
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 500,
    });
  }

  /** One unary call of `path` with `bytes` as the request message. */
  call(path: string, bytes: Uint8Array, deadlineMs: number): Promise<RawAnswer> {
    const started = performance.now();
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new Promise((resolve) => {
      this.#client.makeUnaryRequest<Buffer, Buffer>(
        path,
        (b) => b,
        (b) => b,
        buffer,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          const ms = performance.now() - started;
          if (error) resolve({ code: error.code, details: error.details ?? "", ms });
          else resolve({ code: grpc.status.OK, details: "", ms, ...(response ? { response } : {}) });
        },
      );
    });
  }

  /**
   * One bidirectional stream of `path`: writes `messages` as they are, half-closes,
   * and hands back the status it ended with and the answers it carried.
   */
  stream(path: string, messages: readonly Uint8Array[], deadlineMs: number): Promise<RawStreamAnswer> {
    const started = performance.now();
    return new Promise((resolve) => {
      const call = this.#client.makeBidiStreamRequest<Buffer, Buffer>(path, (b) => b, (b) => b, new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
      const responses: Buffer[] = [];
      call.on("data", (response: Buffer) => responses.push(response));
      call.on("error", () => undefined); // the status below says it
      call.on("status", (status: grpc.StatusObject) => resolve({ code: status.code, details: status.details, responses, ms: performance.now() - started }));
      for (const message of messages) call.write(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
      call.end();
    });
  }

  close(): void {
    this.#client.close();
  }
}
