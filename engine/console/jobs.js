// Jobs: the key's jobs with live progress from server-sent events (GET /v1/jobs/{id}/events;
// no polling), per job a chart of states and reasons, downloads, the first results, the webhook
// delivery log, cancel and delete.

import { ApiFailure, getJson, loadSession, request } from "./api.js";
import { barChart } from "./chart.js";
import { announce, byId, clear, h, twoStepButton } from "./dom.js";
import { STATES, count, duration, ms, plural, rate, when } from "./format.js";

const FINISHED = new Set(["completed", "failed", "cancelled"]);
const EVENTS = ["progress", "started", "completed", "failed", "cancelled", "deleted"];
// A browser opens at most six HTTP/1.1 connections to one origin: leave room for the rest.
const MAX_STREAMS = 4;
const FIRST_RESULTS = 20;
// Jobs a page: the newest first; older pages come on asking (the list's `next` link).
const PAGE = 25;

const jobs = new Map(); // id -> {job, row, details, stream, open}
let visible = false;
let openAfterLoad = null;
let olderPage = null; // the link to the next page of older jobs, or null

function jobName(job) {
  const meta = job.metadata;
  if (meta && typeof meta === "object" && typeof meta.file === "string") return meta.file;
  return `${count(job.total)} addresses`;
}

function jobRate(job) {
  // From the service's own clock where it can be (its ETA, or start and finish times).
  if (job.status === "running" && job.eta_s > 0) return (job.total - job.processed) / job.eta_s;
  if (job.finished_at && job.started_at && job.finished_at > job.started_at) {
    return job.processed / (job.finished_at - job.started_at);
  }
  if (job.status === "running" && job.started_at && job.processed) {
    return job.processed / Math.max(1, Date.now() / 1000 - job.started_at);
  }
  return null;
}

function eta(job) {
  if (job.status === "completed") return "done";
  if (job.status === "queued") return "waiting";
  if (job.status !== "running") return "—";
  // Rows held by slow servers: the rate of the rows done says nothing of when they end.
  if (job.waiting > 0) return `waiting on ${plural(job.waiting, "slow address", "slow addresses")}`;
  return job.eta_s === null || job.eta_s === undefined ? "…" : duration(job.eta_s);
}

function etaHint(job) {
  if (job.status !== "running" || !(job.waiting > 0) || job.waiting_at_most_s == null) return null;
  return `at most ${duration(job.waiting_at_most_s)} more for them (the time limit per address)`;
}

function progressBar(job) {
  const bar = h("div", {
    class: "bar",
    role: "progressbar",
    "aria-valuemin": 0,
    "aria-valuemax": 100,
    "aria-valuenow": Math.round(job.percent),
    "aria-label": `${jobName(job)}: ${Math.round(job.percent)}% checked`,
  });
  for (const state of STATES) {
    const n = job.counts[state] || 0;
    if (!n || !job.total) continue;
    const part = h("span", { class: state });
    part.style.width = `${(100 * n) / job.total}%`; // CSSOM, which the CSP allows
    bar.append(part);
  }
  return h("div", {}, bar,
    h("div", { class: "progress-text", text: `${count(job.processed)} of ${count(job.total)} (${job.percent.toFixed(job.percent % 1 ? 1 : 0)}%)` }));
}

function stateCounts(job) {
  return h("ul", { class: "counts" }, STATES.map((state) =>
    h("li", { "data-state": state }, h("span", { class: ["dot", state], "aria-hidden": "true" }), `${state} ${count(job.counts[state] || 0)}`)));
}

function cell(label, ...children) {
  return h("td", { "data-label": label }, ...children);
}

