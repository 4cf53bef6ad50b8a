"""Momentum on w^4 - 4 w^2 + w (batch and momentum): mlnotes.GradientDescent and mlnotes.Momentum."""

import torch

import mlnotes as ml

PAGE = "chapters/batch-and-momentum"
SETTINGS = [
    {"start": 2.5, "lr": 0.01, "beta": 0.9, "steps": 300},  # the chapter's figure
    {"start": 3.0, "lr": 0.01, "beta": 0.9, "steps": 1000},
    {"start": -0.5, "lr": 0.003, "beta": 0.5, "steps": 500},
    {"start": 2.0, "lr": 0.05, "beta": 0.0, "steps": 200},  # beta 0: both are gradient descent
    {"start": 3.0, "lr": 0.1, "beta": 0.95, "steps": 100},  # diverges
]
LIMIT = 1e6  # the widget stops a run once |w| passes it
MINIMA = {"local": 1.3470, "global": -1.4730}


def _run(start, lr, beta, steps):
    w = torch.tensor([start], dtype=torch.float64, requires_grad=True)
    opt = ml.Momentum([w], lr=lr, momentum=beta) if beta else ml.GradientDescent([w], lr=lr)
    path = [start]
    for _ in range(steps):
        opt.zero_grad()
        (w**4 - 4 * w**2 + w).sum().backward()
        opt.step()
        path.append(w.item())
        if not abs(path[-1]) <= LIMIT:
            break
    return path


def _basin(w):
    if not abs(w) <= LIMIT:
        return "diverged"
    return "global" if abs(w - MINIMA["global"]) < abs(w - MINIMA["local"]) else "local"


def reference(s: dict) -> dict:
    gd = _run(s["start"], s["lr"], 0.0, s["steps"])
    momentum = _run(s["start"], s["lr"], s["beta"], s["steps"])
    return {"gradient_descent": gd, "momentum": momentum, "ends": [_basin(gd[-1]), _basin(momentum[-1])]}
