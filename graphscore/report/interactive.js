// Interactivity of graphscore's HTML reports (graphscore/report/interactive.py): sortable and
// filterable tables, and the network view drawn with the inlined Cytoscape.js. Nothing is fetched.
(function () {
  "use strict";

  // ---- tables: click a header to sort, type to filter ------------------------------------------
  const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%?$/i;
  function key(cell) {
    const text = (cell ? cell.textContent : "").trim();
    return NUMBER.test(text.replace(/[,\s]/g, "")) ? parseFloat(text.replace(/[,\s%+]/g, "")) : text.toLowerCase();
  }
  function sortBy(table, th, column) {
    const ascending = th.classList.contains("sorted") && !th.classList.contains("ascending");
    table.querySelectorAll("thead th").forEach((h) => h.classList.remove("sorted", "ascending"));
    th.classList.add("sorted");
    if (ascending) th.classList.add("ascending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = key(a.cells[column]), y = key(b.cells[column]);
      // numbers before text (dashes for missing values go last either way)
      const order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
      return ascending ? order : -order;
    });
    rows.forEach((row) => body.appendChild(row));
  }
  document.querySelectorAll("main table").forEach((table) => {
    const body = table.tBodies[0];
    if (!body || body.rows.length < 2 || !table.tHead) return;
    const filter = document.createElement("input");
    filter.type = "search";
    filter.placeholder = `Filter ${body.rows.length} rows…`;
    filter.className = "gs-filter";
    filter.style.cssText = "margin:4px 0;padding:2px 6px;width:16em;font:inherit;font-size:12.5px";
    table.parentNode.insertBefore(filter, table);
    filter.addEventListener("input", () => {
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      for (const row of body.rows) {
        const text = row.textContent.toLowerCase();
        row.hidden = !words.every((w) => text.includes(w));
      }
    });
    table.tHead.querySelectorAll("th").forEach((th, column) => {
      th.style.cursor = "pointer";
      th.title = "Sort by this column";
      th.addEventListener("click", () => sortBy(table, th, column));
    });
  });

  // ---- the network -----------------------------------------------------------------------------
  const data = window.GS_NETWORK;
  const container = document.getElementById("gs-network");
  if (!data || !container || typeof cytoscape === "undefined") return;
  const COLOURS = { own: "#d62728", inherited: "#ff9f1c", none: "#9aa5b1" };
  const TYPES = { OWNS: "#4e79a7", OFFICER_OF: "#59a14f", CONTROLS: "#b07aa1", FAMILY: "#e15759", ASSOCIATE: "#9c755f" };
  const max = Math.max(1e-12, ...data.nodes.map((n) => n.value || 0));
  const label = (l) => [l.type + (l.count ? ` ×${l.count}` : ""), l.role && l.type !== "FAMILY" ? l.role : null,
                        l.share === null || l.share === undefined ? null : `${Math.round(100 * l.share)}%`]
    .filter(Boolean).join(" ");
  const cy = cytoscape({
    container,
    elements: [
      ...data.nodes.map((n) => ({ data: { ...n, colour: COLOURS[n.category] || COLOURS.none,
                                          size: 16 + 34 * Math.sqrt((n.value || 0) / max) } })),
      ...data.links.map((l, k) => ({ data: { id: `link${k}`, ...l, label: label(l), colour: TYPES[l.type] || "#888" } })),
    ],
    style: [
      { selector: "node", style: { "background-color": "data(colour)", "label": "data(name)", "width": "data(size)",
          "height": "data(size)", "font-size": 9, "text-valign": "bottom", "text-margin-y": 2,
          "text-wrap": "ellipsis", "text-max-width": 130, "min-zoomed-font-size": 6,
          "text-background-color": "#fff", "text-background-opacity": 0.7 } },
      { selector: "node[kind = 'company']", style: { "shape": "round-rectangle" } },
      { selector: "node[kind = 'organization']", style: { "shape": "diamond" } },
      { selector: "node.center", style: { "border-width": 3, "border-color": "#000", "font-weight": "bold" } },
      { selector: "edge", style: { "curve-style": "bezier", "width": 1.3, "line-color": "data(colour)",
          "target-arrow-color": "data(colour)", "target-arrow-shape": "triangle", "arrow-scale": 0.7,
          "label": "data(label)", "font-size": 7, "text-rotation": "autorotate", "color": "#555",
          "min-zoomed-font-size": 7, "text-background-color": "#fff", "text-background-opacity": 0.8 } },
      { selector: ".faded", style: { "opacity": 0.12 } },
      { selector: ".hidden", style: { "display": "none" } },
    ],
  });
  if (data.center) cy.getElementById(data.center).addClass("center");
  const root = data.center ? cy.getElementById(data.center) : cy.nodes().max((n) => n.data("value")).ele;
  cy.layout({ name: "breadthfirst", circle: true, roots: root, directed: false, spacingFactor: 1.05,
              avoidOverlap: true, animate: false, padding: 20 }).run();
  if (cy.zoom() > 1.4) { cy.zoom(1.4); cy.center(); }
  cy.on("tap", "node", (ev) => {
    const around = ev.target.closedNeighborhood();
    cy.elements().addClass("faded");
    around.removeClass("faded");
  });
  cy.on("tap", (ev) => { if (ev.target === cy) cy.elements().removeClass("faded"); });

  const controls = document.querySelector(".gs-network .gs-controls");
  const types = Array.from(new Set(data.links.map((l) => l.type)));
  controls.innerHTML = types.map((t) => `<label style="margin-right:12px"><input type="checkbox" data-type="${t}" checked>
    <span style="color:${TYPES[t] || "#888"}">&#9632;</span> ${t}</label>`).join("") +
    ' <button type="button" class="gs-png">Save as PNG</button>';
  controls.querySelectorAll("input[data-type]").forEach((box) => {
    box.addEventListener("change", () => {
      cy.edges(`[type = "${box.dataset.type}"]`).toggleClass("hidden", !box.checked);
      cy.nodes().forEach((n) => n.toggleClass("hidden", n !== root && n.connectedEdges().not(".hidden").empty()));
      container.dataset.nodes = cy.nodes().not(".hidden").length;
    });
  });
  controls.querySelector(".gs-png").addEventListener("click", () => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(cy.png({ output: "blob", full: true, bg: "#ffffff", scale: 2 }));
    a.download = `${document.title}.png`;
    a.click();
  });
  container.dataset.nodes = cy.nodes().length;
  window.GS_CY = cy;  // for a console, and the tests
})();
