// graphscore serve: the page. Talks only to this server's /api (see /openapi.json); the network
// is drawn by the bundled Cytoscape.js (vendor/), nothing is fetched from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  info: null, entity: null, expanded: new Set(), whatif: null, showWhatif: true,
  hiddenTypes: new Set(), pathEdges: new Set(), generation: 0,
};
const TYPE_COLOURS = { OWNS: "#4e79a7", OFFICER_OF: "#59a14f", CONTROLS: "#b07aa1", FAMILY: "#e15759",
                       ASSOCIATE: "#9c755f" };
const COLOURS = { own: "#d62728", inherited: "#ff9f1c", none: "#9aa5b1", changed: "#1f5fbf" };
// Scores below this print and colour as zero: the solvers' residue is ~1e-9 per unit of penalty.
const RESOLUTION = 1e-6;

// ---- API ---------------------------------------------------------------------------------------
function params(extra = {}) {
  const p = new URLSearchParams({ policy: $("policy").value, ...extra });
  if ($("asof").value) p.set("as_of", $("asof").value);
  return p;
}
async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    throw new Error(detail || response.statusText);
  }
  return body;
}
function showError(error) {
  $("status").innerHTML = `<span class="error">${escapeHtml(error.message || String(error))}</span>`;
}
function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function fmt(x) {
  if (x === null || x === undefined) return "–";
  return Math.abs(x) < RESOLUTION ? "0" : Number(x.toPrecision(4)).toString();
}
function pct(x) { return x === null || x === undefined ? "–" : `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`; }

// ---- the network -------------------------------------------------------------------------------
const cy = cytoscape({
  container: $("graph"),
  maxZoom: 4,
  style: [
    { selector: "node", style: {
        "background-color": "data(colour)", "label": "data(label)", "width": "data(size)", "height": "data(size)",
        "font-size": 10, "text-valign": "bottom", "text-margin-y": 3, "text-wrap": "ellipsis",
        "text-max-width": 140, "text-background-color": "#fff", "text-background-opacity": 0.75,
        "text-background-padding": 1, "min-zoomed-font-size": 6,
        "border-width": "data(border)", "border-color": COLOURS.changed } },
    { selector: "node[kind = 'person']", style: { "shape": "ellipse" } },
    { selector: "node[kind = 'company']", style: { "shape": "round-rectangle" } },
    { selector: "node[kind = 'organization']", style: { "shape": "diamond" } },
    { selector: "node.center", style: { "font-weight": "bold", "font-size": 12 } },
    { selector: "node.more", style: { "shape": "round-tag", "background-color": "#e3e6ea", "width": 26,
                                       "height": 26, "border-width": 1, "border-color": "#9aa5b1" } },
    { selector: "edge", style: {
        "curve-style": "bezier", "width": 1.5, "line-color": "data(colour)", "target-arrow-color": "data(colour)",
        "target-arrow-shape": "triangle", "arrow-scale": 0.8, "label": "data(label)", "font-size": 8,
        "text-rotation": "autorotate", "color": "#444", "min-zoomed-font-size": 7,
        "text-background-color": "#fff", "text-background-opacity": 0.8, "text-background-padding": 1 } },
    { selector: "edge.path", style: { "width": 4.5, "line-color": "#222", "target-arrow-color": "#222" } },
    { selector: ".filtered", style: { "display": "none" } },
    { selector: ":selected", style: { "overlay-color": "#1f5fbf", "overlay-opacity": 0.15 } },
  ],
});

