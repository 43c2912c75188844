"use strict";
// coop view: everything below reads the data embedded in this page; nothing is fetched.
const DATA = JSON.parse(document.getElementById("view-data").textContent);
const RUNS = DATA.runs;
const ACTIONS = new Set(DATA.action_kinds);
const BAD = new Set(["parse_error", "parse_ambiguity", "invalid_action", "llm_error", "provider_error", "refusal"]);
const PALETTE = ["#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#d9d9d9"];
const SVGNS = "http://www.w3.org/2000/svg";
let cur = 0;
const promptCache = {};

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "on") for (const [ev, f] of Object.entries(v)) el.addEventListener(ev, f);
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const fmt = (x) => (typeof x === "number" ? x.toLocaleString("en-US", { maximumFractionDigits: 2 }) : String(x));
const turnsOf = (run) => run.items.filter((it) => it.type === "turn");

// ---- prompts: gzip'd JSON, lines interned; x = line x, -m = m more lines after the last
async function prompts(i) {
  if (!(i in promptCache)) {
    const el = document.getElementById("view-prompts-" + i);
    promptCache[i] = !el ? null : (async () => {
      const bytes = Uint8Array.from(atob(el.textContent.trim()), (c) => c.charCodeAt(0));
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      return JSON.parse(await new Response(stream).text());
    })();
  }
  return promptCache[i];
}
function unpack(P, refs) {
  const out = [];
  let last = -1;
  for (const r of refs) {
    if (r >= 0) { out.push(P.lines[r]); last = r; }
    else for (let k = 0; k < -r; k++) out.push(P.lines[++last]);
  }
  return out.join("\n");
}
function promptText(text) {
  const pre = h("pre", { class: "prompt" });
  for (const line of text.split("\n")) {
    const head = DATA.headers.includes(line.trim());
    pre.append(head ? h("span", { class: "hdr" }, line) : line, "\n");
  }
  return pre;
}

