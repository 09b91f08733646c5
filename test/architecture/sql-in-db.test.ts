/**
 * All SQL lives in src/db (and migrations/): no other folder of src/ builds a
 * query, imports kysely's query builder, or spells a statement. Advice shown to
 * operators may quote SQL; those lines are listed here by file and text.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Quoted SQL that is advice to a person, never run. */
const ADVICE = [{ file: "src/admin/doctor.ts", text: "DELETE FROM task_checkpoints WHERE job_id IN" }];

const QUERY_PATTERNS: readonly RegExp[] = [
  /\bsql`/,
  /\.(selectFrom|selectNoFrom|insertInto|updateTable|deleteFrom|replaceInto)\(/,
  /^import (?!type )[^;]*from "kysely"/m,
  /^import (?!type )[^;]*from "mysql2(\/promise)?"/m,
  /["'`]\s*(SELECT\s+.+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|DATABASE)|SET\s+(SESSION|GLOBAL|@@)|GET_LOCK|RELEASE_LOCK|KILL\s)/i,
];

/** Where a module may reach the database driver without running SQL (a protocol ping). */
const DRIVER_WITHOUT_SQL = new Set(["src/embedded/embedded-mariadb.ts"]);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|js)$/.test(entry.name)) out.push(path);
  }
  return out;
}

describe("SQL", () => {
  const outside = sourceFiles("src").filter((file) => !file.startsWith("src/db/") && !file.startsWith("src/gen/"));

  it("is looked for in every folder of src/ but src/db (the check is not vacuous)", () => {
    expect(outside.length).toBeGreaterThan(100);
    // The same patterns find the SQL src/db holds.
    const inDb = sourceFiles("src/db").filter((file) => QUERY_PATTERNS.some((p) => p.test(readFileSync(join(ROOT, file), "utf8"))));
    expect(inDb.length).toBeGreaterThan(30);
  });

  it("appears nowhere outside src/db and migrations/", () => {
    const found: string[] = [];
    for (const file of outside) {
      let text = readFileSync(join(ROOT, file), "utf8");
      for (const advice of ADVICE) if (advice.file === file) text = text.replaceAll(advice.text, "");
      for (const pattern of QUERY_PATTERNS) {
        if (DRIVER_WITHOUT_SQL.has(file) && pattern.source.includes("mysql2")) continue;
        const match = pattern.exec(text);
        if (match) found.push(`${file}: ${match[0].slice(0, 60)}`);
      }
    }
    expect(found).toEqual([]);
  });
});