function shown(node) {
  // the figures a node is drawn with: the what-if's when one is shown
  const w = state.whatif && state.showWhatif ? state.whatif.scores[node.id] : null;
  if (w) return { total: w.after, own: w.own_after, changed: Math.abs(w.delta) >= RESOLUTION };
  return { total: node.total, own: node.own, changed: false };
}
function category(figures) {
  if ((figures.own || 0) >= RESOLUTION) return "own";
  if ((figures.total || 0) >= RESOLUTION) return "inherited";
  return "none";
}
function restyle() {
  const nodes = cy.nodes().not(".more");
  const max = Math.max(RESOLUTION, ...nodes.map((n) => shown(n.data("row")).total || 0));
  nodes.forEach((n) => {
    const f = shown(n.data("row"));
    const cat = category(f);
    n.data({ colour: COLOURS[cat], category: cat, score: f.total,
             size: 18 + 42 * Math.sqrt(Math.min(Math.max(f.total || 0, 0) / max, 1)), border: f.changed ? 5 : 0 });
  });
  updateStatus();
}
function addRows(rows) {
  const added = [];
  for (const row of rows) {
    if (cy.getElementById(row.id).nonempty()) { cy.getElementById(row.id).data("row", row); continue; }
    added.push(cy.add({ group: "nodes", data: { id: row.id, label: row.name, kind: row.kind, row } }));
  }
  return added;
}
function addLinks(links) {
  for (const link of links) {
    if (cy.getElementById(link.id).nonempty()) continue;
    if (cy.getElementById(link.source).empty() || cy.getElementById(link.target).empty()) continue;
    cy.add({ group: "edges", data: { ...link, colour: TYPE_COLOURS[link.type] || "#888" } });
  }
}
function addMore(center, hidden) {
  const id = `more:${center}`;
  cy.getElementById(id).remove();
  if (!hidden.count) return;
  const types = Object.entries(hidden.by_type).map(([t, n]) => `${n} ${t}`).join(", ");
  cy.add({ group: "nodes", classes: "more", data: { id, label: `+${hidden.count} more (${types})`, owner: center } });
  cy.add({ group: "edges", data: { id: `${id}|edge`, source: center, target: id, colour: "#c2c8d0", label: "" } });
}
function layout(fit = true) {
  // rings by distance from the opened entity, each neighbour's own neighbours beside it: no
  // overlaps, and the same picture for the same view (a force layout moved it at every expand)
  const center = state.entity ? cy.getElementById(state.entity.id) : cy.nodes().first();
  cy.elements().not(".filtered").layout({ name: "breadthfirst", circle: true, roots: center, directed: false,
                                          spacingFactor: 1.1, avoidOverlap: true, animate: false, fit,
                                          padding: 30 }).run();
  // a handful of nodes fitted to the screen would be drawn huge
  if (fit && cy.zoom() > 1.3) { cy.zoom(1.3); cy.center(); }
}

function applyFilters() {
  cy.edges().forEach((e) => e.toggleClass("filtered", state.hiddenTypes.has(e.data("type"))));
  const center = state.entity && state.entity.id;
  cy.nodes().not(".more").forEach((n) => {
    const visible = n.id() === center || n.connectedEdges().not(".filtered").nonempty();
    n.toggleClass("filtered", !visible);
  });
  updateStatus();
}
function updateStatus() {
  // counted by class, not ":visible", which follows the style a frame later
  const nodes = cy.nodes().not(".more, .filtered").length;
  const links = cy.edges().not(".filtered").filter((e) => !e.target().hasClass("more")).length;
  const status = $("status");
  status.dataset.nodes = nodes;
  status.dataset.links = links;
  status.dataset.whatif = state.whatif && state.showWhatif ? "on" : "off";
  status.textContent = `${nodes} entities, ${links} links drawn` +
    (state.entity ? ` · ${state.entity.name} under ${$("policy").value} as of ${state.asOf}` : "");
}

async function expand(id) {
  const generation = state.generation;
  const data = await api(`/api/neighbours/${encodeURIComponent(id)}?${params()}`);
  if (generation !== state.generation || cy.getElementById(id).empty()) return;
  const added = addRows(data.nodes);
  addLinks(data.links);
  addMore(id, data.hidden);
  state.expanded.add(id);
  if (state.whatif) await refreshWhatif();
  restyle();
  applyFilters();
  if (added.length) layout(true);
}

// ---- opening an entity -------------------------------------------------------------------------
async function openEntity(id, { keepExpanded = false } = {}) {
  const previous = keepExpanded ? [...state.expanded] : [];
  const generation = ++state.generation;
  const data = await api(`/api/entity/${encodeURIComponent(id)}?${params()}`);
  if (generation !== state.generation) return;  // a later date, policy or entity was asked for
  const d = data.dossier;
  state.entity = { id, name: d.entity.name || id, dossier: d };
  state.asOf = d.manifest.as_of;
  if (!$("asof").value) $("asof").value = state.asOf;
  cy.elements().remove();
  state.expanded = new Set([id]);
  addRows(data.graph.nodes);
  addLinks(data.graph.links);
  addMore(id, data.graph.hidden);
  cy.getElementById(id).addClass("center");
  for (const other of previous) if (other !== id && cy.getElementById(other).nonempty()) await expand(other);
  if (state.whatif) await refreshWhatif();
  restyle();
  applyFilters();
  layout(true);
  renderPanel();
  showPaths(id, generation).catch(showError);
  history.replaceState(null, "", `?${new URLSearchParams({ entity: id, policy: $("policy").value, as_of: state.asOf })}`);
}

