// The gateway's /v1 API as the console uses it: every call carries the signed-in key as a
// bearer token; every refusal arrives as an RFC 9457 problem and is thrown as a Problem.

const KEY = "crossreturn.key";

/** An API refusal (or a network failure) with the problem's title, detail and code. */
export class Problem extends Error {
  constructor(body, status) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.title = body.title || `HTTP ${status}`;
    this.detail = body.detail || "";
    this.code = body.code || "http_error";
    this.errors = Array.isArray(body.errors) ? body.errors : [];
  }
}

/** The key of this browser tab's session (sessionStorage only: it dies with the tab). */
export const session = {
  key: () => sessionStorage.getItem(KEY),
  keep: (key) => sessionStorage.setItem(KEY, key),
  forget: () => sessionStorage.clear(),
};

/** A fresh Idempotency-Key (random, 128 bits; works outside secure contexts too). */
export function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Call the API: `GET path`, or a POST when `body` is given (with `idempotency` as its
 * Idempotency-Key). `key` overrides the session's key (sign-in checks a key before keeping it).
 */
export async function api(path, { body, idempotency, key } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  const bearer = key ?? session.key();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const init = { method: "GET", headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    init.method = "POST";
    headers["Content-Type"] = "application/json";
    if (idempotency) headers["Idempotency-Key"] = idempotency;
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new Problem(
      { title: "Gateway unreachable", detail: String(err.message || err), code: "network_error" },
      0,
    );
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new Problem(data && typeof data === "object" ? data : {}, response.status);
  }
  return data;
}

/** The query string of `params`, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") q.set(name, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll an accepted write until the ledger confirms it or it fails; `onUpdate` sees each
 * status. Gives up (returns the last status) after `timeoutMs`.
 */
export async function follow(operation, onUpdate, timeoutMs = 120_000) {
  let current = operation;
  const deadline = Date.now() + timeoutMs;
  onUpdate(current);
  while (!["confirmed", "failed"].includes(current.status) && Date.now() < deadline) {
    await sleep(400);
    current = await api(`/v1/operations/${encodeURIComponent(current.id)}`);
    onUpdate(current);
  }
  return current;
}

/** Poll a return until its ledger state differs from `from` (the index may lag a block). */
export async function awaitState(returnId, from, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await api(`/v1/returns/${returnId}`);
    const state = view.ledger ? view.ledger.state : null;
    if ((state && state !== from) || Date.now() >= deadline) return state;
    await sleep(400);
  }
}
