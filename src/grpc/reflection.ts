/**
 * gRPC server reflection (v1 and v1alpha, from `@grpc/reflection`) on the
 * storage port, so grpcurl and similar tools can list and call the services
 * without the .proto files.
 *
 * Loaded on first use: @grpc/reflection loads its own copy of grpc-js and
 * parses its .proto files when it builds its services — some 50 ms of one
 * thread, which would stall the server's first calls (issue 20.5) for a tool
 * most deployments never call. So the port carries two stand-in methods at
 * the library's paths that pass messages through undecoded; the first call
 * loads the library, and each stream is then served by the library's own
 * handler, its messages decoded and encoded with the library's definition.
 * A request above {@link MAX_REFLECTION_REQUEST_BYTES} (a symbol or file
 * name, framed) ends its stream undecoded with INVALID_ARGUMENT naming the
 * limit, and one that does not decode ends it with INVALID_ARGUMENT too (D5).
 *
 * @grpc/reflection reads only the serialized FileDescriptorProtos of a
 * proto-loader package definition. Ours come from the descriptors protobuf-es
 * generated from proto/common/common.proto and proto/storage/storage.proto
 * (embedded in src/gen; test/unit/generated-code.test.ts keeps them in step with
 * the .proto files, health's included), so nothing of ours is parsed at run time
 * and no .proto file has to ship. The reflection services' own descriptors come
 * from the library's grpc-js definitions, so they are listed too.
 */
import { EventEmitter } from "node:events";
import { toBinary } from "@bufbuild/protobuf";
import type { GenFile } from "@bufbuild/protobuf/codegenv2";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { status, type ServerDuplexStream } from "@grpc/grpc-js";
import type * as grpc from "@grpc/grpc-js";
import type { ReflectionService } from "@grpc/reflection";
import { file_common_common } from "../gen/common/common_pb.ts";
import { file_storage_storage } from "../gen/storage/storage_pb.ts";
import { file_admin_admin } from "../gen/admin/admin_pb.ts";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.ts";

/** Largest reflection request accepted (a symbol or file name and its framing). */
export const MAX_REFLECTION_REQUEST_BYTES = 64 * 1024;

const REFLECTION_PACKAGES = ["grpc.reflection.v1", "grpc.reflection.v1alpha"] as const;
const METHOD = "ServerReflectionInfo";

type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];
type StreamHandler = (stream: EventEmitter & { write(message: unknown): void; end(): void }) => void;
/** One reflection version as the library registers it: its definition (with its serializers) and its handler. */
interface LibraryMethod {
  readonly definition: grpc.MethodDefinition<unknown, unknown>;
  readonly handler: StreamHandler;
}

/** A package-definition entry carrying only file descriptors (all reflection reads). */
function descriptorsEntry(fileDescriptorProtos: Buffer[]): PackageDefinition[string] {
  return { format: "Protocol Buffer 3 DescriptorProto", type: {}, fileDescriptorProtos } as unknown as PackageDefinition[string];
}

function fileBytes(file: GenFile): Buffer {
  return Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto));
}

/** The file descriptors grpc-js definitions carry (proto-loader puts them on every message type). */
function descriptorsOf(definition: grpc.ServiceDefinition): Buffer[] {
  const out: Buffer[] = [];
  for (const method of Object.values(definition)) {
    const types = [(method as { requestType?: unknown }).requestType, (method as { responseType?: unknown }).responseType];
    for (const type of types) {
      const protos = (type as { fileDescriptorProtos?: Buffer[] } | undefined)?.fileDescriptorProtos;
      if (protos) out.push(...protos);
    }
  }
  return out;
}

/** What a reflection service's addToServer registers, captured instead of served. */
function captured(service: ReflectionService): Map<string, LibraryMethod> {
  const methods = new Map<string, LibraryMethod>();
  service.addToServer({
    addService: (definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation) => {
      for (const [name, method] of Object.entries(definition)) {
        methods.set(method.path, { definition: method, handler: implementation[name] as unknown as StreamHandler });
      }
    },
  } as Pick<grpc.Server, "addService">);
  return methods;
}

