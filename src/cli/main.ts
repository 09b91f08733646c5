#!/usr/bin/env node
/**
 * The `spider-storage` program. With no subcommand it serves, so Spider's own
 * `spider-storage --config PATH` works unchanged (DECISIONS D11).
 * Exit codes: 0 ok, 1 failure, 2 usage.
 */
import "./require-node-24.js";

// Loaded only now: require-node-24.js has turned on the module compile cache,
// and static imports would have been compiled before it ran.
const { CommanderError } = await import("commander");
const { buildProgram } = await import("./program.ts");
const { CliError } = await import("./cli-error.ts");

const program = await buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander already printed the message; help and --version are not errors.
    // (A command group run without its subcommand prints its help with exitCode 1: a usage error.)
    const ok = error.exitCode === 0 && (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help");
    // exitCode, not exit(): a piped stdout must be flushed before the process ends.
    process.exitCode = ok ? 0 : 2;
  } else if (error instanceof CliError) {
    process.stderr.write(`spider-storage: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`spider-storage: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
