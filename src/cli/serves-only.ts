/**
 * Whether a command line only serves (`spider-storage`, `spider-storage serve
 * …`, Spider's `spider-storage --config PATH`): then the program is built
 * with the serve command alone and the other commands' modules (the admin
 * client, the offline database tools, …) are never loaded — a faster start
 * (issue 20.5). Anything in doubt answers false, and the whole program is
 * built: only the speed differs, never the outcome.
 */

/** Options (global, and serve's) that take a separate value. */
const OPTIONS_WITH_VALUES = new Set([
  "-c",
  "--config",
  "--database-url",
  "--database-url-file",
  "--data-dir",
  "--server",
  "--token",
  "--token-file",
  "--tls-ca",
  "--tls-cert",
  "--tls-key",
  "--log-format",
  "--host",
  "--port",
]);

const HELP_OR_VERSION = new Set(["-h", "--help", "-V", "--version", "help"]);

/** `args`: the arguments after the program (process.argv.slice(2)). */
export function servesOnly(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (HELP_OR_VERSION.has(arg)) return false;
    if (arg === "--") return false;
    if (arg.startsWith("-")) {
      if (OPTIONS_WITH_VALUES.has(arg)) i++;
      continue;
    }
    // The first word: the command.
    if (arg !== "serve") return false;
    return args.slice(i + 1).every((rest) => !HELP_OR_VERSION.has(rest));
  }
  return true;
}
