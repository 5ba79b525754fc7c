// The dashboard's pages besides the job list: one job (its output followed live), an array (progress and timeline),
// a session (timeline), and the machines and queues.
import { FINAL, api, duration, el, getJSON, jobs, number, onJobs, stateBadge, when } from "./dashboard.js";

const COLOURS = {
  queued: "#9ca3af", queued_held: "#d4a017", requeued_held: "#d4a017", running: "#2563eb", suspended: "#a855f7",
  requeued: "#0ea5e9", done: "#16a34a", failed: "#dc2626", undetermined: "#6b7280",
};
const ORDER = ["done", "failed", "running", "suspended", "queued", "requeued", "queued_held", "requeued_held", "undetermined"];

function counts(tasks) {
  const c = {};
  for (const t of tasks) c[t.state] = (c[t.state] || 0) + 1;
  return c;
}

/** The tasks of an array as one bar, a segment per state. */
export function progressBar(tasks, big = false) {
  const c = counts(tasks);
  const done = (c.done || 0) + (c.failed || 0);
  const bar = el("div", { class: `bar${big ? " big" : ""}`, role: "progressbar", "aria-valuemin": 0, "aria-valuemax": tasks.length,
    "aria-valuenow": done, title: ORDER.filter((s) => c[s]).map((s) => `${c[s]} ${s}`).join(", ") });
  for (const s of ORDER) {
    if (c[s]) bar.append(el("span", { class: `s-${s}`, "data-state": s, style: `width:${(100 * c[s]) / tasks.length}%;background:${COLOURS[s]}` }));
  }
  return bar;
}

function fields(pairs) {
  return el("dl", { class: "fields" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "" && !(Array.isArray(v) && !v.length))
    .flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-field": k }, Array.isArray(v) ? v.join(" ") : v)]));
}

const iso = (t) => (t ? when(Date.parse(t) / 1000) : null);

// --- one job ---------------------------------------------------------------------------------------------------
const CONTROLS = {
  kill: (s) => !FINAL.has(s), hold: (s) => s === "queued" || s === "requeued", release: (s) => s.endsWith("_held"),
  suspend: (s) => s === "running", resume: (s) => s === "suspended",
};

function followOutput(id, stream, pre, stop) {
  (async () => {
    try {
      const r = await api(`/v1/jobs/${encodeURIComponent(id)}/logs?stream=${stream}&follow=true`, { signal: stop.signal });
      if (!r.ok) { pre.textContent = (await r.json()).error.message; return; }
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const end = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.append(value);
        if (end) pre.scrollTop = pre.scrollHeight;
      }
      pre.dataset.ended = "true";
    } catch (e) {
      if (!stop.signal.aborted) pre.append(`\n[${e.message}]`);
    }
  })();
}