async function showPaths(id, generation) {
  // drawn after the entity: tracing them costs as much as the dossier
  const data = await api(`/api/paths/${encodeURIComponent(id)}?${params()}`);
  if (generation !== state.generation) return;
  const added = addRows(data.nodes);
  addLinks(data.links);
  state.pathEdges = new Set(data.links.map((l) => l.id));
  cy.edges().forEach((e) => e.toggleClass("path", state.pathEdges.has(e.id())));
  if (state.whatif && added.length) await refreshWhatif();
  restyle();
  applyFilters();
  if (added.length) layout(true);
  $("status").dataset.paths = data.links.length;
}

function table(rows, columns) {
  if (!rows || !rows.length) return "<p class=\"meta\">none</p>";
  const head = columns.map(([, label, cls]) => `<th class="${cls || ""}">${label}</th>`).join("");
  const body = rows.map((r) => `<tr>${columns.map(([key, , cls, f]) =>
    `<td class="${cls || ""}">${f ? f(r[key], r) : escapeHtml(r[key])}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
const entityLink = (id, name) => `<a href="#" data-open="${escapeHtml(id)}">${escapeHtml(name || id)}</a>`;

function renderPanel() {
  const d = state.entity.dossier, e = d.entity, s = d.score;
  const w = state.whatif && state.whatif.scores[e.id];
  const report = `/api/report/dossier/${encodeURIComponent(e.id)}.html?${params()}`;
  $("panel").innerHTML = `
    <h2 id="entity-name">${escapeHtml(e.name || e.id)}</h2>
    <div class="meta">${escapeHtml(e.kind)} · ${escapeHtml(e.jurisdiction || "–")} · <code>${escapeHtml(e.id)}</code>
      · <a href="${report}" target="_blank" rel="noopener">dossier report</a></div>
    <div class="scores">
      <div>own<b id="score-own">${fmt(s.own)}</b></div>
      <div>inherited<b id="score-inherited">${fmt(s.inherited)}</b></div>
      <div>total<b id="score-total">${fmt(s.total)}</b></div>
      ${w ? `<div>what-if total<b id="score-whatif">${fmt(w.after)}</b></div>` : ""}
    </div>
    <h3>What-if</h3>
    <button type="button" id="lift-all">Lift all its penalties</button>
    <label>severity <input id="severity" type="number" min="0.01" step="0.1" value="1" style="width:4rem"></label>
    <button type="button" id="add-penalty">Add a penalty</button>
    <h3>Own penalties</h3>
    ${table(d.penalties, [["kind", "kind"], ["authority", "authority"],
      ["start", "in force", "", (v, r) => `${escapeHtml(v)} – ${escapeHtml(r.end || "")}`],
      ["id", "", "", (v, r) => (r.active ? `<button type="button" data-lift="${escapeHtml(v)}">lift</button>`
                                        : "<span class=\"meta\">not in force</span>")]])}
    <h3>Inherited exposure by source</h3>
    ${table(d.exposure, [["source_name", "from", "", (v, r) => entityLink(r.source, v)],
      ["contribution", "amount", "num", fmt], ["share", "share", "num", pct], ["strongest_path", "strongest path"]])}
    ${d.exposure_count > d.exposure.length ? `<p class="meta" id="exposure-shown">the largest ${d.exposure.length} of
      ${d.exposure_count} sources <button type="button" id="more-exposure">more</button></p>` : ""}
    <h3>Owners</h3>
    ${table(d.owners, [["name", "owner", "", (v, r) => entityLink(r.id, v)], ["share", "share", "num", pct],
      ["start", "since"]])}
    <h3>Ultimate owners</h3>
    ${table(d.ultimate_owners, [["name", "owner", "", (v, r) => entityLink(r.id, v)], ["stake", "stake", "num", pct],
      ["chains", "chains"]])}
    <h3>Officers</h3>
    ${table(d.officers, [["name", "officer", "", (v, r) => entityLink(r.id, v)], ["role", "role"],
      ["other_companies", "other companies"]])}
    <h3>Holdings and roles</h3>
    ${table(d.holdings, [["name", "entity", "", (v, r) => entityLink(r.id, v)], ["type", "link"], ["role", "role"],
      ["share", "share", "num", pct]])}
    ${d.notes.length ? `<h3>Notes</h3><ul>${d.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : ""}`;
  $("lift-all").onclick = () => runWhatif({ lift_entity: e.id }).catch(showError);
  if ($("more-exposure")) $("more-exposure").onclick = () => moreExposure().catch(showError);
  $("add-penalty").onclick = () => runWhatif({ penalize: e.id, severity: Number($("severity").value) || 1 })
    .catch(showError);
  $("panel").querySelectorAll("[data-lift]").forEach((b) => {
    b.onclick = () => runWhatif({ lift: b.dataset.lift }).catch(showError);
  });
  $("panel").querySelectorAll("[data-open]").forEach((a) => {
    a.onclick = (ev) => { ev.preventDefault(); openEntity(a.dataset.open).catch(showError); };
  });
}

async function moreExposure() {  // the next page of sources, from the explanation the server keeps
  const d = state.entity.dossier;
  const data = await api(`/api/exposure/${encodeURIComponent(state.entity.id)}?${params(
    { offset: d.exposure.length, limit: 200 })}`);
  d.exposure = d.exposure.concat(data.rows);
  renderPanel();
}

// ---- what-if -----------------------------------------------------------------------------------
async function refreshWhatif() {
  const request = { ...state.whatif.request, policy: $("policy").value, as_of: $("asof").value || null,
                    ids: cy.nodes().not(".more").map((n) => n.id()), top: 3 };  // the summary names three
  const data = await api("/api/whatif", { method: "POST", headers: { "content-type": "application/json" },
                                          body: JSON.stringify(request) });
  state.whatif = { request: state.whatif.request, ...data };
}
async function runWhatif(request) {
  state.whatif = { request };
  state.showWhatif = true;
  $("whatif-show").checked = true;
  await refreshWhatif();
  const w = state.whatif;
  $("whatif-bar").hidden = false;
  $("whatif-label").textContent = w.label;
  $("whatif-summary").textContent = `${w.changed} entities change; largest: ` +
    w.top.slice(0, 3).map((r) => `${r.name} ${fmt(r.before)} → ${fmt(r.after)}`).join("; ");
  $("whatif-note").textContent = w.note;  // how it was computed: local push or a solve, and its bound
  $("whatif-report").href = `/api/report/whatif.html?${params(Object.fromEntries(
    Object.entries(request).filter(([, v]) => v !== undefined && v !== null)))}`;
  restyle();
  renderPanel();
}
$("whatif-show").onchange = () => { state.showWhatif = $("whatif-show").checked; restyle(); };
$("whatif-clear").onclick = () => {
  state.whatif = null;
  $("whatif-bar").hidden = true;
  restyle();
  if (state.entity) renderPanel();
};

// ---- search ------------------------------------------------------------------------------------
let searchTimer = null, searchSeq = 0;
$("q").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => search($("q").value).catch(showError), 150);
});
$("q").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter") {
    const first = $("results").querySelector("li[data-id]");
    if (first) first.click();
  } else if (ev.key === "Escape") $("results").hidden = true;
});
async function search(text) {
  const seq = ++searchSeq;
  if (!text.trim()) { $("results").hidden = true; return; }
  const data = await api(`/api/search?${params({ q: text })}`);
  if (seq !== searchSeq) return;  // a later keystroke's answer wins
  const list = $("results");
  list.innerHTML = data.results.length ? data.results.map((r) => `
    <li data-id="${escapeHtml(r.id)}" role="option"><span class="dot ${category(r)}"></span>${escapeHtml(r.name)}
      <div class="meta">${escapeHtml(r.kind)} · ${escapeHtml(r.jurisdiction || "–")} · score ${fmt(r.total)}
        · <code>${escapeHtml(r.id)}</code></div></li>`).join("") : "<li>none</li>";
  list.hidden = false;
  list.querySelectorAll("li[data-id]").forEach((li) => {
    li.onclick = () => { list.hidden = true; openEntity(li.dataset.id).catch(showError); };
  });
}

// ---- controls ----------------------------------------------------------------------------------
cy.on("tap", "node", (ev) => {
  const node = ev.target;
  const id = node.hasClass("more") ? node.data("owner") : node.id();
  if (node.hasClass("more")) {
    api(`/api/neighbours/${encodeURIComponent(id)}?${params({ limit: 5000 })}`).then((data) => {
      addRows(data.nodes);
      addLinks(data.links);
      node.connectedEdges().remove();
      node.remove();
      restyle(); applyFilters(); layout(true);
    }).catch(showError);
  } else if (!state.expanded.has(id)) expand(id).catch(showError);
});
cy.on("dbltap", "node", (ev) => { if (!ev.target.hasClass("more")) openEntity(ev.target.id()).catch(showError); });
$("policy").onchange = () => { if (state.entity) openEntity(state.entity.id, { keepExpanded: true }).catch(showError); };
$("asof").onchange = () => { if (state.entity) openEntity(state.entity.id, { keepExpanded: true }).catch(showError); };

function download(name, blob) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
function stem() { return `graphscore-${state.entity ? state.entity.id : "view"}-${state.asOf || ""}`; }
$("export-png").onclick = () => download(`${stem()}.png`, cy.png({ output: "blob", full: true, bg: "#ffffff", scale: 2 }));
$("export-svg").onclick = () => download(`${stem()}.svg`, new Blob([toSvg()], { type: "image/svg+xml" }));
$("export-json").onclick = () => download(`${stem()}.json`, new Blob([JSON.stringify(viewJson(), null, 2)],
                                                                     { type: "application/json" }));

function viewJson() {
  return {
    format: "graphscore.view/1", policy: $("policy").value, as_of: state.asOf, entity: state.entity && state.entity.id,
    whatif: state.whatif ? { label: state.whatif.label, request: state.whatif.request } : null,
    nodes: cy.nodes(":visible").not(".more").map((n) => ({ ...n.data("row"), category: n.data("category"),
                                                          shown_score: n.data("score"), position: n.position() })),
    links: cy.edges(":visible").filter((e) => !e.target().hasClass("more")).map((e) => {
      const { colour, ...link } = e.data();
      return { ...link, on_path: e.hasClass("path") };
    }),
  };
}
// The drawing as SVG from Cytoscape's positions (the cytoscape-svg extension is GPL: not bundled).
function toSvg() {
  const box = cy.elements(":visible").boundingBox({ includeLabels: true });
  const pad = 20, w = box.w + 2 * pad, h = box.h + 2 * pad, x0 = box.x1 - pad, y0 = box.y1 - pad;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="${x0} ${y0} ${w} ${h}"` +
    ` font-family="Noto Sans, Noto Sans CJK SC, DejaVu Sans, sans-serif"><rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="#fff"/>`];
  cy.edges(":visible").forEach((e) => {
    const a = e.source().position(), b = e.target().position();
    const width = e.hasClass("path") ? 4.5 : 1.5, colour = e.hasClass("path") ? "#222" : e.data("colour");
    parts.push(`<line x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" stroke="${colour}" stroke-width="${width}"/>`);
    if (e.data("label")) parts.push(`<text x="${(a.x + b.x) / 2}" y="${(a.y + b.y) / 2}" font-size="8" fill="#444"` +
      ` text-anchor="middle">${escapeHtml(e.data("label"))}</text>`);
  });
  cy.nodes(":visible").forEach((n) => {
    const p = n.position(), r = (n.data("size") || 26) / 2;
    const stroke = n.data("border") ? ` stroke="${COLOURS.changed}" stroke-width="${n.data("border")}"` : "";
    parts.push(`<circle cx="${p.x}" cy="${p.y}" r="${r}" fill="${n.data("colour") || "#e3e6ea"}"${stroke}/>`);
    parts.push(`<text x="${p.x}" y="${p.y + r + 11}" font-size="10" text-anchor="middle">${escapeHtml(n.data("label"))}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

// ---- start -------------------------------------------------------------------------------------
(async function start() {
  try {
    state.info = await api("/api/info");
    $("policy").innerHTML = state.info.policies.map((p) =>
      `<option value="${escapeHtml(p.name)}" title="${escapeHtml(p.description)}">${escapeHtml(p.name)} (${escapeHtml(p.model)})</option>`).join("");
    $("types").innerHTML += state.info.link_types.map((t) =>
      `<label><input type="checkbox" data-type="${escapeHtml(t)}" checked>
        <span style="color:${TYPE_COLOURS[t] || "#888"}">■</span> ${escapeHtml(t)}</label>`).join("");
    $("types").querySelectorAll("input[data-type]").forEach((box) => {
      box.onchange = () => {
        if (box.checked) state.hiddenTypes.delete(box.dataset.type); else state.hiddenTypes.add(box.dataset.type);
        applyFilters();
      };
    });
    const query = new URLSearchParams(location.search);
    if (query.get("policy")) $("policy").value = query.get("policy");
    $("asof").value = query.get("as_of") || state.info.policies[0].as_of;
    document.body.dataset.ready = "yes";
    if (query.get("entity")) await openEntity(query.get("entity"));
  } catch (error) { showError(error); }
})();
