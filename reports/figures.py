"""Report figures (seaborn/matplotlib): each one a function of analysis results that returns a matplotlib Figure.

Plotting computes nothing that is a metric: callers pass the numbers (scores, intervals, maps) that the analysis
produced, and a figure only lays them out. Figures are built with the object-oriented API (``Figure``, not
``pyplot``) under a local style context, so drawing a report neither changes the global matplotlib state nor needs
a display; ``to_png`` renders with the Agg canvas.

Every user string (prompt words, categories, variant names) is drawn with mathtext off: a ``$`` in a prompt is a
dollar sign, not the start of a formula.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..toolkit.prompt_tree import PromptTree

DPI = 96
MAP_COLORMAP = "magma"
# Fixed variant colours: the same variant has the same colour in every figure of a report.
PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974"]


def _style() -> dict:
    import seaborn as sns

    rc = dict(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook", font_scale=0.85))
    rc.update({"text.parse_math": False, "figure.dpi": DPI, "savefig.dpi": DPI, "font.family": ["DejaVu Sans"]})
    return rc


@contextlib.contextmanager
def styled():
    """The report's seaborn style, applied only inside the block."""
    with matplotlib.rc_context(_style()):
        yield


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def to_png(figure: Figure, dpi: int = DPI) -> bytes:
    """Render a figure to PNG bytes (Agg, white background)."""
    buffer = io.BytesIO()
    with styled():
        figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def variant_colors(variants: Sequence[str]) -> dict[str, str]:
    """One colour per variant, stable for a given order."""
    return {variant: PALETTE[index % len(PALETTE)] for index, variant in enumerate(variants)}


def _short(text: str, limit: int = 28) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------- prompt tree


def _tree_layout(tree: PromptTree) -> tuple[list[dict], list[tuple[int, int]]]:
    """Nodes (label, kind, x, depth) and edges of the prompt drawn as a tree: a root, entities by nesting,
    attributes as leaves of their entity. Leaves take consecutive x slots; a parent sits above its children."""
    nodes: list[dict] = [{"label": _short(tree.prompt, 48), "kind": "prompt", "depth": 0}]
    edges: list[tuple[int, int]] = []
    next_slot = [0.0]

    def add_entity(index: int, parent_node: int, depth: int) -> int:
        entity = tree.entities[index]
        tokens = ",".join(str(t) for t in entity.tokens) or "-"
        node = len(nodes)
        nodes.append({"label": f"{_short(entity.text, 20)}\n[{tokens}]", "kind": "entity", "depth": depth})
        edges.append((parent_node, node))
        child_x = []
        for attribute in entity.attributes:
            leaf = len(nodes)
            positions = ",".join(str(t) for t in attribute.tokens) or "-"
            nodes.append(
                {
                    "label": f"{_short(attribute.text, 20)}\n[{positions}]",
                    "kind": "attribute",
                    "depth": depth + 1,
                    "x": next_slot[0],
                }
            )
            next_slot[0] += 1
            edges.append((node, leaf))
            child_x.append(nodes[leaf]["x"])
        for child in tree.children(index):
            child_node = add_entity(child, node, depth + 1)
            child_x.append(nodes[child_node]["x"])
        if child_x:
            nodes[node]["x"] = (min(child_x) + max(child_x)) / 2
        else:
            nodes[node]["x"] = next_slot[0]
            next_slot[0] += 1
        return node

    top_x = [nodes[add_entity(index, 0, 1)]["x"] for index in tree.children(None)]
    if tree.style:
        nodes.append({"label": "style: " + _short(", ".join(tree.style), 30), "kind": "style", "depth": 1})
        nodes[-1]["x"] = next_slot[0]
        next_slot[0] += 1
        edges.append((0, len(nodes) - 1))
        top_x.append(nodes[-1]["x"])
    nodes[0]["x"] = (min(top_x) + max(top_x)) / 2 if top_x else 0.0
    return nodes, edges


NODE_STYLE = {
    "prompt": {"facecolor": "#f2f2f2", "edgecolor": "#555555"},
    "entity": {"facecolor": "#dbe7f5", "edgecolor": "#4c72b0"},
    "attribute": {"facecolor": "#fbe3d2", "edgecolor": "#dd8452"},
    "style": {"facecolor": "#e6f2e6", "edgecolor": "#55a868"},
}


