// The console's calls to its server: every request carries the x-spider-console
// header (the server refuses API calls without it: another site's page cannot
// add it) and, once given, the admin token as a Bearer header. The token lives
// in this tab's sessionStorage only.

const TOKEN_KEY = "spider-storage.token";
const OPERATOR_KEY = "spider-storage.operator";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function signIn(token, operator) {
  sessionStorage.setItem(TOKEN_KEY, token);
  if (operator) sessionStorage.setItem(OPERATOR_KEY, operator);
  else sessionStorage.removeItem(OPERATOR_KEY);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(OPERATOR_KEY);
}

export function hasToken() {
  return sessionStorage.getItem(TOKEN_KEY) !== null;
}

function headers(extra = {}) {
  const out = { "x-spider-console": "1", ...extra };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) out.authorization = `Bearer ${token}`;
  const operator = sessionStorage.getItem(OPERATOR_KEY);
  if (operator) out["x-spider-operator"] = operator;
  return out;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message);
}

export async function getJson(path) {
  const response = await fetch(`/api/${path}`, { headers: headers(), cache: "no-store" });
  if (!response.ok) throw await failure(response);
  return response.json();
}

export async function postJson(path, body) {
  const response = await fetch(`/api/${path}`, {
    method: "POST",
    headers: headers({ "content-type": "application/json" }),
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** Downloads one payload item: fetched with the token, then saved through a blob link. */
export async function download(path, fileName) {
  const response = await fetch(`/api/${path}`, { headers: headers() });
  if (!response.ok) throw await failure(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
