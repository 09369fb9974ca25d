// Reading an upload in the browser for its preview: RFC 4180 records, the address column found
// by the service's own rules, and the counts shown before a job starts. The service reads the
// file again itself; the console sends the column the reader saw, so both use the same one.

const EMAIL_NAMES = ["email", "e-mail", "email_address", "emailaddress", "email address", "mail"];

/** Records of a CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text) {
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
      i += 1;
      continue;
    }
    if (c === '"' && field === "") {
      quoted = true;
    } else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      if (c === "\r" && text[i + 1] === "\n") i += 1;
    } else {
      field += c;
    }
    i += 1;
  }
  if (field !== "" || record.length) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** One address per line (a text file), as the service reads text/plain. */
export function parseLines(text) {
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.map((line) => [line]);
}

const hasAt = (cells) => cells.some((c) => c.includes("@"));

/**
 * {header, rows, column}: the first record is a header when none of its cells holds an "@";
 * the column is the one named like "email", else the first holding an "@" in the first row.
 */
export function readTable(records) {
  if (!records.length) return { header: null, rows: [], column: 0 };
  const first = records[0];
  const header = hasAt(first) ? null : first;
  const rows = header ? records.slice(1) : records;
  let column = 0;
  const named = header
    ? EMAIL_NAMES.map((name) => header.map((h) => h.trim().toLowerCase()).indexOf(name)).find((i) => i >= 0)
    : undefined;
  if (named !== undefined) {
    column = named;
  } else if (rows.length) {
    const at = rows[0].findIndex((cell) => cell.includes("@"));
    if (at >= 0) column = at;
  }
  return { header, rows, column };
}

/** {total, duplicates, empty} for the chosen column; duplicates ignore case and spaces. */
export function summarize(rows, column) {
  const seen = new Set();
  let duplicates = 0;
  let empty = 0;
  for (const cells of rows) {
    const value = (cells[column] || "").trim();
    if (!value) {
      empty += 1;
      continue;
    }
    const folded = value.toLowerCase();
    if (seen.has(folded)) duplicates += 1;
    else seen.add(folded);
  }
  return { total: rows.length, duplicates, empty };
}

export function width(header, rows) {
  let most = header ? header.length : 0;
  for (const cells of rows.slice(0, 1000)) most = Math.max(most, cells.length);
  return Math.max(most, 1);
}
