/**
 * One spider-storage per data directory (DECISIONS D12).
 *
 * On Linux the lock is an abstract unix socket: binding it is atomic, and the
 * kernel frees it the moment its holder dies, however it dies, so a killed
 * server never leaves a stale lock. Abstract sockets have no permissions, so
 * its name must be one only this user can compute: a hash of the data
 * directory's real path and a random key kept in the (0700) data directory,
 * `spider-storage.lock-key` (0600). A name derived from the path alone could be
 * bound first by any local user, keeping the server from starting. The socket
 * closes every connection at once: nobody has anything to say to a lock.
 * (Abstract sockets are per network namespace: two containers sharing one data
 * directory volume are not kept apart by it; MariaDB's own InnoDB file lock then
 * refuses the second mariadbd.) Elsewhere it is the lock file itself, created
 * exclusively, with stale-pid detection.
 *
 * Either way `<data-dir>/spider-storage.lock` (0600) holds the holder's pid, so
 * the refusal can say who holds the directory.
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { isProcessAlive } from "./process-info.ts";

export const LOCK_FILE_NAME = "spider-storage.lock";
export const LOCK_KEY_FILE_NAME = "spider-storage.lock-key";

export class DataDirLockedError extends Error {
  readonly holderPid: number | undefined;
  constructor(dataDir: string, holderPid: number | undefined) {
    super(
      `data directory ${dataDir} is in use by another spider-storage${holderPid ? ` (pid ${holderPid})` : ""}: ` +
        "two servers cannot share a data directory; stop that one or pass another --data-dir",
    );
    this.name = "DataDirLockedError";
    this.holderPid = holderPid;
  }
}

export interface DataDirLock {
  readonly dataDir: string;
  release(): Promise<void>;
}

/** Takes the lock of `dataDir` (an existing directory, given by its real path) or throws {@link DataDirLockedError}. */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const lockFile = join(dataDir, LOCK_FILE_NAME);
  if (process.platform === "linux") {
    const key = dataDirKey(dataDir);
    const name = `\0spider-storage-data-dir-${createHash("sha256").update(`${dataDir}\0${key}`).digest("hex").slice(0, 40)}`;
    const server = createServer((connection) => connection.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(name, () => resolve());
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") throw new DataDirLockedError(dataDir, readHolder(lockFile));
      throw error;
    }
    // The lock must not keep the process alive on its own.
    server.unref();
    writePidFile(lockFile);
    return { dataDir, release: () => releaseSocketLock(server, lockFile) };
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockFile, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return { dataDir, release: async () => removeIfOurs(lockFile) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readHolder(lockFile);
      if ((holder !== undefined && isProcessAlive(holder) && holder !== process.pid) || attempt > 3) {
        throw new DataDirLockedError(dataDir, holder);
      }
      // A stale lock: its holder is gone.
      try {
        unlinkSync(lockFile);
      } catch {
        // Someone else removed it first; try again.
      }
    }
  }
}

/**
 * The data directory's private key, made on first use: names derived from it
 * (the lock, the default socket directory) cannot be computed, or taken
 * first, by users who cannot read the data directory. Written to a temporary
 * file and linked into place, so two servers starting at once agree on one
 * key and neither reads a half-written file.
 */
export function dataDirKey(dataDir: string): string {
  const file = join(dataDir, LOCK_KEY_FILE_NAME);
  const read = () => readFileSync(file, "utf8").trim();
  try {
    const key = read();
    if (key !== "") return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const temp = `${file}.${process.pid}`;
  writeFileSync(temp, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    unlinkSync(temp);
  }
  return read();
}

function readHolder(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockFile, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function writePidFile(lockFile: string): void {
  const temp = `${lockFile}.${process.pid}`;
  writeFileSync(temp, `${process.pid}\n`, { mode: 0o600 });
  renameSync(temp, lockFile);
}

function removeIfOurs(lockFile: string): void {
  if (readHolder(lockFile) !== process.pid) return;
  try {
    unlinkSync(lockFile);
  } catch {
    // Already gone.
  }
}

async function releaseSocketLock(server: Server, lockFile: string): Promise<void> {
  removeIfOurs(lockFile);
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
