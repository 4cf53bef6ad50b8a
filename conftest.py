"""Collect every ```python block under docs/ (both languages) as pytest tests; see tests/doc_sybil.py."""

from doc_sybil import SYBIL

pytest_collect_file = SYBIL.pytest()