def prompt_tree_figure(tree: PromptTree) -> Figure:
    """The parsed prompt as a tree: root -> entities (nested as parsed) -> attributes; token positions in brackets."""
    nodes, edges = _tree_layout(tree)
    slots = max(node["x"] for node in nodes) + 1
    depth = max(node["depth"] for node in nodes) + 1
    with styled():
        figure = new_figure(min(max(4.0, 1.25 * slots), 14.0), 0.9 + 0.95 * depth)
        axes = figure.add_subplot()
        axes.set_axis_off()
        for parent, child in edges:
            axes.plot(
                [nodes[parent]["x"], nodes[child]["x"]],
                [-nodes[parent]["depth"], -nodes[child]["depth"]],
                color="#999999",
                linewidth=1.2,
                zorder=1,
            )
        for node in nodes:
            axes.text(
                node["x"],
                -node["depth"],
                node["label"],
                ha="center",
                va="center",
                fontsize=9,
                zorder=2,
                bbox={"boxstyle": "round,pad=0.35", "linewidth": 1.2, **NODE_STYLE[node["kind"]]},
            )
        if not tree.entities:
            axes.text(0, -1, "no entity found", ha="center", va="center", color="#c44e52")
        axes.set_xlim(-0.7, slots - 0.3)
        axes.set_ylim(-depth + 0.4, 0.5)
        legend = [Patch(label=kind, **style) for kind, style in NODE_STYLE.items() if kind != "prompt"]
        axes.legend(handles=legend, loc="lower right", fontsize=8, frameon=False, ncols=3)
    return figure


# ---------------------------------------------------------------------------------------------- attention maps


def _show_overlay(axes, image: np.ndarray | None, attention: np.ndarray | None, scale: tuple[float, float]) -> None:
    axes.set_xticks([])
    axes.set_yticks([])
    axes.grid(False)
    if image is not None:
        height, width = image.shape[:2]
        gray = image.mean(axis=2) if image.ndim == 3 else image
        axes.imshow(gray, cmap="gray", extent=(0, width, height, 0), alpha=0.55)
    else:
        height = width = attention.shape[0] if attention is not None else 1
    if attention is None:
        axes.text(width / 2, height / 2, "not\ncaptured", ha="center", va="center", fontsize=8, color="#777777")
        axes.set_xlim(0, width)
        axes.set_ylim(height, 0)
        return
    axes.imshow(
        attention,
        cmap=MAP_COLORMAP,
        extent=(0, width, height, 0),
        interpolation="bilinear",
        vmin=scale[0],
        vmax=scale[1],
        alpha=0.65 if image is not None else 1.0,
    )


def shared_scale(maps: Sequence[np.ndarray | None]) -> tuple[float, float]:
    """The colour range shared by maps that are compared: smallest to largest finite value among them
    (``(0, 1)`` when there is none, and a non-empty range when all values are equal)."""
    finite = [m[np.isfinite(m)] for m in maps if m is not None and np.asarray(m).size]
    finite = [values for values in finite if values.size]
    if not finite:
        return (0.0, 1.0)
    low = float(min(values.min() for values in finite))
    high = float(max(values.max() for values in finite))
    if high <= low:
        return (low, low + max(abs(low), 1.0) * 1e-6 + 1e-12)
    return (low, high)


def attention_overlay_figure(
    images: Mapping[str, np.ndarray | None],
    maps: Mapping[str, Mapping[str, Mapping[str, np.ndarray | None]]],
    labels: Sequence[str],
    phases: Sequence[str],
) -> Figure:
    """Per-token cross-attention overlays: one row per label (entity or attribute), one column per
    (phase, variant), variants of a phase side by side.

    ``images[variant]``: the generated image, ``[H, W, 3]`` floats in [0, 1] or uint8; ``maps[variant][phase][label]``:
    the mean attention map ``[h, w]`` (any size; drawn stretched over the image) or ``None`` when not captured.
    Colour scale: smallest to largest value of the row, shared by every column of the row, so baseline and
    modulated (and phases) compare directly.
    """
    variants = list(images)
    columns = [(phase, variant) for phase in phases for variant in variants]
    rows = max(len(labels), 1)
    with styled():
        figure = new_figure(1.45 * len(columns) + 0.9, 1.45 * rows + 0.5)
        grid = figure.subplots(rows, len(columns), squeeze=False)
        for row, label in enumerate(labels or ["(no token)"]):
            row_maps = [maps.get(variant, {}).get(phase, {}).get(label) for phase, variant in columns]
            scale = shared_scale(row_maps)
            for column, ((phase, variant), attention) in enumerate(zip(columns, row_maps, strict=True)):
                axes = grid[row][column]
                image = images[variant]
                if image is not None and image.dtype == np.uint8:
                    image = image.astype(np.float32) / 255.0
                _show_overlay(axes, image, attention, scale)
                if row == 0:
                    axes.set_title(f"{phase}\n{variant}", fontsize=8)
                if column == 0:
                    axes.set_ylabel(_short(label, 18), fontsize=8)
    return figure


