"""How fast the book's interactive figures answer a slider: from the change to the redrawn figure.

For every widget of the built site, in headless Chromium (Debian's, as the browser tests use): its
trajectories are set to 1,000 updates where it has such a setting, then its first slider other
than the number of updates is moved
back and forth ``--repeats`` times. Each time is measured in the page from just before the slider's
``input`` event to the end of the second animation frame after it, when the new figure has been laid
out and painted. The reference, measured in the same run and the same page, is the same wait for
two frames with no change: the frame clock itself. The script prints, per widget, the median time of
the handler alone (compute and rebuild the SVG), the median time to the painted figure, the reference
and their ratio, against the goal of 50 ms.

    python benchmarks/widget_redraw.py                # builds the site into a temporary folder first
    python benchmarks/widget_redraw.py --site site    # or measures an already built site
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 50.0
STEPS = 1000  # the trajectory length the goal is stated for
CHROMIUM = "/usr/bin/chromium"

MEASURE = """
async ([name, repeats, steps]) => {
  const w = mlnotesWidgets.get(name);
  const keys = Object.keys(w.settings());
  for (const key of ["steps"]) if (keys.includes(key)) w.set({ [key]: steps });
  // the first slider that changes what is computed, not how long (the trajectory stays 1,000 long)
  const slider = [...w.node.querySelectorAll('input[type="range"]')].find((s) => s.dataset.key !== "steps");
  const frames = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const low = slider.min, high = String((Number(slider.min) + Number(slider.max)) / 2);
  const handler = [], painted = [], idle = [];
  await frames();
  for (let i = 0; i < repeats; i++) {
    slider.value = i % 2 ? low : high;
    const t0 = performance.now();
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    handler.push(performance.now() - t0);
    await frames();
    painted.push(performance.now() - t0);
    const t1 = performance.now();
    await frames();
    idle.push(performance.now() - t1);
  }
  return { handler, painted, idle, slider: slider.dataset.key,
           steps: keys.includes("steps") ? w.settings().steps : null };
}
"""


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, help="an already built site (default: build one now)")
    parser.add_argument("--repeats", type=int, default=40, help="slider changes per widget (default 40)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.site is not None and not (args.site / "index.html").exists():
        parser.error(f"--site {args.site}: no index.html there; build the site first (make site)")
    return args


def build_site() -> Path:
    out = Path(tempfile.mkdtemp(prefix="mlnotes-bench-site-")) / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(out)]
    subprocess.run(command, cwd=ROOT, check=True)
    return out


def widget_pages(site: Path) -> dict[str, str]:
    """Widget name -> the page path that shows it (Chinese pages; the English ones run the same code)."""
    import re

    found = {}
    for page in sorted(site.glob("chapters/*/index.html")):
        for name in re.findall(r'data-widget="([a-z0-9-]+)"', page.read_text(encoding="utf-8")):
            found[name] = page.parent.relative_to(site).as_posix() + "/"
    return found


def measure(site: Path, repeats: int) -> dict[str, dict[str, float]]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    results = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
            )
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            for name, path in widget_pages(site).items():
                page.goto(base + path)
                try:
                    page.wait_for_function(
                        "n => window.mlnotesWidgets && mlnotesWidgets.get(n)", arg=name, timeout=15_000
                    )
                except PlaywrightTimeout:
                    raise SystemExit(
                        f"widget {name} did not start on {path}: open the page and see its error"
                    ) from None
                page.eval_on_selector(f'.ml-widget[data-widget="{name}"]', "n => n.scrollIntoView()")
                raw = page.evaluate(MEASURE, [name, repeats, STEPS])
                results[name] = {
                    "handler": statistics.median(raw["handler"]),
                    "painted": statistics.median(raw["painted"]),
                    "frames": statistics.median(raw["idle"]),
                    "slider": raw["slider"],
                    "steps": raw["steps"],
                }
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return results


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium is missing at {CHROMIUM}: run 'make system-packages'")
    built = args.site is None
    site = build_site() if built else args.site
    try:
        results = measure(site, args.repeats)
    finally:
        if built:
            shutil.rmtree(site.parent, ignore_errors=True)
    print(f"slider change to redrawn figure, median of {args.repeats} (goal: under {GOAL_MS:.0f} ms)")
    print(
        f"{'widget':<15}{'slider':<15}{'updates':>8}{'handler ms':>12}{'painted ms':>12}"
        f"{'2 frames ms':>13}{'ratio':>7}{'goal':>8}"
    )
    for name, r in results.items():
        ratio = r["painted"] / r["frames"]
        steps = "" if r["steps"] is None else str(r["steps"])
        ok = "met" if r["painted"] < GOAL_MS else "MISSED"
        print(
            f"{name:<15}{r['slider']:<15}{steps:>8}{r['handler']:>12.1f}{r['painted']:>12.1f}"
            f"{r['frames']:>13.1f}{ratio:>7.2f}{ok:>8}"
        )
    worst = max(results.values(), key=lambda r: r["painted"])
    print(
        f"slowest: {worst['painted']:.1f} ms to the painted figure "
        f"({worst['painted'] / GOAL_MS:.2f} of the goal)"
    )
    return results


if __name__ == "__main__":
    main()