function renderRow(entry) {
  const { job } = entry;
  const toggle = h("button", {
    type: "button",
    class: "quiet small",
    "aria-expanded": entry.open ? "true" : "false",
    "aria-controls": `details-${job.id}`,
    text: entry.open ? "Hide" : "Details",
  });
  toggle.addEventListener("click", () => toggleDetails(entry));
  const actions = h("div", { class: "actions" }, toggle);
  if (!FINISHED.has(job.status)) {
    const cancel = h("button", { type: "button", class: "quiet small", text: "Cancel" });
    cancel.addEventListener("click", () => act(entry, "cancel"));
    actions.append(cancel);
  }
  actions.append(twoStepButton("Delete", "Confirm delete", () => act(entry, "delete")));
  const row = h("tr", { "data-job-id": job.id, "data-status": job.status },
    cell("Job",
      h("div", { class: "job-name", text: jobName(job) }),
      h("div", { class: "job-id mono", text: job.id.slice(0, 8), title: job.id }),
      h("div", { class: "hint", text: when(job.created_at) })),
    cell("Status", h("span", { class: "status", text: job.status })),
    cell("Progress", progressBar(job)),
    cell("Results by state", stateCounts(job)),
    cell("Rate", h("span", { class: "num", text: rate(jobRate(job)) })),
    cell("ETA", h("span", { class: "num eta", text: eta(job), title: etaHint(job) })),
    h("td", {}, actions),
  );
  if (entry.row) entry.row.replaceWith(row);
  entry.row = row;
  if (entry.open) renderCharts(entry);
  return row;
}

async function act(entry, what) {
  const { job } = entry;
  try {
    if (what === "cancel") {
      entry.job = await getJson(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
      closeStream(entry);
      renderRow(entry);
      announce(`Job ${jobName(job)} cancelled`);
    } else {
      await request(`/v1/jobs/${job.id}`, { method: "DELETE" });
      remove(job.id);
      announce(`Job ${jobName(job)} deleted`);
    }
    startStreams();
  } catch (err) {
    byId("jobs-error").textContent = err instanceof ApiFailure ? err.message : String(err);
  }
}

function remove(id) {
  const entry = jobs.get(id);
  if (!entry) return;
  closeStream(entry);
  entry.row.remove();
  if (entry.details) entry.details.remove();
  jobs.delete(id);
  byId("jobs-empty").hidden = jobs.size > 0 || Boolean(olderPage);
}

// -- live progress -------------------------------------------------------------------------

function closeStream(entry) {
  if (entry.stream) {
    entry.stream.close();
    entry.stream = null;
  }
}

function openStream(entry) {
  const stream = new EventSource(`/v1/jobs/${entry.job.id}/events`);
  entry.stream = stream;
  for (const kind of EVENTS) {
    stream.addEventListener(kind, (event) => {
      if (kind === "deleted") {
        remove(entry.job.id);
        return;
      }
      const wasFinished = FINISHED.has(entry.job.status);
      entry.job = JSON.parse(event.data);
      renderRow(entry);
      // The first rows fill in as they settle (one small read per event, until there are enough).
      if (entry.open && !entry.reading && entry.shown < Math.min(FIRST_RESULTS, entry.job.processed)) {
        refreshDetails(entry, { resultsOnly: true });
      }
      if (FINISHED.has(entry.job.status)) {
        closeStream(entry);
        if (!wasFinished) announce(`Job ${jobName(entry.job)} ${entry.job.status}`);
        if (entry.open) refreshDetails(entry);
        startStreams();
      }
    });
  }
  stream.addEventListener("error", async () => {
    // The browser reconnects by itself unless the answer was final (a 401 or a 404): then this
    // job gets no new stream, and the page learns whether the session has ended.
    if (stream.readyState !== EventSource.CLOSED) return;
    if (entry.stream === stream) entry.stream = null;
    entry.streamFailed = true;
    try {
      if (!(await loadSession())) window.dispatchEvent(new CustomEvent("mailprobe:signed-out"));
    } catch {
      // the service is unreachable: the browser shows it on the next action
    }
    startStreams();
  });
}

function startStreams() {
  if (!visible) return;
  let open = [...jobs.values()].filter((e) => e.stream).length;
  for (const entry of jobs.values()) {
    if (open >= MAX_STREAMS) break;
    if (!entry.stream && !entry.streamFailed && !FINISHED.has(entry.job.status)) {
      openStream(entry);
      open += 1;
    }
  }
}

// -- details ---------------------------------------------------------------------------------

function toggleDetails(entry) {
  entry.open = !entry.open;
  if (entry.open) {
    const td = h("td", { colspan: 7 });
    entry.details = h("tr", { class: "details", id: `details-${entry.job.id}` }, td);
    entry.row.after(entry.details);
    renderRow(entry);
    entry.row.after(entry.details);
    buildDetails(entry, td);
  } else {
    entry.details.remove();
    entry.details = null;
    renderRow(entry);
  }
  entry.row.querySelector("[aria-expanded]").focus();
}

function buildDetails(entry, td) {
  const { job } = entry;
  const charts = h("div", { class: "charts" });
  const downloads = downloadForm(job);
  const results = h("div", { class: "first-results" });
  const deliveries = h("div", { class: "deliveries" });
  td.append(h("div", { class: "detail-grid" },
    h("div", { class: "wide" }, h("h3", { text: "States and reasons" }), charts),
    h("div", {}, h("h3", { text: "Download" }), downloads),
    h("div", {}, h("h3", { text: "Webhook deliveries" }), deliveries),
    h("div", { class: "wide" }, h("h3", { text: `First ${FIRST_RESULTS} results` }), results),
  ));
  entry.parts = { charts, results, deliveries };
  renderCharts(entry);
  refreshDetails(entry);
}

function renderCharts(entry) {
  if (!entry.parts) return;
  const { job } = entry;
  const states = STATES.map((s) => [s, job.counts[s] || 0, `fill-${s}`]);
  const reasons = Object.entries(job.reasons || {})
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([reason, n]) => [reason, n, "fill-reason"]);
  clear(entry.parts.charts).append(
    barChart(`States of ${jobName(job)}`, states),
    reasons.length ? barChart(`Reasons of ${jobName(job)}`, reasons) : h("p", { class: "hint", text: "No results yet." }),
  );
}

