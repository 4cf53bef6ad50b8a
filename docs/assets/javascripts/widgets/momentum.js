/* Momentum on the 1-D loss L(w) = w^4 - 4 w^2 + w, which has a local minimum near w = 1.35 and the
 * global one near w = -1.47. Gradient descent and momentum, in the lecture's notation, from the same
 * start with the same learning rate:
 *   gradient descent  w <- w - eta L'(w)
 *   momentum          m <- beta m - eta L'(w),  w <- w + m     (m starts at 0)
 * with L'(w) = 4 w^3 - 8 w + 1. The same iterates as mlnotes.GradientDescent and mlnotes.Momentum
 * (a browser test compares them). */
(function () {
  "use strict";
  const loss = (w) => w ** 4 - 4 * w ** 2 + w;
  const slope = (w) => 4 * w ** 3 - 8 * w + 1;
  const MINIMA = { local: 1.3470, global: -1.4730 };
  const LIMIT = 1e6; // a run whose |w| passes this has diverged

  function run(start, lr, beta, steps) {
    const path = [start];
    let w = start, m = 0;
    for (let t = 0; t < steps; t++) {
      const g = slope(w);
      if (beta === 0) w = w + -lr * g;
      else {
        m = m * beta + -lr * g;
        w = w + m;
      }
      path.push(w);
      if (!(Math.abs(w) <= LIMIT)) break; // diverged: the run stops here
    }
    return path;
  }

  /* Which basin a run ends in: the nearer of the two minima, or "diverged". */
  function basin(w) {
    if (!(Math.abs(w) <= LIMIT)) return "diverged";
    return Math.abs(w - MINIMA.global) < Math.abs(w - MINIMA.local) ? "global" : "local";
  }

  function compute(s) {
    const gd = run(s.start, s.lr, 0, s.steps);
    const momentum = run(s.start, s.lr, s.beta, s.steps);
    return {
      gradient_descent: gd,
      momentum,
      ends: [basin(gd[gd.length - 1]), basin(momentum[momentum.length - 1])],
    };
  }

  function draw(view, res, s, text) {
    const curve = Array.from({ length: 241 }, (_, i) => {
      const w = -3 + (6 * i) / 240;
      return [w, loss(w)];
    });
    const p = view.panel(view.svgs[0], { xlim: [-3, 3], ylim: [-7, 20], xlabel: text.w, ylabel: text.loss });
    view.line(p, curve, "mlw-series-fg");
    const runs = [[res.gradient_descent, 1], [res.momentum, 0]];
    for (const [path, k] of runs) {
      const shown = path.filter((w) => Number.isFinite(w) && Math.abs(w) < 3.2);
      view.line(p, shown.map((w) => [w, loss(w)]), `mlw-series-${k} mlw-dotted`);
      const end = path[path.length - 1];
      if (Number.isFinite(end) && Math.abs(end) < 3) view.dot(p, end, loss(end), `mlw-dot-${k}`, 4.5);
    }
    view.dot(p, s.start, loss(s.start), "mlw-dot", 4);
    view.legend(p, [[text.runs[0], "mlw-series-1"], [text.runs[1], "mlw-series-0"]]);

    const q = view.panel(view.svgs[1], { xlim: [0, s.steps], ylim: [-3, 3], xlabel: text.step, ylabel: text.iterate });
    for (const [path, k] of runs) view.line(q, path.map((w, t) => [t, w]), `mlw-series-${k}`);
    view.line(q, [[0, MINIMA.global], [s.steps, MINIMA.global]], "mlw-series-2 mlw-dashed");
    view.line(q, [[0, MINIMA.local], [s.steps, MINIMA.local]], "mlw-series-4 mlw-dashed");
    view.legend(q, [[text.global, "mlw-series-2 mlw-dashed"], [text.local, "mlw-series-4 mlw-dashed"]]);

    const f = view.fmt;
    view.readout.textContent = "";
    [[res.gradient_descent, 0], [res.momentum, 1]].forEach(([path, i]) => {
      const end = path[path.length - 1];
      view.el("div", { text: `${text.runs[i]}${text.colon}w = ${f(end, 4)}${text.comma}${text.ends[res.ends[i]]}` }, view.readout);
    });
  }

  window.mlnotesWidgets.define("momentum", {
    panels: 2,
    defaults: { start: 2.5, lr: 0.01, beta: 0.9, steps: 300 },
    controls: [
      { key: "lr", kind: "range", min: 0.001, max: 0.1, log: true, digits: 3 },
      { key: "beta", kind: "range", min: 0, max: 0.99, step: 0.01, digits: 2 },
      { key: "start", kind: "range", min: -3, max: 3, step: 0.05, digits: 3 },
      { key: "steps", kind: "range", min: 10, max: 1000, step: 10, integer: true, digits: 4 },
    ],
    compute,
    draw,
    text: {
      zh: {
        colon: "：", comma: "，",
        title: "交互：动量能否越过小山",
        caption: "损失 L(w) = w⁴ − 4w² + w。调节学习率 η 和动量系数 β，比较梯度下降与动量从同一起点出发各停在哪里。",
        controls: { lr: "学习率 η", beta: "动量 β", start: "起点 w⁰", steps: "更新次数" },
        runs: ["梯度下降", "动量"],
        w: "参数 w", loss: "损失 L(w)", step: "更新次数 t", iterate: "参数 wᵗ",
        global: "全局最小值", local: "局部极小值",
        ends: { global: "停在全局最小值附近", local: "停在局部极小值附近", diverged: "发散" },
      },
      en: {
        colon: ": ", comma: ", ",
        title: "Interactive: can momentum roll over the hump?",
        caption: "The loss L(w) = w⁴ − 4w² + w. Change the learning rate η and the momentum β, and compare where gradient descent and momentum end from the same start.",
        controls: { lr: "learning rate η", beta: "momentum β", start: "start w⁰", steps: "updates" },
        runs: ["gradient descent", "momentum"],
        w: "parameter w", loss: "loss L(w)", step: "update t", iterate: "parameter wᵗ",
        global: "global minimum", local: "local minimum",
        ends: { global: "ends near the global minimum", local: "ends near the local minimum", diverged: "diverged" },
      },
    },
  });
})();
