"""The information-flow probe's outputs for people: the text table, the image grid of each edit, the effect chart
and the HTML report (one self-contained file, every user string escaped by the templates' autoescape).

All are functions of a :class:`~attnmod.analysis.information_flow.ProbeTable` (and the probe's images for the
grids); :func:`attnmod.workflows.run_probe` writes them into the probe's folder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..analysis.information_flow import ProbeTable
from . import figures
from .html import render, software_versions

#: Judged columns of the table: (field of EditRow.judged, heading).
JUDGED_COLUMNS = (
    ("present", "all present"),
    ("colour_binding", "colours bound"),
    ("followed", "swap followed"),
)
TILE = 128  # pixels: small generations are enlarged (nearest neighbour) so that the grid is readable


def _cell(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def format_probe(table: ProbeTable) -> str:
    """Text for ``attnmod probe``: the prompt, the seed change, then one line per edit, largest effect first."""
    judged = table.unedited is not None
    header = ["rank", "edit", "image", "latent"] + ([title for _, title in JUDGED_COLUMNS] if judged else [])
    rows = []
    if judged:
        rows.append(["-", "unedited", "0", "0"] + [_cell(table.unedited.get(f)) for f, _ in JUDGED_COLUMNS])
    for rank, row in enumerate(table.rows, start=1):
        cells = [str(rank), row.edit["label"], _cell(row.image_effect), _cell(row.latent_effect)]
        if judged:
            cells += [_cell((row.judged or {}).get(field)) for field, _ in JUDGED_COLUMNS]
        rows.append(cells)
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    lines = [
        f"prompt: {table.prompt!r}",
        f"seeds {', '.join(map(str, table.seeds))}; effect = change against the same seed's unedited image / change "
        f"between two seeds ({_cell(table.seed_change_image, 4)} RMS in pixels), so 1.00 = as much as a new seed",
        "",
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) for cells in rows]
    lines += ["", f"{table.generations} images in {table.seconds:.1f} s"]
    return "\n".join(lines)


def _enlarge(image: np.ndarray) -> np.ndarray:
    factor = max(1, TILE // max(image.shape[:2]))
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def edit_grid(unedited: np.ndarray, edited: np.ndarray, gap: int = 4) -> np.ndarray:
    """One edit's grid as uint8 ``[H, W, 3]``: the unedited images of every seed on the top row, the edited ones
    below, seeds left to right, white gaps between tiles."""
    tiles = [[_enlarge(image) for image in row] for row in (unedited, edited)]
    height, width = tiles[0][0].shape[:2]
    columns = len(tiles[0])
    grid = np.ones((2 * height + gap, columns * width + (columns - 1) * gap, 3), dtype=np.float32)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            top, left = r * (height + gap), c * (width + gap)
            grid[top : top + height, left : left + width] = tile
    return np.clip(np.round(grid * 255.0), 0, 255).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def effect_figure(table: ProbeTable):
    """Horizontal bars: each edit's image effect (1 = a new seed), largest first, with the seed line marked."""
    rows = table.rows
    figure = figures.new_figure(6.5, 0.3 * len(rows) + 1.0)
    axes = figure.add_subplot()
    with figures.styled():
        values = [row.image_effect if math.isfinite(row.image_effect) else 0.0 for row in rows]
        positions = np.arange(len(rows))[::-1]
        axes.barh(positions, values, color=figures.PALETTE[0])
        axes.set_yticks(positions, [row.edit["label"] for row in rows])
        axes.axvline(1.0, color="#888888", linestyle="--", linewidth=1)
        axes.set_xlabel("image change / change between two seeds")
        axes.set_title("Effect of each edit of the text states")
    return figure


def probe_html(table: ProbeTable, grids: Mapping[str, bytes], reading: str | None = None) -> str:
    """The probe's HTML report: the table ranked by effect, the effect chart and each edit's grid (PNG bytes by
    edit key)."""
    judged = table.unedited is not None
    return render(
        "probe.html",
        title=f"Information flow: {table.prompt}",
        table=table,
        judged=judged,
        judged_columns=JUDGED_COLUMNS,
        chart=figures.to_png(effect_figure(table)),
        grids=grids,
        reading=reading,
        versions=software_versions(),
    )
