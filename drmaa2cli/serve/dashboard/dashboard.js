// The drmaa2 dashboard: the token, the event stream, the router and the job list. No build step, no library.
// The token is typed once, kept in this tab's sessionStorage and sent as a header (never in an address, never in a
// cookie). The job list comes from /v1/events (read with fetch: EventSource cannot send a header): a snapshot of
// every job, then each change as it happens.
import { arrayPage, jobPage, platformPage, progressBar, sessionPage } from "./views.js";

const KEY = "drmaa2.token";
export const ROW = 28; // px per list row (the list draws only the rows in view)
export const jobs = { rows: new Map(), ready: false, listeners: new Set(), me: null };

export const token = () => sessionStorage.getItem(KEY);

/** A request to this server with the token; a refused token asks for another. */
export async function api(path, options = {}) {
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token()}` };
  const r = await fetch(path, { ...options, headers, cache: "no-store", credentials: "omit" });
  if (r.status === 401) {
    askToken("This server refused the token.");
    throw new Error("the token was refused");
  }
  return r;
}

export async function getJSON(path, options) {
  const r = await api(path, options);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? body.error.message : r.statusText);
  return body;
}

/** An element: attributes (on* are listeners) and children (strings become text: no HTML is ever parsed). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "style") node.style.cssText = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

export const stateBadge = (s) => el("span", { class: `state s-${s}`, "data-state": s }, s.replace("_", " "));
const two = (n) => String(n).padStart(2, "0");
/** A time (seconds since the epoch) as local YYYY-MM-DD HH:MM:SS. */
export function when(t) {
  if (!t) return "";
  const d = new Date(t * 1000);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
export const number = (id) => id.split(".")[0];
export const FINAL = new Set(["done", "failed"]);

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

// --- the token -------------------------------------------------------------------------------------------------
function askToken(problem) {
  sessionStorage.removeItem(KEY);
  const dialog = document.getElementById("login");
  document.getElementById("login-error").textContent = problem || "";
  if (!dialog.open) dialog.showModal();
  document.getElementById("token").focus();
}

async function useToken(event) {
  event.preventDefault();
  const input = document.getElementById("token");
  sessionStorage.setItem(KEY, input.value.trim());
  input.value = "";
  try {
    await start();
    document.getElementById("login").close();
  } catch (e) {
    document.getElementById("login-error").textContent = e.message;
  }
}

// --- the event stream ------------------------------------------------------------------------------------------
let stream = null;

function setLive(on) {
  const live = document.getElementById("live");
  live.className = `live ${on ? "on" : "off"}`;
  live.textContent = on ? "live" : "reconnecting";
}

function apply(event, data) {
  if (event === "snapshot") {
    jobs.rows.clear();
    for (const r of data.rows) jobs.rows.set(r[0], Object.fromEntries(data.columns.map((c, i) => [c, r[i]])));
    jobs.columns = data.columns;
    jobs.ready = true;
  } else if (event === "change") {
    for (const r of data.rows) jobs.rows.set(r[0], Object.fromEntries(jobs.columns.map((c, i) => [c, r[i]])));
    for (const id of data.removed) jobs.rows.delete(id);
  } else return;
  const changed = event === "change" ? new Set(data.rows.map((r) => r[0]).concat(data.removed)) : null;
  for (const f of jobs.listeners) f(changed);
}

async function follow() {
  const mine = new AbortController();
  if (stream) stream.abort();
  stream = mine;
  for (let delay = 500; !mine.signal.aborted; delay = Math.min(delay * 2, 8000)) {
    try {
      const r = await api("/v1/events", { signal: mine.signal });
      if (!r.ok) throw new Error(`events: ${r.status}`);
      setLive(true);
      delay = 500;
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) apply(event, JSON.parse(data));
        }
      }
    } catch (e) {
      if (mine.signal.aborted || !token()) return;
    }
    setLive(false);
    await new Promise((ok) => setTimeout(ok, delay));
  }
}

// --- the router ------------------------------------------------------------------------------------------------
let leave = () => {};

export function onJobs(f) {
  jobs.listeners.add(f);
  return () => jobs.listeners.delete(f);
}

function route() {
  leave();
  const main = document.getElementById("main");
  main.replaceChildren();
  const [, page, arg] = decodeURIComponent(location.hash.slice(1)).split("/");
  const views = { job: jobPage, array: arrayPage, session: sessionPage, platform: platformPage };
  leave = (views[page] || listPage)(main, arg) || (() => {});
}

async function start() {
  const me = getJSON("/v1/whoami");
  follow(); // at once: the snapshot need not wait for whoami
  jobs.me = await me;
  document.getElementById("who").textContent = jobs.me.read_only ? "read-only token" : "token may control";
  document.getElementById("forget").hidden = false;
  document.body.dataset.readOnly = jobs.me.read_only;
  route();
}

// --- the job list (one row per job, one per array; only the rows in view are drawn) -----------------------------
function entries() {
  const arrays = new Map(), list = [];
  for (const r of jobs.rows.values()) {
    if (!r.id.includes(".")) { list.push({ job: r, key: Number(r.id) }); continue; }
    const n = number(r.id);
    let a = arrays.get(n);
    if (!a) arrays.set(n, (a = { array: n, tasks: [], key: Number(n), job: r }));
    a.tasks.push(r);
  }
  return list.concat([...arrays.values()]).sort((x, y) => y.key - x.key);
}

function matches(e, f) {
  const j = e.job;
  if (f.session && j.session !== f.session) return false;
  if (f.backend && j.backend !== f.backend) return false;
  if (f.name && !(j.name || "").toLowerCase().includes(f.name.toLowerCase())) return false;
  if (f.state) return e.tasks ? e.tasks.some((t) => t.state === f.state) : j.state === f.state;
  return true;
}

/** A list row: each value in a cell of its own (the row is a grid). */
const cells = (attrs, ...values) => el("div", attrs, ...values.map((v) => el("span", {}, v)));

function listRow(e) {
  const j = e.job;
  if (e.tasks) {
    const failed = e.tasks.filter((t) => t.state === "failed").length;
    return cells({ class: "row", "data-id": e.array, "data-kind": "array" },
      el("a", { href: `#/array/${e.array}` }, `${e.array}[]`), j.name || "", el("a", { href: `#/session/${j.session}` }, j.session),
      j.backend, progressBar(e.tasks), failed ? el("span", { class: "error" }, `${failed} failed`) : "",
      when(Math.min(...e.tasks.map((t) => t.submitted || Infinity))), `${e.tasks.length} tasks`);
  }
  const run = j.started ? (j.ended || Date.now() / 1000) - j.started : null;
  return cells({ class: "row", "data-id": j.id, "data-state": j.state },
    el("a", { href: `#/job/${j.id}` }, j.id), j.name || "", el("a", { href: `#/session/${j.session}` }, j.session),
    j.backend, stateBadge(j.state), j.exit_code ?? "", when(j.submitted), duration(run));
}

