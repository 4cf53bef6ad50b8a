"""The portability check: every test that checks an outcome, under other CPU kernels and thread counts.

A training run's last digits depend on the order in which the CPU adds numbers up, and that order
changes with PyTorch's vector kernels (``ATEN_CPU_CAPABILITY``: ``default`` is plain C++, ``avx2`` and
``avx512`` the vector units of newer CPUs) and with the number of threads. A claim the book makes about
an experiment must survive that. This runs pytest once per combination of

- kernels: ``default``, ``avx2`` and this CPU's own choice (the variable unset), and
- threads: 1 and 2 (``OMP_NUM_THREADS``, and the same for the BLAS libraries),

with every tier except the site build and the browser: the package and its doctests, the book's code
blocks, the examples in quick mode, and every lab executed afresh (the ``labs`` tier, which does not
read the site build's stored outputs). It prints a line per run and a table at the end, and exits 1
if any run failed. Usage: ``python tests/portability.py [--kernels default avx2 native] [--threads 1 2]
[-- extra pytest arguments]``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

from site_build import ROOT, THREAD_VARIABLES  # this script's folder, tests/, is on sys.path

KERNELS = ("default", "avx2", "native")
SELECTION = "not (site or browser)"  # the command-line -m replaces addopts' "not labs"
# Byte-for-byte reproducibility is a property of one machine, not an outcome, and its two quick runs
# side by side on 2 threads each took 3-5 min per run here (OpenMP threads of two busy processes
# waiting for each other); make test checks it.
LEAVE_OUT = ["--deselect", "tests/test_examples.py::test_quick_mode_is_byte_for_byte_reproducible"]
SUMMARY = re.compile(r"^=*\s*(?P<summary>\d+ (?:passed|failed|errors?)\b.*?) in [\d.]+s", re.M)


def environment(kernel: str, threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    if kernel != "native":
        env["ATEN_CPU_CAPABILITY"] = kernel
    env.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    return env


def capability(env: dict[str, str]) -> str:
    """The kernels PyTorch really uses under ``env`` (a CPU without AVX2 falls back to less)."""
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def run(kernel: str, threads: int, extra: list[str]) -> dict[str, object]:
    env = environment(kernel, threads)
    used = capability(env)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", SELECTION, *LEAVE_OUT, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - start
    found = SUMMARY.search(proc.stdout)
    summary = found["summary"] if found else f"pytest exited {proc.returncode} without a summary"
    return {
        "kernel": kernel,
        "used": used,
        "threads": threads,
        "ok": proc.returncode == 0,
        "summary": summary,
        "seconds": seconds,
        "output": proc.stdout + proc.stderr,
    }


def parse(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", nargs="+", choices=KERNELS, default=list(KERNELS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    args = parser.parse_args(own)
    if any(n < 1 for n in args.threads):
        parser.error(f"--threads must be at least 1, got {args.threads}")
    return args, extra


def main(argv: list[str] | None = None) -> int:
    args, extra = parse(argv)
    runs = [(k, t) for k in args.kernels for t in args.threads]
    results = []
    for i, (kernel, threads) in enumerate(runs, 1):
        print(f"[{i}/{len(runs)}] ATEN_CPU_CAPABILITY={kernel}, {threads} thread(s) ...", flush=True)
        result = run(kernel, threads, extra)
        results.append(result)
        print(f"      {'ok' if result['ok'] else 'FAILED'}: {result['summary']} ({result['seconds']:.0f} s)")
        if not result["ok"]:
            print(result["output"][-6000:])
    print("\n| ATEN_CPU_CAPABILITY | kernels used | threads | result | time |")
    print("|---|---|---:|---|---:|")
    for r in results:
        print(f"| {r['kernel']} | {r['used']} | {r['threads']} | {r['summary']} | {r['seconds']:.0f} s |")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