def item_maps_figure(
    panels: Sequence[tuple[str, np.ndarray | None, Mapping[str, np.ndarray | None]]],
    labels: Sequence[str],
) -> Figure:
    """A gallery card: one row per variant (title, image, maps by label), the image first, then one overlay per
    label. A label's overlays share one colour scale (smallest to largest value among them)."""
    columns = 1 + len(labels)
    with styled():
        figure = new_figure(1.35 * columns + 0.4, 1.45 * max(len(panels), 1) + 0.3)
        grid = figure.subplots(max(len(panels), 1), columns, squeeze=False)
        scales = {label: shared_scale([panel[2].get(label) for panel in panels]) for label in labels}
        for row, (title, image, label_maps) in enumerate(panels):
            if image is not None and image.dtype == np.uint8:
                image = image.astype(np.float32) / 255.0
            axes = grid[row][0]
            axes.set_xticks([])
            axes.set_yticks([])
            axes.grid(False)
            if image is not None:
                axes.imshow(image)
            axes.set_ylabel(_short(title, 18), fontsize=8)
            if row == 0:
                axes.set_title("image", fontsize=8)
            for column, label in enumerate(labels, start=1):
                _show_overlay(grid[row][column], image, label_maps.get(label), scales[label])
                if row == 0:
                    grid[row][column].set_title(_short(label, 16), fontsize=8)
    return figure


# ---------------------------------------------------------------------------------------------- diagnosis scores


def overlap_heatmap_figure(
    matrices: Mapping[str, np.ndarray | None], labels: Sequence[str], title: str = "entity overlap"
) -> Figure:
    """Entity x entity overlap heatmaps, one per variant, side by side, values written in the cells.
    The colour scale (0 to max(1, largest value)) is shared by all panels."""
    import seaborn as sns

    present = {name: np.asarray(m, dtype=float) for name, m in matrices.items() if m is not None}
    vmax = max([1.0] + [float(np.nanmax(m)) for m in present.values() if m.size])
    size = max(len(labels), 1)
    with styled():
        figure = new_figure(max(2.8, 0.75 * size + 1.8) * max(len(matrices), 1), max(2.4, 0.6 * size + 1.3))
        grid = figure.subplots(1, max(len(matrices), 1), squeeze=False)[0]
        short = [_short(label, 14) for label in labels]
        for axes, (name, matrix) in zip(grid, matrices.items(), strict=False):
            if matrix is None or not np.asarray(matrix).size:
                axes.set_axis_off()
                axes.text(0.5, 0.5, f"{name}: fewer than two entities", ha="center", va="center", fontsize=9)
                continue
            sns.heatmap(
                present[name],
                ax=axes,
                vmin=0.0,
                vmax=vmax,
                cmap="rocket_r",
                annot=size <= 8,
                fmt=".2f",
                square=True,
                cbar=axes is grid[-1],
                xticklabels=short,
                yticklabels=short,
                linewidths=0.5,
                linecolor="white",
            )
            axes.set_title(f"{title}: {name}", fontsize=9)
            axes.tick_params(axis="x", rotation=45)
            axes.tick_params(axis="y", rotation=0)
    return figure


