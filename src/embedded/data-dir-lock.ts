/**
 * One spider-storage per data directory (DECISIONS D12).
 *
 * On Linux the lock is an abstract unix socket named after the data directory's
 * real path: binding it is atomic, and the kernel frees it the moment its
 * holder dies, however it dies, so a killed server never leaves a stale lock.
 * (Abstract sockets are per network namespace: two containers sharing one data
 * directory volume are not kept apart by it; MariaDB's own InnoDB file lock then
 * refuses the second mariadbd.) Elsewhere it is the lock file itself, created
 * exclusively, with stale-pid detection.
 *
 * Either way `<data-dir>/spider-storage.lock` holds the holder's pid, so the
 * refusal can say who holds the directory.
 */
import { createHash } from "node:crypto";
import { openSync, readFileSync, renameSync, unlinkSync, writeFileSync, closeSync, writeSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { isProcessAlive } from "./process-info.ts";

export const LOCK_FILE_NAME = "spider-storage.lock";

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
    const name = `\0spider-storage-data-dir-${createHash("sha256").update(dataDir).digest("hex").slice(0, 40)}`;
    const server = createServer();
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
      const fd = openSync(lockFile, "wx", 0o644);
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
  writeFileSync(temp, `${process.pid}\n`, { mode: 0o644 });
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
