// Overview: what `spider-storage status` shows — phase, session, uptime,
// recovery progress, jobs by state, queue depth and oldest entry per lane,
// execution managers alive and dead — refreshed every 2 s.

import { getJson } from "./api.js";
import { fill, duration, h, stateBadge, table } from "./dom.js";
import { repairButton } from "./repairs.js";

function card(label, value, name) {
  return h("div", { class: "card", "data-field": name }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
}

function recovery(status) {
  const progress = status.recovery;
  if (!progress || !progress.known) return h("p", { class: "hint" }, "Recovery: not started yet.");
  const loaded = Number(progress.jobsLoaded ?? 0);
  const total = Number(progress.jobsTotal ?? 0);
  const text = `${loaded} of ${total} jobs loaded, ${progress.jobsQuarantined ?? 0} quarantined, ${duration(progress.elapsedMs)}`;
  return h(
    "div",
    { class: "recovery", "data-field": "recovery" },
    h("span", {}, progress.done ? `Recovery done: ${text}` : `Recovering: ${text}`),
    progress.done ? null : h("progress", { max: Math.max(total, 1), value: loaded }),
  );
}

export function overviewPage(main, context) {
  const body = h("div", { class: "overview" });
  main.append(h("h1", {}, "Overview"), body);
  context.slowPoll(async () => {
    const status = await getJson("status");
    const counts = new Map((status.jobsByState ?? []).map((entry) => [entry.state, Number(entry.count ?? 0)]));
    const totalJobs = [...counts.values()].reduce((sum, count) => sum + count, 0);
    fill(body,
      h(
        "div",
        { class: "cards" },
        card("Phase", stateBadge(status.phase), "phase"),
        card("Session", status.sessionId ?? "0", "session"),
        card("Uptime", duration(status.uptimeMs), "uptime"),
        card("Execution managers", h("span", {}, h("span", { "data-field": "em-alive" }, status.aliveExecutionManagers ?? "0"), " alive · ", h("span", { "data-field": "em-dead" }, status.deadExecutionManagers ?? "0"), " dead"), "execution-managers"),
        card("Live task instances", status.liveTaskInstances ?? "0", "instances"),
        card("Cached jobs", status.cachedJobs ?? "0", "cached"),
        card("Version", `${status.version} (pid ${status.pid})`, "version"),
      ),
      status.databaseError ? h("p", { class: "error" }, `Database: ${status.databaseError}`) : null,
      recovery(status),
      h("h2", {}, `Jobs by state (${totalJobs})`),
      table(
        ["State", "Jobs"],
        (status.jobsByState ?? []).map((entry) =>
          h("tr", { "data-job-state": entry.state }, h("td", {}, h("a", { href: `#/jobs?state=${entry.state}` }, stateBadge(entry.state))), h("td", { class: "number", "data-count": entry.count ?? "0" }, entry.count ?? "0")),
        ),
        { class: "jobs-by-state" },
      ),
      h("h2", {}, "Inbound queue"),
      table(
        ["Lane", "Depth", "Oldest entry", "Waiting polls"],
        (status.lanes ?? []).map((lane) =>
          h("tr", { "data-lane": lane.lane }, h("td", {}, lane.lane), h("td", { class: "number" }, lane.depth ?? "0"), h("td", { class: "number" }, Number(lane.depth ?? 0) > 0 ? duration(lane.oldestAgeMs) : "-"), h("td", { class: "number" }, lane.waitingPollers ?? 0)),
        ),
      ),
      h(
        "div",
        { class: "actions" },
        repairButton(
          "Resend queue",
          { title: "Resend the queue", what: "Re-enqueue every ready task that has no queue entry (what a scheduler restart needs).", path: "queue/resend" },
          (answer) => context.toast(`queue resent: ${answer.enqueued} entries`),
        ),
      ),
    );
  });
}
