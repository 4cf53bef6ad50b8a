"""No broken link and no missing anchor anywhere in the built site, both languages.

mkdocs' own validation (``--strict`` with ``validation: anchors: warn``) already checks the links
written in Markdown. This crawl with LinkChecker covers what it cannot see: links inside rendered
notebooks and docstrings, the navigation, the language menu, the download links and every asset a
page loads. Every ``#anchor`` of every link in every built page is checked here against the ids of
its target page: LinkChecker's own AnchorCheck plugin did the same in 25 of the crawl's 28 s of CPU
time, this in well under a second. Both kinds of problem fail, named with the page that holds the link.
"""

import csv
import html
import io
import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

_HREF = re.compile(r"<a\b[^>]*?\bhref=\"([^\"]*)\"", re.I)
_ID = re.compile(r"\b(?:id|name)=\"([^\"]+)\"")


def anchor_problems(site: Path) -> list[str]:
    """Every link in the site's pages whose ``#fragment`` names no id (or name) in its target page."""
    pages = {p: p.read_text(encoding="utf-8") for p in site.rglob("*.html")}
    ids = {p: {html.unescape(i) for i in _ID.findall(text)} for p, text in pages.items()}
    problems = []
    for page, text in pages.items():
        here = "/" + page.relative_to(site).as_posix()
        for href in {html.unescape(h) for h in _HREF.findall(text)}:
            url = urlparse(urljoin(here, href))
            if not url.fragment or url.scheme or url.netloc:
                continue
            target = site / unquote(url.path).lstrip("/")
            if url.path.endswith("/"):
                target = target / "index.html"
            if target not in ids:
                continue  # not a page of the site: the crawl reports a missing page
            fragment = unquote(url.fragment)
            if fragment not in ids[target]:
                problems.append(f"{here}: {href} -> no id {fragment!r} in {target.relative_to(site)}")
    return sorted(problems)


def test_anchor_check_finds_a_missing_anchor_and_accepts_present_ones(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text('<h2 id="saddle-point">x</h2><a name="old"></a>', "utf-8")
    (tmp_path / "index.html").write_text(
        '<a href="a/#saddle-point">ok</a> <a href="a/index.html#old">ok</a> <a href="#top">self</a>'
        '<a href="a/#missing">bad</a> <a href="https://example.org/#x">outside</a> <p id="top"></p>',
        "utf-8",
    )
    assert anchor_problems(tmp_path) == ["/index.html: a/#missing -> no id 'missing' in a/index.html"]


def test_every_anchor_of_every_link_exists(built_site):
    problems = anchor_problems(built_site)
    assert not problems, "missing anchors:\n" + "\n".join(problems)


def test_no_broken_links_or_anchors(built_site, served_site, link_crawl):
    process, folder = link_crawl
    returncode = process.wait(timeout=600)
    output = (folder / "crawl.csv").read_text(encoding="utf-8")
    rows = list(
        csv.DictReader(
            io.StringIO("\n".join(line for line in output.splitlines() if not line.startswith("#"))),
            delimiter=";",
        )
    )
    problems = [  # the page holding the link, the link, what went wrong
        f"{row['parentname'] or served_site}: {row['urlname']} -> {row['result']} {row['warningstring'][:99]}"
        for row in rows
        if row["valid"] != "True" or row["warningstring"]
    ]
    # 1 means "errors found", reported below
    assert returncode in (0, 1), (folder / "crawl.log").read_text(encoding="utf-8")[-2000:]
    assert not problems, "broken links:\n" + "\n".join(problems)
    # the crawl reached every page of the site from the home page (through the nav and language menu)
    visited = {row["url"].split("#")[0] for row in rows}
    pages = {
        served_site + p.parent.relative_to(built_site).as_posix() + "/"
        for p in built_site.rglob("index.html")
    }
    pages = {p.replace("/./", "/") for p in pages}
    assert pages <= visited, f"pages the crawl never reached: {sorted(pages - visited)}"
