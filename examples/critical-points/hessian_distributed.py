"""The Hessian of a network whose data are split across processes, with torch.distributed.

Book: critical-points#hessian-at-scale.

Launch it with PyTorch's launcher, one process per shard of the data:

    torchrun --nproc_per_node=2 examples/hessian_distributed.py [--device cpu|cuda] [--quick]

Every process builds the same MLP 64-128-128-10 (26,122 parameters); process 0 trains it with Adam
(learning rate 1e-3, batch 64, 20 epochs) on the 1,077 training digits and sends the trained
parameters to the others (``torch.distributed.broadcast``), as loading one checkpoint everywhere
would. Each process then keeps every P-th training image (P processes), builds a
``HessianOperator(..., distributed=True)`` on its shard and runs, unchanged, ``lanczos`` (the 5
largest and the most negative eigenvalue) and ``hutchinson_trace`` (100 samples). Each product is
summed over the processes by ``all_reduce``, weighted by the shards' sizes, so every process gets
the Hessian of the mean loss over all 1,077 images and the same answer; process 0 prints it.

The backend is gloo on the CPU and NCCL with ``--device cuda`` (each process on GPU ``LOCAL_RANK``).
Run without ``torchrun``, the script starts a group of one process on 127.0.0.1, which holds all the
data. It draws no figure.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.curvature import HessianOperator, hutchinson_trace, lanczos
from mlnotes.data import load_digits
from mlnotes.optim import Adam
from mlnotes.training import train


def network(width: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(64, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10)
    )


def start_group(device: torch.device) -> tuple[bool, torch.device]:
    """Join the process group torchrun describes, or start one of one process; whether this call
    started it (and so must end it), and this process's device."""
    if dist.is_initialized():
        return False, device
    backend = "nccl" if device.type == "cuda" else "gloo"
    if "WORLD_SIZE" in os.environ:  # launched by torchrun, which sets RANK, MASTER_ADDR, ...
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group(backend, timeout=timedelta(minutes=5))
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    return True, device


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    width, epochs, samples = (32, 2, 20) if args.quick else (128, 20, 100)
    started, device = start_group(args.device)
    try:
        rank, size = dist.get_rank(), dist.get_world_size()
        data = load_digits().train
        net = network(width, args.seed).to(device)
        if rank == 0:
            optimizer = Adam(net.parameters(), lr=1e-3)
            train(
                net,
                optimizer,
                data,
                epochs=epochs,
                batch_size=64,
                device=device,
                seed=args.seed,
                progress=False,
            )
        for p in net.parameters():  # every process analyzes process 0's trained network
            dist.broadcast(p.data, src=0)
        shard = (data.x[rank::size].to(device), data.y[rank::size].to(device))
        start = time.perf_counter()
        op = HessianOperator(net, nn.CrossEntropyLoss(), shard, distributed=True)
        top = lanczos(op, k=5, tol=1e-4, seed=args.seed)
        bottom = lanczos(op, k=1, which="smallest", tol=1e-4, seed=args.seed)
        trace, error = hutchinson_trace(op, samples=samples, seed=args.seed)
        seconds = time.perf_counter() - start
        largest = top.eigenvalues.flip(0).cpu().tolist()
        if rank == 0:
            where = f"{size} process(es), {dist.get_backend()} on {device}"
            model = f"MLP 64-{width}-{width}-10, {op.num_parameters:,} parameters"
            print(f"{where}; {model}; {op.num_examples:,} images, {op.num_local_examples:,} on process 0")
            print(f"  5 largest eigenvalues {[round(v, 4) for v in largest]}")
            print(f"  most negative eigenvalue {float(bottom.eigenvalues[0]):.4f}")
            print(f"  trace {trace:.3f} +- {error:.3f} (Hutchinson, {samples} samples)")
            print(f"  {top.iterations + bottom.iterations + samples} products in {seconds:.1f} s")
        # every rank done with its last collective before any tears the group down: one CI run in many
        # saw rank 0 abort in gloo's teardown ("terminate called without an active exception")
        dist.barrier()
        return {
            "figures": [],
            "processes": size,
            "examples": op.num_examples,
            "largest": largest,
            "most_negative": float(bottom.eigenvalues[0]),
            "trace": trace,
            "trace_error": error,
        }
    finally:
        if started:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
