"""The narrow valley (adaptive learning rate): the five mlnotes.optim classes, stepped on autograd
gradients of the valley's loss in float64."""

import math

import torch

import mlnotes as ml

PAGE = "chapters/adaptive-learning-rate"
H1, H2, C = 1e-4, 100.0, 0.003
START = (8.0, 1.0 + 8 * C)
LIMIT = 1e6
DEFAULTS = {
    "steps": 1000,
    "gd_lr": 0.0199,
    "momentum_lr": 0.0199,
    "momentum_beta": 0.9,
    "adagrad_lr": 0.1,
    "rmsprop_lr": 0.1,
    "rmsprop_alpha": 0.9,
    "adam_lr": 0.1,
    "adam_beta1": 0.9,
    "adam_beta2": 0.999,
}
SETTINGS = [
    DEFAULTS,  # the widget's first view, over 1000 of its 5000 updates
    {**DEFAULTS, "rmsprop_lr": 0.01, "adam_lr": 0.01},
    {
        **DEFAULTS,
        "steps": 300,
        "gd_lr": 0.001,
        "momentum_beta": 0.5,
        "adagrad_lr": 1.0,
        "rmsprop_alpha": 0.99,
        "adam_beta1": 0.0,
        "adam_beta2": 0.99,
    },
    {
        **DEFAULTS,
        "steps": 2000,
        "momentum_lr": 0.001,
        "momentum_beta": 0.99,
        "adam_lr": 0.1,
        "adam_beta1": 0.6,
    },
    {**DEFAULTS, "steps": 50, "gd_lr": 0.03, "momentum_lr": 0.5},  # both diverge: the runs stop early
]


def _optimizer(method, params, s):
    if method == "gradient_descent":
        return ml.GradientDescent(params, lr=s["gd_lr"])
    if method == "momentum":
        return ml.Momentum(params, lr=s["momentum_lr"], momentum=s["momentum_beta"])
    if method == "adagrad":
        return ml.Adagrad(params, lr=s["adagrad_lr"])
    if method == "rmsprop":
        return ml.RMSProp(params, lr=s["rmsprop_lr"], alpha=s["rmsprop_alpha"])
    return ml.Adam(params, lr=s["adam_lr"], betas=(s["adam_beta1"], s["adam_beta2"]))


def loss(w):
    return 0.5 * (H1 * w[0] ** 2 + H2 * (w[1] - C * w[0]) ** 2)


def reference(s: dict) -> dict:
    out = {}
    for method in ("gradient_descent", "momentum", "adagrad", "rmsprop", "adam"):
        w = torch.tensor(START, dtype=torch.float64, requires_grad=True)
        opt = _optimizer(method, [w], s)
        path = [list(START)]
        for _ in range(s["steps"]):
            opt.zero_grad()
            loss(w).backward()
            opt.step()
            path.append(w.tolist())
            if not (abs(path[-1][0]) <= LIMIT and abs(path[-1][1]) <= LIMIT):
                break
        w1, w2 = path[-1]
        out[method] = {
            "path": path,
            "loss": float(loss(torch.tensor(path[-1], dtype=torch.float64))),
            "distance": math.hypot(w1, w2),
        }
    return out
