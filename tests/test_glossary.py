"""The Chinese edition keeps to its glossary (site_config/glossary.yml), and the two languages say the
same things: every Chinese page in the course's terms, each term glossed in English at its first use
in a chapter, one meaning per symbol, the same numbers in both languages, no hard line break inside a
Chinese sentence, the same chapter boilerplate everywhere."""

from __future__ import annotations

import ast
import itertools
import re
from collections import Counter
from pathlib import Path

import pytest
from markdown_parts import DOCS, LANGUAGES, page_pairs, parse_page
from prose import CJK_CHAR, CJK_OR_PUNCT, math_of, prose_lines, without_glosses
from site_build import ROOT, site_hook

hook = site_hook("glossary")

GLOSSARY = hook.load_glossary()
TERMS = GLOSSARY["terms"]
PAGES = page_pairs()
NOTEBOOKS = page_pairs("*.ipynb")
ZH_FILES = sorted(langs["zh"] for langs in {**PAGES, **NOTEBOOKS}.values() if "zh" in langs)
ALL_FILES = sorted(p for langs in {**PAGES, **NOTEBOOKS}.values() for p in langs.values())
CHAPTERS = sorted(n.removeprefix("chapters/") for n in PAGES if n.startswith("chapters/"))
BOILERPLATE = GLOSSARY["boilerplate"]


def _name(path: Path) -> str:
    return path.relative_to(DOCS).as_posix()


def rejected_variants() -> list[tuple[str, str, str]]:
    """(variant, what to write instead, why) for every variant the Chinese prose must not use."""
    found = []
    for term in TERMS:
        for variant in term.get("reject", []):
            found.append((variant, term["zh"], f"the book's term for {term['en']!r} is {term['zh']}"))
    for phrase in GLOSSARY["phrases"]:
        found.append((phrase["reject"], phrase["use"], phrase["why"]))
    return found


def aka_phrases(path: Path) -> list[str]:
    """The phrases naming a term's variants that this page (its defining chapter) may carry."""
    name = _name(path)
    return [t["aka"] for t in TERMS if "aka" in t and name == f"chapters/{t['chapter']}.zh.md"]


def blank_aka(text: str, phrases: list[str]) -> str:
    for phrase in phrases:
        text = text.replace(phrase, " " * len(phrase))
    return text


# --- the data file itself ---


def test_glossary_data_is_consistent():
    zh = Counter(t["zh"] for t in TERMS)
    en = Counter(t["en"].lower() for t in TERMS)
    assert not [k for k, n in zh.items() if n > 1], "a Chinese term is listed twice"
    assert not [k for k, n in en.items() if n > 1], "an English term is listed twice"
    rejected = {v for v, _, _ in rejected_variants()}
    for term in TERMS:
        assert set(term) <= {"zh", "en", "chapter", "reject", "aka", "search_zh", "search_en"}, term
        assert term["chapter"] in CHAPTERS, f"{term['zh']}: no chapter {term['chapter']}"
        assert term["zh"] not in rejected, f"{term['zh']} is both a term and a rejected variant"
        if "aka" in term:
            assert any(v in term["aka"] for v in term.get("reject", []) + term.get("search_zh", [])), term
    assert set(CHAPTERS) == {t["chapter"] for t in TERMS}, "every chapter defines at least one term"
    meanings = Counter(s["tex"] for s in GLOSSARY["symbols"])
    assert not [k for k, n in meanings.items() if n > 1], "a symbol is listed with two meanings"
    for symbol in GLOSSARY["symbols"]:
        for clash in symbol.get("clash", []):
            re.compile(clash["re"])


def test_each_term_names_its_variants_in_its_defining_chapter():
    """A reader searching a variant (批次归一化) lands on the chapter: the chapter names it once."""
    for term in TERMS:
        if "aka" in term:
            page = DOCS / "chapters" / f"{term['chapter']}.zh.md"
            assert term["aka"] in page.read_text(encoding="utf-8"), (
                f"{page} must name the variants of {term['zh']} once, as {term['aka']!r} (glossary.yml: aka)"
            )


def test_every_term_and_variant_a_reader_may_search_is_on_its_chapter():
    """The search index holds what the pages say: a variant the chapter's prose never writes is not
    found there (a file name or a class in code, like BatchNorm1d for batchnorm, does not count)."""
    problems = []
    for term in TERMS:
        for language, typed in [("zh", term["zh"]), ("en", term["en"])] + [
            (lang, v) for lang in LANGUAGES for v in term.get(f"search_{lang}", [])
        ]:
            page = DOCS / "chapters" / f"{term['chapter']}.{language}.md"
            prose = "\n".join(line.text for line in prose_lines(page)).lower()
            if typed.lower() not in prose:
                problems.append(f"{page.name} never says {typed!r} (glossary: {term['en']})")
    assert not problems, "\n".join(problems)


