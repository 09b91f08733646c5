/**
 * Secrets from files: `--token-file PATH` and `--database-url-file PATH` stand
 * for `--token` and `--database-url`, whose values every local user can read
 * in /proc/<pid>/cmdline. The file holds the value alone; surrounding
 * whitespace (a final newline) is ignored. (The environment works too:
 * SPIDER_STORAGE_RUNTIME__ADMIN__TOKEN, SPIDER_STORAGE_DATABASE_URL.)
 *
 * Run before any command's action, this puts the file's value in place of
 * the flag, so every command sees one option however it was given. A missing,
 * unreadable or empty file, or both forms at once, is a usage error (exit 2)
 * naming the file — never echoing what it holds.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { CliError } from "./cli-error.ts";

/** Most bytes a secret file may hold: a token or a URL, never a large file read by mistake. */
const MAX_SECRET_BYTES = 64 * 1024;

const SECRET_FILE_OPTIONS = [
  { option: "token", flag: "--token", fileOption: "tokenFile", fileFlag: "--token-file" },
  { option: "databaseUrl", flag: "--database-url", fileOption: "databaseUrlFile", fileFlag: "--database-url-file" },
] as const;

/** Reads the secret in `path`, for `fileFlag`'s error messages. */
export function readSecretFile(path: string, fileFlag: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new CliError(`${fileFlag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`, 2);
  }
  if (bytes.length > MAX_SECRET_BYTES) throw new CliError(`${fileFlag} ${path} is over ${MAX_SECRET_BYTES} bytes: not a secret file`, 2);
  const value = bytes.toString("utf8").trim();
  if (value === "") throw new CliError(`${fileFlag} ${path} is empty`, 2);
  return value;
}

/** Replaces each given `--…-file` option of `program` by the value its file holds. */
export function applySecretFiles(program: Command): void {
  for (const { option, flag, fileOption, fileFlag } of SECRET_FILE_OPTIONS) {
    const path = program.getOptionValue(fileOption) as string | undefined;
    if (path === undefined) continue;
    if (program.getOptionValue(option) !== undefined) throw new CliError(`give ${flag} and ${fileFlag} not both`, 2);
    program.setOptionValueWithSource(option, readSecretFile(path, fileFlag), "cli");
  }
}
