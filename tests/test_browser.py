"""The built book in a real browser: Debian's Chromium, driven by Playwright, offline.

Every page of the built site, in both languages (pages, lab notebooks, API reference), must load
without console or page errors, request nothing outside 127.0.0.1, typeset all of its math, load all
of its images, render Chinese with a CJK font, show no raw Markdown in its visible prose (no
:shortcode:, { #anchor }, [text][ref], $$, !!!, ??? or stray fence: tests/raw_markdown.py), and switch
language to the same page. Search must lead to its defining chapter from every term of the glossary
(site_config/glossary.yml) and every variant it lists for a reader to type, in both languages. The
first screen of each page is saved under test-artifacts/screenshots, and kept, for a look at the
rendering.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest
from markdown_parts import page_pairs
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from raw_markdown import raw_markdown
from site_build import site_hook

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
_glossary = site_hook("glossary")


def glossary_searches(glossary):
    """(what a reader types, the page it must lead to): each term and each variant the glossary lists
    for search, in the language of the page the box is on."""
    found = []
    for term in glossary["terms"]:
        chapter = f"chapters/{term['chapter']}/"
        for typed in [term["zh"], *term.get("search_zh", [])]:
            found.append((typed, chapter))
        for typed in [term["en"], *term.get("search_en", [])]:
            found.append((typed, "en/" + chapter))
    return list(dict.fromkeys(found))


SEARCHES = glossary_searches(_glossary.load_glossary())
LOCAL_SCHEMES = {"data", "blob", "about"}  # content the page already holds: nothing leaves the machine
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
RAW_INLINE_MATH = re.compile(r"\$[^\s$][^$]*\$")
# What a reader sees of a page as prose: .md-content without code, typeset math, and a notebook's
# code cells, prompts and outputs (its Markdown cells stay: they are in a .jp-InputArea too)
NOT_PROSE = (
    ".md-content :is(pre, code, .highlight, .katex, .jp-CodeCell .jp-InputArea, .jp-OutputArea,"
    " .jp-InputPrompt, .jp-OutputPrompt)"
)


WORKERS = 2  # browsers walking the pages side by side: most of a page's time is waiting, not CPU


def launch(playwright):
    assert Path(CHROMIUM).exists(), "Chromium missing: run 'make system-packages' (apt-get install chromium)"
    return playwright.chromium.launch(
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


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def in_browsers(work, items):
    """``work(browser, item)`` for every item, in WORKERS browsers side by side, each in a thread of
    its own (Playwright's sync API is per thread); the results in the order of ``items``."""

    def share(k):
        with sync_playwright() as p:
            b = launch(p)
            try:
                return [work(b, item) for item in items[k::WORKERS]]
            finally:
                b.close()

    with ThreadPoolExecutor(WORKERS) as pool:
        shares = list(pool.map(share, range(WORKERS)))
    return [shares[i % WORKERS][i // WORKERS] for i in range(len(items))]


class Recorder:
    """Every request, failure and console error of one page, and when the network last changed."""

    def __init__(self, page):
        self.requests, self.failures, self.errors = [], [], []
        self.pending, self.changed = set(), time.monotonic()
        page.on("request", lambda r: (self.requests.append(r.url), self._start(r)))
        page.on("requestfinished", self._end)
        page.on("requestfailed", lambda r: (self.failures.append(f"{r.url} ({r.failure})"), self._end(r)))
        page.on(
            "response", lambda r: self.failures.append(f"{r.url} ({r.status})") if r.status >= 400 else None
        )
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def _start(self, request):
        self.pending.add(request)
        self.changed = time.monotonic()

    def _end(self, request):
        self.pending.discard(request)
        self.changed = time.monotonic()

    def wait_until_quiet(self, page, quiet=0.25, timeout=10.0):
        """Like Playwright's "networkidle" (no request for 500 ms), with a shorter quiet period:
        after the load event the last requests here (the search worker's scripts) follow each
        other within 0.1 s."""
        deadline = time.monotonic() + timeout
        while self.pending or time.monotonic() - self.changed < quiet:
            if time.monotonic() > deadline:
                raise PlaywrightError(f"network still busy after {timeout} s: {len(self.pending)} requests")
            page.wait_for_timeout(50)

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")


def site_pages(built_site):
    return sorted(p.parent.relative_to(built_site).as_posix() + "/" for p in built_site.rglob("index.html"))


def anchors(page):
    return page.eval_on_selector_all(
        ".md-content h1[id], .md-content h2[id], .md-content h3[id], .md-content h4[id]",
        "els => els.map(e => e.id)",
    )


def cjk_glyphs_by_font(page, selector):
    """How many glyphs of the element's text each font drew (Chromium's own record, via CDP)."""
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    cdp.send("CSS.enable")
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    counts = {}
    for font in fonts:  # one entry per face: Noto Sans CJK SC Regular and Bold are two
        counts[font["familyName"]] = counts.get(font["familyName"], 0) + font["glyphCount"]
    return counts


def check_math(page, name):
    """Arithmatex elements (pages, API reference) and $...$ in notebook Markdown cells: all typeset."""
    problems = []
    math = page.locator(".arithmatex").count()
    typeset = page.locator(".arithmatex .katex").count()
    if typeset != math:
        problems.append(f"{name}: {typeset} of {math} formulas typeset")
    notebook_cells = page.locator(".jp-RenderedMarkdown")
    notebook_math = page.locator(".jp-RenderedMarkdown .katex").count()
    for text in notebook_cells.all_inner_texts():
        problems += [f"{name}: notebook math left as text: {m!r}" for m in RAW_INLINE_MATH.findall(text)]
    text = page.inner_text(".md-content")
    problems += [f"{name}: raw math {s!r} visible" for s in ("$$", "\\(", "\\begin{") if s in text]
    return problems, typeset + notebook_math


def visible_prose(page):
    """The rendered text of .md-content as the reader sees it, less NOT_PROSE (hidden for the
    moment of reading by a style sheet, so innerText keeps the line breaks of the layout)."""
    return page.evaluate(
        """selector => {
            const style = document.createElement('style');
            style.textContent = selector + ' { display: none !important }';
            document.head.append(style);
            try { return document.querySelector('.md-content').innerText; } finally { style.remove(); }
        }""",
        NOT_PROSE,
    )


def check_page(browser, served_site, path):
    """Every check of one page: the problems found, the number of typeset formulas, the heading anchors."""
    name = path or "home/"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    try:
        record = Recorder(page)
        page.goto(served_site + path)
        record.wait_until_quiet(page)
        outside = [
            u
            for u in record.requests
            if urlparse(u).scheme not in LOCAL_SCHEMES and urlparse(u).hostname != "127.0.0.1"
        ]
        problems = [f"{name}: request to {u}" for u in outside]
        problems += [f"{name}: failed {u}" for u in record.failures]
        problems += [f"{name}: {e}" for e in record.errors]
        math_problems, formulas = check_math(page, name)
        problems += math_problems
        problems += [f"{name}: raw Markdown visible: {m}" for m in raw_markdown(visible_prose(page))]
        # Chinese text drawn with a CJK font, not as tofu: every CJK character of the title and of the
        # first paragraph is a glyph of a font whose family says CJK
        if not path.startswith("en/"):
            for selector in (".md-content h1", ".md-content p"):
                text = page.inner_text(selector) if page.locator(selector).count() else ""
                wanted = len(CJK.findall(text))
                fonts = cjk_glyphs_by_font(page, selector) if wanted else {}
                drawn = sum(n for family, n in fonts.items() if "CJK" in family)
                if drawn < wanted:
                    problems.append(f"{name}: {selector} has {wanted} CJK characters, CJK fonts drew {drawn}")
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
        if "chapters/" in name and not any("import mlnotes as ml" in t for t in copied):
            problems.append(f"{name}: no copyable code found")
        page.screenshot(path=str(ARTIFACTS / (name.strip("/").replace("/", "_") + ".png")))
        # the language menu points to the same page in the other language (the anchors of the two
        # are compared after the walk; one real click is tested in test_language_menu_switches)
        other = "zh" if path.startswith("en/") else "en"
        link = page.locator(f'.md-header__option a[hreflang="{other}"]')
        expected = served_site + (re.sub(r"^en/", "", path) if other == "zh" else "en/" + path)
        if not link.count():
            problems.append(f"{name}: no language menu entry for {other!r}")
        elif (target := link.first.evaluate("a => a.href")) != expected:
            problems.append(f"{name}: the language menu leads to {target}, expected {expected}")
        return problems, formulas, anchors(page)
    except PlaywrightError as error:
        return [f"{name}: {error}"], 0, []
    finally:
        page.close()


def test_every_page_in_the_browser(built_site, served_site, link_crawl):
    # link_crawl: the link crawl of tests/test_links.py starts now and runs beside this walk
    pages = [p if p != "./" else "" for p in site_pages(built_site)]
    for expected in ("chapters/critical-points/", "labs/critical-points/", "reference/derivatives/"):
        assert expected in pages and "en/" + expected in pages
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems, formulas, heading_ids = [], {}, {}
    results = in_browsers(lambda b, path: check_page(b, served_site, path), pages)
    for path, (found, count, ids) in zip(pages, results, strict=True):
        problems += found
        formulas[path], heading_ids[path] = count, ids
    for path in pages:
        if not path.startswith("en/") and "en/" + path in heading_ids:
            if heading_ids[path] != heading_ids["en/" + path]:
                problems.append(f"{path or 'home/'}: heading anchors differ from en/{path}")
    for name in ("chapters/critical-points/", "labs/critical-points/", "reference/derivatives/"):
        for prefix in ("", "en/"):
            if not formulas.get(prefix + name):
                problems.append(f"{prefix + name}: no typeset formula at all")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["chapters/critical-points/", "en/reference/optim/"])
def test_language_menu_switches(browser, served_site, path):
    """Hover the language menu and click the other language: same page, same heading anchors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served_site + path)
    page.wait_for_load_state("networkidle")
    own = anchors(page)
    other = "zh" if path.startswith("en/") else "en"
    expected = served_site + (re.sub(r"^en/", "", path) if other == "zh" else "en/" + path)
    page.locator(".md-header__option .md-select").first.hover()
    page.locator(f'a[hreflang="{other}"]').first.click()
    page.wait_for_url(expected, wait_until="domcontentloaded", timeout=5_000)
    assert anchors(page) == own
    page.close()


def test_every_chapter_is_found_by_search_in_both_languages():
    chapters = {name + "/" for name in page_pairs() if name.startswith("chapters/")}
    assert {target for _, target in SEARCHES if not target.startswith("en/")} == chapters
    assert {target.removeprefix("en/") for _, target in SEARCHES if target.startswith("en/")} == chapters


def all_results(page):
    """The links of every search result: Material renders the first ten and the rest as the list is
    scrolled, as a reader would (a query of two common words, "data augmentation", ranks pages
    that say "data" often above the one chapter that defines the term)."""
    hrefs = []
    for _ in range(20):
        hrefs = page.eval_on_selector_all(".md-search-result__item a", "els => els.map(a => a.href)")
        page.eval_on_selector(".md-search__scrollwrap", "el => { el.scrollTop = el.scrollHeight }")
        page.wait_for_timeout(100)
        if len(page.eval_on_selector_all(".md-search-result__item a", "els => els")) == len(hrefs):
            break
    return hrefs


def search_in(page, term, target):
    """Search ``term`` in an open page of the target's language and click the hit for ``target``; a
    list of problems (empty when the result is listed and its click requests the page, answered 200)."""
    try:
        box = page.locator("input.md-search__input")
        box.click()
        box.fill("")  # Material clears the results of the previous term
        page.wait_for_function("() => !document.querySelector('.md-search-result__item')")
        box.fill(term)  # type() fires no keyup for Chinese text; fill() then End does
        box.press("End")
        # Material runs the query once its search worker has the index; this waits for both
        page.locator(".md-search-result__item a").first.wait_for(timeout=10_000)
        hrefs = all_results(page)
        # an English word typed on a Chinese page may lead to the chapter in either language
        other = {"/en/" + target} if term.isascii() and not target.startswith("en/") else set()
        targets = {"/" + target} | other
        hits = [h for h in hrefs if urlparse(h).path in targets]
        if not hits:
            listed = sorted({urlparse(h).path for h in hrefs})
            return [f"search for {term!r} does not list {target}; it lists {listed}"]
        # the click's request goes to the server (its status noted), and the browser is then told
        # "204 No Content", on which it stays where it is: this page, with its loaded index, serves
        # the next term (an aborted navigation would hold the page up for seconds)
        answered = {}

        def answer(route):
            answered["url"], answered["status"] = route.request.url, route.fetch().status
            route.fulfill(status=204)

        page.route(hits[0], answer)
        try:
            with page.expect_response(hits[0]):
                page.locator(f'.md-search-result__item a[href="{hits[0]}"]').first.click()
        finally:
            page.unroute(hits[0], answer)
        if urlparse(answered.get("url", "")).path not in targets or answered.get("status") != 200:
            return [f"search for {term!r}: clicking the hit requested {answered or 'nothing'}"]
        return []
    except PlaywrightError as e:
        return [f"search for {term!r} ({target}): {str(e).splitlines()[0]}"]


def searches(browser, served_site, group):
    """The searches of one group, all of one language, from one home page: its index loads once."""
    language = "en" if group[0][1].startswith("en/") else "zh"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(served_site + ("en/" if language == "en" else ""))
        return [problem for term, target in group for problem in search_in(page, term, target)]
    finally:
        page.close()


def test_search_finds_terms_in_both_languages(served_site):
    """Every term and variant of the glossary, in two browsers side by side, each language's terms in
    two pages that load the search index once each."""
    assert len(SEARCHES) >= 2 * len(_glossary.load_glossary()["terms"])
    groups = []
    for language in ("zh", "en"):
        mine = [item for item in SEARCHES if item[1].startswith("en/") == (language == "en")]
        groups += [mine[k::WORKERS] for k in range(WORKERS)]
    # in_browsers deals groups round-robin: each browser gets one group of each language
    found = in_browsers(lambda b, group: searches(b, served_site, group), groups)
    assert sum(len(g) for g in groups) == len(SEARCHES)
    problems = [problem for one in found for problem in one]
    assert not problems, "\n".join(problems)
