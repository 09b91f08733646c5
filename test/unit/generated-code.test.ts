import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../testkit/server-process.ts";

const run = promisify(execFile);

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

describe("src/gen", () => {
  it("is exactly what `npm run generate` produces from proto/", async () => {
    const out = await mkdtemp(join(tmpdir(), "gen-"));
    try {
      const template = (await readFile(join(REPO_ROOT, "buf.gen.yaml"), "utf8")).replace("out: src/gen", `out: ${out}`);
      const templatePath = join(out, "..", `${out.split("/").pop()}.buf.gen.yaml`);
      await writeFile(templatePath, template);
      const bin = join(REPO_ROOT, "node_modules/.bin");
      await run(join(bin, "buf"), ["generate", "--template", templatePath], {
        cwd: REPO_ROOT,
        env: { ...process.env, PATH: `${bin}:${process.env["PATH"]}` },
      });
      await rm(templatePath);
      const expected = await listFiles(out);
      expect(await listFiles(join(REPO_ROOT, "src/gen"))).toEqual(expected);
      for (const file of expected) {
        const fresh = await readFile(join(out, file), "utf8");
        const committed = await readFile(join(REPO_ROOT, "src/gen", file), "utf8");
        expect(committed, `src/gen/${file} is stale: run npm run generate`).toBe(fresh);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