function listPage(main) {
  const f = JSON.parse(sessionStorage.getItem("drmaa2.filters") || "{}");
  const count = el("span", { class: "muted", id: "count" });
  const selects = ["state", "session", "backend"].map((name) => el("select", { name, "aria-label": name }));
  const name = el("input", { name: "name", type: "search", placeholder: "name contains", value: f.name || "" });
  const bar = el("div", { class: "filters" }, ...selects, name, count);
  const list = el("div", { class: "list", id: "jobs" });
  const head = cells({ class: "row head" }, "id", "name", "session", "backend", "state", "exit", "submitted", "run time");
  const spacer = el("div", { class: "spacer" }), win = el("div", { class: "window" });
  spacer.append(win);
  list.append(head, spacer);
  main.append(el("h1", {}, "Jobs"), bar, list);
  let shown = [], frame = 0, offered = "";

  for (const input of [...selects, name]) {
    input.addEventListener("input", () => {
      f[input.name] = input.value;
      sessionStorage.setItem("drmaa2.filters", JSON.stringify(f));
      refilter();
    });
  }
  /** The choices of each select: the values the jobs have (kept as they are while they stay the same). */
  function choices() {
    const seen = { state: new Set(), session: new Set(), backend: new Set() };
    for (const r of jobs.rows.values()) { seen.state.add(r.state); seen.session.add(r.session); seen.backend.add(r.backend); }
    const key = JSON.stringify(selects.map((s) => [...seen[s.name]].sort()));
    if (key === offered) return;
    offered = key;
    for (const s of selects) {
      s.replaceChildren(el("option", { value: "" }, `any ${s.name}`),
        ...[...new Set([...seen[s.name], ...(f[s.name] ? [f[s.name]] : [])])].sort().map((v) => el("option", { value: v }, v)));
      s.value = f[s.name] || "";
    }
  }
  function draw() {
    frame = 0;
    const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 5);
    const last = Math.min(shown.length, first + Math.ceil(list.clientHeight / ROW) + 10);
    win.style.transform = `translateY(${first * ROW}px)`;
    win.replaceChildren(...shown.slice(first, last).map(listRow));
  }
  function refilter() {
    shown = entries().filter((e) => matches(e, f));
    spacer.style.height = `${shown.length * ROW}px`;
    count.textContent = jobs.ready ? `${shown.length} of ${jobs.rows.size} jobs and tasks` : "waiting for the event stream…";
    draw();
  }
  list.addEventListener("scroll", () => { if (!frame) frame = requestAnimationFrame(draw); });
  const update = () => {
    choices();
    refilter();
    if (jobs.ready && !performance.getEntriesByName("drmaa2:list").length) performance.mark("drmaa2:list");
  };
  update();
  return onJobs(update);
}

// --- start ---------------------------------------------------------------------------------------------------
document.getElementById("login-form").addEventListener("submit", useToken);
document.getElementById("forget").addEventListener("click", () => {
  if (stream) stream.abort();
  askToken("");
});
window.addEventListener("hashchange", route);
if (token()) start().catch((e) => askToken(e.message));
else askToken("");