def test_jieba_keeps_every_term_whole():
    words = {
        line.split()[0]
        for line in (ROOT / "site_config/jieba_user_dict.txt").read_text("utf-8").splitlines()
        if line.strip()
    }
    wanted = set()
    for term in TERMS:
        wanted |= {
            term["zh"],
            *(v for v in term.get("search_zh", []) + term.get("reject", []) if CJK_CHAR.search(v)),
        }
    missing = sorted(wanted - words)
    assert not missing, f"site_config/jieba_user_dict.txt lacks {missing}: search would split them"


# --- Chinese prose ---


@pytest.mark.parametrize("path", ZH_FILES, ids=_name)
def test_chinese_prose_uses_the_glossary_terms(path):
    problems = []
    variants = rejected_variants()
    phrases = aka_phrases(path)
    for line in prose_lines(path):
        text = blank_aka(without_glosses(line.text), phrases)
        for variant, use, why in variants:
            if variant in text:
                problems.append(f"{line.where}: {variant!r}: write {use!r} ({why})\n    {line.raw.strip()}")
    assert not problems, "\n".join(problems)


def _gloss_follows(text: str, end: int, english: str) -> bool:
    """A parenthesis holding the English term opens within a few characters after ``end``."""
    window = text[end : end + 12]
    opening = re.search(r"[（(]", window)
    if not opening:
        return False
    start = end + opening.start() + 1
    close = re.search(r"[）)]", text[start:])
    inside = text[start : start + close.start()] if close else text[start:]
    norm = lambda s: re.sub(r"[\s\-]", "", s.lower())  # noqa: E731
    stem = norm(english)
    return stem[: max(4, len(stem) - 2)] in norm(inside)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_term_is_glossed_in_english_at_its_first_use_in_a_chapter(chapter):
    path = DOCS / "chapters" / f"{chapter}.zh.md"
    body = [line for line in prose_lines(path) if not line.raw.lstrip().startswith("#")]
    text = "\n".join(blank_aka(line.text, aka_phrases(path)) for line in body)
    problems = []
    for term in TERMS:
        at = text.find(term["zh"])
        if at < 0:
            continue
        if not _gloss_follows(text, at + len(term["zh"]), term["en"]):
            context = text[max(0, at - 15) : at + len(term["zh"]) + 20].replace("\n", " ")
            problems.append(f"{term['zh']}: first use needs （{term['en']}）: …{context.strip()}…")
    assert not problems, f"{path}:\n" + "\n".join(problems)


def _cjk_break(line: str, following: str) -> bool:
    left, right = line.rstrip(), following.lstrip()
    if not left or not right:
        return False
    if re.match(r"([-*+]|\d+\.|#|\||>|!!!|\?\?\?|:::)(\s|$)", right) or right.startswith(("|", "<")):
        return False  # a new block, not a continuation
    return bool(CJK_OR_PUNCT.match(left[-1]) and CJK_OR_PUNCT.match(right[0]))


@pytest.mark.parametrize("path", ZH_FILES, ids=_name)
def test_no_line_break_between_two_chinese_characters(path):
    """Browsers render a line break in a paragraph as a space, and a space between two Chinese
    characters is a visible gap: a Chinese sentence is written on one line."""
    lines = prose_lines(path)
    breaks = [
        f"{a.where}: {a.raw.strip()[-20:]!r} / {b.raw.strip()[:20]!r}"
        for a, b in itertools.pairwise(lines)
        if a.text.strip() and _cjk_break(a.raw, b.raw) and b.text.strip()
    ]
    assert not breaks, "hard line breaks inside Chinese sentences; join the lines:\n" + "\n".join(breaks)


# --- both languages ---

_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(\.\d+)?(?:[eE][-−]?\d+)?")
_IGNORED = re.compile(r"\{\s*#[^}]*\}|\]\([^)]*\)|<[^>]+>|\bS\d+(\.\d+)?\b|#+\s")


def numbers_of(path: Path) -> set[str]:
    """The numbers quoted in the prose of a page (code and math left out): 1,000 and 1000 count as one
    number; one-digit integers are left out (English writes them as words, Chinese as digits)."""
    found = set()
    for line in prose_lines(path):
        for match in _NUMBER.finditer(_IGNORED.sub(" ", line.text)):
            whole, fraction = match.group(1).replace(",", ""), match.group(2) or ""
            if fraction or len(whole) > 1:
                found.add(whole + fraction)
    return found


@pytest.mark.parametrize(
    "name", sorted(n for n in {**PAGES, **NOTEBOOKS} if set({**PAGES, **NOTEBOOKS}[n]) == set(LANGUAGES))
)
def test_both_languages_quote_the_same_numbers(name):
    pair = {**PAGES, **NOTEBOOKS}[name]
    zh, en = (numbers_of(pair[lang]) for lang in LANGUAGES)
    assert zh == en, (
        f"{name}: numbers in one language only: zh has {sorted(zh - en)}, en has {sorted(en - zh)}"
    )


_WORDS_IN_MATH = re.compile(r"\\(?:text|textrm|textit|textbf|mbox|mathrm)\{(?P<word>[^}]*)\}")


