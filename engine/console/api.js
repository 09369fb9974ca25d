// The console is a client of the native API: same-origin fetches with the session cookie, and
// the session's CSRF token in a header on every request that changes something.

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

const session = { csrf: null, header: "X-CSRF-Token", key: null };

export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function currentKey() {
  return session.key;
}

async function failure(response) {
  let code = "http_error";
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent("mailprobe:signed-out"));
  }
  return new ApiFailure(response.status, code, message);
}

/** A fetch to the service; resolves to the Response, throws ApiFailure on a 4xx or 5xx. */
export async function request(path, { method = "GET", json, body, headers = {}, signal } = {}) {
  const sent = { ...headers };
  if (!SAFE.has(method) && session.csrf) sent[session.header] = session.csrf;
  let payload = body;
  if (json !== undefined) {
    sent["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  }
  const response = await fetch(path, {
    method,
    headers: sent,
    body: payload,
    credentials: "same-origin",
    cache: "no-store",
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response;
}

export async function getJson(path, options) {
  return (await request(path, options)).json();
}

function remember(body) {
  session.csrf = body.csrf_token;
  session.header = body.csrf_header || session.header;
  session.key = body.key;
  return body.key;
}

/** The signed-in key ({id, name, admin}) or null. */
export async function loadSession() {
  const response = await fetch("/console/session", { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw await failure(response);
  const body = await response.json();
  return body.key ? remember(body) : null;
}

export async function signIn(key) {
  const body = await getJson("/console/session", { method: "POST", json: { key } });
  return remember(body);
}

export async function signOut() {
  try {
    await request("/console/session", { method: "DELETE" });
  } finally {
    session.csrf = null;
    session.key = null;
  }
}
