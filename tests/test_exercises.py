"""Every chapter ends with exercises: numbered, anchored, graded, of three kinds, each with a solution
that stays collapsed until the reader opens it.

The format (the labels come from site_config/glossary.yml, ``boilerplate``)::

    ## Exercises { #exercises }                  (just before ## References)

    One paragraph that explains the difficulty marks ★, ★★ and ★★★.

    ### Exercise 3 · ★★ · Coding: a title { #exercise-3 }

    The problem.

    ??? success "Solution"
        The solution, indented: math for a derivation; code that runs and checks itself for a coding
        exercise (a ```pycon session, or ```python with an assert); for a "predict, then run" question
        the experiment's code and what its outcome means.

The solutions' code blocks are ordinary blocks of the page: Sybil runs them (tests/test_doc_blocks.py
checks that each one is collected) and tests/test_docs_parity.py holds their code and math identical
in both languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from markdown_parts import DOCS, LANGUAGES
from test_glossary import BOILERPLATE, CHAPTERS

KINDS = BOILERPLATE["exercise_kinds"]
MINIMUM = {"derivation": 2, "coding": 2, "predict": 1}
MINIMUM_TOTAL = 6


@dataclass
class Exercise:
    number: int
    stars: int
    kind: str
    title: str
    problem: str
    solution: str


def _heading_pattern(language: str) -> re.Pattern:
    word = re.escape(BOILERPLATE["exercise"][language])
    kinds = "|".join(re.escape(k[language]) for k in KINDS.values())
    return re.compile(
        rf"^### {word} (?P<number>\d+) · (?P<stars>★{{1,3}}) · (?P<kind>{kinds})[:：] ?(?P<title>\S.*?)"
        rf" \{{ #exercise-(?P<anchor>\d+) \}}$"
    )


def exercises_section(text: str, language: str) -> tuple[str, str]:
    """(the section's text, the heading of the section after it)."""
    title = BOILERPLATE["exercises"][language]
    match = re.search(rf"^## {re.escape(title)} \{{ #exercises \}}\n", text, re.M)
    if not match:
        raise AssertionError(f"no section '## {title} {{ #exercises }}'")
    rest = text[match.end() :]
    following = re.search(r"^## .*$", rest, re.M)
    if not following:
        raise AssertionError("the exercises section is the last one: ## References comes after it")
    return rest[: following.start()], following.group(0)


def parse_exercises(text: str, language: str) -> tuple[str, list[Exercise]]:
    section, _ = exercises_section(text, language)
    pattern = _heading_pattern(language)
    kind_of = {k[language]: key for key, k in KINDS.items()}
    parts = re.split(r"^(?=### )", section, flags=re.M)
    intro, found = parts[0], []
    solution_title = BOILERPLATE["solution"][language]
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        match = pattern.match(heading)
        if not match:
            raise AssertionError(f"exercise heading not in the house format: {heading!r}")
        if match["number"] != match["anchor"]:
            raise AssertionError(f"{heading!r}: the anchor is #exercise-{match['number']}")
        openers = re.findall(r'^(\?\?\?\+?|!!!) (\w+) "([^"]*)"', body, re.M)
        expected = ("???", "success", solution_title)
        if openers != [expected]:
            raise AssertionError(
                f"{heading!r}: needs exactly one collapsed solution '??? success \"{solution_title}\"' "
                f"(and no other block opener at the margin); found {openers}"
            )
        problem, _, solution = body.partition(f'??? success "{solution_title}"\n')
        # the solution is the indented block under the opener; anything after it at the margin is not
        lines = solution.split("\n")
        inside = [ln for ln in lines if ln.startswith("    ") or not ln.strip()]
        if len(inside) != len(lines):
            stray = next(ln for ln in lines if ln.strip() and not ln.startswith("    "))
            raise AssertionError(f"{heading!r}: text after the solution, outside it: {stray!r}")
        found.append(
            Exercise(
                int(match["number"]),
                len(match["stars"]),
                kind_of[match["kind"]],
                match["title"],
                problem.strip(),
                "\n".join(ln[4:] for ln in lines),
            )
        )
    return intro, found


def _fences(markdown: str) -> list[tuple[str, str]]:
    return re.findall(r"^```(\w+)\n(.*?)^```$", markdown, re.M | re.S)


def check_chapter(text: str, language: str) -> list[Exercise]:
    _, following = exercises_section(text, language)
    if not following.endswith("{ #references }"):
        raise AssertionError(f"the exercises come just before ## References, not before {following!r}")
    intro, exercises = parse_exercises(text, language)
    for stars in ("★", "★★", "★★★"):
        if stars not in intro:
            raise AssertionError(f"the section's opening paragraph explains the mark {stars}")
    numbers = [e.number for e in exercises]
    if numbers != list(range(1, len(numbers) + 1)):
        raise AssertionError(f"exercises are numbered 1, 2, 3, ... in order; found {numbers}")
    if len(exercises) < MINIMUM_TOTAL:
        raise AssertionError(f"{len(exercises)} exercises; a chapter has at least {MINIMUM_TOTAL}")
    for kind, least in MINIMUM.items():
        have = sum(e.kind == kind for e in exercises)
        if have < least:
            raise AssertionError(f"{have} exercises of the kind {kind!r}; a chapter has at least {least}")
    for e in exercises:
        where = f"exercise {e.number}"
        if not e.problem:
            raise AssertionError(f"{where}: the problem is stated before its solution")
        fences = _fences(e.solution)
        code = [(info, body) for info, body in fences if info in ("python", "pycon")]
        if e.kind == "derivation" and "$" not in e.solution:
            raise AssertionError(f"{where}: a derivation's solution is worked in math ($...$)")
        if e.kind == "coding":
            checked = any(info == "pycon" for info, _ in code) or any(
                re.search(r"^\s*assert\b", body, re.M) for info, body in code if info == "python"
            )
            if not checked:
                raise AssertionError(
                    f"{where}: a coding exercise's solution is code that checks its answer "
                    "(a ```pycon session, or an assert)"
                )
        if e.kind == "predict":
            if not code:
                raise AssertionError(f"{where}: the solution runs the experiment (a python/pycon block)")
            prose = re.sub(r"^```\w*\n.*?^```$", "", e.solution, flags=re.M | re.S)
            if len(prose.strip()) < 80:
                raise AssertionError(f"{where}: the solution explains the outcome, not only runs it")
    return exercises


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_ends_with_graded_exercises_and_collapsed_solutions(chapter):
    seen = {}
    for language in LANGUAGES:
        path = DOCS / "chapters" / f"{chapter}.{language}.md"
        try:
            seen[language] = check_chapter(path.read_text(encoding="utf-8"), language)
        except AssertionError as error:
            raise AssertionError(f"{path}: {error}") from None
    zh, en = ([(e.number, e.stars, e.kind) for e in seen[lang]] for lang in LANGUAGES)
    assert zh == en, f"chapters/{chapter}: the exercises' numbers, marks and kinds differ: {zh} vs {en}"


# --- the checker itself ---

GOOD = """\
## Exercises { #exercises }

Marks: ★ uses the chapter, ★★ combines it, ★★★ goes beyond it.

### Exercise 1 · ★ · Derivation: one { #exercise-1 }

Show it.

??? success "Solution"
    Since $a = b$, done.

### Exercise 2 · ★★ · Coding: two { #exercise-2 }

Write it.

??? success "Solution"
    ```pycon
    >>> 1 + 1
    2
    ```

### Exercise 3 · ★★★ · Predict, then run: three { #exercise-3 }

Guess.

??? success "Solution"
    ```python
    x = 1
    ```

    The outcome is one because the assignment above stores one, which is what a reader should expect.

### Exercise 4 · ★ · Derivation: four { #exercise-4 }

Show it.

??? success "Solution"
    $x$.

### Exercise 5 · ★ · Coding: five { #exercise-5 }

Code.

??? success "Solution"
    ```python
    assert 2 > 1
    ```

### Exercise 6 · ★ · Coding: six { #exercise-6 }

Code.

??? success "Solution"
    ```pycon
    >>> 2
    2
    ```

## References { #references }
"""


def test_the_checker_accepts_the_house_format():
    exercises = check_chapter(GOOD, "en")
    assert [(e.number, e.stars, e.kind) for e in exercises] == [
        (1, 1, "derivation"),
        (2, 2, "coding"),
        (3, 3, "predict"),
        (4, 1, "derivation"),
        (5, 1, "coding"),
        (6, 1, "coding"),
    ]
    assert exercises[1].solution.startswith("```pycon\n>>> 1 + 1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (
                "### Exercise 2 · ★★ · Coding: two { #exercise-2 }",
                "### Exercise 7 · ★★ · Coding: two { #exercise-7 }",
            ),
            "numbered 1, 2, 3",
        ),
        (("{ #exercise-2 }", "{ #exercise-9 }"), "the anchor is #exercise-2"),
        (("· ★★ · Coding: two", "· ★★★★ · Coding: two"), "house format"),
        (('??? success "Solution"\n    Since', '!!! success "Solution"\n    Since'), "collapsed"),
        (("    Since $a = b$, done.", "    Since a = b, done."), "worked in math"),
        (("    assert 2 > 1", "    print(2 > 1)"), "checks its answer"),
        (
            (
                "    The outcome is one because the assignment above stores one, which is what a reader "
                "should expect.",
                "    One.",
            ),
            "explains the outcome",
        ),
        (("### Exercise 4 · ★ · Derivation", "### Exercise 4 · ★ · Coding"), "'derivation'"),
        (("## References { #references }", "## Summary { #summary }"), "just before ## References"),
        (("★★ combines it, ★★★ goes", "it goes"), "explains the mark ★★"),
        (("    $x$.\n", "    $x$.\n\nA stray paragraph.\n"), "outside it"),
    ],
)
def test_the_checker_names_what_is_wrong(change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_chapter(GOOD.replace(old, new, 1), "en")


def test_the_checker_reads_the_chinese_labels():
    zh = (
        GOOD.replace("## Exercises { #exercises }", "## 练习 { #exercises }")
        .replace("### Exercise ", "### 练习 ")
        .replace(" · Derivation: ", " · 推导：")
        .replace(" · Coding: ", " · 编程：")
        .replace(" · Predict, then run: ", " · 先预测再运行：")
        .replace('??? success "Solution"', '??? success "解答"')
    )
    assert [e.kind for e in check_chapter(zh, "zh")] == [e.kind for e in check_chapter(GOOD, "en")]