function downloadForm(job) {
  const id = `dl-state-${job.id}`;
  const select = h("select", { id },
    h("option", { value: "", text: "all results" }),
    STATES.map((s) => h("option", { value: s, text: `${s} only` })));
  const csv = h("a", { class: "button-like small", text: "CSV" });
  const jsonl = h("a", { class: "button-like small quiet", text: "JSONL" });
  const base = jobName(job).replace(/\.(csv|txt)$/i, "").replace(/[^\w.-]+/g, "_") || job.id;
  function update() {
    const state = select.value;
    for (const [link, format] of [[csv, "csv"], [jsonl, "jsonl"]]) {
      const q = new URLSearchParams({ format });
      if (state) q.set("state", state);
      link.href = `/v1/jobs/${job.id}/results?${q}`;
      link.setAttribute("download", `${base}-${state || "all"}.${format}`);
      link.setAttribute("aria-label", `Download ${state || "all"} results as ${format.toUpperCase()}`);
    }
  }
  select.addEventListener("change", update);
  update();
  return h("div", { class: "downloads" },
    h("div", { class: "field" }, h("label", { for: id, text: "Rows" }), select), csv, jsonl);
}

async function firstResults(jobId, limit) {
  const response = await request(`/v1/jobs/${jobId}/results?format=jsonl`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const rows = [];
  let buffer = "";
  while (rows.length < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0 && rows.length < limit) {
      rows.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
    }
  }
  reader.cancel().catch(() => {});
  return rows;
}

async function refreshDetails(entry, { resultsOnly = false } = {}) {
  const { job, parts } = entry;
  if (!parts) return;
  entry.reading = true;
  try {
    const rows = await firstResults(job.id, FIRST_RESULTS);
    entry.shown = rows.length;
    clear(parts.results).append(rows.length ? resultsTable(rows) : h("p", { class: "hint", text: "No results yet." }));
  } catch (err) {
    clear(parts.results).append(h("p", { class: "error", text: String(err.message || err) }));
  } finally {
    entry.reading = false;
  }
  if (resultsOnly) return;
  if (!job.callback_url) {
    clear(parts.deliveries).append(h("p", { class: "hint", text: "This job has no webhook." }));
    return;
  }
  try {
    const { deliveries } = await getJson(`/v1/jobs/${job.id}/deliveries`);
    clear(parts.deliveries).append(deliveryTable(job, deliveries));
  } catch (err) {
    clear(parts.deliveries).append(h("p", { class: "error", text: String(err.message || err) }));
  }
}

