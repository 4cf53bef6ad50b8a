"""The interactive figures: they draw what the mlnotes package computes, in both languages, on a phone,
in both colour schemes and from the keyboard.

Each widget exposes the numbers it draws (``mlnotesWidgets.get(name).drawn()``). The browser tests set
fixed values through ``set()``, as a reader's slider would, and compare the numbers with
tests/widget_references/<name>.py, which computes them with mlnotes in float64: every number within
1e-9 of the reference, relative to the largest magnitude of the same quantity (a trajectory's
largest coordinate, a matrix's largest entry), so an entry that is zero in exact arithmetic is held
to the rounding of its neighbours.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest
import yaml
from markdown_parts import DOCS, LANGUAGES, page_pairs
from widget_references import load_all

REFERENCES = load_all()
ROOT = DOCS.parent
WIDGET_JS = DOCS / "assets" / "javascripts" / "widgets"
RTOL = 1e-9
PLACEHOLDER = re.compile(r'^<div class="ml-widget" data-widget="([a-z0-9-]+)"></div>$', re.M)
CJK = re.compile(r"[\u3400-\u9fff]")


def placeholders() -> dict[str, str]:
    """Widget name -> the page (``chapters/x``) that places it, read from the Chinese pages."""
    found = {}
    for name, langs in page_pairs().items():
        for widget in PLACEHOLDER.findall(langs["zh"].read_text(encoding="utf-8")):
            assert widget not in found, f"{widget} is placed twice ({found[widget]}, {name})"
            found[widget] = name
    return found


PLACED = placeholders()


# --- comparing numbers ---


def _flat(value) -> list[float]:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def _flip(vectors):
    return [[-x for x in v] for v in vectors]


def mismatches(drawn: dict, expected: dict, up_to_sign=(), rtol: float = RTOL, where: str = "") -> list[str]:
    """What in ``drawn`` differs from ``expected`` (empty: they agree). Nested dicts are compared key
    by key; each list of numbers against the largest magnitude in it."""
    problems = []
    if not isinstance(drawn, dict) or sorted(drawn) != sorted(expected):
        keys = sorted(drawn) if isinstance(drawn, dict) else type(drawn).__name__
        return [f"{where or 'keys'}: drawn {keys}, expected {sorted(expected)}"]
    for key, want in expected.items():
        got, name = drawn[key], f"{where}{key}"
        if isinstance(want, dict):
            problems += mismatches(got, want, up_to_sign, rtol, f"{name}.")
            continue
        numbers = _flat(want)
        if not numbers or isinstance(want, (bool, str)) or want is None:
            if got != want:
                problems.append(f"{name}: drawn {str(got)[:80]}, expected {str(want)[:80]}")
            continue
        if len(_flat(got)) != len(numbers) or isinstance(got, list) != isinstance(want, list):
            problems.append(
                f"{name}: drawn {len(_flat(got))} numbers ({str(got)[:60]}), "
                f"expected {len(numbers)} ({str(want)[:60]})"
            )
            continue
        scale = max(abs(x) for x in numbers)
        target = want
        if key in up_to_sign:
            target = [
                w if _close(g, w, scale, rtol) else f for g, w, f in zip(got, want, _flip(want), strict=True)
            ]
        pairs = list(zip(_flat(got), _flat(target), strict=True))
        if not all(_close(g, w, scale, rtol) for g, w in pairs):
            worst = max((abs(g - w) if isinstance(g, (int, float)) else math.inf) for g, w in pairs)
            problems.append(f"{name}: differs by {worst:.3g} (scale {scale:.3g}, rtol {rtol:g})")
    return problems


def _close(got, want, scale, rtol) -> bool:
    if isinstance(got, list):
        return all(_close(g, w, scale, rtol) for g, w in zip(_flat(got), _flat(want), strict=True))
    return isinstance(got, (int, float)) and math.isfinite(got) and abs(got - want) <= rtol * scale


def test_the_comparison_catches_a_difference_of_1e_8():
    want = {"path": [[8.0, 1.0], [7.9, 0.5]], "kind": "saddle point", "v": [[0.6, 0.8]]}
    assert mismatches(want, want) == []
    assert mismatches({**want, "path": [[8.0, 1.0], [7.9, 0.5 + 8e-8]]}, want)
    assert mismatches({**want, "path": [[8.0, 1.0], [7.9, 0.5 + 7e-9]]}, want) == []
    assert mismatches({**want, "kind": "local minimum"}, want)
    assert mismatches({**want, "v": [[-0.6, -0.8]]}, want)
    assert mismatches({**want, "v": [[-0.6, -0.8]]}, want, up_to_sign=("v",)) == []
    assert mismatches({**want, "v": [[-0.6, 0.8]]}, want, up_to_sign=("v",))
    assert mismatches({"path": want["path"]}, want)
    assert mismatches({**want, "path": [[8.0, "NaN"], [7.9, 0.5]]}, want)
    nested = {"adam": {"path": [[1.0, 2.0]], "loss": 0.5}}
    assert mismatches(nested, nested) == []
    assert mismatches({"adam": {"path": [[1.0, 2.0 + 1e-8]], "loss": 0.5}}, nested) == [
        "adam.path: differs by 1e-08 (scale 2, rtol 1e-09)"
    ]


# --- what the repository holds ---


def test_every_placed_widget_has_its_script_its_reference_and_both_languages():
    mkdocs = yaml.safe_load(
        re.sub(
            r"!!python/\S+", "", re.sub(r"!ENV \S+", "''", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
        )
    )
    scripts = mkdocs["extra_javascript"]
    assert "assets/javascripts/widgets/core.js" in scripts
    assert PLACED, "no page places a widget"
    for widget, page in PLACED.items():
        assert (WIDGET_JS / f"{widget}.js").exists(), (
            f"docs/assets/javascripts/widgets/{widget}.js is missing"
        )
        assert f"assets/javascripts/widgets/{widget}.js" in scripts, f"mkdocs.yml: add widgets/{widget}.js"
        assert scripts.index(f"assets/javascripts/widgets/{widget}.js") > scripts.index(
            "assets/javascripts/widgets/core.js"
        ), f"mkdocs.yml: widgets/{widget}.js after core.js"
        assert widget in REFERENCES, f"tests/widget_references/{widget.replace('-', '_')}.py is missing"
        assert REFERENCES[widget].PAGE == page, f"{widget} is placed on {page}, its reference says otherwise"
        en = page_pairs()[page]["en"].read_text(encoding="utf-8")
        assert f'<div class="ml-widget" data-widget="{widget}"></div>' in en, f"{page}.en.md: place {widget}"
    assert set(REFERENCES) == set(PLACED), f"references without a widget: {set(REFERENCES) - set(PLACED)}"
    defined = {p.stem for p in WIDGET_JS.glob("*.js")} - {"core"}
    assert defined == set(PLACED), f"widget scripts no page places: {defined - set(PLACED)}"


@pytest.mark.parametrize("widget", sorted(REFERENCES))
def test_the_references_run(widget):
    module = REFERENCES[widget]
    assert len(module.SETTINGS) >= 3, f"{widget}: compare at least three settings"
    for settings in module.SETTINGS:
        result = module.reference(settings)
        assert isinstance(result, dict) and result


# --- in the browser ---


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    from test_browser import launch

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def _open(browser, served_site, page_name, language="zh", **context):
    page = browser.new_page(**context)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    prefix = "" if language == "zh" else "en/"
    page.goto(f"{served_site}{prefix}{page_name}/")
    page.wait_for_function("() => window.mlnotesWidgets && mlnotesWidgets.names().length > 0")
    return page, errors


@pytest.mark.browser
@pytest.mark.parametrize("widget", sorted(PLACED))
def test_the_widget_draws_what_mlnotes_computes(browser, served_site, widget):
    module = REFERENCES[widget]
    page, errors = _open(browser, served_site, PLACED[widget])
    try:
        for settings in module.SETTINGS:
            drawn = page.evaluate("([n, s]) => mlnotesWidgets.get(n).set(s)", [widget, settings])
            problems = mismatches(drawn, module.reference(settings), getattr(module, "UP_TO_SIGN", ()))
            assert not problems, f"{widget} at {settings}: " + "; ".join(problems)
        assert not errors, errors
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("widget", sorted(PLACED))
def test_the_widget_speaks_the_page_language_and_takes_the_keyboard(browser, served_site, widget):
    texts = {}
    for language in LANGUAGES:
        page, errors = _open(browser, served_site, PLACED[widget], language)
        try:
            node = f'.ml-widget[data-widget="{widget}"]'
            texts[language] = page.inner_text(node)
            # the first slider, from the keyboard: focus it and press the right arrow
            slider = f'{node} input[type="range"]'
            before = page.evaluate("n => mlnotesWidgets.get(n).settings()", widget)
            count = page.get_attribute(node, "data-drawn")
            page.focus(slider)
            page.keyboard.press("ArrowRight")
            after = page.evaluate("n => mlnotesWidgets.get(n).settings()", widget)
            assert after != before, f"{widget}: the right arrow on its first slider changed nothing"
            assert page.get_attribute(node, "data-drawn") != count, f"{widget}: not redrawn after a key"
            assert not errors, errors
        finally:
            page.close()
    assert CJK.search(texts["zh"]), f"{widget}: the Chinese page shows no Chinese: {texts['zh'][:200]}"
    assert not CJK.search(texts["en"]), (
        f"{widget}: Chinese on the English page: {CJK.findall(texts['en'])[:10]}"
    )


def _luminance(css: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+", css)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_widgets_fit_a_phone_in_both_colour_schemes(browser, served_site, scheme):
    for widget, page_name in sorted(PLACED.items()):
        page, errors = _open(
            browser, served_site, page_name, viewport={"width": 390, "height": 844}, color_scheme=scheme
        )
        try:
            node = f'.ml-widget[data-widget="{widget}"]'
            box = page.eval_on_selector(
                node,
                "n => ({right: n.getBoundingClientRect().right,"
                " scroll: n.scrollWidth, client: n.clientWidth})",
            )
            assert box["right"] <= 390 and box["scroll"] <= box["client"] + 1, (
                f"{widget} overflows a phone: {box}"
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, (
                f"{page_name} scrolls sideways"
            )
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            text = page.eval_on_selector(f"{node} .mlw-panel text", "t => getComputedStyle(t).fill")
            line = page.eval_on_selector(f"{node} .mlw-axes line", "l => getComputedStyle(l).stroke")
            contrast = [abs(_luminance(c) - _luminance(background)) for c in (text, line)]
            assert min(contrast) > 0.4, f"{widget} in {scheme}: text {text}, axes {line} on {background}"
            assert not errors, errors
        finally:
            page.close()


def test_the_scripts_fetch_nothing():
    for script in WIDGET_JS.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        for call in ("fetch(", "XMLHttpRequest", "import(", "http://", "https://"):
            if call == "http://" and "http://www.w3.org/2000/svg" in text:
                text = text.replace("http://www.w3.org/2000/svg", "")
            assert call not in text, f"{script.name}: {call} (the figures compute everything in the page)"


@pytest.mark.browser
def test_the_redraw_benchmark_runs_on_every_widget(built_site):
    # in a process of its own, as a reader runs it (and Playwright's sync API allows one per thread)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "widget_redraw.py"),
            "--site",
            str(built_site),
            "--repeats",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:-1]}
    assert set(rows) == set(PLACED), done.stdout
    for row in rows.values():
        assert row[1] != "steps" and row[-1] in ("met", "MISSED"), row
        handler, painted, frames = (float(x) for x in row[-5:-2])
        assert 0 <= handler <= painted and frames > 0, row
    assert "slowest:" in done.stdout


def test_the_chinese_labels_use_the_glossary_terms():
    from test_glossary import rejected_variants

    chinese = [(v, use, why) for v, use, why in rejected_variants() if CJK.search(v)]
    for script in sorted(WIDGET_JS.glob("*.js")):
        text = script.read_text(encoding="utf-8")
        for variant, use, why in chinese:
            assert variant not in text, f"{script.name}: {variant!r}: write {use!r} ({why})"
