// What each policy trades on a what-if's results page (uPlot, vendored): one point per
// policy at its means for two metrics the planner picks (e.g. inventory value across,
// customers lost up), with its 95% confidence intervals as lines through the point, for
// the what-if picked; read from the simulation's JSON (data-tradeoffs). Hovering shows
// the values with their intervals.
"use strict";
(function () {
  const COLOURS = ["#0b5cad", "#2e8b57", "#c77c02", "#8e44ad", "#c0392b", "#7f8c8d"];

  function writer(d, metric) {
    const kind = d.kinds[metric];
    if (kind === "percent") return (v) => (100 * v).toLocaleString(d.locale, { maximumFractionDigits: 1 }) + "%";
    const digits = kind === "count" ? 1 : 0;
    return (v) => v.toLocaleString(d.locale, { maximumFractionDigits: digits });
  }

  function span(values) {
    const lo = Math.min(...values), hi = Math.max(...values);
    const pad = (hi - lo) * 0.1 || Math.abs(hi) * 0.1 || 1;
    return [lo - pad, hi + pad];
  }

  function draw(box, d, controls) {
    const sc = d.scenarios[Number(controls.scenario.value)];
    const xm = controls.x.value, ym = controls.y.value;
    const xw = writer(d, xm), yw = writer(d, ym);
    const shown = d.policies
      .map((p, i) => ({ p: p, colour: COLOURS[i % COLOURS.length], c: sc.cells[p.key] }))
      .filter((o) => o.c && o.c[xm] && o.c[ym])
      .sort((a, b) => a.c[xm][0] - b.c[xm][0]);
    const x = shown.map((o) => o.c[xm][0]);
    const series = [{ label: controls.x.selectedOptions[0].text, value: (u, v) => (v == null ? "–" : xw(v)) }];
    const data = [x];
    shown.forEach((o, i) => {
      const ci = o.c[ym];
      series.push({
        label: o.p.name + (o.p.key === d.reference ? " *" : ""), stroke: o.colour, paths: () => null,
        points: { show: true, size: 12, fill: o.colour, stroke: o.colour },
        value: (u, v) => (v == null ? "–" : yw(v) + " [" + yw(ci[1]) + ", " + yw(ci[2]) + "]"),
      });
      data.push(x.map((_, j) => (j === i ? ci[0] : null)));
    });
    const whiskers = (u) => {
      const ctx = u.ctx, px = devicePixelRatio;
      ctx.save();
      ctx.lineWidth = 2 * px;
      shown.forEach((o) => {
        const cx = u.valToPos(o.c[xm][0], "x", true), cy = u.valToPos(o.c[ym][0], "y", true);
        ctx.strokeStyle = o.colour;
        ctx.beginPath();
        ctx.moveTo(u.valToPos(o.c[xm][1], "x", true), cy);
        ctx.lineTo(u.valToPos(o.c[xm][2], "x", true), cy);
        ctx.moveTo(cx, u.valToPos(o.c[ym][1], "y", true));
        ctx.lineTo(cx, u.valToPos(o.c[ym][2], "y", true));
        ctx.stroke();
      });
      ctx.restore();
    };
    const opts = {
      width: Math.max(320, Math.min(box.clientWidth || 720, 900)),
      height: 320,
      series: series,
      scales: {
        x: { time: false, range: () => span(shown.flatMap((o) => o.c[xm])) },
        y: { range: () => span(shown.flatMap((o) => o.c[ym])) },
      },
      axes: [
        { label: controls.x.selectedOptions[0].text, values: (u, ticks) => ticks.map(xw) },
        { label: controls.y.selectedOptions[0].text, values: (u, ticks) => ticks.map(yw), size: 70 },
      ],
      hooks: { draw: [whiskers] },
    };
    box.replaceChildren();
    new uPlot(opts, data, box);
    box.dataset.drawn = "true";
    box.dataset.plotted = [controls.scenario.value, xm, ym].join(" ");
  }

  function start(box) {
    const form = document.getElementById(box.dataset.controls);
    const pick = (name) => form.querySelector("select[name=" + name + "]");
    const controls = { scenario: pick("scenario"), x: pick("x"), y: pick("y") };
    fetch(box.dataset.tradeoffs, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
      .then((d) => {
        if (!d.scenarios.length) return;
        form.hidden = false;
        form.addEventListener("change", () => draw(box, d, controls));
        draw(box, d, controls);
      });
  }

  function scan() {
    document.querySelectorAll("[data-tradeoffs]").forEach(start);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
