// A plan line's forecast fan (uPlot, vendored): the SKU's recent demand per day as bars,
// then the forecast mean with its 50% and 90% bands, for all customers or one tier (a
// select), read from the line's JSON (data-fan). Drawn when a line's reasons open (htmx
// puts them in the page) or on the line's own page. Hovering shows every value.
"use strict";
(function () {
  let made = 0;

  function seconds(iso) {
    return Date.parse(iso + "T00:00:00Z") / 1000;
  }

  function draw(box, d, s) {
    const nh = d.history_dates.length, nf = d.dates.length;
    const x = d.history_dates.map(seconds).concat(d.dates.map(seconds));
    const pad = (n) => new Array(n).fill(null);
    const hist = d.history[s].concat(pad(nf));
    const ahead = (row) => pad(nh).concat(row);
    const band = (k) => ahead(d.bands[k][s]);
    const num = (u, v) => (v == null ? "–" : v.toLocaleString(d.locale, { maximumFractionDigits: 1 }));
    const opts = {
      width: Math.max(300, Math.min(box.clientWidth || 640, 900)),
      height: 240,
      series: [
        { label: d.labels.date, value: (u, v) => (v == null ? "–" : new Date(v * 1000).toISOString().slice(0, 10)) },
        { label: d.labels.demand, stroke: "#6b7785", fill: "#9aa5b1", value: num,
          paths: uPlot.paths.bars({ size: [0.9, 12] }), points: { show: false } },
        { label: d.labels.wide_high, stroke: "#f4a261", value: num, points: { show: false } },
        { label: d.labels.middle_high, stroke: "#e76f51", value: num, points: { show: false } },
        { label: d.labels.middle_low, stroke: "#e76f51", value: num, points: { show: false } },
        { label: d.labels.wide_low, stroke: "#f4a261", value: num, points: { show: false } },
        { label: d.labels.mean, stroke: "#264653", width: 2, value: num },
      ],
      bands: [
        { series: [2, 3], fill: "rgba(244, 162, 97, 0.35)" },
        { series: [3, 4], fill: "rgba(231, 111, 81, 0.45)" },
        { series: [4, 5], fill: "rgba(244, 162, 97, 0.35)" },
      ],
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max * 1.1, 1)] } },
      axes: [{}, { label: d.labels.demand }],
      legend: { live: true },
    };
    // Series 2-5 are the quantiles at 95%, 75%, 25% and 5% (top down), so that each band
    // fills between neighbours.
    const data = [x, hist, band(3), band(2), band(1), band(0), ahead(d.mean[s])];
    box.replaceChildren();
    new uPlot(opts, data, box);
    box.dataset.drawn = "true";
  }

  function start(box) {
    if (box.dataset.started) return;
    box.dataset.started = "true";
    fetch(box.dataset.fan, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
      .then((d) => {
        const chart = document.createElement("div");
        if (d.segments.length > 1) {
          const id = "fan-segment-" + ++made;
          const label = document.createElement("label");
          label.htmlFor = id;
          label.textContent = d.labels.customers + " ";
          const pick = document.createElement("select");
          pick.id = id;
          d.names.forEach((name, i) => pick.add(new Option(name, String(i))));
          pick.addEventListener("change", () => draw(chart, d, Number(pick.value)));
          label.append(pick);
          box.before(label);
        }
        box.append(chart);
        draw(chart, d, 0);
        box.dataset.drawn = "true";
      });
  }

  function scan(root) {
    if (root.matches && root.matches("[data-fan]")) start(root);
    root.querySelectorAll("[data-fan]").forEach(start);
  }

  document.addEventListener("htmx:load", (e) => scan(e.detail.elt));
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => scan(document));
  else scan(document);
})();
