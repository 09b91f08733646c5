/**
 * Directories only this user may enter: the embedded MariaDB's data, its
 * temporary files and its socket (root has no password over the socket, so
 * whoever reaches it is MariaDB's root; whoever can write the data directory
 * can change the data).
 *
 * A missing directory is created 0700 from the start (never created open and
 * tightened later). An existing one must be a real directory (not a symbolic
 * link) owned by this user and writable by no one else — otherwise someone
 * else could have put or changed files in it, and it is refused with a
 * message saying why. One that others can merely read (0755, as older
 * versions created the data directory) is tightened to 0700.
 */
import { chmod, lstat, mkdir } from "node:fs/promises";

/** Creates or checks `dir`; `what` names it in errors, `hint` says what else the operator can do. */
export async function ensurePrivateDir(dir: string, what: string, hint = ""): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  if (info.isSymbolicLink() || !info.isDirectory()) throw new Error(`${what} ${dir} is not a directory (a symbolic link?): remove it${hint}`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new Error(`${what} ${dir} belongs to another user (uid ${info.uid}), not to this one (uid ${uid}): refusing to use it${hint}`);
  }
  const mode = info.mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new Error(
      `${what} ${dir} is writable by other users (mode ${mode.toString(8)}): refusing to use it, ` +
        `as someone else could have changed what it holds; check it, then \`chmod 700\` it${hint}`,
    );
  }
  if ((mode & 0o077) !== 0) await chmod(dir, 0o700);
}
