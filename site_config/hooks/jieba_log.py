"""MkDocs hook: jieba, which segments Chinese for the search index, prints no DEBUG progress.

jieba logs four lines of DEBUG progress to stderr in every build (building and loading its
dictionary). Its logger is set to WARNING at startup, so its warnings and errors still show.
"""

from __future__ import annotations

import logging


def on_startup(command, dirty):
    logging.getLogger("jieba").setLevel(logging.WARNING)