// ---- overview
function bars(rows, key, label, color) {
  const W = 440, H = 170, pad = 30, n = rows.length || 1, max = Math.max(1, ...rows.map((r) => r[key]));
  const bw = (W - pad - 6) / n;
  const g = s("svg", { width: "100%", viewBox: `0 0 ${W} ${H + 20}`, role: "img", style: `max-width:${W}px` });
  g.append(s("text", { x: 2, y: 10 }, `max ${fmt(max)}`));
  rows.forEach((r, k) => {
    const bh = ((H - 20) * r[key]) / max, x = pad + k * bw;
    g.append(s("rect", { x, y: H - bh, width: Math.max(1, bw - 2), height: bh, fill: color }, s("title", {}, `${r[label]}: ${fmt(r[key])}`)));
    if (n <= 30) g.append(s("text", { x: x + bw / 2, y: H + 13, "text-anchor": "middle" }, String(r[label]).replace("agent_", "")));
  });
  g.append(s("line", { x1: pad - 2, y1: H, x2: W, y2: H, stroke: "#999" }));
  return g;
}
function network(run) {
  const W = 440, R = 165, c = W / 2, pos = {};
  const n = run.agents.length;
  run.agents.forEach((a, k) => { pos[a.id] = [c + R * Math.cos((2 * Math.PI * k) / n - Math.PI / 2), c + R * Math.sin((2 * Math.PI * k) / n - Math.PI / 2)]; });
  const g = s("svg", { width: "100%", viewBox: `0 0 ${W} ${W}`, role: "img", style: `max-width:${W}px` });
  g.append(s("defs", {}, s("marker", { id: "arr" + cur, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 5, markerHeight: 5, orient: "auto" }, s("path", { d: "M0,0L10,5L0,10z", fill: "#4a6fa5" }))));
  const edges = Object.entries(run.network), wmax = Math.max(1, ...edges.map(([, w]) => w));
  const rmax = Math.max(1, ...run.agents.map((a) => a.revenue));
  const rad = (a) => 9 + 14 * Math.sqrt(Math.max(0, a.revenue) / rmax);
  const byId = Object.fromEntries(run.agents.map((a) => [a.id, a]));
  const kinds = [...new Set(run.agents.map((a) => a.label))];
  const fill = (a) => (kinds.length > 1 ? PALETTE[kinds.indexOf(a.label) % PALETTE.length] : "#c6dbef");
  for (const [key, w] of edges) {
    const [from, to] = key.split(">");
    if (!pos[from] || !pos[to]) continue;
    const [x1, y1] = pos[from], [x2, y2] = pos[to], dx = x2 - x1, dy = y2 - y1, L = Math.hypot(dx, dy) || 1;
    const r2 = rad(byId[to]) + 2, bend = 0.12;
    const mx = (x1 + x2) / 2 - dy * bend, my = (y1 + y2) / 2 + dx * bend;
    const ex = x2 - (dx / L) * r2, ey = y2 - (dy / L) * r2;
    g.append(s("path", { d: `M${x1},${y1} Q${mx},${my} ${ex},${ey}`, fill: "none", stroke: "#4a6fa5", "stroke-opacity": 0.55, "stroke-width": 0.6 + (5 * w) / wmax, "marker-end": `url(#arr${cur})` }, s("title", {}, `${from} → ${to}: ${w} piece(s)`)));
  }
  for (const a of run.agents) {
    const [x, y] = pos[a.id];
    g.append(s("circle", { cx: x, cy: y, r: rad(a), fill: fill(a), stroke: "#08519c" }, s("title", {}, `${a.id} (${a.label}): revenue ${fmt(a.revenue)}, ${a.tasks} task(s)`)));
    g.append(s("text", { x, y: y + 4, "text-anchor": "middle", "font-weight": 700 }, a.id.replace("agent_", "")));
  }
  return g;
}
function keyval(obj) {
  return h("table", {}, Object.entries(obj).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v !== null && typeof v === "object" && !Array.isArray(v) ? keyval(v) : typeof v === "object" ? JSON.stringify(v) : fmt(v)))));
}
function where(seq, text) {
  const n = seqTurn(RUNS[cur])[seq];
  return n === undefined ? text : h("a", { href: "#", on: { click: (e) => { e.preventDefault(); openTurn(n); } } }, text);
}
function overview() {
  const run = RUNS[cur], el = document.getElementById("overview");
  el.replaceChildren();
  const sm = run.summary;
  const head = h("div", { class: "card" }, h("h2", {}, "Run"), keyval({ run_id: run.run_id, population: run.model, condition: run.condition, seed: run.seed, setting: run.setting ?? "—", mode: run.mode ?? "—", folder: run.folder, prompts: run.prompt_note }),
    run.note ? h("div", { class: "scripted" }, "[" + run.note + "]") : h("div", { class: "note" }, "model agents"));
  const keys = ["tasks", "pct_optimal", "agent_turns", "messages", "messages_delivered", "lost_turns", "parse_errors", "parse_ambiguities", "invalid_actions", "provider_errors", "refusals", "manipulated_values", "llm_calls", "input_tokens", "output_tokens", "cost_usd", "degraded"];
  const sum = h("div", { class: "card" }, h("h2", {}, "Summary"), keyval(Object.fromEntries(keys.filter((k) => k in sm).map((k) => [k, sm[k]]))));
  const prov = h("div", { class: "card" }, h("h2", {}, "Provenance"), keyval(run.provenance), h("details", {}, h("summary", {}, "configuration"), keyval(run.config)));
  const rounds = h("div", { class: "card" }, h("h2", {}, "Tasks completed per round"), bars(run.rounds, "tasks", "round", "#6a9fd4"));
  const rev = h("div", { class: "card" }, h("h2", {}, "Revenue per agent"), bars(run.agents, "revenue", "id", "#74b49b"),
    h("div", { class: "note" }, run.agents.map((a) => `${a.id.replace("agent_", "")}: ${a.label}`).join(" · ")));
  const net = h("div", { class: "card" }, h("h2", {}, "Who sent pieces to whom"), network(run), h("div", { class: "note" }, "arrow width = pieces sent; node size = final revenue; hover for counts" + (new Set(run.agents.map((a) => a.label)).size > 1 ? "; node colour = the agent's own label (see revenue)" : "")));
  const rows = run.tasks.map((t) => h("tr", {}, h("td", {}, t.task), h("td", {}, t.owner), h("td", { class: "num" }, t.dealt),
    t.pieces.map((p) => h("td", { class: p.got ? "" : "miss" }, p.piece, h("br"), p.asked ? where(p.asked[2], `asked r${p.asked[0]} of ${p.asked[1]}`) : "never asked", " · ", p.got ? where(p.got[2], `got r${p.got[0]} from ${p.got[1]}`) : "never got")),
    h("td", {}, t.submitted ? where(t.submitted[2], `r${t.submitted[0]}, paid ${fmt(t.submitted[1])}`) : "open at the end")));
  const tasks = h("div", { class: "card" }, h("h2", {}, `Each task's path (${run.tasks.length} tasks)`), h("div", { class: "tasks" }, h("table", {}, h("tr", {}, ["task", "owner", "dealt", "piece 1", "piece 2", "piece 3", "piece 4", "submitted"].map((x) => h("th", {}, x))), rows)));
  el.append(h("div", { class: "grid" }, head, sum, rounds, rev, net, prov), h("div", { style: "margin-top:14px" }, tasks));
}

