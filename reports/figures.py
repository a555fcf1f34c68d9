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

from ..toolkit.prompt.tree import PromptTree

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


def to_png(figure: Figure, dpi: int = DPI, colors: int | None = 256) -> bytes:
    """Render a figure to PNG bytes (Agg, white background).

    With ``colors`` the image is reduced to that many palette colours (Pillow's fast octree): images of noisy
    generations and smooth attention maps shrink three- to fourfold, which keeps a report of many items small,
    with no visible change at report sizes. ``None`` keeps full RGBA."""
    from PIL import Image

    buffer = io.BytesIO()
    with styled():
        figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    if colors is None:
        return buffer.getvalue()
    buffer.seek(0)
    with Image.open(buffer) as rendered:
        reduced = rendered.convert("RGB").quantize(colors, method=Image.Quantize.FASTOCTREE)
    output = io.BytesIO()
    reduced.save(output, format="PNG")
    return output.getvalue()


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
        present = {node["kind"] for node in nodes}
        legend = [
            Patch(label=kind, **style) for kind, style in NODE_STYLE.items() if kind != "prompt" and kind in present
        ]
        if legend:
            axes.legend(handles=legend, loc="lower right", fontsize=8, frameon=False, ncols=3)
    return figure


# ---------------------------------------------------------------------------------------------- attention maps


TILE = 112  # pixels per overlay tile
GAP = 6  # pixels between tiles
SPOTLIGHT_TILE = 160  # the first figure of the diagnosis report: large enough to see the objects


def _resize(array: np.ndarray, size: int) -> np.ndarray:
    """``[h, w]`` or ``[h, w, 3]`` floats resampled to ``size x size`` (bilinear, Pillow)."""
    from PIL import Image

    if array.ndim == 2:
        return np.asarray(Image.fromarray(array.astype(np.float32), mode="F").resize((size, size), Image.BILINEAR))
    channels = [_resize(array[..., c], size) for c in range(array.shape[2])]
    return np.stack(channels, axis=-1)


def _as_float_image(image: np.ndarray | None) -> np.ndarray | None:
    if image is None:
        return None
    image = np.asarray(image)
    image = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    return image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)


def overlay_tile(
    image: np.ndarray | None, attention: np.ndarray | None, scale: tuple[float, float], size: int = TILE
) -> np.ndarray:
    """One overlay as RGB floats ``[size, size, 3]``: the attention map (colour-mapped over ``scale``, stretched
    to the image) blended over the image in grey; the plain image when ``attention`` is None; a light grey tile
    when both are missing."""
    import matplotlib as mpl

    image = _as_float_image(image)
    gray = _resize(image.mean(axis=2), size)[..., None].repeat(3, axis=2) if image is not None else None
    if attention is None:
        return _resize(image, size).clip(0, 1) if image is not None else np.full((size, size, 3), 0.92)
    low, high = scale
    values = (_resize(np.asarray(attention, dtype=np.float32), size) - low) / (high - low)
    colored = mpl.colormaps[MAP_COLORMAP](np.nan_to_num(values.clip(0.0, 1.0)))[..., :3]
    return colored if gray is None else (0.3 * gray + 0.7 * colored).clip(0, 1)


