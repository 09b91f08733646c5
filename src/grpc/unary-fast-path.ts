/**
 * Unary calls of the server's own services answered straight from node:http2,
 * beside grpc-js rather than through its per-call machinery (interceptor
 * chain, metadata objects, stream decoder, call and listener objects): a
 * no-op call through the server's gRPC layer costs the server about a fifth
 * less CPU that way (`node bench/micro/call-promotion.ts`, README "Issue 20,
 * ninth part"), and a W1 job makes four such calls.
 *
 * It takes only what it serves exactly as grpc-js would: a registered unary
 * method, a gRPC content type, an uncompressed request (no `grpc-encoding`,
 * or `identity`), a well-formed `grpc-timeout` if any, and no interceptors
 * from the credentials. Everything else — compressed requests (their
 * decompression caps live in grpc-js, server.ts), unknown methods, other
 * content types, health, reflection, streaming — goes to grpc-js untouched,
 * and so does every call when grpc-js's server does not look as expected
 * ({@link installUnaryFastPath} says why). Statuses, their wording, headers and
 * trailers are grpc-js's own (test/unit/grpc-unary-fast-path.test.ts sends the
 * same requests down both paths and compares); the one difference is that
 * bytes after a unary request's one message are refused at once, where
 * grpc-js waits for a whole second message to refuse it the same way.
 */
import { EventEmitter } from "node:events";
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";

/** One method served here: grpc-js's own definition and implementation of it. */
export interface FastUnaryMethod {
  /** `/storage.JobOrchestrationService/RegisterJob`. */
  readonly path: string;
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly serialize: (value: unknown) => Buffer;
  readonly implementation: grpc.handleUnaryCall<unknown, unknown>;
}

