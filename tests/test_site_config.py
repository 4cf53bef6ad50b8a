"""The site's configuration carries nothing for nothing: every Markdown extension in mkdocs.yml is used
by some page of the book or some docstring the API pages render."""

import re

from markdown_parts import DOCS
from site_build import mkdocs_config

ROOT = DOCS.parent

# What each extension's syntax looks like in a source; an extension listed here but found nowhere
# is configured for nothing.
USES = {
    "admonition": r"^\s*!!! ",
    "attr_list": r"\{ *[#.][\w-]+|\{ *\w+=",
    "tables": r"^\|.*\|\s*\n\|[ :|-]+\|\s*$",
    "toc": r"^#{2,6} ",
    "pymdownx.arithmatex": r"\$[^$\n]+\$|^\$\$",
    "pymdownx.details": r"^\s*\?\?\?\+? ",
    "pymdownx.emoji": r":(?:material|fontawesome|octicons|simple)-[\w-]+:",
    "pymdownx.highlight": r"^\s*```\w+",
    "pymdownx.superfences": r"^ {4,}```",  # a fence inside a block (an admonition, a list item)
    "pymdownx.tabbed": r'^\s*=== "',
}


def _extensions() -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in mkdocs_config()["markdown_extensions"]]


def _sources() -> str:
    pages = [p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md"))]
    docstrings = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "mlnotes").glob("*.py"))]
    return "\n".join(pages + docstrings)


def test_every_markdown_extension_is_used():
    sources = _sources()
    unknown = [name for name in _extensions() if name not in USES]
    assert not unknown, f"tests/test_site_config.py: say what {unknown} look like in a page (USES)"
    unused = [name for name in _extensions() if not re.search(USES[name], sources, re.MULTILINE)]
    assert not unused, f"mkdocs.yml: no page uses {unused}; remove them from markdown_extensions"


def test_the_usage_patterns_find_nothing_in_plain_prose():
    plain = "A sentence with a colon: and a pipe | and a dollar sign.\n\nAnother paragraph."
    found = [name for name, pattern in USES.items() if re.search(pattern, plain, re.MULTILINE)]
    assert not found, found


def test_the_head_loses_its_hreflang_links_and_the_body_keeps_its_text():
    from site_build import site_hook

    hook = site_hook("head_alternates")
    page = (
        '<html><head>\n  <link rel="canonical" href="https://x/chapters/a/">\n'
        '          <link rel="alternate" href="/chapters/a/" hreflang="zh">\n'
        '          <link rel="alternate" href="/en/chapters/a/" hreflang="en">\n'
        '  <link rel="alternate" type="application/rss+xml" href="feed.xml">\n</head>\n'
        '<body><code>&lt;link rel="alternate" href="/x/" hreflang="en"&gt;</code>'
        '<link rel="alternate" href="/in/body/" hreflang="en"></body></html>'
    )
    out = hook.on_post_page(page, page=None, config=None)
    head, body = out.split("</head>")
    assert "hreflang" not in head
    assert '<link rel="canonical" href="https://x/chapters/a/">' in head and "feed.xml" in head
    assert body == page.split("</head>")[1]  # the body, code samples included, as it was
    assert hook.on_post_page("<p>no head</p>", page=None, config=None) == "<p>no head</p>"
