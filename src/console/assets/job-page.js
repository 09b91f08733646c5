// One job: its row (state, times, error, quarantine), the task graph drawn
// and coloured by task state (commit and cleanup apart), the chosen task's
// retries left, live instances with their execution managers and timeout
// policy, the repairs, and its inputs and outputs to download. The graph's
// shape is read once; the states are polled every second while the job runs.

import { download, getJson } from "./api.js";
import { bytes, clear, fill, duration, h, stateBadge, table, time } from "./dom.js";
import { createGraphView } from "./graph-view.js";
import { repairButton } from "./repairs.js";

const TERMINAL = new Set(["Succeeded", "Failed", "Cancelled"]);
const LEGEND = ["Pending", "Ready", "Running", "Succeeded", "Failed", "Cancelled"];

export function jobPage(main, context, jobId) {
  const pageStarted = performance.now();
  const header = h("div", { class: "job-header" }, h("h1", {}, `Job ${jobId}`));
  const facts = h("div", { class: "job-facts" });
  const actions = h("div", { class: "actions" });
  const legend = h("div", { class: "legend" });
  const graphBox = h("div", { class: "graph-box" });
  const termination = h("div", { class: "termination" });
  const detail = h("aside", { class: "task-detail" }, h("p", { class: "hint" }, "Click a task to see its retries, instances and timeouts."));
  const instancesBox = h("div", { class: "instances-box" });
  const payloadBox = h("div", { class: "payload-box" });
  main.append(
    header,
    facts,
    actions,
    h("h2", {}, "Task graph"),
    legend,
    h("div", { class: "graph-and-detail" }, h("div", { class: "graph-column" }, graphBox, termination), detail),
    h("h2", {}, "Live task instances"),
    instancesBox,
    h("h2", {}, "Inputs and outputs"),
    payloadBox,
  );

  let shape; // GET jobs/ID/graph
  let view; // the graph view, once the shape is known
  let latest; // the last GET jobs/ID answer
  let selected;
  let lastState;

  // The engine keeps a commit (cleanup) task "Ready" from the start; it is
  // offered only once the job is CommitReady (CleanupReady), so before that
  // the page shows it as waiting: Pending.
  const WAITS_FOR = { commit: "CommitReady", cleanup: "CleanupReady" };
  const shownState = (task) => {
    const waitsFor = WAITS_FOR[task.task];
    const jobState = latest?.job?.state;
    if (waitsFor && task.state === "Ready" && (jobState === "Ready" || jobState === "Running")) return "Pending";
    return task.state;
  };
  const states = () => new Map((latest?.tasks ?? []).map((task) => [task.task, shownState(task)]));

  const showDetail = () => {
    if (selected === undefined || !latest) return;
    const key = String(selected);
    const found = (latest.tasks ?? []).find((t) => t.task === key);
    const task = found ? { ...found, state: shownState(found) } : { task: key, state: "unknown" };
    const node = key === "commit" ? shape?.commit : key === "cleanup" ? shape?.cleanup : shape?.tasks[Number(key)];
    const instances = (latest.instances ?? []).filter((instance) => instance.task === key);
    fill(detail,
      h("h3", {}, key === "commit" || key === "cleanup" ? `${key} task` : `Task ${key}`),
      h(
        "dl",
        { "data-task-detail": key },
        h("dt", {}, "State"), h("dd", {}, stateBadge(task.state)),
        h("dt", {}, "Function"), h("dd", {}, node ? `${node.package}::${node.function}` : task.function ?? "-"),
        h("dt", {}, "Retries left"), h("dd", { "data-field": "retries-left" }, `${task.retriesLeft ?? "-"} of ${node?.maxRetries ?? task.maxRetries ?? "-"}`),
        h("dt", {}, "Live instances"), h("dd", {}, `${task.liveInstances ?? 0} (at most ${node?.maxInstances ?? "-"})`),
        h("dt", {}, "Timeouts"), h("dd", {}, node ? `soft ${duration(node.softTimeoutMs)}, hard ${duration(node.hardTimeoutMs)}` : "-"),
        h("dt", {}, "Queued"), h("dd", {}, task.queued ? "yes" : "no"),
        h("dt", {}, "Checkpointed"), h("dd", {}, task.checkpointed ? "yes" : "no"),
        node?.parents ? [h("dt", {}, "Parents"), h("dd", {}, node.parents.length ? node.parents.join(", ") : "none (an input task)")] : null,
      ),
      instances.length
        ? table(["Instance", "Execution manager", "Age", "Soft timeout passed"], instances.map((instance) => h("tr", {}, h("td", {}, instance.taskInstanceId), h("td", {}, instance.executionManagerId), h("td", {}, duration(instance.ageMs)), h("td", {}, instance.softTimeoutPassed ? "yes" : "no"))))
        : null,
    );
  };
  const select = (index) => {
    selected = index;
    view?.select(index);
    showDetail();
  };

  const drawTermination = () => {
    const map = states();
    clear(termination);
    for (const [key, node] of [["commit", shape?.commit], ["cleanup", shape?.cleanup]]) {
      if (!node) continue;
      const state = map.get(key) ?? "unknown";
      termination.append(
        h("button", { class: `termination-task state-${state.replace(/[^A-Za-z]/g, "")}`, "data-task": key, "data-state": state, onclick: () => select(key) }, `${key} · ${node.function}`, h("small", {}, state)),
      );
    }
    if (!termination.firstChild) termination.append(h("span", { class: "hint" }, "No commit or cleanup task."));
  };

  const render = () => {
    const job = latest.job ?? {};
    fill(header,
      h("h1", {}, `Job ${jobId} `, stateBadge(job.state), job.quarantined ? h("span", { class: "badge quarantine" }, "quarantined") : null),
    );
    fill(facts,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Resource group"), h("dd", {}, job.resourceGroupId ?? "-"),
        h("dt", {}, "Created"), h("dd", {}, time(job.createdAtMs)),
        h("dt", {}, "Updated"), h("dd", {}, time(job.updatedAtMs)),
        h("dt", {}, "Ended"), h("dd", {}, time(job.endedAtMs)),
        h("dt", {}, "Graph"), h("dd", {}, latest.graph ? `${latest.graph.tasks ?? 0} tasks, depth ${latest.graph.depth ?? 0}, ${latest.graph.dependencies ?? 0} dependencies` : "-"),
        h("dt", {}, "Task states from"), h("dd", {}, latest.tasksSource ?? "-"),
      ),
      job.errorMessage ? h("pre", { class: "job-error", "data-field": "job-error" }, job.errorMessage) : null,
      latest.graphError ? h("p", { class: "error" }, `The stored graph does not decode: ${latest.graphError}`) : null,
    );
    const counts = new Map();
    for (const state of states().values()) counts.set(state, (counts.get(state) ?? 0) + 1);
    fill(legend, LEGEND.map((state) => h("span", { class: "legend-item", "data-legend": state }, h("span", { class: `swatch state-${state}` }), `${state} ${counts.get(state) ?? 0}`)));
    const instances = latest.instances ?? [];
    fill(instancesBox,
      instances.length === 0
        ? h("p", { class: "hint" }, "None.")
        : table(["Instance", "Task", "Execution manager", "Age", "Soft timeout passed"], instances.map((instance) => h("tr", {}, h("td", {}, instance.taskInstanceId), h("td", {}, h("a", { href: "#", onclick: (event) => (event.preventDefault(), select(instance.task)) }, instance.task)), h("td", {}, instance.executionManagerId), h("td", {}, duration(instance.ageMs)), h("td", {}, instance.softTimeoutPassed ? "yes" : "no")))),
    );
    view?.update(states());
    drawTermination();
    showDetail();
  };

  const loadPayload = async () => {
    const listing = await getJson(`jobs/${jobId}/payload`);
    const items = listing.items ?? [];
    fill(payloadBox,
      items.length === 0
        ? h("p", { class: "hint" }, "Nothing stored.")
        : table(
            ["Item", "Size", ""],
            items.map((item) =>
              h("tr", { "data-item": item.name }, h("td", {}, item.name), h("td", { class: "number" }, bytes(item.size)), h("td", {}, h("button", { class: "secondary", onclick: () => download(`jobs/${jobId}/payload/${encodeURIComponent(item.name)}`, `job-${jobId}-${item.name.replaceAll(":", "-")}.bin`).catch((error) => context.toast(error.message, "error")) }, "Download"))),
            ),
          ),
      listing.truncated ? h("p", { class: "hint" }, `Only the first ${items.length} items are listed; the CLI's jobs payload --dir gets them all.`) : null,
    );
  };

  const poll = async () => {
    latest = await getJson(`jobs/${jobId}`);
    const state = latest.job?.state;
    if (state !== lastState) {
      if (lastState !== undefined || TERMINAL.has(state)) loadPayload().catch((error) => context.handleError(error));
      lastState = state;
    }
    render();
    return !TERMINAL.has(state);
  };

  // One poller at a time: it ends when the job is terminal, and a repair starts it again.
  let polling = false;
  const keepPolling = () => {
    if (polling) return;
    polling = true;
    context.poll(async () => {
      const again = await poll();
      polling = again;
      return again;
    });
  };
  const repaired = (verb) => (answer) => {
    context.toast(`job ${jobId} ${verb}: now ${answer.state ?? "changed"}`);
    keepPolling();
  };
  actions.append(
    repairButton("Cancel", { title: `Cancel job ${jobId}`, what: "As the storage API's CancelJob: its cleanup task runs if it has one.", path: `jobs/${jobId}/cancel` }, repaired("cancelled")),
    repairButton("Fail", { title: `Fail job ${jobId}`, what: "The job becomes Failed with \"failed by operator: <reason>\".", path: `jobs/${jobId}/fail` }, repaired("failed")),
    repairButton("Retry", { title: `Retry job ${jobId}`, what: "Failed → Running: tasks with a usable checkpoint keep their outputs, the rest run again.", path: `jobs/${jobId}/retry` }, repaired("retried")),
    repairButton("Requeue", { title: `Requeue job ${jobId}`, what: "Re-enqueue the job's ready work.", path: `jobs/${jobId}/requeue`, releaseOption: true }, repaired("requeued")),
  );

  (async () => {
    try {
      await poll();
      shape = await getJson(`jobs/${jobId}/graph`);
      view = createGraphView(graphBox, shape, { onSelect: select });
      const drawn = await view.drawn;
      view.update(states());
      drawTermination();
      const elapsed = performance.now() - pageStarted;
      graphBox.dataset.drawnMs = String(Math.round(elapsed));
      graphBox.dataset.layoutMs = String(Math.round(drawn.layoutMs));
      keepPolling();
    } catch (error) {
      if (context.handleError(error)) graphBox.append(h("p", { class: "error" }, error.message));
    }
  })();
  loadPayload().catch((error) => context.handleError(error));
}