const GRPC_TIMEOUT = /(\d{1,8})\s*([HMSmun])/;
const MS_PER_UNIT: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };
const RESPONSE_HEADERS = {
  ":status": 200,
  "content-type": "application/grpc+proto",
  "grpc-accept-encoding": "identity,deflate,gzip",
  "grpc-encoding": "identity",
} as const;
const OK_TRAILERS = { "grpc-status": grpc.status.OK, "grpc-message": "OK" } as const;
/** Request headers grpc-js keeps out of the metadata it gives handlers. */
const NOT_METADATA = ["grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "accept-encoding", "te", "content-type"];

export class UnaryFastPath {
  readonly #methods = new Map<string, FastUnaryMethod>();
  /** grpc-js's `grpc.max_receive_message_length`: a longer message is refused from its length prefix. */
  readonly #maxMessageBytes: number;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  add(method: FastUnaryMethod): void {
    this.#methods.set(method.path, method);
  }

  /** Every method of a service grpc-js was given (`server.addService(definition, implementation)`). */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    for (const [name, method] of Object.entries(definition)) {
      const handle = implementation[name];
      if (method.requestStream || method.responseStream || typeof handle !== "function") continue;
      this.add({
        path: method.path,
        deserialize: method.requestDeserialize,
        serialize: method.responseSerialize as (value: unknown) => Buffer,
        implementation: handle as grpc.handleUnaryCall<unknown, unknown>,
      });
    }
  }

  /** The method this stream would be served by here, or undefined to leave it to grpc-js. */
  methodFor(headers: http2.IncomingHttpHeaders): FastUnaryMethod | undefined {
    const path = headers[":path"];
    if (typeof path !== "string") return undefined;
    const method = this.#methods.get(path);
    if (method === undefined) return undefined;
    const contentType = headers["content-type"];
    if (typeof contentType !== "string" || !contentType.startsWith("application/grpc")) return undefined;
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return undefined;
    const timeout = headers["grpc-timeout"];
    if (timeout !== undefined && (typeof timeout !== "string" || !GRPC_TIMEOUT.test(timeout))) return undefined;
    return method;
  }

  /** Serves `stream` (whose method {@link methodFor} found). Never throws. */
  serve(method: FastUnaryMethod, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    try {
      new FastUnaryCall(method, stream, headers, this.#maxMessageBytes).start();
    } catch {
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  }
}

/**
 * Wraps grpc-js's per-stream handlers on `server` so that the calls
 * `fastPath` takes skip them. Returns why it could not (grpc-js's server
 * looks different: nothing is changed then), or undefined.
 */
export function installUnaryFastPath(server: grpc.Server, fastPath: UnaryFastPath): string | undefined {
  type StreamHandler = (this: grpc.Server, extraInterceptors: unknown[], stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;
  const internals = server as unknown as Record<string, unknown>;
  for (const name of ["_streamHandler", "_channelzHandler", "onStreamOpened"]) {
    if (typeof internals[name] !== "function") return `grpc-js's Server has no ${name}()`;
  }
  for (const name of ["_streamHandler", "_channelzHandler"]) {
    const original = internals[name] as StreamHandler;
    internals[name] = function (this: grpc.Server, extraInterceptors: unknown[], stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) {
      const method = Array.isArray(extraInterceptors) && extraInterceptors.length === 0 ? fastPath.methodFor(headers) : undefined;
      if (method === undefined) return original.call(this, extraInterceptors, stream, headers);
      // What grpc-js does first for every stream: an error listener, and its idle-connection count.
      stream.once("error", ignoreStreamError);
      (internals["onStreamOpened"] as (stream: http2.ServerHttp2Stream) => void).call(this, stream);
      fastPath.serve(method, stream, headers);
    };
  }
  return undefined;
}

function ignoreStreamError(): void {
  // Every stream error is followed by 'close', which cancels the call.
}

/**
 * One call: reads the request's one message, runs grpc-js's implementation
 * of the method with a call object shaped like grpc-js's ServerUnaryCall
 * (`request`, `cancelled` and its 'cancelled' event, `metadata`, `getPeer`,
 * `getDeadline`, `getPath`), and answers as grpc-js does.
 */
class FastUnaryCall extends EventEmitter {
  readonly #method: FastUnaryMethod;
  readonly #stream: http2.ServerHttp2Stream;
  readonly #headers: http2.IncomingHttpHeaders;
  readonly #maxMessageBytes: number;
  /** Kept from the start: a closed stream no longer knows its session. */
  readonly #session: http2.Http2Session | undefined;
  request: unknown = undefined;
  cancelled = false;
  #metadata: grpc.Metadata | undefined;
  #deadline = Infinity;
  #deadlineTimer: NodeJS.Timeout | undefined;
  /** The request's DATA chunks so far (length prefix included); dropped once the call is answered. */
  #chunks: Buffer[] = [];
  #received = 0;
  /** The message's length from its prefix, once known; -1 before. */
  #messageLength = -1;
  #answered = false;

  constructor(method: FastUnaryMethod, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, maxMessageBytes: number) {
    super();
    this.#method = method;
    this.#stream = stream;
    this.#headers = headers;
    this.#maxMessageBytes = maxMessageBytes;
    this.#session = stream.session;
  }

  start(): void {
    const stream = this.#stream;
    stream.once("close", () => this.#cancel());
    const timeout = this.#headers["grpc-timeout"];
    if (typeof timeout === "string") {
      const match = GRPC_TIMEOUT.exec(timeout)!;
      const ms = (Number(match[1]) * MS_PER_UNIT[match[2]!]!) | 0;
      this.#deadline = Date.now() + ms;
      this.#deadlineTimer = setTimeout(() => this.#guarded(() => this.#sendStatus(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded")), ms);
    }
    stream.on("data", (chunk: Buffer) => this.#guarded(() => this.#onData(chunk)));
    stream.once("end", () => this.#guarded(() => this.#onEnd()));
  }

  /** An event listener or timer must not throw (it would end the process): a call that cannot be answered is reset instead. */
  #guarded(step: () => void): void {
    try {
      step();
    } catch {
      this.#answered = true;
      if (!this.#stream.destroyed) this.#stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  }

  get metadata(): grpc.Metadata {
    if (this.#metadata === undefined) {
      const metadata = grpc.Metadata.fromHttp2Headers(this.#headers);
      for (const key of NOT_METADATA) metadata.remove(key);
      this.#metadata = metadata;
    }
    return this.#metadata;
  }

  getPeer(): string {
    const socket = this.#session?.socket;
    if (!socket?.remoteAddress) return "unknown";
    return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
  }

  getDeadline(): number {
    return this.#deadline;
  }

  getPath(): string {
    return this.#method.path;
  }

  #onData(chunk: Buffer): void {
    if (this.#answered) return;
    this.#chunks.push(chunk);
    this.#received += chunk.length;
    if (this.#messageLength < 0 && this.#received >= 5) {
      const prefix = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks);
      this.#messageLength = prefix.readUInt32BE(1);
      if (this.#messageLength > this.#maxMessageBytes) {
        return this.#sendStatus(grpc.status.RESOURCE_EXHAUSTED, `Received message larger than max (${this.#messageLength} vs ${this.#maxMessageBytes})`);
      }
    }
    // A unary request is one message. (grpc-js says so once a whole second message has come; here any byte after the first is enough.)
    if (this.#messageLength >= 0 && this.#received > 5 + this.#messageLength) {
      this.#sendStatus(grpc.status.UNIMPLEMENTED, `Received a second request message for server streaming method ${this.#method.path}`);
    }
  }

  #onEnd(): void {
    if (this.#answered) return;
    if (this.#messageLength < 0 || this.#received < 5 + this.#messageLength) {
      // No message, or one cut short (grpc-js keeps a partial message unread and finds none).
      return this.#sendStatus(grpc.status.UNIMPLEMENTED, `Received no request message for server streaming method ${this.#method.path}`);
    }
    const whole = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#received);
    this.#chunks = [];
    let request: unknown;
    try {
      request = this.#method.deserialize(whole.subarray(5));
    } catch {
      return this.#sendStatus(grpc.status.INTERNAL, "Error deserializing request");
    }
    this.request = request;
    try {
      this.#method.implementation(this as unknown as grpc.ServerUnaryCall<unknown, unknown>, (error, value) => this.#respond(error, value));
    } catch {
      this.#sendStatus(grpc.status.UNKNOWN, "Unknown error");
    }
  }

  /** grpc-js's `sendUnaryData`: throws where grpc-js would (details it cannot encode), so the adapter answers generically. */
  #respond(error: grpc.ServerErrorResponse | Partial<grpc.StatusObject> | null, value?: unknown): void {
    if (error) {
      // grpc-js's serverErrorToStatus.
      let code: number = grpc.status.UNKNOWN;
      let details = "message" in error ? String(error.message) : "Unknown Error";
      if ("code" in error && typeof error.code === "number" && Number.isInteger(error.code)) {
        code = error.code;
        if ("details" in error && typeof error.details === "string") details = error.details;
      }
      return this.#sendStatus(code, details);
    }
    if (this.#checkCancelled() || this.#answered) return;
    let frame: Buffer;
    try {
      const message = this.#method.serialize(value);
      frame = Buffer.allocUnsafe(5 + message.length);
      frame[0] = 0;
      frame.writeUInt32BE(message.length, 1);
      message.copy(frame, 5);
    } catch {
      return this.#sendStatus(grpc.status.INTERNAL, "Error serializing response");
    }
    this.#answered = true;
    this.#clearDeadline();
    const stream = this.#stream;
    stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    stream.once("wantTrailers", () => {
      try {
        stream.sendTrailers(OK_TRAILERS);
      } catch {
        // The stream closed meanwhile: its 'close' cancels the call.
      }
      this.#cancel();
    });
    stream.end(frame);
  }

  /** A trailers-only answer (grpc-js's own shape for a status before any message). */
  #sendStatus(code: number, details: string): void {
    if (this.#checkCancelled() || this.#answered) return;
    const message = encodeURI(details); // throws on a lone surrogate, as grpc-js does
    this.#answered = true;
    this.#chunks = [];
    this.#clearDeadline();
    this.#stream.respond({ "grpc-status": code, "grpc-message": message, ":status": 200, "content-type": "application/grpc+proto" }, { endStream: true });
    this.#cancel();
  }

  #checkCancelled(): boolean {
    if (!this.cancelled && (this.#stream.destroyed || this.#stream.closed)) this.#cancel();
    return this.cancelled;
  }

  /** As grpc-js: the call is over (answered, or the caller gone); handlers hear 'cancelled' once, and the rest of the request is read and dropped. */
  #cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.#clearDeadline();
    this.#chunks = [];
    if (this.listenerCount("cancelled") > 0) process.nextTick(() => this.emit("cancelled", "cancelled"));
    if (!this.#stream.readableEnded) this.#stream.resume();
  }

  #clearDeadline(): void {
    if (this.#deadlineTimer !== undefined) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
  }
}
