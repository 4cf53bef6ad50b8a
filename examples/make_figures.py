"""Regenerate every figure of the book by running each example script.

The scripts live in one folder per chapter, named by the chapter's slug
(``examples/critical-points/hessian_spectrum.py`` draws figures of
``docs/chapters/critical-points.*.md``); each script's name is unique across the folders and
is the name of the figures it writes.

``python examples/make_figures.py`` rewrites the figures under ``docs/figures`` (full mode, the
device chosen by ``--device``, default ``auto``). The flags are the ones every example takes and are
passed on to each script unchanged. ``--jobs N`` runs N scripts at a time, each in its own process
on one thread (unless ``OMP_NUM_THREADS`` says otherwise), so that the figures do not depend on how
many cores the machine has; the default is one job per core the process may use (per
``OMP_NUM_THREADS`` cores where that is set). ``--jobs 1`` runs
the scripts one after another in this process, on the threads the environment gives it. A progress
bar counts the scripts; each script's output is printed in one piece when it finishes. A script
that plots wall-clock time (``MEASURES_TIME = True``) runs alone after the others, in this process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from types import ModuleType

from tqdm import tqdm

from mlnotes.cli import example_parser, parse_example_args

HERE = Path(__file__).resolve().parent

# Started first, longest first, when scripts run side by side, so that no long one starts last
# (on one thread each these take from 10 s to 70 s, by the CPU; the rest take less).
LONGEST = (
    "initialization",
    "regularization_strength",
    "batchnorm_batch_size",
    "sharp_flat",
    "schedules",
    "batchnorm_training",
    "minimum_ratio",
    "hessian_spectrum",
    "bad_training_sets",
    "batch_size_accuracy",
)

_PROGRESS = re.compile(r"\d+%\|")  # a progress bar's frame, as tqdm draws it


def example_scripts() -> list[Path]:
    """Every example script of every chapter's folder, in name order."""
    return sorted((p for p in HERE.glob("*/*.py") if not p.name.startswith("_")), key=lambda p: p.stem)


def script(name: str) -> Path:
    """The example script called ``name`` (without ``.py``), in whichever chapter's folder it is."""
    found = [p for p in example_scripts() if p.stem == name]
    if len(found) != 1:
        raise ValueError(
            f"name: {len(found)} example scripts are called {name!r}; pass one of "
            f"{', '.join(p.stem for p in example_scripts())}"
        )
    return found[0]


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"examples.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _one_thread() -> None:
    """A worker's start: one thread for PyTorch and for NumPy's BLAS, unless OMP_NUM_THREADS is set."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = _threads_per_job()
    torch.set_num_threads(threads)
    threadpool_limits(threads)


def _run_captured(path: Path, argv: list[str]) -> tuple[object, str, float]:
    """Run one script in a worker; its result, its printed output and its seconds."""
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = load(path).main(argv)
    # keep what the script said on stderr (warnings), not the frames of its progress bars
    lines = [line.split("\r")[-1] for line in err.getvalue().split("\n")]
    said = [line for line in lines if line.strip() and not _PROGRESS.search(line)]
    return result, out.getvalue() + "".join(f"{line}\n" for line in said), time.perf_counter() - start


def _run_here(path: Path, argv: list[str], bar: tqdm) -> object:
    """Run one script in this process, its output going straight to the terminal; its result."""
    start = time.perf_counter()
    result = load(path).main(argv)
    bar.write(f"--- {path.stem}: {time.perf_counter() - start:.1f} s")
    bar.update()
    return result


def _threads_per_job() -> int:
    return int(os.environ.get("OMP_NUM_THREADS") or 1)


def jobs_default() -> int:
    """One job per core this process may use, each of ``OMP_NUM_THREADS`` threads (1 if unset): more
    threads than cores slow OpenMP down many times over."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // _threads_per_job())


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = example_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="scripts run at a time, each in its own process (default: one per core; 1: in this process)",
    )
    args = parse_example_args(parser, argv)  # every flag checked once, before the first script runs
    jobs = jobs_default() if args.jobs is None else args.jobs
    if jobs < 1:
        parser.error(f"--jobs must be at least 1, got {jobs}")
    forwarded = ["--out", str(args.out), "--device", args.device.type, "--seed", str(args.seed)]
    if args.quick:
        forwarded.append("--quick")
    scripts = example_scripts()
    results: dict[str, object] = {}
    if jobs == 1:
        with tqdm(scripts, unit="script") as bar:
            for path in scripts:
                bar.set_description(path.stem)
                results[path.stem] = _run_here(path, forwarded, bar)
        return results
    # a script that plots wall-clock time runs alone afterwards, on this process's threads: beside
    # another job it would measure the contention
    timed = [p for p in scripts if getattr(load(p), "MEASURES_TIME", False)]
    first = [p for name in LONGEST for p in scripts if p.stem == name]
    first += [p for p in scripts if p not in first and p not in timed]
    context = multiprocessing.get_context("spawn")  # no forked copy of a parent's threads or CUDA state
    if str(HERE) not in sys.path:  # the workers import this module by name: from this folder, also
        sys.path.insert(0, str(HERE))  # when it was loaded from its path (the workers get sys.path)
    with (
        ProcessPoolExecutor(min(jobs, len(scripts)), mp_context=context, initializer=_one_thread) as pool,
        tqdm(total=len(scripts), unit="script") as bar,
    ):
        running = {pool.submit(_run_captured, path, forwarded): path for path in first}
        for done in as_completed(running):
            path = running[done]
            try:
                result, printed, seconds = done.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)
                bar.write(f"--- {path.stem} failed; the scripts not yet started are cancelled")
                raise
            results[path.stem] = result
            bar.write(f"--- {path.stem}: {seconds:.1f} s\n{printed.rstrip()}")
            bar.update()
        for path in timed:
            results[path.stem] = _run_here(path, forwarded, bar)
    return {stem: results[stem] for stem in sorted(results)}


if __name__ == "__main__":
    main()
