"""Device selection, the shared example flags and deterministic, atomic figure files."""

import os

import pytest
import torch

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.device import resolve_device
from mlnotes.plotting import new_figure, save_figure


def test_resolve_device(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:1")
    with pytest.raises(ValueError, match=r"device must be one of \('auto', 'cpu', 'cuda'\)"):
        resolve_device("tpu")
    with pytest.raises(TypeError, match="device must be a string"):
        resolve_device(0)


def test_example_flags_and_seeding(tmp_path):
    parser = example_parser("test")
    args = parse_example_args(parser, ["--out", str(tmp_path), "--device", "cpu", "--seed", "7", "--quick"])
    assert (args.out, args.device, args.seed, args.quick) == (tmp_path, torch.device("cpu"), 7, True)
    first = torch.rand(3)
    parse_example_args(parser, ["--seed", "7"])
    torch.testing.assert_close(torch.rand(3), first)
    with pytest.raises(SystemExit):
        parse_example_args(parser, ["--device", "gpu"])


def _figure():
    fig, ax = new_figure()
    ax.plot([0, 1, 2], [1, 0, 1], label="$L$")
    ax.legend()
    return fig


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_save_figure_is_deterministic(tmp_path, suffix):
    a = save_figure(_figure(), tmp_path / f"a{suffix}")
    b = save_figure(_figure(), tmp_path / f"b{suffix}")
    assert a.read_bytes() == b.read_bytes()
    assert a.stat().st_mode & 0o777 == 0o644


def test_save_figure_leaves_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "fig.svg"
    target.write_text("old", encoding="utf-8")
    fig = _figure()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, target)
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["fig.svg"], "a temporary file was left behind"


def test_save_figure_rejects_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match="path must end in one of"):
        save_figure(_figure(), tmp_path / "fig.gif")
