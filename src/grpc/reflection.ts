/**
 * gRPC server reflection (v1 and v1alpha, from `@grpc/reflection`) on the
 * storage port, so grpcurl and similar tools can list and call the services
 * without the .proto files.
 *
 * @grpc/reflection reads only the serialized FileDescriptorProtos of a
 * proto-loader package definition. Ours come from the descriptors protobuf-es
 * generated from proto/common/common.proto and proto/storage/storage.proto
 * (embedded in src/gen; test/unit/generated-code.test.ts keeps them in step with
 * the .proto files), so nothing is parsed at run time and no .proto file has to
 * ship. The health and reflection services' own descriptors come from their
 * grpc-js definitions, so they are listed too.
 */
import { toBinary } from "@bufbuild/protobuf";
import type { GenFile } from "@bufbuild/protobuf/codegenv2";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { file_common_common } from "../gen/common/common_pb.ts";
import { file_storage_storage } from "../gen/storage/storage_pb.ts";
import { file_admin_admin } from "../gen/admin/admin_pb.ts";

type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

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

/** The reflection services' own definitions, captured from a throwaway instance. */
function reflectionDefinitions(): grpc.ServiceDefinition[] {
  const definitions: grpc.ServiceDefinition[] = [];
  new ReflectionService({}).addToServer({
    addService: (definition: grpc.ServiceDefinition) => void definitions.push(definition),
  } as Pick<grpc.Server, "addService">);
  return definitions;
}

/** Adds reflection over the storage protocol, the admin API and the given extra services (e.g. health). */
export function addReflection(server: grpc.Server, extraServices: readonly grpc.ServiceDefinition[] = []): void {
  const packageDefinition: PackageDefinition = {
    "common.descriptors": descriptorsEntry([fileBytes(file_common_common)]),
    "storage.descriptors": descriptorsEntry([fileBytes(file_storage_storage)]),
    "admin.descriptors": descriptorsEntry([fileBytes(file_admin_admin)]),
  };
  [...extraServices, ...reflectionDefinitions()].forEach((definition, i) => {
    packageDefinition[`extra.${i}.descriptors`] = descriptorsEntry(descriptorsOf(definition));
  });
  new ReflectionService(packageDefinition).addToServer(server);
}
