/**
 * A TCP proxy between the pool and MariaDB that can cut a connection at an
 * exact point of the MySQL protocol: when the client sends a given SQL
 * command, the command is not forwarded and both sides are closed. This is how
 * the tests lose a connection *during COMMIT* (outcome unknown to the client;
 * in fact never committed) or in the middle of a transaction, deterministically.
 *
 * Client packets: 3-byte little-endian length, 1-byte sequence number,
 * payload. A command starts a new sequence (0); COM_QUERY is 0x03 + SQL text.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

const COM_QUERY = 0x03;

interface Trap {
  readonly pattern: RegExp;
  readonly resolve: (sql: string) => void;
}

export class FaultProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private trap: Trap | undefined;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(targetHost: string, targetPort: number): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((client) => proxy!.handle(client, targetHost, targetPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    proxy = new FaultProxy(server, typeof address === "object" && address ? address.port : 0);
    return proxy;
  }

  /** Arms a one-shot trap: the next command whose SQL matches is dropped with its connection. */
  cutOn(pattern: RegExp): Promise<string> {
    return new Promise((resolve) => {
      this.trap = { pattern, resolve };
    });
  }

  disarm(): void {
    this.trap = undefined;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(client: Socket, host: string, port: number): void {
    const upstream = connect(port, host);
    this.sockets.add(client).add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("error", closeBoth).on("close", closeBoth);
    upstream.on("error", closeBoth).on("close", closeBoth);
    upstream.pipe(client);
    let pending = Buffer.alloc(0);
    client.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readUIntLE(0, 3);
        if (pending.length < 4 + length) break;
        const packet = pending.subarray(0, 4 + length);
        pending = pending.subarray(4 + length);
        const sequence = packet[3];
        const trap = this.trap;
        if (trap && sequence === 0 && packet[4] === COM_QUERY) {
          const text = packet.subarray(5).toString("utf8");
          if (trap.pattern.test(text)) {
            this.trap = undefined;
            closeBoth();
            trap.resolve(text);
            return;
          }
        }
        upstream.write(packet);
      }
    });
  }
}
