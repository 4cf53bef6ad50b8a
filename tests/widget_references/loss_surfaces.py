"""Squared error against cross-entropy (classification loss): mlnotes.GradientDescent on autograd
gradients of mlnotes.softmax_mse and mlnotes.cross_entropy, as
examples/classification-loss/loss_surfaces.py descends."""

import torch

import mlnotes as ml

PAGE = "chapters/classification-loss"
SETTINGS = [
    {"y1": -8.0, "y2": 8.0, "lr": 1.0, "steps": 1000},  # the chapter's bad start, on the plateau
    {"y1": 3.0, "y2": -2.0, "lr": 0.3, "steps": 200},  # already on the right side
    {"y1": 0.0, "y2": 0.0, "lr": 5.0, "steps": 500},
    {"y1": -10.0, "y2": -10.0, "lr": 0.05, "steps": 50},  # class 3 dominates
    {"y1": -2.5, "y2": 9.9, "lr": 10.0, "steps": 1000},
]
LOSSES = {"mse": ml.softmax_mse, "cross_entropy": ml.cross_entropy}


def _logits(y):
    return torch.cat([y, torch.zeros(1, dtype=y.dtype)])


def _descend(name, s):
    y = torch.tensor([s["y1"], s["y2"]], dtype=torch.float64, requires_grad=True)
    opt = ml.GradientDescent([y], lr=s["lr"])
    target = torch.tensor([0])
    path, first = [y.tolist()], None
    for _ in range(s["steps"]):
        opt.zero_grad()
        LOSSES[name](_logits(y)[None], target).backward()
        first = y.grad.norm().item() if first is None else first
        opt.step()
        path.append(y.tolist())
    with torch.no_grad():
        end = LOSSES[name](_logits(y)[None], target).item()
        p_correct = ml.softmax(_logits(y))[0].item()
    return {"path": path, "loss": end, "p_correct": p_correct, "start_grad_norm": first}


def reference(s: dict) -> dict:
    return {name: _descend(name, s) for name in LOSSES}
