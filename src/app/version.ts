/** The package version, read once from package.json (the CLI's --version, the admin API's status). */
import { readFileSync } from "node:fs";

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

export const VERSION: string = packageJson.version;
