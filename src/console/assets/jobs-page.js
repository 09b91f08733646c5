// Jobs: newest first, filtered by state and resource group, 50 a page;
// quarantined jobs (rows that could not be recovered) are marked.

import { getJson } from "./api.js";
import { fill, h, stateBadge, table, time } from "./dom.js";

const JOB_STATES = ["Ready", "Running", "CommitReady", "CleanupReady", "Succeeded", "Failed", "Cancelled"];

export function jobsPage(main, context, params) {
  const chosen = new Set(params.getAll("state").flatMap((value) => value.split(",")).filter(Boolean));
  const resourceGroup = params.get("resourceGroup") ?? "";
  const after = params.get("after") ?? "";
  const newer = params.getAll("newer"); // cursors of the pages before this one, for "newer"

  const stateBoxes = JOB_STATES.map((state) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", value: state, checked: chosen.has(state) }), state),
  );
  const groupInput = h("input", { type: "text", inputmode: "numeric", placeholder: "any", value: resourceGroup, size: 8, name: "resourceGroup" });
  const apply = (extra = {}) => {
    const query = new URLSearchParams();
    for (const box of stateBoxes) if (box.firstChild.checked) query.append("state", box.firstChild.value);
    if (groupInput.value.trim() !== "") query.set("resourceGroup", groupInput.value.trim());
    for (const [key, values] of Object.entries(extra)) for (const value of [].concat(values)) query.append(key, value);
    context.navigate(`#/jobs?${query}`);
  };
  const filters = h(
    "form",
    { class: "filters", onsubmit: (event) => (event.preventDefault(), apply()) },
    h("span", {}, "State:"),
    stateBoxes,
    h("label", {}, "Resource group ", groupInput),
    h("button", { type: "submit" }, "Filter"),
  );
  const listing = h("div", { class: "listing" }, h("p", {}, "loading…"));
  main.append(h("h1", {}, "Jobs"), filters, listing);

  const query = new URLSearchParams();
  for (const state of chosen) query.append("state", state);
  if (resourceGroup !== "") query.set("resourceGroup", resourceGroup);
  if (after !== "") query.set("after", after);
  context.slowPoll(async () => {
    const page = await getJson(`jobs?${query}`);
    const jobs = page.jobs ?? [];
    const next = page.nextAfterId && page.nextAfterId !== "0" ? page.nextAfterId : undefined;
    fill(listing,
      jobs.length === 0
        ? h("p", { class: "hint" }, "No jobs match.")
        : table(
            ["Job", "State", "Resource group", "Created", "Updated", "Ended", "Cached", "Error"],
            jobs.map((job) =>
              h(
                "tr",
                { "data-job": job.jobId, class: job.quarantined ? "quarantined" : undefined },
                h("td", {}, h("a", { href: `#/jobs/${job.jobId}` }, job.jobId)),
                h("td", {}, stateBadge(job.state), job.quarantined ? h("span", { class: "badge quarantine", title: "the stored row could not be recovered" }, "quarantined") : null),
                h("td", { class: "number" }, job.resourceGroupId),
                h("td", {}, time(job.createdAtMs)),
                h("td", {}, time(job.updatedAtMs)),
                h("td", {}, time(job.endedAtMs)),
                h("td", {}, job.cached ? "yes" : "no"),
                h("td", { class: "error-text" }, job.errorMessage ?? ""),
              ),
            ),
            { class: "jobs" },
          ),
      h(
        "div",
        { class: "pager" },
        newer.length > 0 ? h("button", { class: "secondary", onclick: () => apply({ ...(newer.at(-1) ? { after: newer.at(-1) } : {}), newer: newer.slice(0, -1) }) }, "← Newer") : null,
        next ? h("button", { class: "secondary", "data-page": "older", onclick: () => apply({ after: next, newer: [...newer, after] }) }, "Older →") : null,
      ),
    );
  });
}
