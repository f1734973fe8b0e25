// The console page: sign-in, officers' work queues and actions, case search with the audit
// trail, and the auditors' report. Everything shown comes from this gateway's /v1 API, called
// with the signed-in key (api.js); nothing is rendered as HTML from data (text nodes only).

import { Problem, api, awaitState, follow, idempotencyKey, query, session } from "./api.js";
import { dayBins, groupedBars, legend } from "./charts.js";
import {
  arrivalRecord,
  cstNow,
  cstTimestamp,
  inspectionReport,
  recognitionDecision,
} from "./records.js";

// ---------------------------------------------------------------------- page helpers

const $ = (id) => document.getElementById(id);

/** An element with attributes (`on…` ones become listeners) and children (text is text). */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function short(hex) {
  if (!hex) return "—";
  return hex.length > 20 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}

/** A long hex value shown shortened; the whole value is its title and data-full. */
function hex(value, testid) {
  if (!value) return h("span", { class: "muted", "data-testid": testid }, "—");
  return h("code", { class: "hex", title: value, "data-full": value, "data-testid": testid },
    short(value));
}

const CST_MS = 8 * 3600 * 1000;

/** Unix seconds as a China Standard Time date and time (the column headers say UTC+8). */
function when(seconds) {
  if (!seconds) return "—";
  return new Date(seconds * 1000 + CST_MS).toISOString().slice(0, 19).replace("T", " ");
}

function table(caption, headers, rows, attrs = {}) {
  return h("div", { class: "table-wrap" },
    h("table", attrs,
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows)));
}

/** Run a user action: clear the last problem, mark `busy` while it runs, report a refusal. */
function guard(fn, busy) {
  return async (event) => {
    if (event && event.preventDefault) event.preventDefault();
    showProblem(null);
    if (busy) busy.disabled = true;
    try {
      await fn(event);
    } catch (err) {
      showProblem(err);
    } finally {
      if (busy) busy.disabled = false;
    }
  };
}

function showProblem(err) {
  const box = $("problem");
  if (!err) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const p = err instanceof Problem
    ? err
    : new Problem({ title: "Console error", detail: String(err.message || err),
      code: "console_error" }, 0);
  box.replaceChildren(h("div", {},
    h("p", {},
      h("strong", { "data-testid": "problem-title" }, p.title),
      " ",
      h("code", { class: "code", "data-testid": "problem-code" }, p.code)),
    p.detail ? h("p", { "data-testid": "problem-detail" }, p.detail) : null,
    p.errors.length
      ? h("ul", {}, p.errors.slice(0, 8).map((e) =>
        h("li", {}, h("code", {}, e.path || "/"), " ", e.message || e.rule || "")))
      : null,
    h("button", { type: "button", class: "link", onclick: () => showProblem(null) }, "Dismiss"),
  ));
  box.hidden = false;
  if (p.status === 401 && state.me) signOut();
}

// ---------------------------------------------------------------------- session and views

const state = { profile: null, me: null, view: null, queue: null, queueItems: {} };

// Which roles see which section (the API decides in the end: it answers 403 otherwise).
const VIEWS = {
  queues: ["officer", "system"],
  cases: ["officer", "system", "platform", "auditor"],
  report: ["auditor", "officer", "admin"],
};
const FIRST_VIEW = {
  officer: "queues", system: "queues", platform: "cases", auditor: "report", admin: "report",
};
const AREA_ROLES = { origin: "origin area", return_centre: "return centre", both:
  "origin area and return centre" };

