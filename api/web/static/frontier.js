// The budget frontier on a plan's review page (uPlot, vendored): expected fill rate per
// tier (left axis, 0-100%) and customers expected lost (right axis, from 0) against the
// budget, read from the plan's JSON (data-frontier). Hovering shows every value.
"use strict";
(function () {
  const COLOURS = ["#0b5cad", "#2e8b57", "#c77c02", "#8e44ad", "#7f8c8d"];

  function draw(box, d) {
    const series = [{ label: d.labels.budget, value: (u, v) => (v == null ? "–" : v.toLocaleString(d.locale)) }];
    const data = [d.budget];
    d.tiers.forEach((t, i) => {
      series.push({ label: t.label, scale: "%", stroke: COLOURS[i % COLOURS.length], width: 2,
                    value: (u, v) => (v == null ? "–" : v.toFixed(1) + "%") });
      data.push(t.fill);
    });
    series.push({ label: d.labels.lost, scale: "n", stroke: "#1d2430", width: 2, dash: [6, 4],
                  value: (u, v) => (v == null ? "–" : v.toFixed(1)) });
    data.push(d.customers_lost);
    const opts = {
      width: Math.max(320, Math.min(box.clientWidth || 720, 960)),
      height: 300,
      series: series,
      scales: { x: { time: false }, "%": { range: [0, 100] },
                n: { range: (u, min, max) => [0, Math.max(max * 1.1, 1)] } },
      axes: [
        { label: d.labels.budget },
        { scale: "%", label: d.labels.fill, values: (u, ticks) => ticks.map((v) => v + "%") },
        { scale: "n", side: 1, label: d.labels.lost, grid: { show: false } },
      ],
    };
    box.replaceChildren();
    new uPlot(opts, data, box);
    box.dataset.drawn = "true";
  }

  function start() {
    document.querySelectorAll("[data-frontier]").forEach((box) => {
      fetch(box.dataset.frontier, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
        .then((d) => { if (d.budget.length) draw(box, d); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
