/**
 * A grpc-js client of the standard health service (grpc.health.v1.Health),
 * for the tests and the bench's start-up measurement.
 */
import * as grpc from "@grpc/grpc-js";
import { service as healthServiceDefinition } from "grpc-health-check";

const HealthClient = grpc.makeGenericClientConstructor(healthServiceDefinition as unknown as grpc.ServiceDefinition, "Health");

export class HealthClientWrapper {
  readonly client: grpc.Client;
  constructor(address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}) {
    this.client = new HealthClient(address, credentials, options);
  }

  /** The status name ("SERVING", "NOT_SERVING"), or the error's status code (a generous deadline: a slow answer is not DEADLINE_EXCEEDED). */
  check(service: string, deadlineMs = 20_000): Promise<string | grpc.status> {
    return new Promise((resolve) => {
      (this.client as unknown as Record<string, Function>)["check"]!.call(
        this.client,
        { service },
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error: grpc.ServiceError | null, response: { status: string }) => resolve(error ? error.code : response.status),
      );
    });
  }

  /** Opens a Watch stream; statuses arrive in `statuses`, `ended` resolves when the server ends it. */
  watch(service: string): { statuses: string[]; ended: Promise<grpc.status | "end">; cancel(): void } {
    const call = (this.client as unknown as Record<string, Function>)["watch"]!.call(this.client, { service }) as grpc.ClientReadableStream<{ status: string }>;
    const statuses: string[] = [];
    call.on("data", (message) => statuses.push(message.status));
    const ended = new Promise<grpc.status | "end">((resolve) => {
      call.on("error", (error: grpc.ServiceError) => resolve(error.code));
      call.on("end", () => resolve("end"));
    });
    return { statuses, ended, cancel: () => call.cancel() };
  }

  close(): void {
    this.client.close();
  }
}