function resultsTable(rows) {
  return h("div", { class: "table-wrap" }, h("table", { class: "results" },
    h("thead", {}, h("tr", {}, ["#", "Input", "State", "Reason", "Suggestion"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows.map((r) => h("tr", {},
      h("td", { class: "num", text: r.index }),
      h("td", { class: "cell mono input", text: r.input }),
      h("td", {}, h("span", { class: ["state", r.state], text: r.state })),
      h("td", {}, h("code", { text: r.reason })),
      h("td", { class: "cell", text: r.did_you_mean || "" }),
    )))));
}

function deliveryTable(job, deliveries) {
  const wrap = h("div", {}, h("p", { class: "hint" }, "To ", h("span", { class: "mono", text: job.callback_url })));
  if (!deliveries.length) {
    wrap.append(h("p", { class: "hint", text: "Nothing sent yet." }));
    return wrap;
  }
  wrap.append(h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["Event", "State", "Attempts"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, deliveries.map((d) => h("tr", {},
      h("td", { text: d.event }),
      h("td", { text: d.state + (d.next_at ? ` (next ${when(d.next_at)})` : "") }),
      h("td", {}, h("ul", { class: "attempts" }, d.attempts.map((a) => h("li", {
        text: `${when(a.at)}: ${a.status_code ?? a.error ?? "?"} in ${ms(a.duration_ms)}`,
      })))),
    ))))));
  return wrap;
}

// -- the page ------------------------------------------------------------------------------

function addRows(list) {
  const body = byId("jobs-body");
  let added = 0;
  for (const job of list) {
    if (jobs.has(job.id)) continue; // a job made since the first page shifts the pages by one
    const entry = { job, row: null, details: null, stream: null, open: false, parts: null, shown: 0, reading: false };
    jobs.set(job.id, entry);
    body.append(renderRow(entry));
    added += 1;
  }
  byId("jobs-empty").hidden = jobs.size > 0 || Boolean(olderPage);
  byId("jobs-table").hidden = jobs.size === 0;
  return added;
}

function setOlder(link) {
  olderPage = link || null;
  byId("jobs-more").hidden = !olderPage;
  byId("jobs-empty").hidden = jobs.size > 0 || Boolean(olderPage);
}

async function showOlder() {
  const button = byId("jobs-more");
  if (!olderPage || button.disabled) return;
  button.disabled = true;
  byId("jobs-error").textContent = "";
  try {
    const page = await getJson(olderPage);
    const added = addRows(page.jobs);
    setOlder(page.next);
    startStreams();
    announce(`${added} older ${added === 1 ? "job" : "jobs"} shown`);
  } catch (err) {
    byId("jobs-error").textContent = err instanceof ApiFailure ? err.message : String(err);
  } finally {
    button.disabled = false;
  }
}

export function mountJobs() {
  byId("jobs-more").addEventListener("click", showOlder);
}

export async function showJobs() {
  visible = true;
  byId("jobs-error").textContent = "";
  try {
    const page = await getJson(`/v1/jobs?limit=${PAGE}`);
    for (const entry of jobs.values()) closeStream(entry);
    jobs.clear();
    clear(byId("jobs-body"));
    addRows(page.jobs);
    setOlder(page.next);
    startStreams();
    const wanted = openAfterLoad && jobs.get(openAfterLoad);
    openAfterLoad = null;
    if (wanted && !wanted.open) toggleDetails(wanted);
  } catch (err) {
    byId("jobs-error").textContent = err instanceof ApiFailure ? err.message : String(err);
  }
}

export function hideJobs() {
  visible = false;
  for (const entry of jobs.values()) closeStream(entry);
}

/** Show the details of this job when the jobs page is next loaded. */
export function openJobNext(id) {
  openAfterLoad = id;
}
