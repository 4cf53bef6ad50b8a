/* The error surface of y = w1 w2 x with x = 1 and target 1: L(w1, w2) = (1 - w1 w2)^2.
 * Pick a point: its gradient, Hessian, eigenvalues, the eigenvalue test's verdict and one step along
 * the direction of most negative curvature. The same numbers as mlnotes.analyze_point and
 * mlnotes.escape_step on mlnotes.product_model_loss (a browser test compares them). */
(function () {
  "use strict";
  const TOL = 1e-6;       // analyze_point's tol and grad_tol
  const R = 2;            // the panel shows [-R, R]^2

  /* Eigenvalues (ascending) and unit eigenvectors of the symmetric [[a, b], [b, c]]; each vector's
   * entry of largest magnitude is positive, as mlnotes.escape_direction fixes the sign. */
  function eigen2(a, b, c) {
    const m = (a + c) / 2, d = Math.hypot((a - c) / 2, b);
    const values = [m - d, m + d];
    const vectors = values.map((lam) => {
      let u = Math.abs(a - lam) + Math.abs(b) >= Math.abs(c - lam) + Math.abs(b) ? [-b, a - lam] : [c - lam, -b];
      if (u[0] === 0 && u[1] === 0) u = lam === values[0] ? [1, 0] : [0, 1];
      const n = Math.hypot(u[0], u[1]);
      u = [u[0] / n, u[1] / n];
      const big = Math.abs(u[0]) >= Math.abs(u[1]) ? 0 : 1;
      return u[big] < 0 ? [-u[0], -u[1]] : u;
    });
    if (b === 0 && a <= c) return { values: [a, c], vectors: [[1, 0], [0, 1]] };
    if (b === 0) return { values: [c, a], vectors: [[0, 1], [1, 0]] };
    return { values, vectors };
  }

  function kind(values) {
    const pos = values.some((v) => v > TOL), neg = values.some((v) => v < -TOL);
    if (pos && neg) return "saddle point";
    if (values.some((v) => Math.abs(v) <= TOL)) return "inconclusive";
    return pos ? "local minimum" : "local maximum";
  }

  const loss = (w1, w2) => (1 - w1 * w2) ** 2;

  function compute(s) {
    const { w1, w2, step } = s;
    const r = 1 - w1 * w2;
    const gradient = [-2 * r * w2, -2 * r * w1];
    const gradNorm = Math.hypot(gradient[0], gradient[1]);
    const hessian = [[2 * w2 * w2, 4 * w1 * w2 - 2], [4 * w1 * w2 - 2, 2 * w1 * w1]];
    const { values, vectors } = eigen2(hessian[0][0], hessian[0][1], hessian[1][1]);
    const out = {
      theta: [w1, w2], loss: loss(w1, w2), gradient, grad_norm: gradNorm,
      is_critical: gradNorm <= TOL, hessian, eigenvalues: values, eigenvectors: vectors,
      kind: kind(values), escape: null, escape_loss: null,
    };
    if (values[0] < -TOL) {
      const u = vectors[0];
      out.escape = [w1 + step * u[0], w2 + step * u[1]];
      out.escape_loss = loss(out.escape[0], out.escape[1]);
    }
    return out;
  }

  function draw(view, res, s, text, instance) {
    const p = view.panel(view.svgs[0], { xlim: [-R, R], ylim: [-R, R], xlabel: "w₁", ylabel: "w₂" });
    view.contours(p, loss, [0.05, 0.25, 0.5, 1, 2, 4, 8, 16], 60);
    const branch = (sign) =>
      Array.from({ length: 200 }, (_, i) => {
        const x = sign * (0.5 + (1.6 * i) / 199);
        return [x, 1 / x];
      });
    view.line(p, branch(1), "mlw-series-2 mlw-dashed");
    view.line(p, branch(-1), "mlw-series-2 mlw-dashed");
    const [w1, w2] = res.theta;
    res.eigenvectors.forEach((u, i) => {
      const len = 0.6;
      view.line(p, [[w1 - len * u[0], w2 - len * u[1]], [w1 + len * u[0], w2 + len * u[1]]],
        res.eigenvalues[i] < -TOL ? "mlw-series-0 mlw-thick" : "mlw-series-1 mlw-thick");
    });
    if (res.grad_norm > 0) {
      const scale = Math.min(0.8, 0.3 * res.grad_norm) / res.grad_norm;
      view.line(p, [[w1, w2], [w1 - scale * res.gradient[0], w2 - scale * res.gradient[1]]], "mlw-series-3 mlw-arrow");
    }
    if (res.escape) {
      view.line(p, [[w1, w2], res.escape], "mlw-series-0 mlw-dotted");
      view.dot(p, res.escape[0], res.escape[1], "mlw-dot-0");
    }
    view.dot(p, w1, w2, "mlw-dot", 5);
    view.legend(p, [[text.legend.neg, "mlw-series-0"], [text.legend.pos, "mlw-series-1"],
      [text.legend.minima, "mlw-series-2 mlw-dashed"], [text.legend.grad, "mlw-series-3"]]);
    const f = view.fmt;
    const lines = [
      `${text.point} (${f(w1)}, ${f(w2)})   L = ${f(res.loss)}   ‖g‖ = ${f(res.grad_norm)}`,
      `H = [[${f(res.hessian[0][0])}, ${f(res.hessian[0][1])}], [${f(res.hessian[1][0])}, ${f(res.hessian[1][1])}]]` +
        `   λ = ${f(res.eigenvalues[0])}, ${f(res.eigenvalues[1])}`,
      `${res.is_critical ? text.critical : text.notCritical}${text.kinds[res.kind]}`,
      res.escape
        ? `${text.escape} (${f(res.escape[0])}, ${f(res.escape[1])}), L = ${f(res.escape_loss)}`
        : text.noEscape,
    ];
    view.readout.textContent = "";
    for (const ln of lines) view.el("div", { text: ln }, view.readout);
    // a click or drag on the surface moves the point (the sliders do the same from the keyboard)
    const svg = view.svgs[0];
    if (!svg.dataset.pointer) {
      svg.dataset.pointer = "1";
      let dragging = false;
      const move = (event) => {
        const current = view.current;
        const [x, y] = current.invert(event);
        const clamp = (v) => Math.round(Math.max(-R, Math.min(R, v)) * 100) / 100;
        instance.update({ w1: clamp(x), w2: clamp(y) });
      };
      svg.addEventListener("pointerdown", (e) => { dragging = true; svg.setPointerCapture(e.pointerId); move(e); });
      svg.addEventListener("pointermove", (e) => { if (dragging) move(e); });
      svg.addEventListener("pointerup", () => { dragging = false; });
    }
    view.current = p;
  }

  window.mlnotesWidgets.define("error-surface", {
    panels: 1,
    defaults: { w1: 0.5, w2: -0.3, step: 0.5 },
    controls: [
      { key: "w1", kind: "range", min: -R, max: R, step: 0.01, digits: 3 },
      { key: "w2", kind: "range", min: -R, max: R, step: 0.01, digits: 3 },
      { key: "step", kind: "range", min: 0, max: 2, step: 0.05, digits: 3 },
    ],
    compute,
    draw,
    text: {
      zh: {
        title: "交互：误差表面 L = (1 − w₁w₂)² 上的任意一点",
        caption: "点击或拖动误差表面上的点（也可用滑块或键盘方向键）。图中画出该点的梯度方向、海森矩阵的两个特征向量，以及沿负特征值方向走一步后的位置。",
        controls: { w1: "w₁", w2: "w₂", step: "逃离步长 η" },
        legend: { neg: "负曲率方向", pos: "正曲率方向", minima: "极小值曲线", grad: "−梯度" },
        point: "点", critical: "临界点：", notCritical: "不是临界点（梯度不为零），此处曲率：",
        kinds: { "saddle point": "鞍点", "local minimum": "局部极小值", "local maximum": "局部极大值", inconclusive: "无法判断" },
        escape: "沿特征向量 u 走一步到", noEscape: "没有负特征值：无法沿负曲率方向下降",
      },
      en: {
        title: "Interactive: any point on the error surface L = (1 − w₁w₂)²",
        caption: "Click or drag the point on the surface (or use the sliders and the arrow keys). The figure shows the gradient, the Hessian's two eigenvectors and one step along the direction of negative curvature.",
        controls: { w1: "w₁", w2: "w₂", step: "escape step η" },
        legend: { neg: "negative curvature", pos: "positive curvature", minima: "curve of minima", grad: "−gradient" },
        point: "point", critical: "critical point: ", notCritical: "not a critical point (the gradient is not zero); curvature here: ",
        kinds: { "saddle point": "saddle point", "local minimum": "local minimum", "local maximum": "local maximum", inconclusive: "inconclusive" },
        escape: "one step along the eigenvector u reaches", noEscape: "no negative eigenvalue: no way down along negative curvature",
      },
    },
  });
})();