// ---- turns
const seqMaps = {};
function seqTurn(run) {
  if (!seqMaps[run.run_id + run.folder]) {
    const m = {};
    for (const it of turnsOf(run)) for (const ev of it.events) m[ev[0]] = it.n;
    seqMaps[run.run_id + run.folder] = m;
  }
  return seqMaps[run.run_id + run.folder];
}
function marked(text, spans) {
  const div = h("div", { class: "thought" });
  let at = 0;
  for (const [a, b, cls] of spans) {
    if (a < at) continue;
    div.append(text.slice(at, a), h("mark", { class: cls, title: cls }, text.slice(a, b)));
    at = b;
  }
  div.append(text.slice(at));
  return div;
}
function evList(evs) {
  return h("ul", { class: "ev" }, evs.map(([, kind, text]) => h("li", { class: BAD.has(kind) ? "bad" : "" }, h("span", { class: "kind" }, kind), text)));
}
async function detail(run, it, box) {
  const acts = it.events.filter((e) => ACTIONS.has(e[1]));
  const rest = it.events.filter((e) => !ACTIONS.has(e[1]) && e[1] !== "turn_start" && e[1] !== "agent_reply");
  const pbox = h("div", {}, h("span", { class: "note" }, "rebuilding…"));
  box.append(h("h3", {}, "Messages the agent was sent"), h("div", { class: "note" }, run.prompt_note + (run.scripted && it.raw === null ? " (an in-process scripted agent reads the state directly: this is what a model in its seat would have read)" : "")), pbox);
  box.append(h("h3", {}, "Private thoughts"), it.thoughts ? marked(it.thoughts, it.spans || []) : h("div", { class: "note" }, "none"));
  if (it.reasoning) box.append(h("h3", {}, "Provider reasoning"), h("pre", {}, it.reasoning));
  box.append(h("h3", {}, "Raw reply"), it.raw === null || it.raw === undefined ? h("div", { class: "note" }, "none (scripted in process, or the turn was lost)") : h("pre", {}, it.raw));
  box.append(h("h3", {}, `Parsed actions (${acts.length})`), acts.length ? evList(acts) : h("div", { class: "note" }, "none"));
  box.append(h("h3", {}, "What followed"), rest.length ? evList(rest) : h("div", { class: "note" }, "nothing else"));
  const P = await prompts(RUNS.indexOf(run));
  pbox.replaceChildren();
  if (!P) { pbox.append(h("div", { class: "note" }, "not available")); return; }
  for (const [role, refs] of P.prompts[it.n]) pbox.append(h("div", { class: "note" }, role), promptText(unpack(P, refs)));
  const next = turnsOf(run).find((t) => t.n > it.n && t.agent === it.agent);
  if (!next) return;
  const seen = new Set(notices(P, it.n));
  const fresh = notices(P, next.n).filter((line) => !seen.has(line));
  box.append(h("h3", {}, `New system notices at its next turn (#${next.n}, round ${next.round})`),
    fresh.length ? h("ul", { class: "ev" }, fresh.map((line) => h("li", { class: /penalty/i.test(line) ? "bad" : "" }, line))) : h("div", { class: "note" }, "none"));
}
function notices(P, n) {
  const user = P.prompts[n].find(([role]) => role === "user");
  const lines = user ? unpack(P, user[1]).split("\n") : [];
  const at = lines.findIndex((l) => l.trim() === DATA.notices_header);
  const out = [];
  for (const l of at < 0 ? [] : lines.slice(at + 1)) {
    if (DATA.headers.includes(l.trim())) break;
    if (l.trim()) out.push(l.trim());
  }
  return out;
}
function badges(it) {
  const out = (it.classes || []).map((c) => h("span", { class: "badge " + c }, c));
  const kinds = new Set(it.events.map((e) => e[1]));
  for (const k of kinds) if (BAD.has(k)) out.push(h("span", { class: "badge bad" }, k));
  if (it.instant) out.push(h("span", { class: "badge" }, "instant reply"));
  return out;
}
function itemRow(run, it) {
  if (it.type === "round") return h("div", { class: "item round", "data-round": it.round }, it.events.map(([, kind, text]) => h("div", {}, h("span", { class: "kind" }, kind), text)));
  const acts = it.events.filter((e) => ACTIONS.has(e[1])).length;
  const box = h("div", { class: "detail", hidden: true });
  const row = h("div", { class: "item turn", id: `t${RUNS.indexOf(run)}-${it.n}` },
    h("div", { class: "head", on: { click: () => toggle(run, it, row, box) } },
      h("span", { class: "note" }, `r${it.round} #${it.n}`), h("span", { class: "who" }, `${it.agent} · ${it.label}`), h("span", { class: "badge" }, `${acts} action(s)`), badges(it),
      h("span", { class: "snip" }, it.thoughts || (it.events.find((e) => ACTIONS.has(e[1])) || [0, 0, ""])[2])), box);
  return row;
}
function toggle(run, it, row, box) {
  const open = box.hidden;
  box.hidden = !open;
  row.classList.toggle("open", open);
  if (open && !box.childElementCount) detail(run, it, box);
}
function buildTurns() {
  const run = RUNS[cur], el = document.getElementById("turns");
  el.replaceChildren();
  const agent = h("select", { id: "f-agent" }, h("option", { value: "" }, "every agent"), run.agents.map((a) => h("option", { value: a.id }, `${a.id} (${a.label})`)));
  const round = h("select", { id: "f-round" }, h("option", { value: "" }, "every round"), run.rounds.map((r) => h("option", { value: r.round }, `round ${r.round}`)));
  const kind = h("select", { id: "f-kind" }, h("option", { value: "" }, "any event kind"), Object.entries(run.kinds).map(([k, n]) => h("option", { value: k }, `${k} (${n})`)));
  const text = h("input", { type: "search", id: "f-text", placeholder: "search messages and thoughts" });
  const count = h("span", { class: "count" });
  const J = run.jumps;
  const jump = (label, n) => h("button", { class: "jump", disabled: n === null || n === undefined, on: { click: () => openTurn(n) } }, label);
  const fails = J.failed_submissions.length ? J.failed_submissions.map((n, k) => jump(`failed submission ${k + 1}`, n)) : [h("span", { class: "note" }, "no failed submission")];
  const controls = h("div", { class: "controls" }, agent, round, kind, text, count, jump("first withholding thought", J.withholding), jump("first unanswered request", J.unanswered), fails);
  const list = h("div", { id: "list" });
  el.append(controls, list);
  const rows = run.items.map((it) => [it, itemRow(run, it)]);
  list.append(...rows.map(([, r]) => r));
  const hay = rows.map(([it]) => [it.thoughts || "", it.raw || "", ...it.events.map((e) => e[2])].join("\n").toLowerCase());
  const apply = () => {
    const a = agent.value, r = round.value, k = kind.value, q = text.value.trim().toLowerCase();
    let shown = 0;
    rows.forEach(([it, row], i) => {
      const ok = (!a || it.agent === a) && (!r || String(it.round) === r) && (!k || it.events.some((e) => e[1] === k)) && (!q || hay[i].includes(q));
      row.hidden = !ok;
      shown += ok && it.type === "turn";
    });
    count.textContent = `${shown} of ${run.n_turns} turns`;
  };
  for (const c of [agent, round, kind]) c.addEventListener("change", apply);
  text.addEventListener("input", apply);
  apply();
}
function openTurn(n, runIndex) {
  if (runIndex !== undefined && runIndex !== cur) switchRun(runIndex);
  show("turns");
  const row = document.getElementById(`t${cur}-${n}`);
  if (!row) return;
  for (const id of ["f-agent", "f-round", "f-kind", "f-text"]) document.getElementById(id).value = "";
  document.getElementById("f-text").dispatchEvent(new Event("input"));
  const box = row.querySelector(".detail");
  if (box.hidden) row.querySelector(".head").click();
  const top = row.getBoundingClientRect().top;
  if (top < 60 || top > innerHeight / 2) row.scrollIntoView({ block: "start" });
}

