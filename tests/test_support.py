"""Device selection, the shared example flags and deterministic, atomic figure files."""

import functools
import importlib.util
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.device import resolve_device
from mlnotes.plotting import LANGUAGES, cjk_font, new_figure, save_figure, save_figures


def test_resolve_device(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:1")
    with pytest.raises(ValueError, match=r"device must be one of \('auto', 'cpu', 'cuda', 'mps'\)"):
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


# ---------------------------------------------------------------- --seed and --out, checked before any work

SEED_MAX = 4294967295  # np.random.seed takes [0, 2**32)


@pytest.mark.parametrize("seed", ["0", "4294967295"])
def test_seed_accepts_numpys_whole_range(tmp_path, seed):
    args = parse_example_args(example_parser("test"), ["--seed", seed, "--out", str(tmp_path)])
    assert args.seed == int(seed)
    assert np.random.get_state()[1][0] == int(seed)  # NumPy's legacy generator got exactly this seed


@pytest.mark.parametrize("seed", ["-1", "4294967296", "18446744073709551616", "1.5", "seven"])
def test_seed_outside_numpys_range_is_an_argparse_error(tmp_path, capsys, seed):
    with pytest.raises(SystemExit) as exit_info:
        parse_example_args(example_parser("test"), ["--seed", seed, "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert "--seed" in line and "2**32 - 1" in line and seed in line


def _out_error(capsys, out) -> str:
    with pytest.raises(SystemExit) as exit_info:
        parse_example_args(example_parser("test"), ["--out", str(out)])
    assert exit_info.value.code == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert "--out" in line
    return line


def test_out_that_is_a_file_or_below_one_is_refused(tmp_path, capsys):
    file = tmp_path / "figures.svg"
    file.write_text("keep", encoding="utf-8")
    assert "is an existing file" in _out_error(capsys, file)
    assert "which is a file" in _out_error(capsys, file / "sub" / "deeper")
    assert file.read_text(encoding="utf-8") == "keep"
    assert os.listdir(tmp_path) == ["figures.svg"]


def test_out_that_cannot_be_written_is_refused_and_the_folders_made_for_the_check_are_removed(
    tmp_path, capsys, monkeypatch
):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("mlnotes.cli.tempfile.mkstemp", refuse)
    line = _out_error(capsys, tmp_path / "new" / "figures")
    assert "Permission denied" in line and str(tmp_path / "new" / "figures") in line
    assert os.listdir(tmp_path) == [], "the folders created for the check were left behind"
    assert "Permission denied" in _out_error(capsys, tmp_path)  # an existing folder, not writable


def test_out_that_cannot_be_created_is_refused(tmp_path, capsys, monkeypatch):
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.name == "b":  # the first level is created, the second refused
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    assert "Permission denied" in _out_error(capsys, tmp_path / "a" / "b" / "c")
    assert os.listdir(tmp_path) == []


def test_out_check_leaves_nothing_behind_when_it_passes(tmp_path):
    (tmp_path / "existing").mkdir()
    args = parse_example_args(example_parser("test"), ["--out", str(tmp_path / "existing")])
    assert args.out == tmp_path / "existing"
    assert os.listdir(tmp_path / "existing") == [], "the write check left its file"
    args = parse_example_args(example_parser("test"), ["--out", str(tmp_path / "new" / "figures")])
    assert args.out == tmp_path / "new" / "figures"
    assert os.listdir(tmp_path) == ["existing"]  # save_figure creates the folder when it writes
    path = save_figure(_figure(), args.out / "fig.svg")
    assert path.is_file()


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# the runner and every chapter folder's scripts
SCRIPTS = sorted(p for p in [*EXAMPLES.glob("*.py"), *EXAMPLES.glob("*/*.py")] if not p.name.startswith("_"))


@functools.cache
def _example(path: Path):
    spec = importlib.util.spec_from_file_location(f"examples_under_test.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bad_flag_checks_cover_every_example_script():
    names = {p.name for p in SCRIPTS}
    assert "make_figures.py" in names and len(names) > 10, names


BAD_FLAGS = {
    "negative seed": (["--seed", "-1"], "--seed"),
    "seed of 2**32": (["--seed", "4294967296"], "--seed"),
    "out is a file": (["--out", "{file}"], "--out"),
    "out below a file": (["--out", "{file}/sub"], "--out"),
}


@pytest.mark.parametrize("flags", list(BAD_FLAGS), ids=list(BAD_FLAGS))
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_every_example_refuses_bad_flags_before_computing_anything(
    tmp_path, capsys, monkeypatch, script, flags
):
    main = _example(script).main
    file = tmp_path / "taken.svg"
    file.write_text("keep", encoding="utf-8")
    extra, flag = BAD_FLAGS[flags]
    argv = ["--quick", "--device", "cpu", "--out", str(tmp_path / "figures")]
    argv += [a.format(file=file) for a in extra]  # a later --out wins
    monkeypatch.chdir(tmp_path)  # a default --out would land here, not in the repository
    start = time.perf_counter()
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    elapsed = time.perf_counter() - start
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    (line,) = [line for line in captured.err.splitlines() if "error:" in line]
    assert flag in line
    assert captured.out == "", f"{script.name} printed before its flags were checked"
    assert elapsed < 2.0, f"{script.name} took {elapsed:.1f} s to refuse {argv}: it computed first"
    assert os.listdir(tmp_path) == ["taken.svg"] and file.read_text(encoding="utf-8") == "keep"


# ---------------------------------------------------------------- save_figure and --out: what they refuse


@pytest.mark.parametrize("fig", ["fig", None, object()])
def test_save_figure_refuses_what_is_not_a_figure(tmp_path, fig):
    with pytest.raises(TypeError, match=r"^fig must be a matplotlib Figure"):
        save_figure(fig, tmp_path / "a.png")
    assert os.listdir(tmp_path) == []


def test_save_figure_below_a_file_or_onto_a_folder_is_refused_naming_the_path(tmp_path):
    file = tmp_path / "taken"
    file.write_text("keep", encoding="utf-8")
    for path in (file / "a.png", file / "sub" / "a.svg"):
        expected = f"^path {re.escape(str(path))} lies below {re.escape(str(file))}, which is a file"
        with pytest.raises(ValueError, match=expected):
            save_figure(_figure(), path)
    folder = tmp_path / "folder.svg"
    folder.mkdir()
    with pytest.raises(ValueError, match=r"is an existing folder"):
        save_figure(_figure(), folder)
    with pytest.raises(TypeError, match=r"^path must be a str"):
        save_figure(_figure(), 3)
    assert sorted(os.listdir(tmp_path)) == ["folder.svg", "taken"] and os.listdir(folder) == []
    assert file.read_text(encoding="utf-8") == "keep"


def test_save_figure_whose_folder_cannot_be_created_names_the_path(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    path = tmp_path / "new" / "a.png"
    with pytest.raises(ValueError, match=r"Permission denied") as error:
        save_figure(_figure(), path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("out", ["", "  "])
def test_an_empty_out_is_an_argparse_error(tmp_path, capsys, monkeypatch, out):
    monkeypatch.chdir(tmp_path)  # where Path("") would have put the figures
    with pytest.raises(SystemExit) as exit_info:
        parse_example_args(example_parser("test"), ["--out", out])
    assert exit_info.value.code == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert "--out" in line and "must name a folder" in line and "--out ." in line
    assert os.listdir(tmp_path) == []


def test_an_explicit_out_dot_is_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_example_args(example_parser("test"), ["--out", "."]).out == Path(".")
    assert os.listdir(tmp_path) == []


def test_save_figure_with_a_name_too_long_is_a_value_error_naming_the_path(tmp_path):
    fig, _ = new_figure()
    (tmp_path / "x").mkdir()  # then Path.is_dir itself raises the OSError
    path = tmp_path / "x" / ("a" * 260 + ".png")
    with pytest.raises(OSError):
        path.is_dir()
    with pytest.raises(ValueError, match=r"^cannot write path .*aaaa\.png \(File name too long\)"):
        save_figure(fig, path)
    assert list((tmp_path / "x").iterdir()) == []


@pytest.mark.parametrize("folder", [5, None, b"out"])
def test_check_out_folder_of_the_wrong_type_names_the_argument(folder):
    from mlnotes.cli import check_out_folder

    with pytest.raises(TypeError, match=r"^folder must be a str or a pathlib\.Path, got "):
        check_out_folder(folder)


def test_check_out_folder_with_a_name_too_long_is_a_value_error(tmp_path):
    from mlnotes.cli import check_out_folder

    with pytest.raises(ValueError, match=r"^cannot write to .* \(File name too long\)"):
        check_out_folder(tmp_path / ("a" * 260))


def _labelled(language):
    fig, ax = new_figure()
    ax.plot([0, 1], [1, 0])
    ax.set(xlabel={"zh": "回合 $t$", "en": "epoch $t$"}[language], ylabel="$L$")
    return fig


def test_save_figures_writes_one_file_per_language(tmp_path):
    paths = save_figures(_labelled, tmp_path, "curve")
    assert (
        [p.name for p in paths]
        == [f"curve.{language}.svg" for language in LANGUAGES]
        == [
            "curve.zh.svg",
            "curve.en.svg",
        ]
    )
    zh, en = (p.read_bytes() for p in paths)
    assert zh != en
    assert (
        save_figures(_labelled, tmp_path, "curve") == paths and paths[0].read_bytes() == zh
    )  # deterministic


def test_chinese_text_is_drawn_with_a_cjk_font_and_latin_text_is_not(tmp_path):
    fig = _labelled("zh")
    save_figure(fig, tmp_path / "zh.svg")
    label = fig.axes[0].xaxis.label
    assert label.get_fontfamily()[0] == cjk_font()
    fig = _labelled("en")
    save_figure(fig, tmp_path / "en.svg")
    assert fig.axes[0].xaxis.label.get_fontfamily()[0] != cjk_font()


def test_without_a_cjk_font_a_chinese_figure_stops_and_leaves_no_file(monkeypatch, tmp_path):
    from mlnotes import plotting

    monkeypatch.setattr(plotting, "_cjk_family", None)
    monkeypatch.setattr(plotting.font_manager, "findSystemFonts", lambda *a, **k: ["/x/DejaVuSans.ttf"])
    with pytest.raises(ValueError, match="fonts-noto-cjk"):
        save_figure(_labelled("zh"), tmp_path / "zh.svg")
    assert list(tmp_path.iterdir()) == []
    save_figure(_labelled("en"), tmp_path / "en.svg")  # no Chinese, no font needed
    assert [p.name for p in tmp_path.iterdir()] == ["en.svg"]


@pytest.mark.parametrize(
    ("draw", "name", "error"),
    [
        ("not a function", "x", TypeError),
        (lambda language: "not a figure", "x", TypeError),
        (_labelled, "sub/x", ValueError),
        (_labelled, "x.svg", ValueError),
        (_labelled, "", ValueError),
    ],
)
def test_save_figures_refuses_bad_arguments(tmp_path, draw, name, error):
    with pytest.raises(error):
        save_figures(draw, tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def test_synchronize_waits_for_cuda_only_and_its_old_place_warns(monkeypatch):
    import mlnotes.training
    from mlnotes.device import synchronize

    waited = []
    monkeypatch.setattr(torch.cuda, "synchronize", waited.append)
    synchronize(torch.device("cpu"))
    assert waited == []  # the CPU's work is done when a call returns
    synchronize(torch.device("cuda:1"))  # only recorded: torch.cuda.synchronize is replaced
    assert waited == [torch.device("cuda:1")]
    with pytest.warns(DeprecationWarning, match="synchronize is deprecated: use mlnotes.device.synchronize"):
        assert mlnotes.training.synchronize is synchronize
    with pytest.raises(AttributeError, match="has no attribute 'synchronise'"):
        mlnotes.training.synchronise  # noqa: B018
