// API keys: the list (all of them for an admin key, else the key itself), a new key shown once,
// and revoke.

import { ApiFailure, getJson, request } from "./api.js";
import { announce, byId, clear, h, twoStepButton } from "./dom.js";
import { when } from "./format.js";

function failed(err) {
  byId("keys-error").textContent = err instanceof ApiFailure ? err.message : String(err);
}

function keyRow(key, admin) {
  const state = key.revoked_at ? `revoked ${when(key.revoked_at)}` : "active";
  const actions = h("td", {});
  if (admin && !key.revoked_at) {
    actions.append(twoStepButton(key.current ? "Revoke (this key)" : "Revoke", "Confirm revoke", async () => {
      try {
        await request(`/v1/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
        announce(`Key ${key.name} revoked`);
        if (key.current) {
          window.dispatchEvent(new CustomEvent("mailprobe:signed-out"));
          return;
        }
        await showKeys();
      } catch (err) {
        failed(err);
      }
    }));
  }
  return h("tr", { "data-key-id": key.id },
    h("td", { "data-label": "Name" }, h("span", { class: "mono", text: key.name }), key.current ? h("span", { class: "hint", text: " (signed in)" }) : null),
    h("td", { "data-label": "Made", text: when(key.created_at) }),
    h("td", { "data-label": "State", text: state }),
    h("td", { "data-label": "Admin", text: key.admin ? "yes" : "no" }),
    actions,
  );
}

export async function showKeys() {
  byId("keys-error").textContent = "";
  try {
    const { keys, admin } = await getJson("/v1/keys");
    clear(byId("keys-body")).append(...keys.map((k) => keyRow(k, admin)));
    byId("keys-form").hidden = !admin;
    byId("keys-note").textContent = admin
      ? "This is an admin key: it lists, makes and revokes every key of the service."
      : "Only an admin key (mailprobe keys create --name NAME --admin) lists, makes and revokes keys.";
  } catch (err) {
    failed(err);
  }
}

export function mountKeys() {
  const form = byId("keys-form");
  const panel = byId("keys-new");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = byId("keys-name").value.trim();
    if (!name) {
      failed(new Error("Give the key a name."));
      byId("keys-name").focus();
      return;
    }
    byId("keys-error").textContent = "";
    try {
      const made = await getJson("/v1/keys", {
        method: "POST",
        json: { name, admin: byId("keys-admin").checked },
      });
      byId("keys-new-name").textContent = made.name;
      byId("keys-new-value").value = made.key;
      panel.hidden = false;
      panel.focus();
      byId("keys-name").value = "";
      byId("keys-admin").checked = false;
      await showKeys();
    } catch (err) {
      failed(err);
    }
  });
  byId("keys-copy").addEventListener("click", async () => {
    const field = byId("keys-new-value");
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      announce("Key copied");
    } catch {
      announce("Select the key and copy it");
    }
  });
  byId("keys-done").addEventListener("click", () => {
    byId("keys-new-value").value = "";
    panel.hidden = true;
    byId("keys-name").focus();
  });
}