// ---- two runs
function buildCompare() {
  const el = document.getElementById("compare");
  const C = DATA.compare;
  if (!C) return;
  const [A, B] = RUNS, ta = turnsOf(A), tb = turnsOf(B);
  const card = h("div", { class: "card" }, h("h2", {}, "Where the histories part"),
    h("p", {}, C.same_seed ? `Same seed (${A.seed}). ` : `Different seeds (${A.seed} and ${B.seed}): their deals differ from the start. `,
      C.first === null ? "The two histories are identical, turn for turn." : `Identical for the first ${C.first} turn(s); they part at turn #${C.first} (round ${C.round}).`),
    C.settings.length ? h("table", {}, h("tr", {}, h("th", {}, "setting"), h("th", {}, `A: ${A.condition}`), h("th", {}, `B: ${B.condition}`)), C.settings.map(([k, a, b]) => h("tr", {}, h("td", {}, k), h("td", {}, JSON.stringify(a)), h("td", {}, JSON.stringify(b))))) : h("div", { class: "note" }, "no setting differs"));
  const lo = Math.max(0, (C.first ?? 0) - 2), hi = (C.first ?? 0) + 8;
  const col = (run, ts, i) => h("div", {}, h("h3", {}, `${"AB"[i]}: ${run.model} · ${run.condition}`), ts.slice(lo, hi).map((it) => {
    const r = itemRow(run, it);
    r.removeAttribute("id");
    if (it.n === C.first) r.classList.add("diff");
    r.querySelector(".head").addEventListener("click", (e) => { e.stopImmediatePropagation(); openTurn(it.n, i); }, true);
    return r;
  }));
  const side = h("div", { class: "card" }, h("h2", {}, `Turns #${lo}–#${hi - 1} side by side (click one to open it in its run)`), h("div", { class: "side" }, col(A, ta, 0), col(B, tb, 1)));
  const cum = [0, 0];
  const rows = C.rounds.map((r) => { cum[0] += r.a.tasks; cum[1] += r.b.tasks; return h("tr", {}, h("td", {}, r.round), [r.a.tasks, r.b.tasks, cum[0], cum[1], r.a.messages, r.b.messages, r.a.transfers, r.b.transfers].map((x) => h("td", { class: "num" }, x))); });
  const table = h("div", { class: "card" }, h("h2", {}, "Round by round"), cumulative(C.rounds, [A, B]), h("table", {}, h("tr", {}, ["round", "tasks A", "tasks B", "total A", "total B", "messages A", "messages B", "pieces sent A", "pieces sent B"].map((x) => h("th", {}, x))), rows));
  el.append(card, side, table);
}

