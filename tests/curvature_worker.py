"""One process of the two-process test of the data-parallel HessianOperator (gloo on 127.0.0.1).

Run by tests/test_curvature_distributed.py as ``python curvature_worker.py RANK WORLD PORT OUT``. Every
rank builds the same float64 network and the same 200 examples, keeps its own uneven shard (70 and 130
examples; rank 1's in two batches) and computes with the distributed operator; it also computes the same
quantities with a single-process operator on all 200 examples, and saves both to ``OUT/rank{RANK}.pt``.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from mlnotes.curvature import HessianOperator, hutchinson_trace, lanczos, spectral_density

BOUNDS = (0, 70, 200)  # rank 0 holds examples 0-69, rank 1 examples 70-199


def problem() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3)).double()
    with torch.no_grad():  # running statistics that are not the defaults
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    x = torch.randn(200, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (200,))
    return net.eval(), x, y


def results(op: HessianOperator, vectors: torch.Tensor) -> dict[str, object]:
    top = lanczos(op, k=3, which="both", tol=1e-10)
    trace, error = hutchinson_trace(op, samples=20, seed=3)
    density = spectral_density(op, steps=12, runs=2, seed=5)
    return {
        "products": torch.stack([op(v) for v in vectors]),
        "loss": op.loss(),
        "gradient": op.gradient(),
        "eigenvalues": top.eigenvalues,
        "iterations": top.iterations,
        "trace": (trace, error),
        "nodes": torch.cat(density.nodes),
        "size": (op.num_examples, op.num_local_examples),
    }


def main(rank: int, world: int, port: int, out: str) -> None:
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world,
        timeout=timedelta(seconds=60),
    )
    try:
        net, x, y = problem()
        lo, hi = BOUNDS[rank], BOUNDS[rank + 1]
        shard = [(x[lo:hi], y[lo:hi])] if rank == 0 else [(x[lo:130], y[lo:130]), (x[130:hi], y[130:hi])]
        vectors = torch.randn(3, sum(p.numel() for p in net.parameters()), dtype=torch.float64,
                              generator=torch.Generator().manual_seed(7))  # fmt: skip
        ours = HessianOperator(net, nn.CrossEntropyLoss(), shard, distributed=True)
        whole = HessianOperator(net, nn.CrossEntropyLoss(), (x, y))
        last = [net[3].weight, net[3].bias]
        layer = HessianOperator(net, nn.CrossEntropyLoss(), shard, distributed=True, params=last)
        layer_whole = HessianOperator(net, nn.CrossEntropyLoss(), (x, y), params=last)
        saved = {
            "distributed": results(ours, vectors),
            "single": results(whole, vectors),
            "layer": layer.dense(),
            "layer_single": layer_whole.dense(),
        }
        torch.save(saved, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
