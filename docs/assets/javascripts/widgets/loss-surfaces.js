/* Squared error against cross-entropy on the same softmax outputs (classification loss). Three
 * classes, the correct one is class 1; the logits are z = (y1, y2, 0) and the parameters are y1, y2.
 * With p = softmax(z) (the largest logit subtracted first) and t = (1, 0, 0):
 *   cross-entropy   e = −ln p1 = logsumexp(z) − z1,   ∂e/∂z_j = p_j − t_j
 *   squared error   e = Σ_i (p_i − t_i)²,             ∂e/∂z_j = 2 p_j [(p_j − t_j) − Σ_i (p_i − t_i) p_i]
 * (the second from ∂p_i/∂z_j = p_i (δ_ij − p_j)). Plain gradient descent, y ← y − η ∂e/∂y, from a start
 * the reader drags; the same paths as mlnotes.GradientDescent on mlnotes.softmax_mse and
 * mlnotes.cross_entropy (a browser test compares them). */
(function () {
  "use strict";
  const R = 10; // the panels show [-R, R]^2
  const LOSSES = ["mse", "cross_entropy"];

  function softmax(y1, y2) {
    const z = [y1, y2, 0];
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e[0] + e[1] + e[2];
    return { p: e.map((v) => v / sum), lse: m + Math.log(sum) };
  }

  function loss(name, y1, y2) {
    const { p, lse } = softmax(y1, y2);
    if (name === "cross_entropy") return lse - y1;
    return (1 - p[0]) ** 2 + p[1] ** 2 + p[2] ** 2;
  }

  function gradient(name, y1, y2) {
    const { p } = softmax(y1, y2);
    const t = [1, 0, 0];
    if (name === "cross_entropy") return [p[0] - 1, p[1]];
    const r = p.map((v, i) => v - t[i]);
    const s = r[0] * p[0] + r[1] * p[1] + r[2] * p[2];
    return [2 * p[0] * (r[0] - s), 2 * p[1] * (r[1] - s)];
  }

  function descend(name, s) {
    let y1 = s.y1, y2 = s.y2;
    const path = [[y1, y2]];
    const g0 = gradient(name, y1, y2);
    for (let t = 0; t < s.steps; t++) {
      const [g1, g2] = gradient(name, y1, y2);
      y1 = y1 + -s.lr * g1;
      y2 = y2 + -s.lr * g2;
      path.push([y1, y2]);
    }
    return {
      path,
      loss: loss(name, y1, y2),
      p_correct: softmax(y1, y2).p[0],
      start_grad_norm: Math.hypot(g0[0], g0[1]),
    };
  }

  function compute(s) {
    const out = {};
    for (const name of LOSSES) out[name] = descend(name, s);
    return out;
  }

  function draw(view, res, s, text, instance) {
    const f = view.fmt;
    view.readout.textContent = "";
    LOSSES.forEach((name, k) => {
      const p = view.panel(view.svgs[k], { xlim: [-R, R], ylim: [-R, R], xlabel: "y₁", ylabel: "y₂" });
      const levels = name === "mse" ? [0.1, 0.3, 0.6, 1, 1.4, 1.8, 1.95] : [0.05, 0.3, 1, 2, 4, 8, 12, 16];
      view.contours(p, (a, b) => loss(name, a, b), levels, 70);
      const r = res[name];
      const every = Math.max(1, Math.floor(r.path.length / 600));
      view.line(p, r.path.filter((_, i) => i % every === 0 || i === r.path.length - 1), `mlw-series-${k}`);
      view.dot(p, s.y1, s.y2, "mlw-dot", 4.5);
      const [e1, e2] = r.path[r.path.length - 1];
      view.dot(p, e1, e2, `mlw-dot-${k}`, 4);
      view.label(p, -R + 0.4, R - 1.2, text.losses[name], "mlw-label");
      view.el("div", {
        text: `${text.losses[name]}${text.colon}${text.end} (${f(e1)}, ${f(e2)})${text.comma}e = ${f(r.loss)}` +
          `${text.comma}${text.pCorrect} ${f(r.p_correct)}${text.comma}${text.startGrad} ${f(r.start_grad_norm)}`,
      }, view.readout);
      const svg = view.svgs[k];
      if (!svg.dataset.pointer) {
        svg.dataset.pointer = "1";
        let dragging = false;
        const move = (event) => {
          const [x, y] = svg._mlw.view.invert(event);
          const clamp = (v) => Math.round(Math.max(-R, Math.min(R, v)) * 10) / 10;
          instance.update({ y1: clamp(x), y2: clamp(y) });
        };
        svg.addEventListener("pointerdown", (e) => { dragging = true; svg.setPointerCapture(e.pointerId); move(e); });
        svg.addEventListener("pointermove", (e) => { if (dragging) move(e); });
        svg.addEventListener("pointerup", () => { dragging = false; });
      }
    });
  }

  window.mlnotesWidgets.define("loss-surfaces", {
    panels: 2,
    defaults: { y1: -8, y2: 8, lr: 1, steps: 1000 },
    controls: [
      { key: "lr", kind: "range", min: 0.01, max: 10, log: true, digits: 3 },
      { key: "y1", kind: "range", min: -R, max: R, step: 0.1, digits: 3 },
      { key: "y2", kind: "range", min: -R, max: R, step: 0.1, digits: 3 },
      { key: "steps", kind: "range", min: 10, max: 1000, step: 10, integer: true, digits: 4 },
    ],
    compute,
    draw,
    text: {
      zh: {
        colon: "：", comma: "，",
        title: "交互：从同一个起点出发，平方误差与交叉熵上的梯度下降",
        caption: "三个类别，正确的是第 1 类，logits 为 (y₁, y₂, 0)。在任一图上点击或拖动起点（也可用滑块和方向键），调节学习率 η 和步数。",
        controls: { lr: "学习率 η", y1: "起点 y₁", y2: "起点 y₂", steps: "步数" },
        losses: { mse: "平方误差", cross_entropy: "交叉熵" },
        end: "终点", pCorrect: "正确类别的概率", startGrad: "起点处的梯度范数",
      },
      en: {
        colon: ": ", comma: ", ",
        title: "Interactive: gradient descent on squared error and on cross-entropy from the same start",
        caption: "Three classes, the correct one is class 1, logits (y₁, y₂, 0). Click or drag the start on either panel (or use the sliders and the arrow keys), and change the learning rate η and the number of steps.",
        controls: { lr: "learning rate η", y1: "start y₁", y2: "start y₂", steps: "steps" },
        losses: { mse: "squared error", cross_entropy: "cross-entropy" },
        end: "end", pCorrect: "probability of the correct class", startGrad: "gradient norm at the start",
      },
    },
  });
})();