function cumulative(rounds, runs) {
  const W = 440, H = 170, pad = 34, colors = ["#3b6fb6", "#d9822b"];
  const series = ["a", "b"].map((k) => rounds.reduce((acc, r) => [...acc, (acc.at(-1) || 0) + r[k].tasks], []));
  const max = Math.max(1, ...series.flat()), n = Math.max(1, rounds.length - 1);
  const g = s("svg", { width: "100%", viewBox: `0 0 ${W} ${H + 24}`, role: "img", style: `max-width:${W}px` });
  g.append(s("line", { x1: pad, y1: H, x2: W - 4, y2: H, stroke: "#999" }), s("text", { x: 2, y: 12 }, `${max} tasks`));
  series.forEach((ys, i) => {
    const pts = ys.map((y, k) => `${pad + ((W - pad - 8) * k) / n},${H - ((H - 20) * y) / max}`).join(" ");
    g.append(s("polyline", { points: pts, fill: "none", stroke: colors[i], "stroke-width": 2 }));
    g.append(s("text", { x: pad + 8, y: 30 + 14 * i, style: `fill:${colors[i]}` }, `${"AB"[i]}: ${runs[i].condition} (${ys.at(-1) ?? 0})`));
  });
  g.append(s("text", { x: pad, y: H + 16 }, "round 1"), s("text", { x: W - 4, y: H + 16, "text-anchor": "end" }, `round ${rounds.length}`));
  return h("div", {}, h("div", { class: "note" }, "tasks completed so far"), g);
}

// ---- tabs and runs
function show(tab) {
  for (const t of document.querySelectorAll("section.tab")) t.classList.toggle("on", t.id === tab);
  for (const b of document.querySelectorAll("nav button[data-tab]")) b.classList.toggle("on", b.dataset.tab === tab);
}
function switchRun(i) {
  cur = i;
  for (const b of document.querySelectorAll("nav button[data-run]")) b.classList.toggle("on", Number(b.dataset.run) === i);
  document.getElementById("title").textContent = `${RUNS[i].model} · ${RUNS[i].condition} · seed ${RUNS[i].seed}`;
  overview();
  buildTurns();
}
for (const b of document.querySelectorAll("nav button[data-tab]")) b.addEventListener("click", () => show(b.dataset.tab));
for (const b of document.querySelectorAll("nav button[data-run]")) b.addEventListener("click", () => switchRun(Number(b.dataset.run)));
switchRun(0);
buildCompare();
const hash = new URLSearchParams(location.hash.slice(1));
if (hash.has("turn")) openTurn(Number(hash.get("turn")), Number(hash.get("run") || 0));
else if (hash.has("tab")) show(hash.get("tab"));
