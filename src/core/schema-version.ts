/**
 * The task graph's `schema_version` (spec §1.5): a strict SemVer 2.0.0 string
 * (as Rust's `semver` crate parses it: no `v` prefix, no whitespace, no
 * leading zeros, components up to u64) that must satisfy `>=0.1.0, <0.2.0`.
 * Pre-release versions never satisfy it (the requirement names none), build
 * metadata is ignored.
 */
import { invalidArgument } from "./errors.ts";

/** The version this implementation writes (the builder uses it). */
export const TASK_GRAPH_SCHEMA_VERSION = "0.1.0";

/** The compatible range, as Spider spells it in its error message. */
export const TASK_GRAPH_SCHEMA_REQUIREMENT = ">=0.1.0,<0.2.0";

export interface SemVer {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly preRelease: string;
  readonly build: string;
}

const NUMERIC = "0|[1-9]\\d*";
const PRE_IDENT = "0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*";
const SEMVER_PATTERN = new RegExp(
  `^(${NUMERIC})\\.(${NUMERIC})\\.(${NUMERIC})` +
    `(?:-((?:${PRE_IDENT})(?:\\.(?:${PRE_IDENT}))*))?` +
    `(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?$`,
);
const U64_MAX = (1n << 64n) - 1n;

/** Parses a SemVer string; returns a reason string when it is not one. */
export function parseSemVer(text: string): SemVer | string {
  const match = SEMVER_PATTERN.exec(text);
  if (match === null) {
    return "not a semantic version of the form MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]";
  }
  const [major, minor, patch] = [BigInt(match[1]!), BigInt(match[2]!), BigInt(match[3]!)];
  if (major > U64_MAX || minor > U64_MAX || patch > U64_MAX) {
    return "version number exceeds u64";
  }
  return { major, minor, patch, preRelease: match[4] ?? "", build: match[5] ?? "" };
}

/** Throws StorageError("invalid_argument") unless `raw` is a compatible task graph schema version. */
export function checkTaskGraphSchemaVersion(raw: string): void {
  const version = parseSemVer(raw);
  if (typeof version === "string") {
    throw invalidArgument(`invalid schema version string '${raw}': ${version}`);
  }
  const compatible = version.preRelease === "" && version.major === 0n && version.minor === 1n;
  if (!compatible) {
    throw invalidArgument(
      `incompatible task graph schema version: found ${raw}, ` +
        `compatible requirement: ${TASK_GRAPH_SCHEMA_REQUIREMENT}`,
    );
  }
}
