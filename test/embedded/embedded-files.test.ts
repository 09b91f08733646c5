/**
 * The embedded MariaDB's files are private to the user running the server
 * (DECISIONS D12): the data directory, `mariadb/` and mariadbd's temporary
 * directory are 0700 and created so from the start, files 0600; a
 * pre-existing directory owned by another user or writable by others is
 * refused with a message saying why; the data-dir lock cannot be taken first
 * by another local user and closes any connection at once.
 */
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection as connectSocket, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { poolOptionsFromUrl } from "../../src/db/connection.ts";
import { createDatabaseIfMissing } from "../../src/db/server/createDatabaseIfMissing.ts";
import { defaultSocketDir, openDataDirDatabase, type EmbeddedDatabase } from "../../src/embedded/embedded-mariadb.ts";

const root = mkdtempSync(join(tmpdir(), "ssfiles-"));
const mode = (path: string) => statSync(path).mode & 0o777;
const opened: EmbeddedDatabase[] = [];

afterAll(async () => {
  for (const db of opened) await db.stop().catch(() => undefined);
  for (const entry of readdirSync(root)) rmSync(defaultSocketDir(join(realpathSync(root), entry)), { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

async function open(dataDir: string): Promise<EmbeddedDatabase> {
  const db = await openDataDirDatabase(dataDir, { createDatabase: createDatabaseIfMissing });
  opened.push(db);
  return db;
}

/** Expects opening `dataDir` to be refused; one opened by mistake is stopped before the test fails. */
async function expectRefused(dataDir: string, message: RegExp): Promise<void> {
  const outcome = await openDataDirDatabase(dataDir, { createDatabase: createDatabaseIfMissing }).then(
    (db) => db,
    (error: unknown) => error,
  );
  if (outcome instanceof Error) {
    expect(outcome.message).toMatch(message);
    return;
  }
  await (outcome as EmbeddedDatabase).stop();
  expect.fail(`${dataDir} was opened, not refused`);
}

/** Abstract unix socket names this process listens on (from /proc/net/unix and our fds). */
function ownAbstractSockets(prefix: string): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return readFileSync("/proc/net/unix", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 8 && inodes.has(fields[6]!) && fields[7]!.startsWith(`@${prefix}`))
    .map((fields) => fields[7]!.slice(1));
}

describe("embedded MariaDB files", () => {
  it("creates the data directory, mariadb/ and mariadbd's tmpdir 0700 and the lock file 0600", async () => {
    const dataDir = join(root, "fresh");
    const db = await open(dataDir);
    expect(mode(dataDir).toString(8)).toBe("700");
    expect(mode(join(dataDir, "mariadb")).toString(8)).toBe("700");
    expect(mode(join(dataDir, "spider-storage.lock")).toString(8)).toBe("600");
    const connection = await createConnection(poolOptionsFromUrl(db.url));
    const [rows] = await connection.query("SELECT @@tmpdir AS tmpdir");
    await connection.end();
    const mariadbTmp = (rows as { tmpdir: string }[])[0]!.tmpdir;
    // Inside the private data directory, not under a predictable name in the shared /tmp.
    expect(mariadbTmp.startsWith(`${realpathSync(dataDir)}/`)).toBe(true);
    expect(mode(mariadbTmp).toString(8)).toBe("700");
    await db.stop();
  });

  it("tightens a data directory of ours that others could read (0755 from an older version) to 0700", async () => {
    const dataDir = join(root, "legacy");
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const db = await open(dataDir);
    expect(mode(dataDir).toString(8)).toBe("700");
    await db.stop();
  });

  it("refuses a pre-existing data directory writable by others, saying why, and creates nothing in it", async () => {
    const dataDir = join(root, "open");
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o777);
    await expectRefused(dataDir, /data directory .*open is writable by other users \(mode 777\)/);
    expect(readdirSync(dataDir)).toEqual([]);
    chmodSync(dataDir, 0o770);
    await expectRefused(dataDir, /writable by other users \(mode 770\)/);
  });

  it.skipIf(process.getuid?.() !== 0)("refuses a pre-existing data directory owned by another user", async () => {
    const dataDir = join(root, "foreign");
    mkdirSync(dataDir, { mode: 0o700 });
    chownSync(dataDir, 65534, 65534);
    await expectRefused(dataDir, /data directory .*foreign belongs to another user \(uid 65534\)/);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it("another local user cannot take the data directory's lock first from its path alone", async () => {
    const dataDir = join(root, "squatted");
    mkdirSync(dataDir, { mode: 0o700 });
    // What anyone who knows the path could compute: the lock's name before it depended on a private key.
    const publicName = `\0spider-storage-data-dir-${createHash("sha256").update(realpathSync(dataDir)).digest("hex").slice(0, 40)}`;
    const squatter: Server = createServer();
    await new Promise<void>((resolve, reject) => {
      squatter.once("error", reject);
      squatter.listen(publicName, resolve);
    });
    try {
      const db = await open(dataDir);
      await db.stop();
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("another local user cannot block the default socket directory by creating its name first", async () => {
    const dataDir = join(root, "socket-squatted");
    mkdirSync(dataDir, { mode: 0o700 });
    // The name the socket directory had when it depended on the data directory's path alone.
    const runtimeDir = process.env["XDG_RUNTIME_DIR"];
    const base = runtimeDir && existsSync(runtimeDir) && runtimeDir.length < 60 ? runtimeDir : "/tmp";
    const publicName = join(base, `spider-storage-${createHash("sha256").update(realpathSync(dataDir)).digest("hex").slice(0, 16)}`);
    writeFileSync(publicName, "squatter");
    try {
      const db = await open(dataDir);
      expect(db.socket.startsWith(publicName)).toBe(false);
      await db.stop();
    } finally {
      rmSync(publicName, { force: true });
    }
  });

  it("the data directory's lock socket closes a connection at once", async () => {
    const dataDir = join(root, "lock-socket");
    const before = new Set(ownAbstractSockets("spider-storage"));
    const db = await open(dataDir);
    const names = ownAbstractSockets("spider-storage").filter((name) => !before.has(name));
    expect(names).toHaveLength(1);
    const socket = connectSocket({ path: `\0${names[0]!}` });
    // Closed by the lock's holder, not by us: nothing here ends it.
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once("close", () => resolve());
      socket.resume();
    });
    await db.stop();
  });
});
