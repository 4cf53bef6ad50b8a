"""Regenerate every figure of the book by running each example script in turn.

``python examples/make_figures.py`` rewrites the figures under ``docs/figures`` (full mode, the
device chosen by ``--device``, default ``auto``). The flags are the ones every example takes and are
passed on to each script unchanged; a progress bar counts the scripts.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from tqdm import tqdm

from mlnotes.cli import example_parser, parse_example_args

HERE = Path(__file__).resolve().parent


def example_scripts() -> list[Path]:
    """Every example script in this folder except this one, in name order."""
    return sorted(
        p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")
    )


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"examples.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = example_parser(__doc__.splitlines()[0])
    args = parse_example_args(parser, argv)  # every flag checked once, before the first script runs
    forwarded = ["--out", str(args.out), "--device", args.device.type, "--seed", str(args.seed)]
    if args.quick:
        forwarded.append("--quick")
    results = {}
    scripts = example_scripts()
    with tqdm(scripts, unit="script") as bar:
        for path in bar:
            bar.set_description(path.stem)
            start = time.perf_counter()
            results[path.stem] = load(path).main(forwarded)
            bar.write(f"{path.stem}: {time.perf_counter() - start:.1f} s")
    return results


if __name__ == "__main__":
    main()