def binding_bars_figure(
    attributes: Sequence[str],
    scores: Mapping[str, Sequence[float | None]],
    threshold: float | None,
    misbound_below: bool = True,
    metric: str = "binding",
) -> Figure:
    """Horizontal bars of the binding score per attribute, one bar per variant, with the misbinding threshold as
    a dashed line. ``scores[variant][i]`` belongs to ``attributes[i]`` (``None``: not scored). A bar on the failing
    side of the threshold (below it when ``misbound_below``) is hatched."""
    variants = list(scores)
    colors = variant_colors(variants)
    count = max(len(attributes), 1)
    height = 0.8 / max(len(variants), 1)
    with styled():
        figure = new_figure(6.0, 0.55 * count * max(len(variants), 1) * 0.6 + 1.4)
        axes = figure.add_subplot()
        for offset, variant in enumerate(variants):
            values = [np.nan if v is None else float(v) for v in scores[variant]]
            positions = np.arange(len(attributes)) - 0.4 + height * (offset + 0.5)
            bars = axes.barh(positions, values, height=height, color=colors[variant], label=variant)
            if threshold is not None:
                for bar, value in zip(bars, values, strict=True):
                    failing = value < threshold if misbound_below else value > threshold
                    if math.isfinite(value) and failing:
                        bar.set_hatch("///")
                        bar.set_edgecolor("#222222")
        if threshold is not None:
            axes.axvline(threshold, color="#c44e52", linestyle="--", linewidth=1.5, label="misbinding threshold")
        axes.set_yticks(np.arange(len(attributes)), [_short(a, 24) for a in attributes])
        axes.invert_yaxis()
        axes.set_xlabel(metric)
        if not attributes:
            axes.text(0.5, 0.5, "no attribute in the prompt", transform=axes.transAxes, ha="center", va="center")
        axes.legend(fontsize=8, loc="best")
    return figure


def attribution_figure(
    tokens: Sequence[str], values: Mapping[str, Sequence[float]], title: str = "token attribution"
) -> Figure:
    """Captum attributions per prompt token: one bar group per token, one bar per target (e.g. a score name),
    positive and negative bars around a zero line."""
    targets = list(values)
    colors = variant_colors(targets)
    width = 0.8 / max(len(targets), 1)
    with styled():
        figure = new_figure(max(4.5, 0.55 * len(tokens) + 1.5), 3.0)
        axes = figure.add_subplot()
        for offset, target in enumerate(targets):
            positions = np.arange(len(tokens)) - 0.4 + width * (offset + 0.5)
            axes.bar(positions, [float(v) for v in values[target]], width=width, color=colors[target], label=target)
        axes.axhline(0.0, color="#333333", linewidth=0.8)
        axes.set_xticks(np.arange(len(tokens)), [_short(t, 12) for t in tokens], rotation=45, ha="right")
        axes.set_ylabel("attribution")
        axes.set_title(title, fontsize=10)
        if len(targets) > 1:
            axes.legend(fontsize=8)
    return figure


# ---------------------------------------------------------------------------------------------- runs


def distribution_figure(table, metrics: Sequence[str], variants: Sequence[str]) -> Figure:
    """Per-variant distributions: a box per variant with every item as a point, one panel per metric.
    ``table``: a pandas DataFrame with a ``variant`` column and one column per metric (NaN: not scored)."""
    import seaborn as sns

    colors = variant_colors(variants)
    with styled():
        figure = new_figure(max(3.2, 0.9 * len(variants) + 1.6) * len(metrics), 3.3)
        grid = figure.subplots(1, len(metrics), squeeze=False)[0]
        for axes, metric in zip(grid, metrics, strict=True):
            data = table[table[metric].notna()] if metric in table else table.iloc[0:0]
            if data.empty:
                axes.text(0.5, 0.5, f"no {metric} values", ha="center", va="center", transform=axes.transAxes)
                axes.set_title(metric, fontsize=10)
                continue
            sns.boxplot(
                data=data,
                x="variant",
                y=metric,
                hue="variant",
                order=list(variants),
                palette=colors,
                ax=axes,
                fliersize=0,
                width=0.55,
                boxprops={"alpha": 0.45},
                legend=False,
            )
            sns.stripplot(
                data=data,
                x="variant",
                y=metric,
                hue="variant",
                order=list(variants),
                palette=colors,
                ax=axes,
                size=4,
                jitter=0.18,
                edgecolor="#333333",
                linewidth=0.5,
                legend=False,
            )
            axes.set_title(metric, fontsize=10)
            axes.set_xlabel("")
            axes.tick_params(axis="x", rotation=30)
    return figure