export function jobPage(main, id) {
  if (!id.includes(".") && [...jobs.rows.keys()].some((k) => k.startsWith(`${id}.`))) { location.hash = `#/array/${id}`; return; }
  const stop = new AbortController();
  const top = el("div"), details = el("div"), message = el("p", { class: "error", role: "alert" });
  const out = el("pre", { class: "output", id: "stdout" }), err = el("pre", { class: "output", id: "stderr" });
  main.append(top, message, details, el("h2", {}, "Output"), out, el("h2", {}, "Errors"), err);
  let last = null;

  async function control(action) {
    message.textContent = "";
    try { await getJSON(`/v1/jobs/${encodeURIComponent(id)}/${action}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }); }
    catch (e) { message.textContent = `${action}: ${e.message}`; }
    load();
  }
  function render(j) {
    const buttons = jobs.me && !jobs.me.read_only
      ? el("div", { class: "actions" }, ...Object.entries(CONTROLS).map(([a, ok]) =>
        el("button", { type: "button", id: `do-${a}`, class: a === "kill" ? "danger" : null, disabled: !ok(j.state), onclick: () => control(a) }, a)))
      : null;
    top.replaceChildren(el("h1", {}, `Job ${j.id} `, j.name ? `(${j.name}) ` : "", stateBadge(j.state)), buttons);
    const history = [["submitted", iso(j.submission_time)], ["started", iso(j.dispatch_time)]];
    for (const a of j.attempts || []) history.push([`attempt ${a.attempt ?? ""}`, Object.entries(a).filter(([k, v]) => v !== null && k !== "attempt").map(([k, v]) => `${k} ${v}`).join(", ")]);
    history.push([j.state === "done" || j.state === "failed" ? `ended (${j.state})` : "now", iso(j.finish_time) || j.state]);
    details.replaceChildren(el("div", { class: "cols" },
      el("section", {}, el("h2", {}, "State"), fields([["state", j.state], ["annotation", j.annotation], ["exit code", j.exit_code],
        ["exit status", j.exit_status], ["signal", j.signal], ["attempt", j.attempt]]),
        el("h2", {}, "History"), fields(history)),
      el("section", {}, el("h2", {}, "Template"), fields([["command", j.command], ["working directory", j.working_directory],
        ["category", j.category], ["queue", j.queue], ["priority", j.priority], ["start time", iso(j.start_time)],
        ["deadline", iso(j.deadline_time)], ["retries", j.retries], ["after", j.after], ["after mode", j.after ? j.after_mode : null],
        ["output", j.output_path], ["errors", j.error_path], ["session", j.session], ["backend", j.backend]])),
      el("section", {}, el("h2", {}, "Accounting"), fields([["wall-clock time", duration(j.wallclock_time)], ["CPU time", duration(j.cpu_time)],
        ["max RSS", j.max_rss ? `${j.max_rss} KiB` : null], ["machine", j.machine], ["submitted from", j.submission_machine],
        ["owner", j.job_owner], ["native id", j.native_id]]))));
  }
  async function load() {
    try {
      const doc = await getJSON(`/v1/jobs/${encodeURIComponent(id)}`);
      if (doc.jobs.length !== 1 || doc.jobs[0].id !== id) { location.hash = `#/array/${id}`; return; } // an array's number
      last = doc.jobs[0];
      render(last);
    } catch (e) { message.textContent = e.message; }
  }
  load().then(() => {
    followOutput(id, "out", out, stop);
    followOutput(id, "err", err, stop);
  });
  const off = onJobs((changed) => { if (!changed || changed.has(id)) { const r = jobs.rows.get(id); if (!last || !r || r.state !== last.state || !FINAL.has(r.state)) load(); } });
  return () => { off(); stop.abort(); };
}

// --- the timeline ----------------------------------------------------------------------------------------------
/** Each task a line: queued (pale) from submission to start, then its run coloured by its state. */
function timeline(canvas, tasks) {
  const items = tasks.filter((t) => t.submitted).sort((a, b) => a.submitted - b.submitted || a.id.localeCompare(b.id, undefined, { numeric: true }));
  const now = Date.now() / 1000;
  const t0 = Math.min(...items.map((t) => t.submitted)), t1 = Math.max(...items.map((t) => t.ended || now), t0 + 1);
  const line = Math.max(1, Math.min(16, Math.floor(600 / Math.max(items.length, 1))));
  const label = line >= 12 ? 90 : 0, axis = 22;
  const width = canvas.clientWidth || 800, height = axis + items.length * line + 4;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = width * dpr; canvas.height = height * dpr; canvas.style.height = `${height}px`;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.font = "11px DejaVu Sans, sans-serif"; g.fillStyle = "#6b7280";
  const x = (t) => label + ((t - t0) / (t1 - t0)) * (width - label - 8);
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    g.fillText(i === 0 ? new Date(t * 1000).toLocaleTimeString() : `+${duration(t - t0)}`, Math.min(x(t), width - 70), 12);
    g.fillRect(x(t), 15, 1, height - 15);
  }
  items.forEach((t, i) => {
    const y = axis + i * line, h = Math.max(1, line - (line > 3 ? 2 : 0));
    if (label) { g.fillStyle = "#111827"; g.fillText(t.id, 2, y + h - 2); }
    g.fillStyle = "#e5e7eb";
    g.fillRect(x(t.submitted), y, Math.max(1, x(t.started || t.ended || now) - x(t.submitted)), h);
    if (t.started) {
      g.fillStyle = COLOURS[t.state] || "#6b7280";
      g.fillRect(x(t.started), y, Math.max(2, x(t.ended || now) - x(t.started)), h);
    }
  });
  canvas.dataset.bars = items.length;
  canvas.title = `${items.length} tasks from ${new Date(t0 * 1000).toLocaleString()} over ${duration(t1 - t0)}`;
}

