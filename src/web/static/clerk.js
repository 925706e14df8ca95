// clerk's pages: keyboard first. Changes go through the HTTP API with the session's CSRF token
// and the item's version, so a change someone else made meanwhile is reported, not overwritten.
"use strict";
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

function banner(text, ok) {
  const b = document.getElementById("banner");
  b.textContent = text;
  b.className = ok ? "ok" : "";
  b.hidden = !text;
}

async function api(method, path, body, version) {
  const headers = { "X-CSRF-Token": csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (version !== undefined) headers["If-Match"] = '"' + version + '"';
  const r = await fetch("/api/v1" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  let data = null;
  try { data = await r.json(); } catch (_) { /* no body */ }
  if (!r.ok) {
    const why = (data && data.detail) || r.statusText;
    throw new Error(r.status === 409 ? "This item changed meanwhile: " + why + ". Reload (F5) to see it." : why);
  }
  return data;
}

document.getElementById("sign-out")?.addEventListener("click", async () => {
  try { await api("DELETE", "/session"); } finally { location.href = "/login"; }
});

// Lists: j/k move the selection, Enter opens it.
const list = document.getElementById("list");
let selected = -1;
function select(i) {
  const rows = list ? [...list.querySelectorAll("tbody tr")] : [];
  if (!rows.length) return;
  selected = Math.max(0, Math.min(rows.length - 1, i));
  rows.forEach((r, n) => r.classList.toggle("selected", n === selected));
  rows[selected].scrollIntoView({ block: "nearest" });
}

// The item page.
const item = document.getElementById("item");
const itemId = item?.dataset.id;
let version = item ? Number(item.dataset.version) : undefined;
function goNext() {
  location.href = item.dataset.next ? "/items/" + item.dataset.next : "/queue";
}
async function act(what, body) {
  try {
    const after = await api("POST", "/exceptions/" + itemId + "/" + what, body, version);
    version = after.version;
    document.getElementById("state").textContent = after.state + (after.claimed_by ? " by " + after.claimed_by : "");
    return after;
  } catch (e) {
    banner(e.message);
    throw e;
  }
}
// Moving a batch's boundary: the documents are cut again and classified afresh.
async function recut(path, body) {
  try {
    await api("POST", "/documents/" + item.dataset.document + path, body);
    location.href = "/queue";
  } catch (e) {
    banner(e.message);
  }
}
document.getElementById("split")?.addEventListener("click", () =>
  recut("/split", { after_page: Number(document.getElementById("split-after").value) }));
document.getElementById("join")?.addEventListener("click", () => recut("/join"));
const typeSelect = document.getElementById("doctype");
function activeFields() {
  return document.querySelector('fieldset.fields[data-type="' + (typeSelect?.value || "") + '"]');
}
typeSelect?.addEventListener("change", () => {
  document.querySelectorAll("fieldset.fields").forEach((f) => {
    const on = f.dataset.type === typeSelect.value;
    f.hidden = !on;
    f.disabled = !on;
  });
  check();
});
function answer() {
  const fields = {};
  activeFields()?.querySelectorAll("input").forEach((i) => {
    // A value found but not sure that the agent leaves in place is confirmed: sent too.
    if (i.value !== i.dataset.found || (i.value && i.dataset.confirm)) fields[i.name] = i.value;
  });
  return { doctype: typeSelect.value, fields };
}
// Fields are validated by the type's rules as they are typed.
let checking;
function check() {
  clearTimeout(checking);
  checking = setTimeout(async () => {
    if (!typeSelect) return;
    try {
      const r = await api("POST", "/exceptions/" + itemId + "/check", answer());
      activeFields()?.querySelectorAll("label.field").forEach((l) => {
        const problem = r.problems[l.dataset.field] || "";
        l.querySelector(".problem").textContent = problem;
        l.querySelector("input").setAttribute("aria-invalid", problem ? "true" : "false");
      });
      document.getElementById("check").textContent = r.valid ? "The answer is valid." : "";
    } catch (e) { document.getElementById("check").textContent = e.message; }
  }, 250);
}
document.getElementById("resolve")?.addEventListener("input", check);
document.getElementById("resolve")?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try { await act("resolve", answer()); goNext(); } catch (_) { /* shown */ }
});
document.getElementById("claim")?.addEventListener("click", async () => {
  try { await act("claim"); banner("Claimed for 30 minutes.", true); } catch (_) { /* shown */ }
});
document.getElementById("release")?.addEventListener("click", async () => {
  try { await act("release"); banner("Released to the queue.", true); } catch (_) { /* shown */ }
});
async function reject() {
  const reason = prompt("Why is this item rejected?");
  if (!reason) return;
  try { await act("reject", { reason }); goNext(); } catch (_) { /* shown */ }
}
document.getElementById("reject")?.addEventListener("click", reject);
document.querySelectorAll("[data-decide]").forEach((b) => b.addEventListener("click", async () => {
  try { await act("decide", { decision: b.dataset.decide }); goNext(); } catch (_) { /* shown */ }
}));
// Clicking a field shows its box on the page, and clicking a box the field.
function showField(name) {
  document.querySelectorAll(".mark").forEach((m) => m.classList.toggle("active", m.dataset.field === name));
  document.querySelector('.mark[data-field="' + name + '"]')?.scrollIntoView({ block: "center", behavior: "smooth" });
}
document.querySelectorAll("label.field input").forEach((i) => i.addEventListener("focus", () => showField(i.name)));
document.querySelectorAll(".mark").forEach((m) => m.addEventListener("click", () => {
  activeFields()?.querySelector('input[name="' + m.dataset.field + '"]')?.focus();
}));

// Runs (admins).
document.querySelectorAll("[data-run]").forEach((b) => b.addEventListener("click", async () => {
  const id = document.getElementById("run").dataset.id;
  try { await api("POST", "/runs/" + id + "/" + b.dataset.run); location.reload(); } catch (e) { banner(e.message); }
}));

document.addEventListener("keydown", (ev) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName);
  if (ev.key === "Escape" && typing) { document.activeElement.blur(); return; }
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === "?") { document.getElementById("keys").showModal(); return; }
  if (item) {
    if (ev.key === "j" && item.dataset.next) location.href = "/items/" + item.dataset.next;
    else if (ev.key === "k" && item.dataset.prev) location.href = "/items/" + item.dataset.prev;
    else if (ev.key === "c") document.getElementById("claim")?.click();
    else if (ev.key === "r") reject();
    else if (ev.key === "t") { const t = document.getElementById("text"); t.open = !t.open; }
    else if (ev.key === "Enter") document.getElementById("resolve")?.requestSubmit();
    else return;
    ev.preventDefault();
  } else if (list) {
    if (ev.key === "j") select(selected + 1);
    else if (ev.key === "k") select(selected - 1);
    else if (ev.key === "Enter" && selected >= 0) location.href = list.querySelectorAll("tbody tr")[selected].dataset.href;
    else return;
    ev.preventDefault();
  }
});
if (list) select(0);

// The account page: a password change, checked twice here, once by the server.
document.getElementById("password-change")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  if (f.new.value !== f.again.value) { banner("The two new passwords differ."); return; }
  try {
    await api("POST", "/me/password", { current: f.current.value, new: f.new.value });
    f.reset();
    banner("Your password is changed; your other sessions have ended.", true);
  } catch (err) {
    banner(err.message);
  }
});