@pytest.mark.parametrize("path", ALL_FILES, ids=_name)
def test_display_math_carries_no_words(path):
    """Words in a formula would be in one language on both pages: they belong in the prose around it."""
    problems = []
    for tex in parse_page(path).display_math:
        for match in _WORDS_IN_MATH.finditer(tex):
            if re.search(r"[A-Za-z]{3,}", match["word"]) or CJK_CHAR.search(match["word"]):
                problems.append(f"{match.group(0)} in $${tex[:60]}…$$")
    assert not problems, f"{path}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", ALL_FILES, ids=_name)
def test_each_symbol_keeps_its_one_meaning(path):
    problems = []
    for tex in math_of(path):
        for symbol in GLOSSARY["symbols"]:
            for clash in symbol.get("clash", []):
                if re.search(clash["re"], tex):
                    problems.append(f"{tex[:80]!r}: ${symbol['tex']}$ is {symbol['en']}; {clash['use']}")
    assert not problems, f"{path}:\n" + "\n".join(problems)


_ALT = re.compile(r"!\[(?P<alt>[^\]]*)\]\(|<img\b[^>]*\balt=[\"'](?P<alt2>[^\"']*)")


@pytest.mark.parametrize("path", ALL_FILES, ids=_name)
def test_figures_are_in_the_page_language(path):
    language = path.name.split(".")[-2]
    text = path.read_text(encoding="utf-8")
    for match in _ALT.finditer(text):
        alt = match["alt"] if match["alt"] is not None else match["alt2"]
        if language == "zh":
            assert CJK_CHAR.search(alt), f"{path}: alt text in English: {alt!r}"
        else:
            assert not CJK_CHAR.search(alt), f"{path}: alt text in Chinese: {alt!r}"
    for src in parse_page(path).images:
        if "figures/" in src:
            assert src.endswith(f".{language}.svg"), f"{path}: shows {src}; show its .{language}.svg variant"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_the_same_boilerplate(chapter):
    for language in LANGUAGES:
        path = DOCS / "chapters" / f"{chapter}.{language}.md"
        text = path.read_text(encoding="utf-8")
        abstract = BOILERPLATE["abstract"][language]
        closing = BOILERPLATE["closing"][language]
        assert f'!!! abstract "{abstract}"' in text, f'{path}: the abstract is titled "{abstract}"'
        assert re.search(rf"^## {re.escape(closing)} \{{ #run-it-yourself \}}$", text, re.M), (
            f"{path}: the closing section is '## {closing} {{ #run-it-yourself }}'"
        )
        # chapters rank above labs and reference pages in search, which say the same words in code
        assert text.startswith("---\nsearch:\n  boost: 5\n---\n"), f"{path}: front matter search.boost 5"
        titles = re.findall(r'^!!! abstract "([^"]*)"', text, re.M)
        assert titles == [abstract], f"{path}: one abstract, titled {abstract!r}; found {titles}"


# --- the glossary pages and the figures ---


def test_the_glossary_pages_list_every_term_and_symbol():
    for language in LANGUAGES:
        terms = hook.terms_table(GLOSSARY, language)
        symbols = hook.symbols_table(GLOSSARY, language)
        for term in TERMS:
            row = next(r for r in terms.splitlines() if f"| {term['zh']} |" in r)
            assert term["en"] in row and f"chapters/{term['chapter']}.md" in row
        for symbol in GLOSSARY["symbols"]:
            assert f"${symbol['tex']}$" in symbols and symbol[language] in symbols
        page = DOCS / f"glossary.{language}.md"
        source = page.read_text(encoding="utf-8")
        assert hook.TERMS_MARKER in source and hook.SYMBOLS_MARKER in source, page
    for language in LANGUAGES:
        home = (DOCS / f"index.{language}.md").read_text(encoding="utf-8")
        assert "(glossary.md)" in home, f"index.{language}.md links the glossary"


def test_the_hook_refuses_a_glossary_page_without_its_markers():
    class File:
        src_uri = "glossary.zh.md"

    class Page:
        file = File()

    with pytest.raises(ValueError, match="marker"):
        hook.on_page_markdown("# 术语表\n", Page(), None, None)
    assert (
        hook.on_page_markdown(
            "x", type("P", (), {"file": type("F", (), {"src_uri": "index.zh.md"})()})(), None, None
        )
        == "x"
    )


def _chinese_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK_CHAR.search(node.value)
    ]


@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("**/*.py")), ids=lambda p: p.name)
def test_figure_text_uses_the_glossary_terms(script):
    problems = []
    for line, text in _chinese_strings(script):
        text = without_glosses(re.sub(r"\{[^{}]*\}", " ", text))  # str.format fields are code
        for variant, use, why in rejected_variants():
            if variant in text:
                problems.append(f"{script.name}:{line}: {variant!r} in {text!r}: write {use!r} ({why})")
    assert not problems, "\n".join(problems)
