"""The learning-rate schedules (adaptive learning rate): the classes of mlnotes.schedules."""

from mlnotes.schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseSqrtDecay,
    LinearWarmup,
    StepDecay,
    TransformerWarmup,
)

PAGE = "chapters/adaptive-learning-rate"
DEFAULTS = {
    "show": "all",
    "steps": 1000,
    "lr": 1.0,
    "step_size": 250,
    "step_gamma": 0.5,
    "exp_gamma": 0.997,
    "warmup_steps": 200,
    "d_model": 512,
    "total_steps": 1000,
    "min_lr": 0.0,
}
SETTINGS = [
    DEFAULTS,
    {
        **DEFAULTS,
        "steps": 3000,
        "lr": 0.01,
        "step_size": 7,
        "step_gamma": 0.9,
        "exp_gamma": 0.999,
        "warmup_steps": 1,
        "d_model": 64,
        "total_steps": 700,
        "min_lr": 0.001,
    },
    {
        **DEFAULTS,
        "steps": 10,
        "lr": 0.3,
        "step_size": 1000,
        "warmup_steps": 1000,
        "total_steps": 10,
        "min_lr": 0.3,
    },
    {
        **DEFAULTS,
        "show": "cosine",
        "steps": 5000,
        "lr": 0.5,
        "step_size": 1,
        "step_gamma": 0.05,
        "exp_gamma": 0.99,
        "d_model": 2048,
        "total_steps": 5000,
        "min_lr": 0.1,
    },
]


def reference(s: dict) -> dict:
    schedules = {
        "step": StepDecay(s["lr"], step_size=s["step_size"], gamma=s["step_gamma"]),
        "exponential": ExponentialDecay(s["lr"], gamma=s["exp_gamma"]),
        "inverse_sqrt": InverseSqrtDecay(s["lr"]),
        "linear_warmup": LinearWarmup(s["lr"], warmup_steps=s["warmup_steps"]),
        "transformer": TransformerWarmup(d_model=s["d_model"], warmup_steps=s["warmup_steps"]),
        "cosine": CosineDecay(s["lr"], total_steps=s["total_steps"], min_lr=min(s["min_lr"], s["lr"])),
    }
    return {name: [schedule(t) for t in range(s["steps"])] for name, schedule in schedules.items()}
