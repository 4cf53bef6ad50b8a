"""The recipe as a flowchart: look at the training loss first, then at the test loss (S1.1).

The chart is drawn with Matplotlib, every box in English and in Simplified Chinese, so that both
versions of the book show the same figure. The Chinese text needs a CJK font; the script looks for
Noto Sans CJK (Debian: ``apt-get install fonts-noto-cjk``) and stops with a message naming the
package if it is missing. Text is stored as outlines, so the SVG shows the same everywhere. No data
and no randomness: ``--quick`` draws the same chart.

- recipe_flowchart.svg: the flowchart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib import font_manager

from mlnotes.cli import example_parser, parse_example_args
from mlnotes.plotting import new_figure, save_figure

CJK_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf")

# (x, y) of the box centre, text; "?" boxes are questions, the others are what to do
BOXES = {
    "train": (0.50, 0.92, "loss on the training data large?\n训练数据上的损失大吗？", "q"),
    "bias_or_opt": (
        0.22,
        0.68,
        "model bias or optimization?\ncompare with smaller and non-deep models\n"
        "模型偏差还是优化问题？\n与更小的模型、非深度模型比较",
        "q",
    ),
    "bias": (
        0.12,
        0.36,
        "model bias\nmore flexible model:\nmore features, layers, neurons\n"
        "模型偏差\n更有弹性的模型：\n更多特征、层数、神经元",
        "a",
    ),
    "opt": (
        0.39,
        0.36,
        "optimization\na smaller model fits better:\nbetter optimizer, normalization\n"
        "优化问题\n更小的模型反而拟合得更好：\n更好的优化器、归一化",
        "a",
    ),
    "test": (0.78, 0.68, "loss on the test data large?\n测试数据上的损失大吗？", "q"),
    "done": (0.93, 0.40, "done\n完成", "a"),
    "overfit": (
        0.66,
        0.36,
        "overfitting\nmore data, augmentation,\nconstrain the model\n过拟合\n更多数据、数据增强、\n限制模型",
        "a",
    ),
    "mismatch": (
        0.72,
        0.08,
        "mismatch: training and test\ndata differ; more data\nof the same kind does not help\n"
        "不匹配：训练与测试数据分布不同，\n同类数据再多也没用",
        "a",
    ),
}
ARROWS = (
    ("train", "bias_or_opt", "yes 是"),
    ("train", "test", "no 否"),
    ("bias_or_opt", "bias", ""),
    ("bias_or_opt", "opt", ""),
    ("test", "overfit", "yes 是"),
    ("test", "done", "no 否"),
    ("overfit", "mismatch", "did not help\n没有帮助"),
)


def cjk_font() -> str:
    """Register a Noto Sans CJK file with Matplotlib and return its family name."""
    for path in sorted(font_manager.findSystemFonts()):
        if Path(path).name in CJK_FILES:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    raise RuntimeError(
        "recipe_flowchart.py needs a CJK font for its Chinese text: install Noto Sans CJK "
        "(Debian/Ubuntu: apt-get install fonts-noto-cjk)"
    )


def figure(family: str):
    fig, ax = new_figure(1, width=9.0, height=6.2)
    ax.set_axis_off()
    ax.set(xlim=(0, 1), ylim=(-0.04, 1.0))
    style = {
        "q": {"boxstyle": "round,pad=0.5", "fc": "#e8eaf6", "ec": "#3949ab"},
        "a": {"boxstyle": "square,pad=0.5", "fc": "#f5f5f5", "ec": "0.45"},
    }
    texts = {
        name: ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=8,
            family=["DejaVu Sans", family],
            bbox=style[kind],
            linespacing=1.35,
        )
        for name, (x, y, text, kind) in BOXES.items()
    }
    for start, end, label in ARROWS:
        ann = ax.annotate(
            "",
            xy=BOXES[end][:2],
            xytext=BOXES[start][:2],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "0.3",
                "lw": 1.0,
                "patchA": texts[start].get_bbox_patch(),
                "patchB": texts[end].get_bbox_patch(),
                "shrinkA": 2,
                "shrinkB": 2,
            },
        )
        if label:
            (x0, y0), (x1, y1) = BOXES[start][:2], BOXES[end][:2]
            ax.text(
                (x0 + x1) / 2 + 0.015,
                (y0 + y1) / 2,
                label,
                fontsize=7.5,
                color="0.25",
                family=["DejaVu Sans", family],
                ha="left",
                va="center",
            )
        del ann
    ax.annotate(
        "",
        xy=(0.12, 0.235),
        xytext=(0.62, 0.235),
        arrowprops={
            "arrowstyle": "-|>",
            "color": "tab:red",
            "lw": 0.9,
            "ls": "--",
            "connectionstyle": "arc3,rad=-0.25",
        },
    )
    ax.text(
        0.37,
        0.09,
        "too much constraint brings model bias back\n限制过多，模型偏差又回来了",
        fontsize=7.5,
        color="tab:red",
        ha="center",
        va="center",
        family=["DejaVu Sans", family],
    )
    return fig


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_example_args(example_parser(__doc__.splitlines()[0]), argv)
    print("(a drawing, no computation; --device and --quick change nothing)")
    path = save_figure(figure(cjk_font()), args.out / "recipe_flowchart.svg")
    print(f"wrote {path}")
    return {"boxes": list(BOXES), "figures": [path]}


if __name__ == "__main__":
    main()
