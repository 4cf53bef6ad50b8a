"""The data-parallel HessianOperator: two CPU processes with the gloo backend on 127.0.0.1.

Each process holds a shard of the same 200 examples (70 and 130); the products, the loss, the gradient,
Lanczos, Hutchinson's trace and the spectral density must match a single process holding all 200 examples
(to 1e-12 in float64) and be the same, bit for bit, on both ranks. The workers are in curvature_worker.py.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from mlnotes.curvature import HessianOperator

HERE = Path(__file__).resolve().parent
WORKER = HERE / "curvature_worker.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("distributed")
    port = free_port()
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(rank), "2", str(port), str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    logs = []
    try:
        for process in processes:
            logs.append(process.communicate(timeout=180)[0])
    finally:
        for process in processes:  # a rank that failed leaves the other waiting: end it
            if process.poll() is None:
                process.kill()
                process.wait()
    for rank, (process, log) in enumerate(zip(processes, logs, strict=True)):
        assert process.returncode == 0, f"rank {rank} failed:\n{log[-3000:]}"
    return [torch.load(out / f"rank{rank}.pt") for rank in range(2)]


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


QUANTITIES = ("products", "gradient", "eigenvalues", "nodes")


@pytest.mark.parametrize("key", QUANTITIES)
def test_the_distributed_operator_equals_one_process_on_all_the_data(ranks, key):
    for rank in ranks:
        assert relative(rank["distributed"][key], rank["single"][key]) < 1e-12


def test_loss_trace_and_sizes_over_all_the_data(ranks):
    for rank, local in zip(ranks, (70, 130), strict=True):
        ours, single = rank["distributed"], rank["single"]
        assert ours["loss"] == pytest.approx(single["loss"], rel=1e-12)
        assert ours["trace"] == pytest.approx(single["trace"], rel=1e-12)
        assert ours["size"] == (200, local)
        assert ours["iterations"] == single["iterations"]


@pytest.mark.parametrize("key", (*QUANTITIES, "loss", "trace"))
def test_every_rank_gets_the_same_answer_bit_for_bit(ranks, key):
    first, second = (rank["distributed"][key] for rank in ranks)
    if isinstance(first, torch.Tensor):
        assert torch.equal(first, second)
    else:
        assert first == second


def test_the_eigenvalues_are_those_of_the_dense_hessian(ranks):
    # independent of Lanczos: the dense Hessian of all the data, column by column (single process)
    import curvature_worker

    net, x, y = curvature_worker.problem()
    dense = HessianOperator(net, nn.CrossEntropyLoss(), (x, y)).dense()
    exact = torch.linalg.eigvalsh(dense)
    found = ranks[0]["distributed"]["eigenvalues"]
    assert relative(found, torch.cat([exact[:3], exact[-3:]])) < 1e-10


def test_a_layers_hessian_is_distributed_too(ranks):
    for rank in ranks:
        assert relative(rank["layer"], rank["layer_single"]) < 1e-12
    assert torch.equal(ranks[0]["layer"], ranks[1]["layer"])


def test_distributed_without_a_process_group_says_how_to_start_one():
    net = nn.Linear(2, 1)
    data = (torch.ones(3, 2), torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"init_process_group.*torchrun") as info:
        HessianOperator(net, nn.MSELoss(), data, distributed=True)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="process_group is given but distributed is False"):
        HessianOperator(net, nn.MSELoss(), data, process_group=object())
    with pytest.raises(TypeError, match="distributed"):
        HessianOperator(net, nn.MSELoss(), data, distributed="yes")


def test_the_example_gives_the_same_numbers_under_torchrun_as_in_one_process():
    import importlib.util
    import re

    path = HERE.parent / "examples" / "critical-points" / "hessian_distributed.py"
    spec = importlib.util.spec_from_file_location("hessian_distributed", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    alone = example.main(["--quick", "--device", "cpu"])  # a group of one process, started and ended
    assert alone["processes"] == 1 and alone["examples"] == 1077 and alone["figures"] == []
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    run = subprocess.run(
        [*command, str(path), "--quick", "--device", "cpu"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert out.count("5 largest eigenvalues") == 1  # printed by process 0 only
    assert "2 process(es), gloo on cpu" in out and "539 on process 0" in out
    printed = [float(v) for v in re.search(r"5 largest eigenvalues \[(.*)\]", out).group(1).split(",")]
    assert printed == pytest.approx(alone["largest"], abs=1e-4)
    trace = float(re.search(r"trace ([0-9.]+) \+-", out).group(1))
    assert trace == pytest.approx(alone["trace"], abs=1e-3)
