/**
 * The README's configuration table, generated from the schema's metadata so the
 * two cannot drift (test/config/readme-table.test.ts compares them).
 * `node src/config/table.ts` prints it.
 */
import { configKeys, envNameOf } from "./schema.ts";

/** Spider's own keys (spec §6); everything else is ours. */
const SPIDER_SECTIONS = ["runtime.db.", "runtime.inbound_queue.", "runtime.task_instance_pool.", "runtime.job_cache_gc."];
const NOT_IN_SPIDER = new Set(["runtime.task_instance_pool.gc_interval_ms", "runtime.db.hosts"]);

export function isSpiderKey(path: string): boolean {
  if (NOT_IN_SPIDER.has(path)) return false;
  return path === "host" || path === "port" || SPIDER_SECTIONS.some((prefix) => path.startsWith(prefix));
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function configurationTable(): string {
  const rows = [
    "| Key | Environment variable | Default | Spider's default | Meaning |",
    "|---|---|---|---|---|",
  ];
  for (const { path, meta, defaultValue } of configKeys()) {
    const ours =
      meta.defaultText ?? (defaultValue === undefined ? "none" : `\`${typeof defaultValue === "string" ? defaultValue : JSON.stringify(defaultValue)}\``);
    const spider = isSpiderKey(path) ? (meta.spider ?? "same") : "— (ours)";
    rows.push(`| \`${path}\` | \`${envNameOf(path)}\` | ${cell(ours)} | ${cell(spider)} | ${cell(meta.description)} |`);
  }
  return `${rows.join("\n")}\n`;
}

if (import.meta.main) process.stdout.write(configurationTable());
