"""Raw Markdown left in a rendered page: what a reader would see if an extension did not run.

``raw_markdown(text)`` scans the visible text of a page (the browser walk passes the text of
``.md-content`` without code, typeset math and notebook code and outputs) and names each leftover:
an emoji or icon shortcode (``:material-translate:``), an attribute list (``{ #anchor }``), a
reference link (``[text][ref]``, ``[text][]``), display-math delimiters (``$$``), an unconverted
admonition or details block (a line starting with ``!!!``, ``???`` or ``???+``), a stray code fence
(```` ``` ```` or ``~~~``) or an unexpanded mkdocstrings directive (a line starting with ``:::``).

Pure Python, so each pattern is unit-tested without a browser (tests/test_raw_markdown.py).
"""

from __future__ import annotations

import re

# Emoji and icon shortcodes as pymdownx.emoji reads them: lower-case names with - _ + and digits
# between two colons. Not preceded or followed by an ASCII letter, digit or colon, so "10:30",
# "1:2:3", "a:b:c" and "std::vector" are prose; CJK characters may touch it ("的:smile:菜单") and
# the full-width colon "：" is never one. A name needs a letter (":30:" is not one), except :+1:/:-1:.
_SHORTCODE = r"(?<![A-Za-z0-9_:]):(?:[+-]1|[a-z0-9_+-]*[a-z][a-z0-9_+-]*):(?![A-Za-z0-9_:])"
# attr_list: { #id }, {#id}, { .class }, {: #id }, { width="300" }
_ATTR_LIST = (
    r"\{:?[ \t]*(?:[#.][A-Za-z_][\w-]*|[A-Za-z_][\w-]*=(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s{}]+))"
    r"(?:[ \t]+[^{}\n]*)?\}"
)
_PATTERNS = [
    ("emoji shortcode", re.compile(_SHORTCODE)),
    ("attribute list", re.compile(_ATTR_LIST)),
    ("reference link", re.compile(r"\[[^\[\]\n]+\]\[[^\[\]\n]*\]")),
    ("display math delimiter", re.compile(r"\$\$")),
    ("admonition", re.compile(r"^[ \t]*(?:\?{3}\+?|!{3})", re.M)),  # also !!!tip: admonition allows it
    ("code fence", re.compile(r"`{3,}|~{3,}")),
    ("mkdocstrings directive", re.compile(r"^[ \t]*:::(?=[ \t]+\S)", re.M)),
]


def raw_markdown(text: str, context: int = 30) -> list[str]:
    """Every leftover in ``text``, in order of position: ``kind 'match' in '…around it…'``."""
    found = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            before = text[max(0, start - context) : start]
            after = text[end : end + context]
            around = " ".join((before + match[0] + after).split())
            found.append((start, f"{kind} {match[0].strip()!r} in {around!r}"))
    return [message for _, message in sorted(found)]
