/** The package version (the CLI's --version, the admin API's status); a JSON import, so a bundle carries it. */
import packageJson from "../../package.json" with { type: "json" };

export const VERSION: string = packageJson.version;
