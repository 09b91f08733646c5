/** `createDatabaseIfMissing`: creates the database `name` on the MariaDB server on this unix socket (as root) unless it exists. */
import { createConnection } from "mysql2/promise";
import { singleConnectionDb } from "../single-connection-db.ts";

export async function createDatabaseIfMissing(socketPath: string, name: string): Promise<void> {
  const connection = await createConnection({ socketPath, user: "root", connectTimeout: 10_000 });
  try {
    // CREATE SCHEMA is MariaDB's synonym of CREATE DATABASE.
    await singleConnectionDb(connection).schema.createSchema(name).ifNotExists().execute();
  } finally {
    await connection.end();
  }
}
