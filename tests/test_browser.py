"""The built book in a real browser: Debian's Chromium, driven by Playwright, offline.

Every page of both languages must load without console or page errors, request nothing outside
127.0.0.1, typeset all of its math, load all of its images, and switch language to the same page.
Search must find a Chinese and an English term of each chapter. First screens of each page are saved
under test-artifacts/screenshots for a look at the CJK rendering.
"""

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
# One Chinese and one English term from each chapter, and the page search must lead to.
SEARCHES = [
    ("鞍点", "chapters/critical-points/"),
    ("海森矩阵", "chapters/critical-points/"),
    ("saddle", "en/chapters/critical-points/"),
    ("Hessian", "en/chapters/critical-points/"),
]


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), "Chromium missing: run 'make system-packages' (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


class Recorder:
    """Every request, failure and console error of one page."""

    def __init__(self, page):
        self.requests, self.failures, self.errors = [], [], []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failures.append(f"{r.url} ({r.failure})"))
        page.on(
            "response", lambda r: self.failures.append(f"{r.url} ({r.status})") if r.status >= 400 else None
        )
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def site_pages(built_site):
    return sorted(p.parent.relative_to(built_site).as_posix() + "/" for p in built_site.rglob("index.html"))


def anchors(page):
    return page.eval_on_selector_all(
        ".md-content h1[id], .md-content h2[id], .md-content h3[id], .md-content h4[id]",
        "els => els.map(e => e.id)",
    )


def test_every_page_in_the_browser(browser, built_site, served_site):
    pages = [p if p != "./" else "" for p in site_pages(built_site)]
    assert "chapters/critical-points/" in pages and "en/chapters/critical-points/" in pages
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for path in pages:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        record = Recorder(page)
        page.goto(served_site + path)
        page.wait_for_load_state("networkidle")
        name = path or "home/"
        outside = [u for u in record.requests if urlparse(u).hostname != "127.0.0.1"]
        problems += [f"{name}: request to {u}" for u in outside]
        problems += [f"{name}: failed {u}" for u in record.failures]
        problems += [f"{name}: console {e}" for e in record.errors]
        math = page.locator(".arithmatex").count()
        typeset = page.locator(".arithmatex .katex").count()
        if typeset != math:
            problems.append(f"{name}: {typeset} of {math} formulas typeset")
        text = page.inner_text(".md-content")
        problems += [f"{name}: raw math {s!r} visible" for s in ("$$", "\\(", "\\begin{") if s in text]
        broken = page.eval_on_selector_all(
            "img", "els => els.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        problems += [f"{name}: image not loaded {src}" for src in broken]
        # the copy button copies code only: Material marks the block while copying, our CSS hides
        # the console prompts (.gp) and output (.go) of ```pycon blocks
        copied = page.eval_on_selector_all(
            ".highlight code",
            """els => els.filter(e => e.offsetParent !== null)  // a hidden tab cannot be copied
                      .map(e => { e.setAttribute('data-md-copying', '');
                                const t = e.innerText; e.removeAttribute('data-md-copying'); return t; })""",
        )
        problems += [f"{name}: copied code keeps a prompt: {t[:60]!r}" for t in copied if ">>>" in t]
        if "critical-points" in name and not any("import mlnotes as ml" in t for t in copied):
            problems.append(f"{name}: no copyable code found")
        page.screenshot(path=str(ARTIFACTS / (name.strip("/").replace("/", "_") + ".png")))
        # the language menu leads to the same page: same URL path after the language prefix, same anchors
        own = anchors(page)
        other = "zh" if path.startswith("en/") else "en"
        page.hover(".md-header__option .md-select")
        page.click(f'a[hreflang="{other}"]')
        page.wait_for_load_state("networkidle")
        expected = re.sub(r"^en/", "", path) if other == "zh" else "en/" + path
        if page.url != served_site + expected:
            problems.append(f"{name}: switcher went to {page.url}, expected {served_site + expected}")
        elif anchors(page) != own:
            problems.append(f"{name}: heading anchors differ after switching language")
        page.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("term", "target"), SEARCHES)
def test_search_finds_terms_in_both_languages(browser, served_site, term, target):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served_site + ("en/" if target.startswith("en/") else ""))
    page.wait_for_load_state("networkidle")
    box = page.locator("input.md-search__input")
    box.click()
    box.fill(term)  # type() fires no keyup for Chinese text; fill() then End does
    box.press("End")
    first = page.locator(".md-search-result__item a").first
    first.wait_for(timeout=10_000)
    first.click()
    page.wait_for_load_state("networkidle")
    assert urlparse(page.url).path == "/" + target
    page.close()
