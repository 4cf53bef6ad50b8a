"""MkDocs hook: a lab notebook's page looks and links like the book's Markdown pages.

1. **Notebooks are pages.** mkdocs-static-i18n rebuilds every ``File`` object and so drops the
   wrapper with which mkdocs-jupyter marks an ``.ipynb`` file as a page: the notebook would be copied
   as raw JSON (ultrabug/mkdocs-static-i18n#198, open). Adding ``.ipynb`` to the extensions mkdocs
   counts as Markdown makes mkdocs itself treat notebooks as pages, whichever object holds them.
   mkdocs has no setting for this list, so the hook extends it when it is loaded.
2. **Headings keep their anchors.** nbconvert derives heading ids from ASCII letters only (a Chinese
   heading gets ``id=""``). A lab's headings carry the same explicit ``{ #anchor }`` as the Markdown
   pages; the marker becomes the heading's id, here and in the page's table of contents.
3. **Nothing from a CDN.** nbconvert adds MathJax and Mermaid scripts from a CDN. They are removed:
   the site typesets notebook math with its own KaTeX (``katex-render.js``), and the labs draw no
   Mermaid diagrams. A page that still loads an off-site script fails the build.
4. **A download link**, in the page's language, to the notebook that mkdocs-jupyter's
   ``include_source`` copies beside the page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import mkdocs.utils
from mkdocs.exceptions import PluginError

if ".ipynb" not in mkdocs.utils.markdown_extensions:
    mkdocs.utils.markdown_extensions = (*mkdocs.utils.markdown_extensions, ".ipynb")

_HEADING = re.compile(
    r'<h(?P<level>[1-6]) id="[^"]*">(?P<text>(?:(?!</h[1-6]>).)*?)\s*\{\s*#(?P<id>[\w-]+)\s*\}\s*'
    r'<a class="anchor-link" href="#[^"]*">¶</a></h(?P=level)>',
    re.S,
)
_ANCHOR = re.compile(r"\s*\{\s*#(?P<id>[\w-]+)\s*\}\s*$")
_MATHJAX = re.compile(
    r"<!-- Load mathjax -->\s*<script src=\"[^\"]*\">\s*</script>\s*"
    r"<!-- MathJax configuration -->\s*<script type=\"text/x-mathjax-config\">.*?</script>",
    re.S,
)
# nbconvert's Mermaid loader imports its library from a CDN when a notebook has a diagram; ours have none.
_MERMAID = re.compile(r'<script type="module">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>', re.S)
_OFFSITE_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"(?:https?:)?//|import\(\"(?:https?:)?//", re.I)
DOWNLOAD_LABEL = {"zh": "下载这个 notebook", "en": "Download this notebook"}


def is_notebook(page) -> bool:
    return page.file.src_uri.endswith(".ipynb")


def _strip_anchor(title: str) -> tuple[str, str | None]:
    match = _ANCHOR.search(title)
    return (title[: match.start()], match["id"]) if match else (title, None)


def _fix_toc(items) -> None:
    for item in items:
        item.title, anchor = _strip_anchor(item.title)
        if anchor:
            item.id = anchor
        _fix_toc(item.children)


def on_page_content(content, page, config, files):
    if not is_notebook(page):
        return content
    content = _HEADING.sub(
        lambda m: (
            f'<h{m["level"]} id="{m["id"]}">{m["text"]}'
            f'<a class="anchor-link" href="#{m["id"]}">¶</a></h{m["level"]}>'
        ),
        content,
    )
    content = _MERMAID.sub("", _MATHJAX.sub("", content))
    if _OFFSITE_SCRIPT.search(content):
        raise PluginError(f"{page.file.src_uri}: the rendered notebook still loads an off-site script")
    _fix_toc(page.toc.items)
    if page.title:
        page.title = _strip_anchor(page.title)[0]
    name = Path(page.file.src_uri).name
    locale = getattr(page.file, "locale", "en")
    label = DOWNLOAD_LABEL.get(locale, DOWNLOAD_LABEL["en"])
    button = (
        f'<p class="mlnotes-download"><a class="md-button" href="{html.escape(name)}" download>'
        f"{label} ({html.escape(name)})</a></p>"
    )
    return button + content