def mosaic_figure(
    tiles: Sequence[Sequence[np.ndarray | None]],
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    notes: Mapping[tuple[int, int], str] | None = None,
    tile: int = TILE,
) -> Figure:
    """A grid of image tiles drawn as one picture (one ``imshow``, fixed layout: fast even for many tiles), row
    labels on the left and column labels on top; ``notes[(row, column)]`` is written over a tile."""
    rows, columns = len(tiles), max((len(r) for r in tiles), default=0)
    height, width = rows * (tile + GAP) + GAP, columns * (tile + GAP) + GAP
    canvas = np.ones((height, width, 3), dtype=np.float32)
    for r, row in enumerate(tiles):
        for c, picture in enumerate(row):
            if picture is not None:
                top, left = GAP + r * (tile + GAP), GAP + c * (tile + GAP)
                canvas[top : top + tile, left : left + tile] = picture
    left_margin, top_margin = 26, 30  # pixels for the labels
    figure = Figure(figsize=((width + left_margin) / DPI, (height + top_margin) / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes(
        (left_margin / (width + left_margin), 0.0, width / (width + left_margin), height / (height + top_margin))
    )
    with styled():
        axes.imshow(canvas, interpolation="nearest", extent=(0, width, height, 0))
        axes.set_axis_off()
        for c, label in enumerate(column_labels):
            x = GAP + c * (tile + GAP) + tile / 2
            axes.text(x, -3, label, ha="center", va="bottom", fontsize=8, clip_on=False)
        for r, label in enumerate(row_labels):
            y = GAP + r * (tile + GAP) + tile / 2
            axes.text(-4, y, _short(label, 18), ha="right", va="center", rotation=90, fontsize=8, clip_on=False)
        for (r, c), text in (notes or {}).items():
            x, y = GAP + c * (tile + GAP) + tile / 2, GAP + r * (tile + GAP) + tile / 2
            axes.text(x, y, text, ha="center", va="center", fontsize=8, color="#666666")
    return figure


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
    the attention map ``[h, w]`` (any size; stretched over the image) or ``None`` when not captured.
    Colour scale: smallest to largest value of the row, shared by every column of the row, so baseline and
    modulated (and phases) compare directly.
    """
    variants = list(images)
    columns = [(phase, variant) for phase in phases for variant in variants]
    tiles, notes = [], {}
    for r, label in enumerate(labels):
        row_maps = [maps.get(variant, {}).get(phase, {}).get(label) for phase, variant in columns]
        scale = shared_scale(row_maps)
        row = []
        for c, ((_, variant), attention) in enumerate(zip(columns, row_maps, strict=True)):
            if attention is None:
                row.append(overlay_tile(None, None, scale))
                notes[(r, c)] = "not captured"
            else:
                row.append(overlay_tile(images[variant], attention, scale))
        tiles.append(row)
    column_labels = [f"{phase}\n{_short(variant, 20)}" for phase, variant in columns]
    return mosaic_figure(tiles, list(labels), column_labels, notes)


def spotlight_tile(
    image: np.ndarray | None, attention: np.ndarray | None, scale: tuple[float, float], size: int = TILE
) -> np.ndarray:
    """The image in its own colours, lit where the attention map is high and dimmed where it is low, with the
    outline of the half-maximum region drawn in yellow: where in the picture a word's attention went.

    ``lit = image x (0.2 + 0.8 a)``, ``a = (attention - low) / (high - low)`` clipped to [0, 1] over ``scale``; the
    outline marks pixels where ``a >= 0.5`` borders ``a < 0.5``. A light grey tile when the image is missing.
    """
    picture = _as_float_image(image)
    if picture is None:
        return np.full((size, size, 3), 0.92)
    picture = _resize(picture, size).clip(0, 1)
    if attention is None:
        return picture
    low, high = scale
    values = np.nan_to_num(((_resize(np.asarray(attention, dtype=np.float32), size) - low) / (high - low)).clip(0, 1))
    lit = picture * (0.2 + 0.8 * values[..., None])
    inside = values >= 0.5
    edge = np.zeros_like(inside)
    edge[1:, :] |= inside[1:, :] != inside[:-1, :]
    edge[:, 1:] |= inside[:, 1:] != inside[:, :-1]
    lit[edge] = (1.0, 0.85, 0.1)
    return lit.clip(0, 1)


def spotlight_figure(
    rows: Sequence[tuple[str, np.ndarray | None, Mapping[str, np.ndarray | None]]], labels: Sequence[str]
) -> Figure:
    """One row per image (title, image, maps by label): the plain image, then each label's attention laid over it
    (:func:`spotlight_tile`). A label shares one scale across rows (smallest to largest value among its maps), so
    the same brightness means the same attention in baseline and modulated."""
    scales = {label: shared_scale([row[2].get(label) for row in rows]) for label in labels}
    tiles, notes = [], {}
    for r, (_, image, label_maps) in enumerate(rows):
        row = [spotlight_tile(image, None, (0.0, 1.0), SPOTLIGHT_TILE)]
        for c, label in enumerate(labels, start=1):
            attention = label_maps.get(label)
            row.append(spotlight_tile(image, attention, scales[label], SPOTLIGHT_TILE))
            if attention is None:
                notes[(r, c)] = "not captured"
        tiles.append(row)
    column_labels = ["image", *(_short(label, 18) for label in labels)]
    return mosaic_figure(tiles, [row[0] for row in rows], column_labels, notes, tile=SPOTLIGHT_TILE)


def item_maps_figure(
    panels: Sequence[tuple[str, np.ndarray | None, Mapping[str, np.ndarray | None]]],
    labels: Sequence[str],
) -> Figure:
    """A gallery card: one row per variant (title, image, maps by label), the image first, then one overlay per
    label. A label's overlays share one colour scale (smallest to largest value among them)."""
    scales = {label: shared_scale([panel[2].get(label) for panel in panels]) for label in labels}
    tiles, notes = [], {}
    for r, (_, image, label_maps) in enumerate(panels):
        row = [overlay_tile(image, None, (0.0, 1.0))]
        for c, label in enumerate(labels, start=1):
            attention = label_maps.get(label)
            row.append(overlay_tile(image if attention is not None else None, attention, scales[label]))
            if attention is None:
                notes[(r, c)] = "not captured"
        tiles.append(row)
    column_labels = ["image", *(_short(label, 18) for label in labels)]
    return mosaic_figure(tiles, [panel[0] for panel in panels], column_labels, notes)


# ---------------------------------------------------------------------------------------------- diagnosis scores


def overlap_heatmap_figure(
    matrices: Mapping[str, Mapping[str, np.ndarray | None]], labels: Sequence[str], title: str = "overlap"
) -> Figure:
    """Entity x entity overlap heatmaps on a grid: one row per outer key (e.g. variant), one column per inner key
    (e.g. phase), values written in the cells. ``matrices[row][column]`` is ``[E, E]`` with NaN where a pair has
    no value (the diagonal); ``None`` draws an empty panel. The colour scale 0-1 is shared by all panels."""
    import seaborn as sns

    rows = list(matrices)
    columns = list(dict.fromkeys(column for row in rows for column in matrices[row]))
    size = max(len(labels), 1)
    short = [_short(label, 14) for label in labels]
    panel = max(2.3, 0.55 * size + 1.4)
    with styled():
        figure = new_figure(panel * max(len(columns), 1) + 0.8, (panel - 0.2) * max(len(rows), 1))
        grid = figure.subplots(max(len(rows), 1), max(len(columns), 1), squeeze=False)
        for r, row in enumerate(rows):
            for c, column in enumerate(columns):
                axes = grid[r][c]
                matrix = matrices[row].get(column)
                if matrix is None or len(labels) < 2:
                    axes.set_axis_off()
                    axes.text(0.5, 0.5, f"{row} / {column}:\nno entity pair", ha="center", va="center", fontsize=8)
                    continue
                sns.heatmap(
                    np.asarray(matrix, dtype=float),
                    ax=axes,
                    vmin=0.0,
                    vmax=1.0,
                    cmap="rocket_r",
                    annot=size <= 6,
                    fmt=".2f",
                    annot_kws={"fontsize": 8},
                    square=True,
                    cbar=c == len(columns) - 1,
                    cbar_kws={"shrink": 0.8},
                    xticklabels=short,
                    yticklabels=short if c == 0 else False,
                    linewidths=0.5,
                    linecolor="white",
                )
                axes.grid(False)
                axes.set_title(f"{title}: {row}, {column}", fontsize=8)
                axes.tick_params(axis="x", rotation=45, labelsize=8)
                axes.tick_params(axis="y", rotation=0, labelsize=8)
    return figure


def binding_bars_figure(
    attributes: Sequence[str],
    scores: Mapping[str, Sequence[float | None]],
    misbound: Mapping[str, Sequence[bool]] | None = None,
    thresholds: Sequence[tuple[float, str]] = (),
    metric: str = "binding B",
) -> Figure:
    """Horizontal bars of the binding score per attribute, one bar per variant (``scores[variant][i]`` belongs to
    ``attributes[i]``; ``None``: undefined, no bar). Bars flagged in ``misbound`` are hatched; each
    ``(value, label)`` of ``thresholds`` is a dashed vertical line."""
    variants = list(scores)
    colors = variant_colors(variants)
    count = max(len(attributes), 1)
    height = 0.8 / max(len(variants), 1)
    line_colors = ["#c44e52", "#8172b3", "#937860"]
    with styled():
        figure = new_figure(6.4, 0.38 * count * max(len(variants), 1) + 1.6)
        axes = figure.add_subplot()
        for offset, variant in enumerate(variants):
            values = [np.nan if v is None else float(v) for v in scores[variant]]
            positions = np.arange(len(attributes)) - 0.4 + height * (offset + 0.5)
            bars = axes.barh(positions, values, height=height, color=colors[variant], label=variant)
            flags = (misbound or {}).get(variant) or [False] * len(values)
            for bar, flagged in zip(bars, flags, strict=True):
                if flagged:
                    bar.set_hatch("///")
                    bar.set_edgecolor("#222222")
        for index, (value, label) in enumerate(thresholds):
            axes.axvline(value, color=line_colors[index % 3], linestyle="--", linewidth=1.4, label=label)
        if misbound and any(any(flags) for flags in misbound.values()):
            axes.barh([np.nan], [np.nan], color="white", edgecolor="#222222", hatch="///", label="misbound")
        axes.set_yticks(np.arange(len(attributes)), [_short(a, 24) for a in attributes])
        axes.set_ylim(len(attributes) - 0.5 if attributes else 0.5, -0.5)
        axes.set_xlim(0.0, 1.0)
        axes.set_xlabel(metric)
        if not attributes:
            axes.text(0.5, 0.5, "no attribute in the prompt", transform=axes.transAxes, ha="center", va="center")
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return figure


def attribution_figure(panels: Sequence[tuple[str, Sequence[str], Sequence[float]]]) -> Figure:
    """Captum attributions, one panel per attribution: ``(title, group labels, scores)``; bars right of zero raise
    the target score, bars left of it lower it."""
    rows = max(len(panels), 1)
    tallest = max([len(labels) for _, labels, _ in panels] + [1])
    with styled():
        figure = new_figure(6.4, rows * (0.26 * tallest + 1.0) + 0.2)
        grid = figure.subplots(rows, 1, squeeze=False)[:, 0]
        for axes, (title, labels, values) in zip(grid, panels, strict=False):
            values = [float(v) for v in values]
            colors = ["#55a868" if v >= 0 else "#c44e52" for v in values]
            axes.barh(np.arange(len(labels)), values, color=colors)
            axes.axvline(0.0, color="#333333", linewidth=0.8)
            axes.set_yticks(np.arange(len(labels)), [_short(label, 18) for label in labels])
            axes.set_ylim(len(labels) - 0.5, -0.5)
            axes.set_title(_short(title, 90), fontsize=9)
            axes.ticklabel_format(axis="x", style="sci", scilimits=(-3, 3))
        if not panels:
            grid[0].set_axis_off()
            grid[0].text(0.5, 0.5, "no attribution", ha="center", va="center")
    return figure


# ---------------------------------------------------------------------------------------------- runs


def distribution_figure(table, metrics: Sequence[str], variants: Sequence[str]) -> Figure:
    """Per-variant distributions: a box per variant with every item as a point, one panel per metric.
    ``table``: a pandas DataFrame with a ``variant`` column and one column per metric (NaN: not scored)."""

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
            _distribution(axes, data, metric, variants, colors)
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

    colors = variant_colors(variants)
    data = table[table["seconds"].notna()]
    with styled():
        figure = new_figure(max(3.6, 0.9 * len(variants) + 1.8), 3.0)
        axes = figure.add_subplot()
        if data.empty:
            axes.text(0.5, 0.5, "no timings", ha="center", va="center", transform=axes.transAxes)
        else:
            _distribution(axes, data, "seconds", variants, colors)
        axes.set_title("runtime per item", fontsize=10)
        axes.set_xlabel("")
        axes.set_ylabel("seconds")
        axes.tick_params(axis="x", rotation=30)
    return figure


def _distribution(axes, data, column: str, variants: Sequence[str], colors) -> None:
    """One column per variant: a translucent box (no fliers) under every item as a jittered point."""
    import seaborn as sns

    common = {"data": data, "x": "variant", "y": column, "hue": "variant", "order": list(variants)}
    sns.boxplot(**common, palette=colors, ax=axes, fliersize=0, width=0.55, boxprops={"alpha": 0.45}, legend=False)
    # seaborn draws the jitter from numpy's global generator: seeded here (and restored after), the same run gives
    # the same figure, and the caller's random state is left as it was.
    state = np.random.get_state()
    np.random.seed(0)
    try:
        sns.stripplot(
            **common, palette=colors, ax=axes, size=4, jitter=0.18, edgecolor="#333333", linewidth=0.5, legend=False
        )
    finally:
        np.random.set_state(state)
