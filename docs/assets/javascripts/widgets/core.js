/* The book's interactive figures: what every widget shares.
 *
 * A page places a widget with <div class="ml-widget" data-widget="NAME"></div>; the file
 * widgets/NAME.js defines it with mlnotesWidgets.define(NAME, spec). A spec gives
 *   text:     {zh: {...}, en: {...}}  the labels (title, caption, control labels, legend entries);
 *   controls: [{key, kind: "range" | "select" | "checkbox", min, max, step, log, options, digits}];
 *   defaults: the settings a reader first sees;
 *   compute(settings): the numbers the figure draws (plain arrays and numbers, float64);
 *   panels:   how many SVG panels it draws into;
 *   draw(view, result, settings, text): draws result.
 * Every widget on the page is then reachable as mlnotesWidgets.get(NAME), with set(settings) (change
 * the controls as a reader would and redraw at once), drawn() (the numbers of the last drawing) and
 * settings(). compute is also reachable without the page (mlnotesWidgets.spec(NAME).compute), so the
 * numbers can be compared with the mlnotes package.
 *
 * No library: SVG built by hand, colours from the theme's CSS variables (light and dark), labels
 * in the page's language (<html lang>), native inputs for the keyboard.
 */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const specs = {};
  const instances = {};

  function language() {
    return (document.documentElement.lang || "zh").toLowerCase().startsWith("en") ? "en" : "zh";
  }

  function el(tag, attrs, parent) {
    const node = tag.startsWith("svg:")
      ? document.createElementNS(SVG, tag.slice(4))
      : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  /* Numbers as the book writes them: a few significant digits, small ones in scientific form. */
  function fmt(x, digits) {
    if (!Number.isFinite(x)) return String(x);
    const d = digits === undefined ? 3 : digits;
    if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) {
      const [m, e] = x.toExponential(Math.max(d - 1, 0)).split("e");
      return `${m}×10${superscript(Number(e))}`;
    }
    return Number(x.toPrecision(d)).toString();
  }
  const SUP = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  function superscript(n) {
    return String(n).split("").map((c) => SUP[c]).join("");
  }

  /* ---- plotting ---- */

  const W = 320, H = 240, M = { l: 46, r: 10, t: 12, b: 38 };

  /* A panel: axes over [x0, x1] x [y0, y1] (log10 scale on y with logy), and a function that maps
   * data to SVG coordinates. */
  function panel(svg, opts) {
    // The axes and the contours depend only on the options: they are built once and kept while the
    // options stay the same; only the data layers are rebuilt on every redraw.
    const key = JSON.stringify(opts);
    if (svg._mlw && svg._mlw.key === key) {
      const view = svg._mlw.view;
      for (const layer of [view.plot, view.overlay]) while (layer.firstChild) layer.removeChild(layer.firstChild);
      view.fresh = false;
      return view;
    }
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const { xlim, ylim, xlabel, ylabel, logx, logy, equal } = opts;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const pw = W - M.l - M.r, ph = H - M.t - M.b;
    const log = (v) => Math.log10(Math.max(v, 1e-300));
    const ty = logy ? log : (v) => v;
    const tx = logx ? log : (v) => v;
    const [ya, yb] = logy ? [Math.log10(ylim[0]), Math.log10(ylim[1])] : ylim;
    const [xa, xb] = logx ? [Math.log10(xlim[0]), Math.log10(xlim[1])] : xlim;
    const sx = (x) => M.l + ((tx(x) - xa) / (xb - xa)) * pw;
    const sy = (y) => M.t + (1 - (ty(y) - ya) / (yb - ya)) * ph;
    const clip = `c${Math.random().toString(36).slice(2)}`;
    const defs = el("svg:defs", {}, svg);
    const cp = el("svg:clipPath", { id: clip }, defs);
    el("svg:rect", { x: M.l, y: M.t, width: pw, height: ph }, cp);
    const axes = el("svg:g", { class: "mlw-axes" }, svg);
    el("svg:rect", { x: M.l, y: M.t, width: pw, height: ph, class: "mlw-frame" }, axes);
    for (const t of logx ? logTicks(xlim[0], xlim[1]) : ticks(xlim[0], xlim[1])) {
      const tick = logx ? powerOfTen(t) : fmt(t, 3);
      el("svg:line", { x1: sx(t), x2: sx(t), y1: M.t + ph, y2: M.t + ph + 4 }, axes);
      el("svg:text", { x: sx(t), y: M.t + ph + 15, "text-anchor": "middle", text: tick }, axes);
    }
    const yt = logy ? logTicks(ylim[0], ylim[1]) : ticks(ylim[0], ylim[1]);
    for (const t of yt) {
      el("svg:line", { x1: M.l - 4, x2: M.l, y1: sy(t), y2: sy(t) }, axes);
      const tick = logy ? powerOfTen(t) : fmt(t, 2);
      el("svg:text", { x: M.l - 6, y: sy(t) + 3.5, "text-anchor": "end", text: tick }, axes);
    }
    if (xlabel) el("svg:text", { x: M.l + pw / 2, y: H - 6, "text-anchor": "middle", text: xlabel }, axes);
    if (ylabel) {
      el("svg:text", {
        x: 0, y: 0, "text-anchor": "middle", text: ylabel,
        transform: `translate(11 ${M.t + ph / 2}) rotate(-90)`,
      }, axes);
    }
    const background = el("svg:g", { "clip-path": `url(#${clip})` }, svg);
    const plot = el("svg:g", { "clip-path": `url(#${clip})` }, svg);
    const overlay = el("svg:g", {}, svg);
    // data coordinates of a pointer event on this panel (for dragging a point)
    const invert = (event) => {
      const box = svg.getBoundingClientRect();
      const px = ((event.clientX - box.left) / box.width) * W;
      const py = ((event.clientY - box.top) / box.height) * H;
      const u = xa + ((px - M.l) / pw) * (xb - xa), v = ya + (1 - (py - M.t) / ph) * (yb - ya);
      return [logx ? 10 ** u : u, logy ? 10 ** v : v];
    };
    const view = { svg, background, plot, overlay, sx, sy, xlim, ylim, invert, equal, fresh: true };
    svg._mlw = { key, view };
    return view;
  }

  function powerOfTen(t) {
    const e = Math.round(Math.log10(t));
    return e === 0 ? "1" : e === 1 ? "10" : `10${superscript(e)}`;
  }

  function ticks(a, b) {
    const span = b - a, raw = span / 5;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => span / s <= 6);
    const out = [];
    for (let t = Math.ceil(a / step) * step; t <= b + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return out;
  }
  function logTicks(a, b) {
    const out = [];
    const lo = Math.ceil(Math.log10(a)), hi = Math.floor(Math.log10(b));
    const every = Math.max(1, Math.ceil((hi - lo + 1) / 6));
    for (let e = lo; e <= hi; e += every) out.push(10 ** e);
    return out;
  }

  /* An SVG path through points [[x, y], ...]; non-finite points break the line. */
  function line(view, points, cls, extra) {
    let d = "", pen = false;
    for (const [x, y] of points) {
      const X = view.sx(x), Y = view.sy(y);
      if (!Number.isFinite(X) || !Number.isFinite(Y) || Math.abs(X) > 1e6 || Math.abs(Y) > 1e6) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${X.toFixed(2)} ${Y.toFixed(2)}`;
      pen = true;
    }
    return el("svg:path", { d, class: cls, ...(extra || {}) }, view.plot);
  }

  function dot(view, x, y, cls, r) {
    return el("svg:circle", { cx: view.sx(x), cy: view.sy(y), r: r || 3.5, class: cls }, view.overlay);
  }

  function label(view, x, y, text, cls, anchor) {
    return el("svg:text", {
      x: view.sx(x), y: view.sy(y), class: cls || "mlw-label", "text-anchor": anchor || "start", text,
    }, view.overlay);
  }

  /* Contour lines of f over the panel (marching squares on an n x n grid), at the given levels. They
   * belong to the panel's background: drawn when the panel is new, kept while its options stay. A
   * function that changes with the settings needs a panel whose options change with them. */
  function contours(view, f, levels, n) {
    if (!view.fresh) return null;
    const N = n || 60;
    const [x0, x1] = view.xlim, [y0, y1] = view.ylim;
    const xs = Array.from({ length: N + 1 }, (_, i) => x0 + ((x1 - x0) * i) / N);
    const ys = Array.from({ length: N + 1 }, (_, j) => y0 + ((y1 - y0) * j) / N);
    const v = ys.map((y) => xs.map((x) => f(x, y)));
    const g = el("svg:g", { class: "mlw-contours" }, view.background);
    for (const level of levels) {
      let d = "";
      for (let j = 0; j < N; j++) {
        for (let i = 0; i < N; i++) {
          const c = [v[j][i], v[j][i + 1], v[j + 1][i + 1], v[j + 1][i]];
          const p = [[xs[i], ys[j]], [xs[i + 1], ys[j]], [xs[i + 1], ys[j + 1]], [xs[i], ys[j + 1]]];
          const cross = [];
          for (let e = 0; e < 4; e++) {
            const a = c[e], b = c[(e + 1) % 4];
            if ((a < level) !== (b < level)) {
              const s = (level - a) / (b - a);
              const [pa, pb] = [p[e], p[(e + 1) % 4]];
              cross.push([pa[0] + s * (pb[0] - pa[0]), pa[1] + s * (pb[1] - pa[1])]);
            }
          }
          for (let k = 0; k + 1 < cross.length; k += 2) {
            d += `M${view.sx(cross[k][0]).toFixed(1)} ${view.sy(cross[k][1]).toFixed(1)}`;
            d += `L${view.sx(cross[k + 1][0]).toFixed(1)} ${view.sy(cross[k + 1][1]).toFixed(1)}`;
          }
        }
      }
      el("svg:path", { d }, g);
    }
    return g;
  }

  /* A legend in the panel's top right corner: [[text, cls], ...]. */
  function legend(view, entries) {
    const g = el("svg:g", { class: "mlw-legend" }, view.overlay);
    el("svg:rect", { x: W - M.r - 100, y: M.t + 2, width: 98, height: entries.length * 13 + 4 }, g);
    entries.forEach(([text, cls], i) => {
      const y = M.t + 12 + i * 13;
      el("svg:line", { x1: W - M.r - 96, x2: W - M.r - 82, y1: y - 3.5, y2: y - 3.5, class: cls }, g);
      el("svg:text", { x: W - M.r - 78, y, text }, g);
    });
    return g;
  }

  /* ---- controls ---- */

  function sliderValue(control, position) {
    return control.log ? 10 ** Number(position) : Number(position);
  }
  function sliderPosition(control, value) {
    return control.log ? Math.log10(value) : value;
  }

  function buildControls(box, spec, text, state, changed) {
    const inputs = {};
    for (const control of spec.controls) {
      const row = el("label", { class: "mlw-control" }, box);
      el("span", { class: "mlw-control-label", text: text.controls[control.key] }, row);
      let input, out;
      if (control.kind === "select") {
        input = el("select", {}, row);
        for (const option of control.options) {
          el("option", { value: option, text: (text.options || {})[option] || option }, input);
        }
        input.value = state[control.key];
        input.addEventListener("input", () => changed(control.key, input.value));
      } else if (control.kind === "checkbox") {
        input = el("input", { type: "checkbox" }, row);
        input.checked = Boolean(state[control.key]);
        input.addEventListener("input", () => changed(control.key, input.checked));
      } else {
        const lo = sliderPosition(control, control.min), hi = sliderPosition(control, control.max);
        input = el("input", {
          type: "range", min: lo, max: hi,
          step: control.log ? (hi - lo) / (control.positions || 200) : control.step,
        }, row);
        input.value = sliderPosition(control, state[control.key]);
        out = el("output", { class: "mlw-value" }, row);
        out.textContent = fmt(state[control.key], control.digits);
        input.addEventListener("input", () => {
          const value = control.integer ? Math.round(sliderValue(control, input.value)) : sliderValue(control, input.value);
          out.textContent = fmt(value, control.digits);
          changed(control.key, value);
        });
      }
      input.dataset.key = control.key;
      inputs[control.key] = { input, out, control };
    }
    return inputs;
  }

  function showValue(entry, value) {
    const { input, out, control } = entry;
    if (control.kind === "checkbox") input.checked = Boolean(value);
    else if (control.kind === "select") input.value = value;
    else {
      input.value = sliderPosition(control, value);
      out.textContent = fmt(value, control.digits);
    }
  }

  /* ---- mounting ---- */

  function mount(node) {
    const name = node.dataset.widget;
    const spec = specs[name];
    if (!spec) throw new Error(`mlnotes widget ${name}: no widgets/${name}.js loaded`);
    const text = spec.text[language()];
    node.textContent = "";
    node.classList.add("mlw");
    const figure = el("figure", { class: "mlw-figure", role: "group", "aria-label": text.title }, node);
    el("figcaption", { class: "mlw-title", text: text.title }, figure);
    if (text.caption) el("p", { class: "mlw-caption", text: text.caption }, figure);
    const panels = el("div", { class: "mlw-panels" }, figure);
    const svgs = [];
    for (let i = 0; i < (spec.panels || 1); i++) {
      const svg = el("svg:svg", { class: "mlw-panel", role: "img" }, panels);
      svgs.push(svg);
    }
    const controls = el("div", { class: "mlw-controls" }, figure);
    const readout = el("output", { class: "mlw-readout", "aria-live": "polite" }, figure);
    let state = { ...spec.defaults };
    let result = null;
    const view = { svgs, readout, node, panel, line, dot, label, contours, legend, el, fmt, text };
    function redraw() {
      result = spec.compute(state);
      spec.draw(view, result, state, text, instance);
      node.dataset.drawn = String(Number(node.dataset.drawn || 0) + 1);
    }
    const inputs = buildControls(controls, spec, text, state, (key, value) => {
      state = { ...state, [key]: value };
      redraw();
    });
    const instance = {
      name,
      node,
      settings: () => ({ ...state }),
      drawn: () => JSON.parse(JSON.stringify(result, (k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v))),
      set(settings) {
        for (const key of Object.keys(settings)) {
          if (!(key in spec.defaults)) throw new Error(`mlnotes widget ${name}: no setting ${key}`);
        }
        state = { ...state, ...settings };
        for (const [key, entry] of Object.entries(inputs)) showValue(entry, state[key]);
        redraw();
        return instance.drawn();
      },
      /* a change from inside the figure (a dragged point): the same path as a control */
      update(settings) {
        state = { ...state, ...settings };
        for (const [key, entry] of Object.entries(inputs)) showValue(entry, state[key]);
        redraw();
      },
    };
    instances[name] = instance;
    redraw();
  }

  function mountAll() {
    for (const node of document.querySelectorAll(".ml-widget[data-widget]")) {
      try {
        mount(node);
      } catch (error) {
        node.textContent = String(error.message || error);
        throw error;
      }
    }
  }

  window.mlnotesWidgets = {
    define(name, spec) {
      specs[name] = spec;
    },
    get: (name) => instances[name],
    spec: (name) => specs[name],
    names: () => Object.keys(instances),
    fmt,
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else setTimeout(mountAll, 0);
})();
