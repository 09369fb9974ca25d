// The console's shell: sign-in, the pages behind #/check, #/upload, #/jobs, #/keys, sign-out.

import { ApiFailure, loadSession, signIn, signOut } from "./api.js";
import { mountCheck } from "./check.js";
import { byId } from "./dom.js";
import { hideJobs, mountJobs, openJobNext, showJobs } from "./jobs.js";
import { mountKeys, showKeys } from "./keys.js";
import { mountUpload } from "./upload.js";

const PAGES = ["check", "upload", "jobs", "keys"];
let signedIn = false;

function showPage(name) {
  for (const section of document.querySelectorAll("main > .page")) {
    section.hidden = section.id !== `page-${name}`;
  }
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const title = document.querySelector(`#page-${name} h1`);
  document.title = `${title ? title.textContent : "mailprobe"} · mailprobe console`;
  if (name !== "jobs") hideJobs();
  return title;
}

function route({ focus = true } = {}) {
  if (!signedIn) {
    const title = showPage("signin");
    byId("signin-key").focus();
    return title;
  }
  const wanted = (location.hash.match(/^#\/(\w+)/) || [])[1];
  const name = PAGES.includes(wanted) ? wanted : "check";
  const title = showPage(name);
  if (name === "jobs") showJobs();
  if (name === "keys") showKeys();
  if (focus && title) title.focus();
  return title;
}

function setSignedIn(key) {
  signedIn = Boolean(key);
  byId("nav").hidden = !signedIn;
  byId("who").hidden = !signedIn;
  byId("who-name").textContent = key ? key.name : "";
}

function mountSignIn() {
  const form = byId("signin-form");
  const error = byId("signin-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = byId("signin-key");
    const key = field.value.trim();
    error.textContent = "";
    if (!key) {
      error.textContent = "Paste an API key.";
      field.focus();
      return;
    }
    try {
      setSignedIn(await signIn(key));
      field.value = "";
      if (!location.hash || location.hash === "#/signin") location.hash = "#/check";
      route();
    } catch (err) {
      error.textContent = err instanceof ApiFailure ? err.message : `Cannot sign in: ${err}`;
      field.focus();
    }
  });
  byId("sign-out").addEventListener("click", async () => {
    try {
      await signOut();
    } finally {
      setSignedIn(null);
      route();
    }
  });
  window.addEventListener("mailprobe:signed-out", () => {
    if (!signedIn) return;
    setSignedIn(null);
    byId("signin-error").textContent = "The session has ended: sign in again.";
    route();
  });
}

async function main() {
  mountSignIn();
  mountCheck();
  mountJobs();
  mountKeys();
  mountUpload({
    onStarted(job) {
      openJobNext(job.id);
      location.hash = "#/jobs";
    },
  });
  window.addEventListener("hashchange", () => route());
  try {
    setSignedIn(await loadSession());
  } catch {
    setSignedIn(null);
  }
  route({ focus: false });
  document.body.dataset.ready = "true";
}

main();
