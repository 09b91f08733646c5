// The console's page: a router over the location hash (#/overview, #/jobs,
// #/jobs/ID, #/execution-managers), the sign-in dialog when the server asks
// for its admin token, and the polling each page runs while it is shown.

import { ApiError, getJson, hasToken, signIn, signOut } from "./api.js";
import { clear, h } from "./dom.js";
import { executionManagersPage } from "./execution-managers-page.js";
import { jobPage } from "./job-page.js";
import { jobsPage } from "./jobs-page.js";
import { overviewPage } from "./overview-page.js";

const main = document.getElementById("main");
let current; // { stop() } of the page shown
let generation = 0;

export function toast(text, kind = "info") {
  const element = document.getElementById("toast");
  element.textContent = text;
  element.className = kind;
  element.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (element.hidden = true), 6000);
}

/** Calls `load` now and every `intervalMs` until the page changes or it returns false. */
function poller(intervalMs) {
  const mine = generation;
  return (load) => {
    const tick = async () => {
      if (mine !== generation) return;
      let again = true;
      try {
        again = (await load()) !== false;
      } catch (error) {
        if (!handleError(error)) return;
      }
      if (again && mine === generation) setTimeout(tick, intervalMs);
    };
    return tick();
  };
}

/** Shows what went wrong; false when the page should stop (signed out). */
function handleError(error) {
  if (error instanceof ApiError && error.status === 401) {
    askForToken(error.message);
    return false;
  }
  toast(error.message, "error");
  return true;
}

function askForToken(message) {
  const dialog = document.getElementById("login");
  if (dialog.open) return;
  document.getElementById("login-message").textContent = hasToken() ? `Refused: ${message}` : message;
  dialog.showModal();
}

document.getElementById("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn(document.getElementById("login-token").value.trim(), document.getElementById("login-operator").value.trim());
  document.getElementById("login-token").value = "";
  document.getElementById("login").close();
  render();
  showPhase();
});

document.getElementById("sign-out").addEventListener("click", () => {
  signOut();
  render();
});

function route() {
  const path = location.hash.replace(/^#\/?/, "").split("?")[0];
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const [page, id] = path.split("/");
  if (page === "jobs" && id) return { name: "jobs", show: () => jobPage(main, context(), id) };
  if (page === "jobs") return { name: "jobs", show: () => jobsPage(main, context(), params) };
  if (page === "execution-managers") return { name: "execution-managers", show: () => executionManagersPage(main, context()) };
  return { name: "overview", show: () => overviewPage(main, context()) };
}

function context() {
  return { poll: poller(1000), slowPoll: poller(2000), toast, handleError, navigate: (hash) => (location.hash = hash) };
}

function render() {
  generation++;
  current?.stop?.();
  clear(main);
  const target = route();
  for (const link of document.querySelectorAll("[data-nav]")) link.classList.toggle("active", link.dataset.nav === target.name);
  document.getElementById("sign-out").hidden = !hasToken();
  current = target.show();
}

/** The phase in the header, on every page: now, every 3 s, and after signing in. */
async function showPhase() {
  const badge = document.getElementById("server-phase");
  try {
    const status = await getJson("status");
    badge.textContent = status.phase;
    badge.className = `phase phase-${status.phase}`;
  } catch (error) {
    badge.textContent = error instanceof ApiError && error.status === 401 ? "signed out" : "unreachable";
    badge.className = "phase phase-unknown";
  }
}

window.addEventListener("hashchange", render);
main.append(h("p", {}, "loading…"));
render();
showPhase();
setInterval(showPhase, 3000);
