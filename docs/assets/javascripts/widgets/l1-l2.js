/* L1 against L2 (regularization): the two-feature linear model of examples/l1_l2.py (seed 0). Its loss
 * L(w) = ||y − X w||² / (2N) is the quadratic ½ wᵀA w − bᵀw + c with A = XᵀX/N, b = Xᵀy/N, c = yᵀy/(2N),
 * written below from two_features(0) (a test checks the numbers). For a penalty strength α:
 *   L2: min L + α (w₁² + w₂²)   ->  w = (A + 2αI)⁻¹ b
 *   L1: min L + α (|w₁| + |w₂|) ->  exact, from the optimality conditions of each support: both weights
 *       non-zero with signs s (w = A⁻¹(b − α s), signs must agree), one non-zero
 *       (w_i = soft(b_i, α) / A_ii with |b_j − A_ji w_i| ≤ α), or none (|b_i| ≤ α for both).
 * The same solutions as scikit-learn's Lasso(alpha) and Ridge(alpha = 2Nα) (a browser test compares). */
(function () {
  "use strict";
  const A = [[0.9590571896949776, 0.425867076733394], [0.425867076733394, 0.8361214349959804]];
  const B = [2.1610709653000324, 1.376812447171943];
  const C = 2.6135414205807326;
  const ALPHAS = Array.from({ length: 40 }, (_, i) => 10 ** (-3 + (i * Math.log10(3e4)) / 39)); // 1e-3 .. 30

  const loss = (w1, w2) =>
    0.5 * (A[0][0] * w1 * w1 + 2 * A[0][1] * w1 * w2 + A[1][1] * w2 * w2) - B[0] * w1 - B[1] * w2 + C;

  function solve(M, v) {
    const det = M[0][0] * M[1][1] - M[0][1] * M[1][0];
    return [(M[1][1] * v[0] - M[0][1] * v[1]) / det, (M[0][0] * v[1] - M[1][0] * v[0]) / det];
  }

  function l2(alpha) {
    return solve([[A[0][0] + 2 * alpha, A[0][1]], [A[1][0], A[1][1] + 2 * alpha]], B);
  }

  function l1(alpha) {
    const objective = (w) => loss(w[0], w[1]) + alpha * (Math.abs(w[0]) + Math.abs(w[1]));
    const found = [];
    for (const s of [[1, 1], [1, -1], [-1, 1], [-1, -1]]) {
      const w = solve(A, [B[0] - alpha * s[0], B[1] - alpha * s[1]]);
      if (Math.sign(w[0]) === s[0] && Math.sign(w[1]) === s[1]) found.push(w);
    }
    for (const i of [0, 1]) {
      const j = 1 - i;
      if (Math.abs(B[i]) <= alpha) continue;
      const wi = (Math.sign(B[i]) * (Math.abs(B[i]) - alpha)) / A[i][i];
      if (Math.abs(B[j] - A[j][i] * wi) <= alpha) found.push(i === 0 ? [wi, 0] : [0, wi]);
    }
    if (Math.abs(B[0]) <= alpha && Math.abs(B[1]) <= alpha) found.push([0, 0]);
    // the conditions pick one point (the problem is strictly convex); the smallest objective guards ties
    return found.reduce((best, w) => (objective(w) < objective(best) ? w : best));
  }

  function compute(s) {
    return {
      alpha: s.alpha,
      l1: l1(s.alpha),
      l2: l2(s.alpha),
      unpenalized: solve(A, B),
      A, b: B, c: C,
      alphas: ALPHAS,
      l1_path: ALPHAS.map(l1),
      l2_path: ALPHAS.map(l2),
    };
  }

  function draw(view, res, s, text) {
    const p = view.panel(view.svgs[0], { xlim: [-0.5, 2.5], ylim: [-0.5, 1.75], xlabel: "w₁", ylabel: "w₂" });
    view.contours(p, loss, [0.05, 0.2, 0.5, 1, 1.6, 2.3, 3], 70);
    const circle = (r) => Array.from({ length: 121 }, (_, i) => [r * Math.cos((i * Math.PI) / 60), r * Math.sin((i * Math.PI) / 60)]);
    const n1 = Math.abs(res.l1[0]) + Math.abs(res.l1[1]);
    const n2 = Math.hypot(res.l2[0], res.l2[1]);
    if (s.show !== "l2") view.line(p, [[n1, 0], [0, n1], [-n1, 0], [0, -n1], [n1, 0]], "mlw-series-0 mlw-fill-0");
    if (s.show !== "l1") view.line(p, circle(n2), "mlw-series-1 mlw-fill-1");
    view.line(p, [[-0.5, 0], [2.5, 0]], "mlw-series-fg mlw-dotted");
    view.line(p, [[0, -0.5], [0, 1.75]], "mlw-series-fg mlw-dotted");
    view.dot(p, res.unpenalized[0], res.unpenalized[1], "mlw-dot", 3.5);
    if (s.show !== "l2") view.dot(p, res.l1[0], res.l1[1], "mlw-dot-0", 4.5);
    if (s.show !== "l1") view.dot(p, res.l2[0], res.l2[1], "mlw-dot-1", 4.5);
    view.legend(p, [[text.l1, "mlw-series-0"], [text.l2, "mlw-series-1"]]);

    const q = view.panel(view.svgs[1], { xlim: [1e-3, 30], ylim: [-0.1, 2.1], logx: true, xlabel: text.alpha, ylabel: text.weights });
    for (const [key, k] of [["l1_path", 0], ["l2_path", 1]]) {
      if ((key === "l1_path" && s.show === "l2") || (key === "l2_path" && s.show === "l1")) continue;
      for (const i of [0, 1]) {
        view.line(q, res.alphas.map((a, m) => [a, res[key][m][i]]), `mlw-series-${k}${i ? " mlw-dashed" : ""}`);
      }
    }
    view.line(q, [[s.alpha, -0.1], [s.alpha, 2.1]], "mlw-series-fg mlw-dotted");
    view.legend(q, [[`${text.l1} w₁`, "mlw-series-0"], [`${text.l1} w₂`, "mlw-series-0 mlw-dashed"],
      [`${text.l2} w₁`, "mlw-series-1"], [`${text.l2} w₂`, "mlw-series-1 mlw-dashed"]]);

    const f = view.fmt;
    view.readout.textContent = "";
    const zeros = res.l1.filter((w) => w === 0).length;
    view.el("div", { text: `α = ${f(s.alpha)}${text.colon}${text.l1} (${f(res.l1[0])}, ${f(res.l1[1])})${text.comma}${text.zeros(zeros)}` }, view.readout);
    view.el("div", { text: `${text.l2} (${f(res.l2[0])}, ${f(res.l2[1])})${text.comma}${text.unpen} (${f(res.unpenalized[0])}, ${f(res.unpenalized[1])})` }, view.readout);
  }

  window.mlnotesWidgets.define("l1-l2", {
    panels: 2,
    defaults: { alpha: 1, show: "both" },
    controls: [
      { key: "alpha", kind: "range", min: 1e-3, max: 30, log: true, digits: 3 },
      { key: "show", kind: "select", options: ["both", "l1", "l2"] },
    ],
    compute,
    draw,
    text: {
      zh: {
        colon: "：", comma: "，",
        title: "交互：L1 与 L2 正则化的解随惩罚强度 α 的变化",
        caption: "两个相关特征的线性模型。左图：损失的等高线，以及经过两个加惩罚的解的 L1 菱形和 L2 圆。右图：两种惩罚下的两个权重随 α 的变化。拖动 α 的滑块。",
        controls: { alpha: "惩罚强度 α", show: "显示" },
        options: { both: "两者", l1: "只看 L1", l2: "只看 L2" },
        l1: "L1", l2: "L2", alpha: "惩罚强度 α", weights: "权重",
        unpen: "不加惩罚", zeros: (n) => (n === 0 ? "没有权重为零" : `${n} 个权重恰好为零`),
      },
      en: {
        colon: ": ", comma: ", ",
        title: "Interactive: the L1 and L2 solutions as the penalty strength α moves",
        caption: "A linear model with two correlated features. Left: the contours of the loss, and the L1 diamond and L2 disc through the penalized solutions. Right: both weights of each penalty against α. Drag the α slider.",
        controls: { alpha: "penalty strength α", show: "show" },
        options: { both: "both", l1: "L1 only", l2: "L2 only" },
        l1: "L1", l2: "L2", alpha: "penalty strength α", weights: "weight",
        unpen: "unpenalized", zeros: (n) => (n === 0 ? "no weight is zero" : n === 1 ? "1 weight exactly zero" : `${n} weights exactly zero`),
      },
    },
  });
})();
