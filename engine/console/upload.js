// List upload: a CSV or text file dropped or chosen, its address column (changeable), a preview
// of the first rows and the counts; then the file itself is posted to /v1/jobs.

import { ApiFailure, request } from "./api.js";
import { announce, byId, clear, h } from "./dom.js";
import { parseCsv, parseLines, readTable, summarize, width } from "./csv.js";
import { count, plural } from "./format.js";

const PREVIEW_ROWS = 5;
const WHOLE_FILE_BYTES = 64 * 1048576; // counted in full in the browser up to this size
const PREVIEW_BYTES = 4 * 1048576;

export function mountUpload({ onStarted }) {
  const drop = byId("drop");
  const input = byId("upload-file");
  const form = byId("upload-form");
  const select = byId("upload-column");
  const error = byId("upload-error");
  const start = byId("upload-start");
  let current = null; // {file, lines, table}

  function columnLabel(table, i) {
    if (table.header) return table.header[i] || `Column ${i + 1}`;
    const sample = table.rows.length ? (table.rows[0][i] || "") : "";
    return sample ? `Column ${i + 1} (${sample.slice(0, 40)})` : `Column ${i + 1}`;
  }

  function render() {
    const { file, lines, table } = current;
    byId("upload-name").textContent = file.name;
    const totals = summarize(table.rows, table.column);
    const counted = `${plural(totals.total, "address", "addresses")}, ${plural(totals.duplicates, "duplicate")}, ${count(totals.empty)} empty`;
    byId("upload-summary").textContent = current.partial
      ? `${(file.size / 1048576).toFixed(0)} MiB: the first ${counted}; the job counts the rest`
      : counted;
    byId("upload-column-field").hidden = lines;
    const cols = width(table.header, table.rows);
    clear(select);
    for (let i = 0; i < cols; i += 1) {
      select.append(h("option", { value: String(i), text: columnLabel(table, i), selected: i === table.column }));
    }
    const preview = byId("upload-preview");
    const head = clear(preview.tHead);
    const body = clear(preview.tBodies[0]);
    const headRow = h("tr", {});
    for (let i = 0; i < cols; i += 1) {
      const name = table.header ? table.header[i] || "" : `Column ${i + 1}`;
      headRow.append(h("th", { scope: "col", class: i === table.column ? "picked" : null, text: name }));
    }
    head.append(headRow);
    for (const cells of table.rows.slice(0, PREVIEW_ROWS)) {
      const tr = h("tr", {});
      for (let i = 0; i < cols; i += 1) {
        tr.append(h("td", { class: i === table.column ? "picked" : null, text: cells[i] || "" }));
      }
      body.append(tr);
    }
    const more = table.rows.length - PREVIEW_ROWS;
    byId("upload-preview-caption").textContent =
      more > 0 ? `First ${PREVIEW_ROWS} rows (and ${count(more)} more)` : "All rows";
    start.disabled = totals.total === 0;
    start.textContent = current.partial ? "Check the whole file" : `Check ${plural(totals.total, "address", "addresses")}`;
  }

  async function load(file) {
    error.textContent = "";
    const lines = /\.txt$/i.test(file.name) || (file.type === "text/plain" && !/\.csv$/i.test(file.name));
    // A big file is previewed from its start only; the service reads all of it.
    const partial = file.size > WHOLE_FILE_BYTES;
    let text = await (partial ? file.slice(0, PREVIEW_BYTES) : file).text();
    if (partial) text = text.slice(0, text.lastIndexOf("\n") + 1);
    const records = lines ? parseLines(text) : parseCsv(text);
    const table = lines ? { header: null, rows: records, column: 0 } : readTable(records);
    current = { file, lines, table, partial };
    form.hidden = false;
    drop.hidden = true;
    render();
    announce(byId("upload-summary").textContent);
    byId("upload-name").setAttribute("tabindex", "-1");
    byId("upload-name").focus();
  }

  function reset() {
    current = null;
    input.value = "";
    form.hidden = true;
    drop.hidden = false;
    error.textContent = "";
  }

  input.addEventListener("change", () => {
    if (input.files && input.files[0]) load(input.files[0]);
  });
  for (const kind of ["dragenter", "dragover"]) {
    drop.addEventListener(kind, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const kind of ["dragleave", "drop"]) {
    drop.addEventListener(kind, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) load(file);
  });
  select.addEventListener("change", () => {
    current.table.column = Number(select.value);
    render();
  });
  byId("upload-clear").addEventListener("click", reset);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current) return;
    error.textContent = "";
    start.disabled = true;
    const params = new URLSearchParams({ metadata: JSON.stringify({ file: current.file.name }) });
    if (!current.lines) params.set("column", String(current.table.column));
    const callback = byId("upload-callback").value.trim();
    if (callback) params.set("callback_url", callback);
    try {
      const response = await request(`/v1/jobs?${params}`, {
        method: "POST",
        body: current.file,
        headers: { "Content-Type": current.lines ? "text/plain" : "text/csv" },
      });
      const job = await response.json();
      announce(`Job started: ${plural(job.total, "address", "addresses")}`);
      reset();
      onStarted(job);
    } catch (err) {
      error.textContent = err instanceof ApiFailure ? err.message : `The upload failed: ${err}`;
      start.disabled = false;
    }
  });
}
