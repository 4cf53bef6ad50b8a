"""What the optimizer tests share: a small float64 network, fixed batches, recorded trajectories, and
every optimizer of mlnotes.optim (found by introspection, so a new one cannot be left out)."""

import inspect

import torch
from torch import nn

import mlnotes.optim as mo


def small_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()


def batches(n_steps, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(16, 5, generator=gen, dtype=torch.float64), torch.randint(0, 3, (16,), generator=gen))
        for _ in range(n_steps)
    ]


def trajectory(model, opt, data, scheduler=None):
    """Flat parameters after every step of training ``model`` on ``data``."""
    loss_fn = nn.CrossEntropyLoss()
    points = []
    for x, y in data:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        points.append(torch.cat([p.detach().flatten() for p in model.parameters()]).clone())
    return torch.stack(points)


def optimizer_classes():
    """Every concrete optimizer of mlnotes.optim, by name."""
    return {
        name: cls
        for name, cls in vars(mo).items()
        if inspect.isclass(cls) and issubclass(cls, mo.OptimizerBase) and cls is not mo.OptimizerBase
    }


def one_param():
    return [torch.zeros(2, requires_grad=True)]
