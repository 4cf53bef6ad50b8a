"""No broken link and no missing anchor anywhere in the built site, both languages.

mkdocs' own validation (``--strict`` with ``validation: anchors: warn``) already checks the links
written in Markdown. This crawl with LinkChecker covers what it cannot see: links inside rendered
notebooks and docstrings, the navigation, the language menu, the download links and every asset a
page loads. A missing page is an error, a missing ``#anchor`` a warning; both fail, named with the
page that holds the link.
"""

import csv
import io


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
