"""The raw-Markdown scanner of the browser walk (tests/raw_markdown.py), without a browser: each
pattern finds its leftover, and ordinary prose of both languages is left alone."""

import pytest
from raw_markdown import raw_markdown

LEFTOVERS = [
    # (visible text, the kind it must be reported as, the match)
    ("switch with the :material-translate: menu", "emoji shortcode", ":material-translate:"),
    ("用页面顶部的 :material-translate: 菜单切换", "emoji shortcode", ":material-translate:"),
    ("用页面顶部的:material-translate:菜单切换", "emoji shortcode", ":material-translate:"),
    ("Great :smile:", "emoji shortcode", ":smile:"),
    (":fontawesome-brands-github: on GitHub", "emoji shortcode", ":fontawesome-brands-github:"),
    ("see (:octicons-mark-github-16:)", "emoji shortcode", ":octicons-mark-github-16:"),
    ("thumbs :+1: up", "emoji shortcode", ":+1:"),
    ("Saddle point { #saddle-point }", "attribute list", "{ #saddle-point }"),
    ("Saddle point {#saddle-point}", "attribute list", "{#saddle-point}"),
    ("鞍点 { #saddle-point }", "attribute list", "{ #saddle-point }"),
    ("a figure { .center }", "attribute list", "{ .center }"),
    ("a figure {: #fig-1 .wide }", "attribute list", "{: #fig-1 .wide }"),
    ('an image { width="300" }', "attribute list", '{ width="300" }'),
    ("uses [ml.hvp][mlnotes.derivatives.hvp] here", "reference link", "[ml.hvp][mlnotes.derivatives.hvp]"),
    ("see [hvp][] in this module", "reference link", "[hvp][]"),
    ("见 [向量积][mlnotes.derivatives.hvp]。", "reference link", "[向量积][mlnotes.derivatives.hvp]"),
    ("the loss\n$$\nL(w) = w^2\n$$\nhas", "display math delimiter", "$$"),
    ("inline $$x$$ too", "display math delimiter", "$$"),
    ('!!! tip "Figures on your own machine"\n    Each figure', "admonition", "!!!"),
    ("!!!note", "admonition", "!!!"),
    ('??? note "Details"\n    hidden', "admonition", "???"),
    ('???+ example "Open"\n    shown', "admonition", "???+"),
    ("text\n  !!! warning\n", "admonition", "!!!"),
    ("```python\nimport torch\n```", "code fence", "```"),
    ("a paragraph ``` cut short", "code fence", "```"),
    ("~~~\ncode\n~~~", "code fence", "~~~"),
    ("::: mlnotes.derivatives.hvp", "mkdocstrings directive", ":::"),
]

PROSE = [
    "The run starts at 10:30 and ends at 10:45:30.",
    "a ratio 1:2, or 1:2:3 for three classes",
    "labels a:b:c, keys x:y and std::vector in C++",
    "会议 10:30 开始；比例为 1:2。",
    "注意：学习率太大时，损失会发散：见下图。",  # full-width colons
    "Note: the gradient: zero at a critical point.",
    "Time 12:00:00 UTC, and :30: is not a name",
    "http://127.0.0.1:8000/en/ and https://example.org/a:b",
    "a set {x, y} and {1, 2, 3} in prose",
    "pixels scaled to [0, 1], split into [train] and [test]",
    "see [the chapter] (below) and [1] [2]",
    "it costs $5 and $10, or $ 15",
    "What??? Really!!! Yes?!",
    "Wait... ?? and !! are fine",
    "a~b and ``code`` in prose, `x` too",
    "a ~~strikeout~~ word",
    "Generated from the docstrings of mlnotes.derivatives.",
    "模型是 y = w₁w₂x，损失为平方误差。",
]


@pytest.mark.parametrize(("text", "kind", "match"), LEFTOVERS)
def test_each_leftover_is_found(text, kind, match):
    found = raw_markdown(text)
    assert any(f.startswith(f"{kind} {match!r}") for f in found), found


@pytest.mark.parametrize("text", PROSE)
def test_ordinary_prose_is_left_alone(text):
    assert raw_markdown(text) == []


def test_runs_of_dollars_and_tildes():
    # "$$" is never prose on a page whose math KaTeX typesets; two tildes are not a fence, three are
    assert [f.split(" '")[0] for f in raw_markdown("costs $$$ here")] == ["display math delimiter"]
    assert raw_markdown("a ~~strikeout~~ word") == []
    assert [f.split(" '")[0] for f in raw_markdown("a ~~~ line")] == ["code fence"]


def test_every_leftover_is_reported_with_its_place():
    text = "S1 :smile: then { #a } and [x][y]\n!!! tip\n```\n$$"
    found = raw_markdown(text)
    kinds = [f.split(" '")[0] for f in found]
    assert kinds == [
        "emoji shortcode",
        "attribute list",
        "reference link",
        "admonition",
        "code fence",
        "display math delimiter",
    ]
    assert "in 'S1 :smile: then" in found[0]


def test_the_context_is_one_line_and_short():
    found = raw_markdown("x" * 100 + "\n\n :smile: \n\n" + "y" * 100)
    assert len(found) == 1
    assert "\n" not in found[0] and len(found[0]) < 100