async function loadProfile() {
  try {
    const response = await fetch("/console/gateway.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    state.profile = await response.json();
    const p = state.profile;
    $("gateway").textContent =
      `Gateway ${p.customsCode} · ${p.label} · ${AREA_ROLES[p.role] || p.role}`;
  } catch {
    $("gateway").textContent = "Gateway: unknown";
  }
}

async function signIn(key) {
  state.me = await api("/v1/whoami", { key });
  session.keep(key);
  $("api-key").value = "";
  enter();
}

function enter() {
  const { member_id: member, role } = state.me;
  if (!state.profile && state.me.gateway) state.profile = state.me.gateway;
  $("signin").hidden = true;
  $("who").hidden = false;
  $("who-text").textContent = `${member} · ${role}`;
  $("tabs").hidden = false;
  for (const tab of $("tabs").querySelectorAll("button[data-view]")) {
    tab.hidden = !VIEWS[tab.dataset.view].includes(role);
  }
  show(FIRST_VIEW[role] || "cases");
}

function signOut() {
  session.forget();
  Object.assign(state, { me: null, view: null, queue: null, queueItems: {} });
  for (const id of ["queues", "queue-items", "action", "operation", "case", "report"]) {
    $(id).replaceChildren();
  }
  for (const id of ["view-queues", "view-cases", "view-report", "tabs", "who"]) {
    $(id).hidden = true;
  }
  for (const id of ["search-q", "report-from", "report-to", "report-area"]) $(id).value = "";
  $("report-form").dataset.loaded = "";
  $("signin").hidden = false;
  $("api-key").focus();
}

function show(view) {
  state.view = view;
  for (const name of Object.keys(VIEWS)) $(`view-${name}`).hidden = name !== view;
  for (const tab of $("tabs").querySelectorAll("button[data-view]")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (view === "queues" && !$("queues").childElementCount) guard(() => loadQueues())();
  if (view === "report" && !$("report-form").dataset.loaded) {
    $("report-form").dataset.loaded = "yes";
    guard(() => loadReport())();
  }
}

// ---------------------------------------------------------------------- work queues

const QUEUES = [
  { state: "applied", title: "Awaiting arrival", side: "centre", actions: ["arrival"] },
  { state: "arrived", title: "Awaiting inspection", side: "centre", actions: ["inspection"] },
  { state: "inspected", title: "Awaiting recognition", side: "origin",
    actions: ["recognition", "dispute"] },
  { state: "disputed", title: "Disputes", side: "origin", actions: ["recognition"] },
  { state: "recognized", title: "Awaiting settlement", side: "origin", actions: [],
    note: "The area's system settles recognised returns: the amounts come from its tax records." },
];

const ACTIONS = {
  arrival: { label: "Record arrival", path: "arrival", roles: ["officer", "system"] },
  inspection: { label: "Record inspection", path: "inspection", roles: ["officer", "system"] },
  recognition: { label: "Recognise", path: "recognition", roles: ["officer"] },
  dispute: { label: "Dispute", path: "dispute", roles: ["officer"] },
};

function queueSides() {
  const role = state.profile && state.profile.role;
  if (role === "return_centre") return ["centre"];
  if (role === "origin") return ["origin"];
  return ["centre", "origin"];
}

async function loadQueues() {
  const sides = queueSides();
  const queues = QUEUES.filter((q) => sides.includes(q.side));
  const code = state.profile ? state.profile.customsCode : undefined;
  const answers = await Promise.all(queues.map((q) =>
    api(`/v1/returns${query({ state: q.state, area: code, role: code && q.side, limit: 1000 })}`)));
  state.queueItems = {};
  $("queues").replaceChildren(...queues.map((q, i) => {
    state.queueItems[q.state] = answers[i].items;
    const count = `${answers[i].items.length}${answers[i].next ? "+" : ""}`;
    return h("li", {},
      h("button", { type: "button", class: "queue", "data-queue": q.state,
        "data-testid": `queue-${q.state}`, onclick: () => renderQueue(q.state) },
      h("span", { class: "queue-title" }, q.title),
      h("span", { class: "queue-state" }, q.state),
      h("span", { class: "count", "data-testid": `queue-count-${q.state}` }, count)));
  }));
  const scope = sides.map((s) => (s === "centre" ? "return centre" : "origin")).join(" and ");
  $("queues-scope").textContent = code
    ? `Returns for which area ${code} acts as ${scope}.` : "All returns this gateway indexes.";
  const current = queues.some((q) => q.state === state.queue) ? state.queue : queues[0]?.state;
  if (current) renderQueue(current);
}

function renderQueue(name) {
  state.queue = name;
  for (const button of $("queues").querySelectorAll("button[data-queue]")) {
    button.setAttribute("aria-pressed", String(button.dataset.queue === name));
  }
  const q = QUEUES.find((x) => x.state === name);
  const items = state.queueItems[name] || [];
  const role = state.me ? state.me.role : "";
  if (!items.length) {
    $("queue-items").replaceChildren(h("p", { class: "empty" }, `${q.title}: nothing waiting.`));
    return;
  }
  const rows = items.map((item) => h("tr", { "data-testid": "queue-row",
    "data-return-id": item.returnId, "data-state": item.state },
  h("td", {}, hex(item.returnId, "row-return")),
  h("td", {}, hex(item.caseId)),
  h("td", {}, item.originCode),
  h("td", {}, item.centreCode),
  h("td", {}, item.lines.join(", ")),
  h("td", {}, when(item.appliedAt)),
  h("td", { class: "actions" },
    q.actions.filter((a) => ACTIONS[a].roles.includes(role)).map((a) =>
      h("button", { type: "button", class: a === "dispute" ? "secondary" : null,
        "data-testid": `action-${a}`, onclick: guard(() => openAction(a, item)) },
      ACTIONS[a].label)),
    h("button", { type: "button", class: "secondary", "data-testid": "open-case",
      onclick: guard(() => openCase(item.caseId, item.returnId)) }, "Timeline"))));
  $("queue-items").replaceChildren(table(`${q.title} (${items.length})`,
    ["Return", "Case", "Origin", "Centre", "Lines", "Applied (UTC+8)", "Actions"], rows,
    { "data-testid": "queue-table" }),
  q.note ? h("p", { class: "hint" }, q.note) : "");
}

/** The revealed fields of a return's document of `docType`, by JSON pointer. */
function revealed(view, docType) {
  const doc = (view.documents || []).find((d) => d.docType === docType);
  const out = {};
  for (const field of doc ? doc.document.revealed : []) out[field.path] = field.value;
  return out;
}

function field(label, input, hint) {
  const id = `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input,
    hint ? h("small", {}, hint) : null);
}

async function openAction(action, item) {
  $("operation").replaceChildren();
  const view = await api(`/v1/returns/${item.returnId}`);
  const application = revealed(view, "return_application");
  const expected = new Map(((view.expected && view.expected.lines) || []).map((l) => [l.gnum, l]));
  const code = state.profile ? state.profile.customsCode : "";
  const time = h("input", { type: "datetime-local", step: 1, required: true, value: cstNow(),
    "data-testid": "field-time" });
  const officer = h("input", { required: true, maxlength: 60, "data-testid": "field-officer",
    value: sessionStorage.getItem("crossreturn.officer") || "", placeholder: `${code}-00001` });
  const fields = [field("Time (UTC+8)", time), field("Officer", officer, "your officer number")];
  let build;
  if (action === "arrival") {
    const logistics = h("input", { required: true, maxlength: 60, "data-testid": "field-logistics",
      value: application["/logisticsNo"] || "" });
    const packages = h("input", { type: "number", min: 1, max: 999, required: true, value: 1,
      "data-testid": "field-packages" });
    fields.push(field("Logistics number", logistics), field("Packages", packages));
    build = () => arrivalRecord({ returnId: item.returnId, centreCode: item.centreCode,
      arrivedTime: cstTimestamp(time.value), logisticsNo: logistics.value.trim(),
      packageCount: Number(packages.value), officer: officer.value.trim() });
  } else if (action === "inspection") {
    const lines = item.lines.map((gnum) => {
      const result = h("select", { "data-testid": `field-result-${gnum}` },
        h("option", { value: "accepted" }, "accepted"),
        h("option", { value: "rejected" }, "rejected"));
      const reason = h("input", { value: "11", pattern: "[0-9A-Z]{2,8}", maxlength: 8,
        required: true, disabled: true, "data-testid": `field-reason-${gnum}` });
      result.addEventListener("change", () => {
        reason.disabled = result.value === "accepted";
      });
      const goods = expected.get(gnum);
      const title = goods ? `Line ${gnum}: ${goods.gname} × ${goods.qtyReturned ?? goods.qty}`
        : `Line ${gnum}`;
      fields.push(h("fieldset", { class: "line" }, h("legend", {}, title),
        field("Result", result), field("Reason code if rejected", reason)));
      return { gnum, result, reason };
    });
    const remark = h("textarea", { maxlength: 500, rows: 2 });
    fields.push(field("Remark (optional)", remark));
    build = () => inspectionReport({ returnId: item.returnId, centreCode: item.centreCode,
      inspectedTime: cstTimestamp(time.value), officer: officer.value.trim(),
      lines: lines.map((l) => ({ gnum: l.gnum, result: l.result.value,
        reasonCode: l.reason.value.trim() })),
      remark: remark.value.trim() });
  } else {
    const disputed = action === "dispute";
    const reason = h("textarea", { maxlength: 500, rows: 2, required: disputed,
      "data-testid": "field-reason" });
    fields.push(field(disputed ? "Why the result is disputed" : "Note (optional)", reason));
    build = () => recognitionDecision({ returnId: item.returnId, originCode: item.originCode,
      decidedTime: cstTimestamp(time.value), decision: disputed ? "disputed" : "recognized",
      officer: officer.value.trim(), reason: reason.value.trim() });
  }
  const submit = h("button", { type: "submit", "data-testid": "action-submit" },
    ACTIONS[action].label);
  const write = { key: idempotencyKey() }; // kept for a retry of the same submission
  const form = h("form", { class: "action-form", "data-testid": "action-form" },
    h("h3", {}, `${ACTIONS[action].label}: return `, hex(item.returnId)),
    application["/invtNo"] ? h("p", { class: "hint" },
      `Inventory list ${application["/invtNo"]}, origin ${item.originCode}`) : null,
    h("div", { class: "fields" }, fields),
    h("div", { class: "buttons" }, submit,
      h("button", { type: "button", class: "secondary",
        onclick: () => $("action").replaceChildren() }, "Cancel")));
  form.addEventListener("submit", guard(async () => {
    const record = build();
    sessionStorage.setItem("crossreturn.officer", officer.value.trim());
    let accepted;
    try {
      accepted = await api(`/v1/returns/${item.returnId}/${ACTIONS[action].path}`,
        { body: { record }, idempotency: write.key });
    } catch (err) {
      if (err instanceof Problem && err.status >= 400) write.key = idempotencyKey();
      throw err;
    }
    $("action").replaceChildren();
    await track(accepted, item);
  }, submit));
  $("action").replaceChildren(form);
  time.focus();
}

/** Follow an accepted write to the ledger, then show the return's new state. */
async function track(accepted, item) {
  const status = h("span", { class: "status", "data-testid": "operation-status" });
  const where = h("span", {});
  const outcome = h("p", { "data-testid": "action-result" });
  $("operation").replaceChildren(
    h("h3", {}, `Operation ${accepted.operation.id}: ${accepted.operation.kind}`),
    h("p", {}, "Return ", hex(item.returnId), " · record digest ", hex(accepted.digest)),
    h("p", {}, "Status: ", status, where),
    outcome);
  const op = await follow(accepted.operation, (current) => {
    status.textContent = current.status;
    status.className = `status ${current.status}`;
    where.replaceChildren(h("span", {},
      current.block ? ` in block ${current.block}` : "",
      current.txHash ? [" · tx ", hex(current.txHash, "operation-tx")] : "",
      current.error ? ` · ${current.error}` : ""));
  });
  if (op.status !== "confirmed") return;
  outcome.replaceChildren("Updating the return's state…");
  const now = await awaitState(item.returnId, item.state);
  outcome.replaceChildren("Return ", hex(item.returnId), " is now ",
    h("strong", { class: `state ${now}`, "data-testid": "return-state" }, now || "unknown"), ".");
  await loadQueues();
}

// ---------------------------------------------------------------------- cases and trails

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const INVT_NO = /^\d{8}I\d{9}$/;

async function search(text) {
  const q = text.trim();
  if (INVT_NO.test(q)) {
    const found = await api(`/v1/cases/lookup${query({ invtNo: q })}`);
    return openCase(found.caseId);
  }
  if (!HEX32.test(q)) {
    throw new Problem({ title: "Nothing to search for", code: "invalid_search",
      detail: "enter a case id or return id (0x and 64 hex digits) or an inventory list "
        + "number like 31002026I000000001" }, 400);
  }
  const id = q.toLowerCase();
  try {
    return await openCase(id);
  } catch (err) {
    if (!(err instanceof Problem) || err.status !== 404) throw err;
  }
  const view = await api(`/v1/returns/${id}`); // not a case: perhaps a return
  if (!view.ledger) {
    throw new Problem({ title: "Not on the ledger yet", code: "pending",
      detail: `return ${id} is accepted and on its way to the ledger` }, 404);
  }
  return openCase(view.ledger.caseId, id);
}

/** A trail's steps, from its readable timeline when the gateway gives one, else raw events. */
function trailSteps(trail) {
  if (Array.isArray(trail.timeline)) {
    return trail.timeline.map((s) => ({ ...s, label: s.step }));
  }
  return (trail.steps || []).map((s) => {
    const args = s.args || {};
    const key = Object.keys(args).find((k) => k.endsWith("Digest"));
    return { label: s.event, event: s.event, who: "", at: 0, block: s.block,
      txHash: s.txHash, digest: key ? args[key] : null, returnId: args.returnId || null,
      verification: s.verification };
  });
}

function verificationBadge(v) {
  if (!v || !v.status) {
    return h("span", { class: "badge none", "data-testid": "step-verification",
      "data-status": "" }, "—");
  }
  const failed = Array.isArray(v.failed) ? v.failed : [];
  const text = { verified: "verified", failed: "failed", not_held: "not held here" }[v.status]
    || v.status;
  const title = v.status === "failed"
    ? `failed checks: ${failed.join(", ") || "?"}${v.detail ? ` (${v.detail})` : ""}`
    : v.status === "not_held" ? "this gateway holds no document for this step" : "";
  return h("span", { class: `badge ${v.status}`, title: title || null,
    "data-testid": "step-verification", "data-status": v.status },
  text, v.status === "failed" && failed.length ? `: ${failed.join(", ")}` : "");
}

async function openCase(caseId, returnId) {
  if (!VIEWS.cases.includes(state.me.role)) return;
  const [view, trail] = await Promise.all([
    api(`/v1/cases/${caseId}`), api(`/v1/cases/${caseId}/trail`)]);
  if (state.view !== "cases") show("cases");
  $("search-q").value = returnId || caseId;
  const ledger = view.ledger || {};
  const tax = view.taxAssessment;
  const summary = h("dl", { class: "summary" },
    h("dt", {}, "Origin area"), h("dd", {}, ledger.originCode || "—"),
    h("dt", {}, "Platform"), h("dd", {}, hex(ledger.platform)),
    h("dt", {}, "Released (UTC+8)"), h("dd", {}, when(ledger.releaseTime)),
    h("dt", {}, "Lines"), h("dd", {}, ledger.lineCount ?? "—"),
    h("dt", {}, "Opened in block"), h("dd", {}, ledger.openedBlock ?? "—"),
    h("dt", {}, "Tax record"), h("dd", {}, tax ? `held here, ${tax.anchorStatus}` : "not held here"));
  const returns = (view.returns || []).map((r) => h("tr", {
    class: r.returnId === returnId ? "selected" : null, "data-testid": "case-return" },
  h("td", {}, hex(r.returnId)),
  h("td", {}, h("span", { class: `state ${r.state}` }, r.state)),
  h("td", {}, r.lines.join(", ")),
  h("td", {}, r.acceptedLines.join(", ") || "—"),
  h("td", {}, r.settledLines.join(", ") || "—"),
  h("td", {}, r.centreCode),
  h("td", {}, when(r.appliedAt)),
  h("td", {}, r.late ? "late" : "")));
  const steps = trailSteps(trail).map((s, i) => h("tr", { "data-testid": "timeline-step",
    "data-event": s.event },
  h("td", {}, String(i + 1)),
  h("td", {}, h("strong", {}, s.label), h("br"), h("code", { class: "event" }, s.event)),
  h("td", {}, s.at ? when(s.at) : "—"),
  h("td", {}, s.who || "—"),
  h("td", { "data-testid": "step-block" }, String(s.block)),
  h("td", {}, hex(s.txHash, "step-tx")),
  h("td", {}, hex(s.digest, "step-digest")),
  h("td", {}, hex(s.returnId)),
  h("td", {}, verificationBadge(s.verification))));
  $("case").replaceChildren(
    h("h3", {}, "Case ", h("code", { class: "wrap", "data-testid": "case-id" }, view.caseId)),
    summary,
    table(`Returns (${returns.length})`,
      ["Return", "State", "Lines", "Accepted", "Settled", "Centre", "Applied (UTC+8)", ""],
      returns, { "data-testid": "case-returns" }),
    table(`Timeline (${steps.length} ledger steps)`,
      ["#", "Step", "When (UTC+8)", "Who", "Block", "Tx hash", "Digest", "Return",
        "Verification"], steps, { "data-testid": "timeline", class: "timeline" }),
  );
}

// ---------------------------------------------------------------------- audit report

const DAY = 86400;
const ANOMALIES = {
  not_inspected_in_window: "Not inspected within the window",
  not_recognised_in_days: "Not recognised in time",
  disputed: "Disputed",
  settled_without_recognition: "Settled without recognition",
};

function utcDay(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

function daySeconds(value) {
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new Error("choose both days of the period");
  return ms / 1000;
}

const money = (text) => Number.parseFloat(text || "0") || 0;
const cny = (value) => value.toLocaleString("en", { maximumFractionDigits: 2 });

async function loadReport() {
  if (!$("report-from").value || !$("report-to").value) {
    const today = Math.floor(Date.now() / 1000 / DAY) * DAY;
    $("report-to").value = utcDay(today);
    $("report-from").value = utcDay(today - 55 * DAY); // eight ISO-week-sized columns
  }
  const from = daySeconds($("report-from").value);
  const to = daySeconds($("report-to").value) + DAY;
  const area = $("report-area").value.trim();
  const report = await api(`/v1/audit/report${query({ from, to, area })}`);
  renderReport(report);
}

function stat(label, value, testid, note) {
  return h("div", { class: "stat" },
    h("dt", {}, label),
    h("dd", { "data-testid": testid }, value, note ? h("small", {}, note) : null));
}

function renderReport(r) {
  const card = r.reportCard || {};
  const totals = r.totals || [];
  const periods = [...new Set(totals.map((t) => t.period))].sort();
  const areas = [...new Set(totals.map((t) => t.originCode))].sort();
  const cell = (period, code, fn) => {
    const row = totals.find((t) => t.period === period && t.originCode === code);
    return row ? fn(row) : 0;
  };
  const volume = groupedBars({
    title: "Returns per origin area and week",
    description: `Returns applied for, per ISO week, one bar per origin area (${areas.join(", ")}).`,
    groups: periods.map((p) => ({ label: p, values: areas.map((a) => cell(p, a, (t) => t.returns)) })),
    series: areas,
    format: (v) => cny(v),
    whole: true,
  });
  const value = groupedBars({
    title: "Value not levied or refunded per origin area and week",
    description: "Value of the settled lines (not levied plus refunded), CNY, per ISO week.",
    groups: periods.map((p) => ({ label: p, values: areas.map((a) =>
      cell(p, a, (t) => money(t.valueNotLevied) + money(t.valueRefunded))) })),
    series: areas,
    format: (v) => cny(v),
  });
  const unknown = [...new Set(totals.filter((t) => !t.valueKnown).map((t) => t.originCode))];
  const days = (r.settlementTimes || []).map((s) => s.days);
  const histogram = groupedBars({
    title: "Days from application to settlement",
    description: `How many returns were settled within each span of days (${days.length} returns).`,
    groups: dayBins(days),
    series: ["returns settled"],
    format: (v) => cny(v),
    whole: true,
  });
  const amount = (row, key) => (row.valueKnown ? row[key] : "—");
  const totalRows = totals.map((t) => h("tr", { "data-testid": "totals-row" },
    h("td", {}, t.originCode), h("td", {}, t.period),
    h("td", { class: "num" }, t.returns), h("td", { class: "num" }, t.items),
    h("td", { class: "num" }, amount(t, "valueNotLevied")),
    h("td", { class: "num" }, amount(t, "valueRefunded")),
    h("td", { class: "num" }, amount(t, "taxNotLevied")),
    h("td", { class: "num" }, amount(t, "taxRefunded")),
    h("td", {}, h("details", {}, h("summary", {}, `${t.cases.length} cases`),
      h("ul", { class: "plain" }, t.cases.map((c) => h("li", {}, caseLink(c))))))));
  const anomalies = (r.anomalies || []).map((a) => h("tr", { "data-testid": "anomaly",
    "data-kind": a.kind },
  h("td", {}, h("span", { class: `badge ${a.kind === "disputed" ? "failed" : "warn"}` },
    ANOMALIES[a.kind] || a.kind)),
  h("td", {}, hex(a.returnId)), h("td", {}, caseLink(a.caseId)),
  h("td", {}, a.originCode), h("td", {}, a.detail)));
  $("report").replaceChildren(
    h("p", { class: "meta", "data-testid": "report-meta" },
      `Returns applied for from ${utcDay(r.from)} to ${utcDay(r.to - 1)} (UTC) · `,
      `origin area ${r.area || "all"} · ledger block ${r.ledgerBlock}`),
    r.valuesNote ? h("p", { class: "hint" }, r.valuesNote) : null,
    h("section", { class: "card", "aria-labelledby": "card-title", "data-testid": "report-card" },
      h("h3", { id: "card-title" }, "Return centre report card"),
      h("dl", { class: "stats" },
        stat("Returns inspected", card.returnsInspected ?? 0, "card-returns"),
        stat("Pieces inspected", card.piecesInspected ?? 0, "card-pieces"),
        stat("Pieces released", card.piecesReleased ?? 0, "card-released"),
        stat("Value released (CNY)", card.valueReleased ?? "0.00", "card-value",
          card.valueKnown === false ? "partly not held here" : null))),
    h("div", { class: "charts" },
      h("figure", { class: "chart-box", "data-testid": "chart-volume" },
        h("figcaption", {}, "Returns per origin area and week"), volume, legend(areas)),
      h("figure", { class: "chart-box", "data-testid": "chart-value" },
        h("figcaption", {}, "Value not levied or refunded per area and week (CNY)"), value,
        legend(areas),
        unknown.length ? h("p", { class: "hint" },
          `Values of area ${unknown.join(", ")} are not held by this gateway.`) : null),
      h("figure", { class: "chart-box", "data-testid": "chart-settlement" },
        h("figcaption", {}, `Days from application to settlement (${days.length} returns)`),
        histogram,
        days.length ? null : h("p", { class: "hint" }, "No return was settled in this period."))),
    table(`Totals per origin area and week (${totals.length})`,
      ["Origin", "Week", "Returns", "Items", "Value not levied", "Value refunded",
        "Tax not levied", "Tax refunded", "Cases"], totalRows, { "data-testid": "totals" }),
    anomalies.length
      ? table(`Anomalies (${anomalies.length})`, ["Kind", "Return", "Case", "Origin", "Detail"],
        anomalies, { "data-testid": "anomalies" })
      : h("p", { class: "empty", "data-testid": "anomalies" }, "No anomalies in this period."),
  );
}

function caseLink(caseId) {
  if (!state.me || !VIEWS.cases.includes(state.me.role)) return hex(caseId);
  return h("button", { type: "button", class: "link", title: `Open case ${caseId}`,
    onclick: guard(() => openCase(caseId)) }, hex(caseId));
}

// ---------------------------------------------------------------------- wiring

function wire() {
  const signinButton = $("signin-form").querySelector("button[type=submit]");
  $("signin-form").addEventListener("submit",
    guard(() => signIn($("api-key").value.trim()), signinButton));
  $("signout").addEventListener("click", () => {
    showProblem(null);
    signOut();
  });
  for (const tab of $("tabs").querySelectorAll("button[data-view]")) {
    tab.addEventListener("click", () => show(tab.dataset.view));
  }
  $("queues-refresh").addEventListener("click", guard(() => loadQueues(), $("queues-refresh")));
  const searchButton = $("search-form").querySelector("button[type=submit]");
  $("search-form").addEventListener("submit",
    guard(() => search($("search-q").value), searchButton));
  const reportButton = $("report-form").querySelector("button[type=submit]");
  $("report-form").addEventListener("submit", guard(() => loadReport(), reportButton));
}

async function start() {
  wire();
  await loadProfile();
  const key = session.key();
  if (!key) return;
  try {
    state.me = await api("/v1/whoami");
    enter();
  } catch (err) {
    signOut();
    if (err instanceof Problem && err.status !== 401) showProblem(err);
  }
}

start();
