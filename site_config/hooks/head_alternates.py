"""MkDocs hook: no ``<link rel="alternate" hreflang>`` in a page's head.

Material writes a ``<link rel="alternate" hreflang>`` for every entry of ``extra.alternate`` (the
language menu), and its JavaScript then fetches ``sitemap.xml`` relative to each of those links.
mkdocs-static-i18n points them at the same page in the other language, so the fetch becomes
``/en/chapters/x/sitemap.xml``: a 404 on every page. Material has no setting that keeps the menu and
drops the links, and the links sit inside its ``site_meta`` template block with the page's other
metadata; rather than a copy of that block (which would have to follow every Material release),
the links are taken out of the written page. The language menu in the header is untouched and still
leads to the same page in the other language; the alternates stay available to crawlers in
``sitemap.xml``.
"""

from __future__ import annotations

import re

# Material's own form, one per language: <link rel="alternate" href="..." hreflang="...">
_ALTERNATE = re.compile(r'[ \t]*<link rel="alternate" href="[^"]*" hreflang="[^"]*">\n?')


def without_alternates(output: str) -> str:
    """``output`` with the hreflang links of its ``<head>`` removed; the body is left as it is."""
    head, separator, body = output.partition("</head>")
    if not separator:
        return output
    return _ALTERNATE.sub("", head) + separator + body


def on_post_page(output, page, config):
    return without_alternates(output)
