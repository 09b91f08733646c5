// The repair buttons: each opens one dialog asking for a reason (written to
// the server's audit log), then calls the repair through the console API —
// the same admin use case the CLI's command runs.

import { postJson } from "./api.js";
import { h } from "./dom.js";

const dialog = () => document.getElementById("repair");

/**
 * Opens the dialog for one repair. `path` is the API path to POST to;
 * `releaseOption` shows the requeue's "release instances" box.
 * Resolves with the server's answer, or undefined when closed.
 */
export function askForRepair({ title, what, path, releaseOption = false }) {
  const element = dialog();
  document.getElementById("repair-title").textContent = title;
  document.getElementById("repair-what").textContent = what;
  const reason = document.getElementById("repair-reason");
  reason.value = "";
  const release = document.getElementById("repair-release");
  release.checked = false;
  document.getElementById("repair-release-label").hidden = !releaseOption;
  const error = document.getElementById("repair-error");
  error.hidden = true;
  const form = document.getElementById("repair-form");
  const confirm = document.getElementById("repair-confirm");
  return new Promise((resolve) => {
    const finish = (answer) => {
      form.onsubmit = null;
      document.getElementById("repair-cancel").onclick = null;
      element.close();
      resolve(answer);
    };
    form.onsubmit = async (event) => {
      event.preventDefault();
      if (reason.value.trim() === "") return;
      confirm.disabled = true;
      try {
        finish(await postJson(path, { reason: reason.value, ...(releaseOption ? { releaseInstances: release.checked } : {}) }));
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
      } finally {
        confirm.disabled = false;
      }
    };
    document.getElementById("repair-cancel").onclick = () => finish(undefined);
    element.showModal();
    reason.focus();
  });
}

/** A button that runs one repair and then `after(answer)`. */
export function repairButton(label, options, after) {
  return h(
    "button",
    {
      class: "danger",
      "data-repair": label.toLowerCase(),
      onclick: async () => {
        const answer = await askForRepair(options);
        if (answer !== undefined) after(answer);
      },
    },
    label,
  );
}
