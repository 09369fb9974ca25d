// Single check: one address through GET /v1/verify, the verdict and its evidence.

import { ApiFailure, getJson } from "./api.js";
import { announce, byId, clear, h } from "./dom.js";
import { ms } from "./format.js";

const FLAGS = ["disposable", "role", "free", "accept_all", "mailbox_full", "no_reply"];

function reply(r) {
  if (!r) return null;
  return [r.code, r.enhanced, r.text].filter((x) => x !== null && x !== undefined && x !== "").join(" ");
}

function fact(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(h("dt", { text: term }), h("dd", {}, value));
}

export function showResult(body, recheck) {
  const out = byId("check-result");
  clear(out);
  const card = h("div", { class: "card result", "data-state": body.state });
  card.append(
    h("div", { class: "verdict" },
      h("span", { class: ["state", "big", body.state], text: body.state }),
      h("span", { class: "address mono", text: body.email || body.input }),
    ),
  );
  if (body.did_you_mean) {
    const button = h("button", { type: "button", class: "link suggestion", text: body.did_you_mean });
    button.addEventListener("click", () => recheck(body.did_you_mean));
    card.append(h("p", { class: "suggest" }, "Did you mean ", button, "?"));
  }
  const facts = h("dl", { class: "facts" });
  fact(facts, "Reason", h("code", { text: body.reason }));
  fact(facts, "Score", String(body.score));
  const flags = FLAGS.filter((f) => body[f] === true);
  fact(facts, "Flags", flags.length ? h("ul", { class: "flags" }, flags.map((f) => h("li", { text: f.replace("_", " ") }))) : "none");
  fact(facts, "Name", body.full_name);
  fact(facts, "MX host", body.mx_record);
  fact(facts, "Provider", body.smtp_provider);
  const detail = body.detail || {};
  fact(facts, "SMTP reply", reply(detail.reply));
  if (detail.reply) fact(facts, "Asked at", detail.reply.stage);
  fact(facts, "Catch-all probe", reply(detail.catch_all_reply));
  fact(facts, "DNS", detail.dns);
  if (detail.greylisted) fact(facts, "Greylisted", detail.greylist_resolved ? "yes, retried" : "yes");
  fact(facts, "Took", ms(body.duration_ms));
  fact(facts, "Answered", `${body.cached ? "from a recent check" : "now"}${body.complete === false ? ", still running (ask again)" : ""}`);
  if (detail.notes && detail.notes.length) fact(facts, "Notes", detail.notes.join("; "));
  card.append(facts);
  card.append(
    h("details", { class: "raw-json" },
      h("summary", { text: "Raw JSON" }),
      h("pre", { class: "raw", text: JSON.stringify(body, null, 2) }),
    ),
  );
  out.append(card);
  announce(`${body.input}: ${body.state}, ${body.reason}`);
}

export function mountCheck() {
  const form = byId("check-form");
  const input = byId("check-email");
  const button = form.querySelector("button[type=submit]");

  async function check(address) {
    const value = address.trim();
    const out = byId("check-result");
    if (!value) {
      clear(out).append(h("p", { class: "error", role: "alert", text: "Type an address to check." }));
      input.focus();
      return;
    }
    input.value = value;
    button.disabled = true;
    clear(out).append(h("p", { class: "hint", text: "Checking…" }));
    try {
      const body = await getJson(`/v1/verify?email=${encodeURIComponent(value)}`);
      showResult(body, (corrected) => check(corrected));
    } catch (err) {
      const text = err instanceof ApiFailure ? err.message : `The check failed: ${err}`;
      clear(out).append(h("p", { class: "error", role: "alert", text }));
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check(input.value);
  });
}
