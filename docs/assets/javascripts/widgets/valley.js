/* The narrow convex valley of the adaptive-learning-rate chapter,
 *   L(w1, w2) = ½ (h1 w1² + h2 (w2 − c w1)²),  h1 = 1e-4, h2 = 100, c = 0.003,
 * with gradient descent, momentum, Adagrad, RMSProp and Adam side by side from (8, 1 + 8c). Every
 * update is the arithmetic of the mlnotes.optim class of the same name, in the lecture's notation
 * (a browser test compares the paths with the classes):
 *   gradient descent  θ ← θ − η g
 *   momentum          m ← β m − η g,  θ ← θ + m
 *   Adagrad           σᵗ = sqrt(Σᵢ gᵢ² / (t+1)) + ε,  θ ← θ − η g / σᵗ            (ε = 1e-10)
 *   RMSProp           σ⁰ = |g⁰|, (σᵗ)² = ρ (σᵗ⁻¹)² + (1−ρ) g²,  θ ← θ − η g / (σᵗ + ε)   (ε = 1e-8)
 *   Adam              m ← β₁m + (1−β₁) g, v ← β₂v + (1−β₂) g², bias-corrected, ε = 1e-8
 * Each coordinate has its own σ, m and v. */
(function () {
  "use strict";
  const H1 = 1e-4, H2 = 100, C = 0.003;
  const START = [8, 1 + 8 * C];
  const METHODS = ["gradient_descent", "momentum", "adagrad", "rmsprop", "adam"];
  const loss = (w1, w2) => 0.5 * (H1 * w1 * w1 + H2 * (w2 - C * w1) ** 2);
  const LIMIT = 1e6; // a run whose coordinates pass this has diverged and stops

  /* One coordinate's update rule: (state, w, g, t) -> new w. */
  function rule(method, s) {
    if (method === "gradient_descent") return () => (w, g) => w + -s.gd_lr * g;
    if (method === "momentum") {
      return () => {
        let m = 0;
        return (w, g) => {
          m = m * s.momentum_beta + -s.momentum_lr * g;
          return w + m;
        };
      };
    }
    if (method === "adagrad") {
      return () => {
        let sum = 0;
        return (w, g, t) => {
          sum += g * g;
          return w + (-s.adagrad_lr * g) / (Math.sqrt(sum / (t + 1)) + 1e-10);
        };
      };
    }
    if (method === "rmsprop") {
      const rho = s.rmsprop_alpha;
      return () => {
        let sq = 0;
        return (w, g, t) => {
          sq = t === 0 ? g * g : sq * rho + (1 - rho) * g * g;
          return w + (-s.rmsprop_lr * g) / (Math.sqrt(sq) + 1e-8);
        };
      };
    }
    const b1 = s.adam_beta1, b2 = s.adam_beta2, weight = 1 - b1;
    return () => {
      let m = 0, v = 0;
      return (w, g, t) => {
        // torch.lerp's two forms, chosen by the weight as torch chooses them
        m = weight < 0.5 ? m + weight * (g - m) : g - (g - m) * (1 - weight);
        v = v * b2 + (1 - b2) * g * g;
        const denom = Math.sqrt(v) / Math.sqrt(1 - b2 ** (t + 1)) + 1e-8;
        return w + (-(s.adam_lr / (1 - b1 ** (t + 1))) * m) / denom;
      };
    };
  }

  function run(method, s) {
    const make = rule(method, s);
    const u1 = make(), u2 = make();
    let [w1, w2] = START;
    const path = [[w1, w2]];
    for (let t = 0; t < s.steps; t++) {
      const r = w2 - C * w1;
      const g1 = H1 * w1 - C * H2 * r, g2 = H2 * r;
      [w1, w2] = [u1(w1, g1, t), u2(w2, g2, t)];
      path.push([w1, w2]);
      if (!(Math.abs(w1) <= LIMIT && Math.abs(w2) <= LIMIT)) break;
    }
    return path;
  }

  function compute(s) {
    const out = {};
    for (const method of METHODS) {
      const path = run(method, s);
      const [w1, w2] = path[path.length - 1];
      out[method] = { path, loss: loss(w1, w2), distance: Math.hypot(w1, w2) };
    }
    return out;
  }

  function draw(view, res, s, text) {
    const p = view.panel(view.svgs[0], { xlim: [-1, 9], ylim: [-0.6, 1.4], xlabel: "w₁", ylabel: "w₂" });
    view.contours(p, loss, [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.1, 1, 5, 20], 90);
    view.dot(p, 0, 0, "mlw-dot", 3);
    METHODS.forEach((method, k) => {
      const path = res[method].path;
      const every = Math.max(1, Math.floor(path.length / 600));
      view.line(p, path.filter((_, i) => i % every === 0 || i === path.length - 1), `mlw-series-${k}`);
    });
    view.dot(p, START[0], START[1], "mlw-dot", 3.5);
    view.legend(p, METHODS.map((m, k) => [text.methods[m], `mlw-series-${k}`]));

    const q = view.panel(view.svgs[1], {
      xlim: [0, s.steps], ylim: [1e-8, 100], logy: true, xlabel: text.step, ylabel: text.distance,
    });
    METHODS.forEach((method, k) => {
      const path = res[method].path;
      const every = Math.max(1, Math.floor(path.length / 600));
      const points = [];
      path.forEach(([w1, w2], t) => {
        if (t % every === 0 || t === path.length - 1) points.push([t, Math.max(Math.hypot(w1, w2), 1e-9)]);
      });
      view.line(q, points, `mlw-series-${k}`);
    });
    const f = view.fmt;
    view.readout.textContent = "";
    METHODS.forEach((method) => {
      const r = res[method];
      const diverged = r.path.length < s.steps + 1;
      view.el("div", {
        text: `${text.methods[method]}${text.colon}${diverged ? text.diverged : `${text.distance} ${f(r.distance)}${text.comma}L = ${f(r.loss)}`}`,
      }, view.readout);
    });
  }

  const lr = (key) => ({ key, kind: "range", min: 1e-4, max: 1, log: true, digits: 3 });
  window.mlnotesWidgets.define("valley", {
    panels: 2,
    defaults: {
      steps: 5000,
      gd_lr: 0.0199,
      momentum_lr: 0.0199, momentum_beta: 0.9,
      adagrad_lr: 0.1,
      rmsprop_lr: 0.1, rmsprop_alpha: 0.9,
      adam_lr: 0.1, adam_beta1: 0.9, adam_beta2: 0.999,
    },
    controls: [
      { key: "steps", kind: "range", min: 10, max: 20000, step: 10, integer: true, digits: 5 },
      lr("gd_lr"),
      lr("momentum_lr"),
      { key: "momentum_beta", kind: "range", min: 0, max: 0.99, step: 0.01, digits: 2 },
      lr("adagrad_lr"),
      lr("rmsprop_lr"),
      { key: "rmsprop_alpha", kind: "range", min: 0, max: 0.999, step: 0.001, digits: 3 },
      lr("adam_lr"),
      { key: "adam_beta1", kind: "range", min: 0, max: 0.99, step: 0.01, digits: 2 },
      { key: "adam_beta2", kind: "range", min: 0.9, max: 0.9999, step: 0.0001, digits: 4 },
    ],
    compute,
    draw,
    text: {
      zh: {
        colon: "：", comma: "，",
        title: "交互：狭长山谷里的五种优化器",
        caption: "L(w₁, w₂) = ½(10⁻⁴w₁² + 100(w₂ − 0.003w₁)²)，从 (8, 1.024) 出发。调节每种方法的学习率和其他超参数，看它们的路径和离最小值的距离。",
        controls: {
          steps: "更新次数", gd_lr: "梯度下降 η", momentum_lr: "动量 η", momentum_beta: "动量 β",
          adagrad_lr: "Adagrad η", rmsprop_lr: "RMSProp η", rmsprop_alpha: "RMSProp ρ",
          adam_lr: "Adam η", adam_beta1: "Adam β₁", adam_beta2: "Adam β₂",
        },
        methods: { gradient_descent: "梯度下降", momentum: "动量", adagrad: "Adagrad", rmsprop: "RMSProp", adam: "Adam" },
        step: "更新次数 t", distance: "离最小值的距离", diverged: "发散",
      },
      en: {
        colon: ": ", comma: ", ",
        title: "Interactive: five optimizers in the narrow valley",
        caption: "L(w₁, w₂) = ½(10⁻⁴w₁² + 100(w₂ − 0.003w₁)²), from (8, 1.024). Change each method's learning rate and other hyperparameters, and watch its path and its distance to the minimum.",
        controls: {
          steps: "updates", gd_lr: "gradient descent η", momentum_lr: "momentum η", momentum_beta: "momentum β",
          adagrad_lr: "Adagrad η", rmsprop_lr: "RMSProp η", rmsprop_alpha: "RMSProp ρ",
          adam_lr: "Adam η", adam_beta1: "Adam β₁", adam_beta2: "Adam β₂",
        },
        methods: { gradient_descent: "gradient descent", momentum: "momentum", adagrad: "Adagrad", rmsprop: "RMSProp", adam: "Adam" },
        step: "update t", distance: "distance to the minimum", diverged: "diverged",
      },
    },
  });
})();
