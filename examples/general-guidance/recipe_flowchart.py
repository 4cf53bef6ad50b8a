"""The recipe as a flowchart: look at the training loss first, then at the test loss.

Book: general-guidance#recipe.

The chart is drawn with Matplotlib once per language of the book, every box in that language. The
Chinese chart needs a CJK font: ``mlnotes.plotting.cjk_font`` looks for Noto Sans CJK (Debian:
``apt-get install fonts-noto-cjk``) and stops with a message naming the package if none is
installed. Text is stored as outlines, so the SVG shows the same everywhere. No data and no
randomness: ``--quick`` draws the same charts.

- recipe_flowchart.zh.svg, recipe_flowchart.en.svg: the flowchart, in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.plotting import cjk_font, new_figure, save_figures

# (x, y) of the box centre and its kind: "q" boxes are questions, "a" boxes say what to do
BOXES = {
    "train": (0.50, 0.92, "q"),
    "bias_or_opt": (0.22, 0.68, "q"),
    "bias": (0.12, 0.38, "a"),
    "opt": (0.39, 0.38, "a"),
    "test": (0.78, 0.68, "q"),
    "done": (0.93, 0.40, "a"),
    "overfit": (0.66, 0.38, "a"),
    "mismatch": (0.72, 0.10, "a"),
}
ARROWS = (
    ("train", "bias_or_opt", "yes"),
    ("train", "test", "no"),
    ("bias_or_opt", "bias", ""),
    ("bias_or_opt", "opt", ""),
    ("test", "overfit", "yes"),
    ("test", "done", "no"),
    ("overfit", "mismatch", "did_not_help"),
)
TEXT = {
    "zh": {
        "boxes": {
            "train": "训练损失大吗？",
            "bias_or_opt": "模型偏差还是优化问题？\n与更小的模型、非深度模型比较",
            "bias": "模型偏差\n换更有弹性的模型：\n更多特征、层数、神经元",
            "opt": "优化问题\n更小的模型反而拟合得更好：\n更好的优化器、归一化",
            "test": "测试损失大吗？",
            "done": "完成",
            "overfit": "过拟合\n更多数据、数据增强、\n限制模型",
            "mismatch": "不匹配：训练数据与测试数据\n分布不同，同类数据\n再多也没用",
        },
        "yes": "是",
        "no": "否",
        "did_not_help": "没有帮助",
        "back": "限制过多，模型偏差又回来了",
    },
    "en": {
        "boxes": {
            "train": "training loss large?",
            "bias_or_opt": "model bias or optimization issue?\ncompare with smaller and non-deep models",
            "bias": "model bias\nmore flexible model:\nmore features, layers, neurons",
            "opt": "optimization issue\na smaller model fits better:\nbetter optimizer, normalization",
            "test": "test loss large?",
            "done": "done",
            "overfit": "overfitting\nmore data, data augmentation,\nconstrain the model",
            "mismatch": "mismatch: training and test\ndata differ; more data\nof the same kind does not help",
        },
        "yes": "yes",
        "no": "no",
        "did_not_help": "did not help",
        "back": "too much constraint brings model bias back",
    },
}


def figure(language: str):
    """The flowchart in ``language``; the Chinese one needs a CJK font (``cjk_font`` raises if none)."""
    text = TEXT[language]
    family = [cjk_font(), "DejaVu Sans"] if language == "zh" else ["DejaVu Sans"]
    fig, ax = new_figure(1, width=9.0, height=5.6)
    ax.set_axis_off()
    ax.set(xlim=(0, 1), ylim=(-0.02, 1.0))
    style = {
        "q": {"boxstyle": "round,pad=0.5", "fc": "#e8eaf6", "ec": "#3949ab"},
        "a": {"boxstyle": "square,pad=0.5", "fc": "#f5f5f5", "ec": "0.45"},
    }
    boxes = {
        name: ax.text(
            x,
            y,
            text["boxes"][name],
            ha="center",
            va="center",
            fontsize=9,
            family=family,
            bbox=style[kind],
            linespacing=1.4,
        )
        for name, (x, y, kind) in BOXES.items()
    }
    for start, end, label in ARROWS:
        ax.annotate(
            "",
            xy=BOXES[end][:2],
            xytext=BOXES[start][:2],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "0.3",
                "lw": 1.0,
                "patchA": boxes[start].get_bbox_patch(),
                "patchB": boxes[end].get_bbox_patch(),
                "shrinkA": 2,
                "shrinkB": 2,
            },
        )
        if label:
            (x0, y0), (x1, y1) = BOXES[start][:2], BOXES[end][:2]
            ax.text(
                (x0 + x1) / 2 + 0.015,
                (y0 + y1) / 2,
                text[label],
                fontsize=8.5,
                color="0.25",
                family=family,
                ha="left",
                va="center",
            )
    ax.annotate(
        "",
        xy=(0.12, 0.27),
        xytext=(0.62, 0.27),
        arrowprops={
            "arrowstyle": "-|>",
            "color": "tab:red",
            "lw": 0.9,
            "ls": "--",
            "connectionstyle": "arc3,rad=-0.25",
        },
    )
    ax.text(0.37, 0.12, text["back"], fontsize=8.5, color="tab:red", ha="center", va="center", family=family)
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    print("(a drawing, no computation; --device and --quick change nothing)")
    paths = save_figures(figure, args.out, "recipe_flowchart")
    for path in paths:
        print(f"wrote {path}")
    return {"boxes": list(BOXES), "figures": paths}


if __name__ == "__main__":
    main()