function legend() {
  return el("div", { class: "legend" }, el("span", { style: "--c:#e5e7eb" }, "queued"),
    ...["running", "done", "failed", "suspended"].map((s) => el("span", { style: `--c:${COLOURS[s]}` }, s)));
}

function tasksPage(main, title, pick, extra) {
  const head = el("div"), canvas = el("canvas", { class: "timeline", id: "timeline" }), table = el("div");
  main.append(head, el("h2", {}, "Timeline"), legend(), canvas, table);
  const update = (changed) => {
    if (changed && ![...changed].some((id) => !jobs.rows.has(id) || pick(jobs.rows.get(id)))) return; // not ours
    const tasks = [...jobs.rows.values()].filter(pick);
    head.replaceChildren(el("h1", {}, title), extra(tasks));
    timeline(canvas, tasks);
  };
  update();
  return onJobs(update);
}

export function arrayPage(main, n) {
  return tasksPage(main, `Array ${n}`, (r) => number(r.id) === n && r.id.includes("."), (tasks) => {
    const c = counts(tasks), failed = tasks.filter((t) => t.state === "failed").map((t) => t.id.split(".")[1]).sort((a, b) => a - b);
    const first = tasks[0] || {};
    return el("div", { id: "array" }, el("p", {}, first.name ? `${first.name}, ` : "", `session ${first.session || ""}, backend ${first.backend || ""}`),
      progressBar(tasks, true),
      el("p", { id: "progress" }, `${(c.done || 0) + (c.failed || 0)} of ${tasks.length} tasks ended: ` + ORDER.filter((s) => c[s]).map((s) => `${c[s]} ${s}`).join(", ")),
      failed.length ? el("p", { class: "failed-list", id: "failed" }, "Failed tasks: ", ...failed.slice(0, 200).map((i) => el("a", { href: `#/job/${n}.${i}` }, i)),
        failed.length > 200 ? `… (${failed.length})` : "") : null);
  });
}

export function sessionPage(main, name) {
  return tasksPage(main, `Session ${name}`, (r) => r.session === name, (tasks) =>
    el("p", {}, `${tasks.length} jobs and tasks: ` + ORDER.map((s) => [s, tasks.filter((t) => t.state === s).length]).filter(([, k]) => k).map(([s, k]) => `${k} ${s}`).join(", ")));
}

// --- machines and queues ---------------------------------------------------------------------------------------
function table(items) {
  if (!items.length) return el("p", { class: "muted" }, "none");
  const keys = [...new Set(items.flatMap((i) => Object.keys(i)))].filter((k) => k !== "schema_version");
  const cell = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : v);
  return el("table", { class: "plain" }, el("tr", {}, ...keys.map((k) => el("th", {}, k))),
    ...items.map((i) => el("tr", {}, ...keys.map((k) => el("td", {}, cell(i[k]))))));
}

export function platformPage(main) {
  const machines = el("div", { id: "machines" }), queues = el("div", { id: "queues" });
  main.append(el("h1", {}, "Machines"), machines, el("h1", {}, "Queues"), queues);
  getJSON("/v1/machines").then((d) => machines.replaceChildren(table(d.machines)), (e) => machines.replaceChildren(el("p", { class: "error" }, e.message)));
  getJSON("/v1/queues").then((d) => queues.replaceChildren(table(d.queues)), (e) => queues.replaceChildren(el("p", { class: "error" }, e.message)));
}
