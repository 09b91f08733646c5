/**
 * The gRPC port, bound before the server's modules are loaded (issue 20.5;
 * DECISIONS D2 binds the port first): a plain TCP listener from node:net,
 * which Node has loaded already. A connection accepted before the gRPC server
 * exists is held, unanswered, and handed to it once it does (grpc-js's
 * connection injector, {@link GrpcServer.adopt}); whatever the client sent
 * meanwhile — its HTTP/2 preface, a TLS ClientHello, a first call — is read
 * from there, so a client that connects during start-up is kept waiting a
 * moment instead of being refused into its reconnect backoff, then gets the
 * start-up answers (UNAVAILABLE, health NOT_SERVING).
 *
 * Holding costs what an accepted connection costs once grpc-js serves: a
 * socket and what Node reads ahead on it (its high-water mark, then it stops
 * reading); a client that goes away while held is dropped at once.
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";

export class EarlyListener {
  readonly #server: Server;
  readonly #held = new Set<Socket>();
  #take: ((socket: Socket) => void) | undefined;
  #port = 0;

  private constructor(server: Server) {
    this.#server = server;
    server.on("connection", (socket) => this.#accept(socket));
  }

  /** Listens on `host` (an IP literal) and `port` (0 picks a free one); rejects as listen does (EADDRINUSE, …). */
  static listen(host: string, port: number): Promise<EarlyListener> {
    const server = createServer({ noDelay: true });
    const listener = new EarlyListener(server);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port }, () => {
        server.off("error", reject);
        listener.#port = (server.address() as AddressInfo).port;
        resolve(listener);
      });
    });
  }

  /** The bound port (the one picked, for port 0). */
  get port(): number {
    return this.#port;
  }

  /** Connections waiting for {@link handOff}. */
  get held(): number {
    return this.#held.size;
  }

  /** Gives every held connection, and every later one, to `take` (once). */
  handOff(take: (socket: Socket) => void): void {
    if (this.#take) throw new Error("the listener's connections are handed off already");
    this.#take = take;
    for (const socket of this.#held) this.#release(socket);
  }

  /** Stops accepting (again: nothing); connections handed off stay with their taker, held ones are closed. */
  close(): void {
    if (this.#server.listening) this.#server.close();
    for (const socket of this.#held) socket.destroy();
    this.#held.clear();
  }

  #accept(socket: Socket): void {
    if (this.#take) return this.#take(socket);
    this.#held.add(socket);
    // A held socket has no other listener yet: an unheard 'error' would end the process.
    socket.on("error", ignoreHeldError);
    socket.once("close", () => this.#held.delete(socket));
  }

  #release(socket: Socket): void {
    this.#held.delete(socket);
    socket.off("error", ignoreHeldError);
    if (!socket.destroyed) this.#take!(socket);
  }
}

function ignoreHeldError(): void {
  // The 'close' that follows drops the socket.
}