def paired_difference_figure(differences, metrics: Sequence[str], reference: str = "none") -> Figure:
    """Mean paired difference (variant - ``reference``, same prompt and seed) with its confidence interval, one
    panel per metric. ``differences``: DataFrame with columns ``metric, variant, mean, low, high, n``."""
    with styled():
        figure = new_figure(4.0 * len(metrics), 0.45 * max(differences["variant"].nunique(), 1) + 1.9)
        grid = figure.subplots(1, len(metrics), squeeze=False)[0]
        for axes, metric in zip(grid, metrics, strict=True):
            rows = differences[(differences["metric"] == metric) & differences["mean"].notna()]
            axes.axvline(0.0, color="#333333", linewidth=1.0)
            if rows.empty:
                axes.text(0.5, 0.5, "no pairs", ha="center", va="center", transform=axes.transAxes)
            positions = np.arange(len(rows))
            colors = variant_colors(list(rows["variant"]))
            for position, (_, row) in zip(positions, rows.iterrows(), strict=True):
                low = row["low"] if math.isfinite(row["low"]) else row["mean"]
                high = row["high"] if math.isfinite(row["high"]) else row["mean"]
                axes.errorbar(
                    row["mean"],
                    position,
                    xerr=[[row["mean"] - low], [high - row["mean"]]],
                    fmt="o",
                    color=colors[row["variant"]],
                    capsize=4,
                    markersize=6,
                )
            axes.set_yticks(
                positions, [f"{_short(v, 16)} (n={int(n)})" for v, n in zip(rows["variant"], rows["n"], strict=True)]
            )
            axes.set_ylim(-0.6, max(len(rows), 1) - 0.4)
            axes.invert_yaxis()
            axes.set_title(f"{metric}: variant - {reference}", fontsize=10)
            axes.set_xlabel("mean paired difference")
    return figure


def category_figure(summary, metrics: Sequence[str], variants: Sequence[str]) -> Figure:
    """Mean per prompt category and variant with confidence intervals, one panel per metric.
    ``summary``: DataFrame with columns ``category, variant, metric, mean, low, high``."""
    colors = variant_colors(variants)
    categories = list(dict.fromkeys(summary["category"]))
    height = 0.8 / max(len(variants), 1)
    with styled():
        figure = new_figure(4.2 * len(metrics), 0.42 * max(len(categories), 1) * max(len(variants), 1) * 0.7 + 1.6)
        grid = figure.subplots(1, len(metrics), squeeze=False)[0]
        for axes, metric in zip(grid, metrics, strict=True):
            for offset, variant in enumerate(variants):
                rows = summary[(summary["metric"] == metric) & (summary["variant"] == variant)].set_index("category")
                means = [rows["mean"].get(c, np.nan) for c in categories]
                lows = [rows["low"].get(c, np.nan) for c in categories]
                highs = [rows["high"].get(c, np.nan) for c in categories]
                positions = np.arange(len(categories)) - 0.4 + height * (offset + 0.5)
                errors = np.array(
                    [
                        [m - lo if math.isfinite(lo) else 0.0 for m, lo in zip(means, lows, strict=True)],
                        [hi - m if math.isfinite(hi) else 0.0 for m, hi in zip(means, highs, strict=True)],
                    ]
                )
                axes.barh(
                    positions,
                    means,
                    height=height,
                    color=colors[variant],
                    label=variant,
                    xerr=np.nan_to_num(errors),
                    error_kw={"capsize": 2, "elinewidth": 0.8},
                )
            axes.set_yticks(np.arange(len(categories)), [_short(c, 20) for c in categories])
            axes.invert_yaxis()
            axes.set_title(f"{metric} by category", fontsize=10)
            axes.set_xlabel(f"mean {metric}")
        grid[-1].legend(fontsize=8, loc="best")
    return figure


def runtime_figure(table, variants: Sequence[str]) -> Figure:
    """Seconds per item for each variant (box and points). ``table``: DataFrame with ``variant``, ``seconds``."""
    import seaborn as sns

    colors = variant_colors(variants)
    data = table[table["seconds"].notna()]
    with styled():
        figure = new_figure(max(3.6, 0.9 * len(variants) + 1.8), 3.0)
        axes = figure.add_subplot()
        if data.empty:
            axes.text(0.5, 0.5, "no timings", ha="center", va="center", transform=axes.transAxes)
        else:
            sns.boxplot(
                data=data,
                x="variant",
                y="seconds",
                hue="variant",
                order=list(variants),
                palette=colors,
                ax=axes,
                fliersize=0,
                width=0.55,
                boxprops={"alpha": 0.45},
                legend=False,
            )
            sns.stripplot(
                data=data,
                x="variant",
                y="seconds",
                hue="variant",
                order=list(variants),
                palette=colors,
                ax=axes,
                size=4,
                jitter=0.18,
                legend=False,
            )
        axes.set_title("runtime per item", fontsize=10)
        axes.set_xlabel("")
        axes.set_ylabel("seconds")
        axes.tick_params(axis="x", rotation=30)
    return figure