/** Loads @grpc/reflection and builds its services over our descriptors and its own. */
async function loadLibrary(): Promise<Map<string, LibraryMethod>> {
  const { ReflectionService } = await import("@grpc/reflection");
  const packageDefinition: PackageDefinition = {
    "common.descriptors": descriptorsEntry([fileBytes(file_common_common)]),
    "storage.descriptors": descriptorsEntry([fileBytes(file_storage_storage)]),
    "admin.descriptors": descriptorsEntry([fileBytes(file_admin_admin)]),
    "health.descriptors": descriptorsEntry([fileBytes(file_grpc_health_v1_health)]),
  };
  // Reflection's own descriptors, from a throwaway instance, so that it lists itself too.
  const own = [...captured(new ReflectionService({})).values()].map((m) => ({ [METHOD]: m.definition }) as grpc.ServiceDefinition);
  own.forEach((definition, i) => {
    packageDefinition[`reflection.${i}.descriptors`] = descriptorsEntry(descriptorsOf(definition));
  });
  return captured(new ReflectionService(packageDefinition));
}

/** A stand-in definition: the library's path, messages passed through as bytes (capped). */
function passThroughMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: (bytes) => bytes,
    // Passed through; the stream's handler refuses one above the cap (a throw here would answer INTERNAL).
    requestDeserialize: (bytes) => bytes,
    responseSerialize: (bytes) => bytes,
    responseDeserialize: (bytes) => bytes,
  };
}

/**
 * Serves one stream with the library's handler once it is loaded: the library sees a
 * stream of decoded messages, and what it writes is encoded onto the real stream. A
 * request that does not decode ends the stream with INVALID_ARGUMENT (D5).
 */
function bridge(stream: ServerDuplexStream<Buffer, Buffer>, method: Promise<LibraryMethod>, onError: (error: unknown) => void): void {
  // Until the library is loaded, requests wait here; then each goes to it decoded.
  const pending: Buffer[] = [];
  let ended = false;
  let failed = false;
  let toLibrary: { deliver: (bytes: Buffer) => void; end: () => void } | undefined;
  /** Ends the stream with `code`; nothing after it reaches the library. */
  const refuse = (code: status, details: string) => {
    failed = true;
    stream.emit("error", { code, details });
  };
  stream.on("data", (bytes: Buffer) => {
    if (failed) return;
    // D5: a request of a method without payload above its cap is INVALID_ARGUMENT naming the limit, undecoded.
    if (bytes.length > MAX_REFLECTION_REQUEST_BYTES) {
      refuse(status.INVALID_ARGUMENT, `reflection request of ${bytes.length} bytes is above the limit of ${MAX_REFLECTION_REQUEST_BYTES} bytes`);
      return;
    }
    if (toLibrary) toLibrary.deliver(bytes);
    else pending.push(bytes);
  });
  stream.on("end", () => (toLibrary ? toLibrary.end() : (ended = true)));
  method.then(
    ({ definition, handler }) => {
      if (stream.cancelled) return;
      const facade = Object.assign(new EventEmitter(), {
        write: (message: unknown) => stream.write(definition.responseSerialize(message)),
        end: () => stream.end(),
      });
      handler(facade);
      const deliver = (bytes: Buffer) => {
        if (failed) return;
        let message: unknown;
        try {
          message = definition.requestDeserialize(bytes);
        } catch (error) {
          refuse(status.INVALID_ARGUMENT, `reflection request does not decode: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        facade.emit("data", message);
      };
      toLibrary = { deliver, end: () => failed || facade.emit("end") };
      for (const bytes of pending.splice(0)) deliver(bytes);
      if (ended) toLibrary.end();
    },
    (error: unknown) => {
      onError(error);
      stream.emit("error", { code: status.UNAVAILABLE, details: "reflection is not available on this server" });
    },
  );
}

/**
 * Adds reflection over the storage protocol, the admin API, health and reflection itself:
 * the library loads on the first reflection call (`onError` hears if it cannot).
 */
export function addReflection(server: grpc.Server, onError: (error: unknown) => void): void {
  let library: Promise<Map<string, LibraryMethod>> | undefined;
  for (const pkg of REFLECTION_PACKAGES) {
    const path = `/${pkg}.ServerReflection/${METHOD}`;
    server.addService({ [METHOD]: passThroughMethod(path) } as grpc.ServiceDefinition, {
      [METHOD]: (stream: ServerDuplexStream<Buffer, Buffer>) => {
        library ??= loadLibrary();
        const method = library.then((methods) => {
          const found = methods.get(path);
          if (!found) throw new Error(`@grpc/reflection registered no ${path}`);
          return found;
        });
        bridge(stream, method, onError);
      },
    });
  }
}
