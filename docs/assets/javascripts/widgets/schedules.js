/* The learning-rate schedules of mlnotes.schedules, each with its parameters on a slider; update t
 * counts from 0, as the optimizers count it. The same rates as the classes (a browser test compares):
 *   StepDecay          η γ^⌊t/s⌋
 *   ExponentialDecay   η γᵗ
 *   InverseSqrtDecay   η / sqrt(t+1)
 *   LinearWarmup       η min(1, (t+1)/τ)
 *   TransformerWarmup  d^-0.5 min(s^-0.5, s τ^-1.5), s = t + 1
 *   CosineDecay        η_min + (η − η_min)(1 + cos(π min(t, T)/T))/2 */
(function () {
  "use strict";
  const NAMES = ["step", "exponential", "inverse_sqrt", "linear_warmup", "transformer", "cosine"];

  function rates(name, s) {
    const out = new Array(s.steps);
    for (let t = 0; t < s.steps; t++) {
      let r;
      if (name === "step") r = s.lr * s.step_gamma ** Math.floor(t / s.step_size);
      else if (name === "exponential") r = s.lr * s.exp_gamma ** t;
      else if (name === "inverse_sqrt") r = s.lr * (1 / Math.sqrt(t + 1));
      else if (name === "linear_warmup") r = s.lr * Math.min(1, (t + 1) / s.warmup_steps);
      else if (name === "transformer") {
        const k = t + 1;
        r = s.d_model ** -0.5 * Math.min(k ** -0.5, k * s.warmup_steps ** -1.5);
      } else {
        const ratio = s.min_lr / s.lr;
        const cosine = 0.5 * (1 + Math.cos((Math.PI * Math.min(t, s.total_steps)) / s.total_steps));
        r = s.lr * (ratio + (1 - ratio) * cosine);
      }
      out[t] = r;
    }
    return out;
  }

  function compute(s) {
    if (s.min_lr > s.lr) s = { ...s, min_lr: s.lr }; // as CosineDecay refuses min_lr > lr
    const out = {};
    for (const name of NAMES) out[name] = rates(name, s);
    return out;
  }

  function draw(view, res, s, text) {
    const p = view.panel(view.svgs[0], {
      xlim: [0, s.steps], ylim: [1e-4, 2], logy: true, xlabel: text.step, ylabel: text.rate,
    });
    NAMES.forEach((name, k) => {
      const shown = NAMES.indexOf(s.show);
      if (s.show !== "all" && shown !== k) return;
      const every = Math.max(1, Math.floor(s.steps / 500));
      const points = [];
      res[name].forEach((r, t) => {
        if (t % every === 0 || t === s.steps - 1) points.push([t, Math.max(r, 1e-6)]);
      });
      view.line(p, points, `mlw-series-${k % 5}${k >= 5 ? " mlw-dashed" : ""}`);
    });
    view.legend(p, NAMES.filter((n) => s.show === "all" || n === s.show)
      .map((n) => [text.options[n], `mlw-series-${NAMES.indexOf(n) % 5}${NAMES.indexOf(n) >= 5 ? " mlw-dashed" : ""}`]));
    const f = view.fmt;
    view.readout.textContent = "";
    const at = Math.min(s.steps - 1, Math.floor(s.steps / 2));
    view.el("div", { text: `${text.at} t = ${at}: ` + NAMES.map((n) => `${text.options[n]} ${f(res[n][at])}`).join(" · ") }, view.readout);
  }

  window.mlnotesWidgets.define("schedules", {
    panels: 1,
    defaults: {
      show: "all", steps: 1000, lr: 1, step_size: 250, step_gamma: 0.5, exp_gamma: 0.997,
      warmup_steps: 200, d_model: 512, total_steps: 1000, min_lr: 0,
    },
    controls: [
      { key: "show", kind: "select", options: ["all", ...NAMES] },
      { key: "steps", kind: "range", min: 10, max: 5000, step: 10, integer: true, digits: 4 },
      { key: "lr", kind: "range", min: 0.001, max: 1, log: true, digits: 3 },
      { key: "step_size", kind: "range", min: 1, max: 1000, step: 1, integer: true, digits: 4 },
      { key: "step_gamma", kind: "range", min: 0.05, max: 1, step: 0.05, digits: 2 },
      { key: "exp_gamma", kind: "range", min: 0.99, max: 1, step: 0.0005, digits: 4 },
      { key: "warmup_steps", kind: "range", min: 1, max: 1000, step: 1, integer: true, digits: 4 },
      { key: "d_model", kind: "range", min: 16, max: 2048, step: 16, integer: true, digits: 4 },
      { key: "total_steps", kind: "range", min: 10, max: 5000, step: 10, integer: true, digits: 4 },
      { key: "min_lr", kind: "range", min: 0, max: 0.5, step: 0.01, digits: 2 },
    ],
    compute,
    draw,
    text: {
      zh: {
        title: "交互：学习率调度",
        caption: "每条曲线是一种调度给出的学习率 ηᵗ（纵轴为对数刻度），更新次数 t 从 0 开始计。拖动滑块改变各调度的参数。",
        controls: {
          show: "显示", steps: "更新次数", lr: "初始学习率 η", step_size: "阶梯间隔 s", step_gamma: "阶梯衰减 γ",
          exp_gamma: "指数衰减 γ", warmup_steps: "预热步数 τ", d_model: "Transformer 维度 d",
          total_steps: "余弦周期 T", min_lr: "余弦最小值 η_min",
        },
        options: {
          all: "全部", step: "阶梯衰减", exponential: "指数衰减", inverse_sqrt: "η/√(t+1)",
          linear_warmup: "线性预热", transformer: "Transformer 预热", cosine: "余弦衰减",
        },
        step: "更新次数 t", rate: "学习率 ηᵗ", at: "在",
      },
      en: {
        title: "Interactive: learning-rate schedules",
        caption: "Each curve is the learning rate ηᵗ a schedule gives (log scale), with the update t counted from 0. Drag the sliders to change each schedule's parameters.",
        controls: {
          show: "show", steps: "updates", lr: "initial rate η", step_size: "step every s", step_gamma: "step factor γ",
          exp_gamma: "exponential γ", warmup_steps: "warm-up steps τ", d_model: "Transformer width d",
          total_steps: "cosine length T", min_lr: "cosine floor η_min",
        },
        options: {
          all: "all", step: "step decay", exponential: "exponential decay", inverse_sqrt: "η/√(t+1)",
          linear_warmup: "linear warm-up", transformer: "Transformer warm-up", cosine: "cosine decay",
        },
        step: "update t", rate: "learning rate ηᵗ", at: "at",
      },
    },
  });
})();
