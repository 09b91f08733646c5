// Execution managers: alive or dead, last heartbeat, the task instances each
// runs on this server; "Release" declares one dead now (`em release`).

import { getJson } from "./api.js";
import { fill, duration, h, stateBadge, table, time } from "./dom.js";
import { repairButton } from "./repairs.js";

export function executionManagersPage(main, context) {
  const listing = h("div", {}, h("p", {}, "loading…"));
  main.append(h("h1", {}, "Execution managers"), listing);
  const refresh = () =>
    getJson("execution-managers").then((answer) => {
      const managers = answer.executionManagers ?? [];
      fill(listing,
        managers.length === 0
          ? h("p", { class: "hint" }, "No execution manager has registered.")
          : table(
              ["Id", "Address", "State", "Last heartbeat", "Registered", "Death confirmed", "Running instances", ""],
              managers.map((manager) =>
                h(
                  "tr",
                  { "data-em": manager.executionManagerId },
                  h("td", { class: "number" }, manager.executionManagerId),
                  h("td", {}, manager.ipAddress),
                  h("td", {}, stateBadge(manager.state)),
                  h("td", {}, `${duration(manager.heartbeatAgeMs)} ago`),
                  h("td", {}, time(manager.registeredAtMs)),
                  h("td", {}, time(manager.deathConfirmedAtMs)),
                  h(
                    "td",
                    {},
                    `${manager.liveInstances ?? 0}`,
                    (manager.runningInstances ?? []).length > 0
                      ? h("ul", { class: "instances" }, manager.runningInstances.map((instance) => h("li", {}, h("a", { href: `#/jobs/${instance.jobId}` }, `job ${instance.jobId}`), ` task ${instance.task}, ${duration(instance.ageMs)}`)))
                      : null,
                  ),
                  h(
                    "td",
                    {},
                    manager.state === "Alive"
                      ? repairButton(
                          "Release",
                          { title: `Release execution manager ${manager.executionManagerId}`, what: "Declare it dead now: its instances' tasks are re-enqueued without consuming retries, and its next heartbeat is refused.", path: `execution-managers/${manager.executionManagerId}/release` },
                          (result) => (context.toast(`released: ${result.releasedInstances} instances`), refresh()),
                        )
                      : null,
                  ),
                ),
              ),
            ),
      );
    });
  context.slowPoll(refresh);
}
