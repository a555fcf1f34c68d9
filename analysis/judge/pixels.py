"""The judge's pixel layer (rule 1 of :mod:`attnmod.analysis.judge.image`): each pixel's palette colour read by its
distance from the blends of palette entries, and the mask operations the later rules use (connected components,
hole filling, neighbour counts, erosion). numpy only.
"""

from __future__ import annotations

import numpy as np

from ...toolkit.shapes_world import BACKGROUND, COLOURS

REJECT_DISTANCE = 70.0  # RGB distance from every blend line beyond which a pixel has no palette colour
BLEND_PENALTY = 30.0  # RGB distance added to blends of two colours (purple lies 61 from the red-blue blend)
COLOUR_NAMES = tuple(COLOURS)
UNKNOWN = -1
BACKGROUND_LABEL = -2


def as_array(image, canvas: int) -> np.ndarray:
    """uint8 ``[canvas, canvas, 3]`` from a PIL image or an array (RGBA and grey accepted; other sizes are
    resampled with a box filter, which averages like the renderer's supersampling)."""
    from PIL import Image

    if isinstance(image, Image.Image):
        picture = image.convert("RGB")
    else:
        array = np.asarray(image)
        if array.dtype != np.uint8:
            if np.issubdtype(array.dtype, np.floating) and array.size and float(array.max()) <= 1.0:
                array = array * 255.0
            array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=2)
        if array.ndim != 3 or array.shape[2] not in (3, 4):
            raise ValueError(f"expected an image [H, W, 3], got an array of shape {array.shape}")
        picture = Image.fromarray(np.ascontiguousarray(array[..., :3]))
    if picture.size != (canvas, canvas):
        picture = picture.resize((canvas, canvas), Image.Resampling.BOX)
    return np.asarray(picture, dtype=np.uint8)


def colour_labels(image: np.ndarray) -> np.ndarray:
    """int ``[H, W]``: the palette index (order of :data:`COLOURS`) of each pixel, ``BACKGROUND_LABEL`` or
    ``UNKNOWN`` (rule 1 of :mod:`attnmod.analysis.judge.image`)."""
    palette = np.asarray([BACKGROUND] + [COLOURS[name] for name in COLOUR_NAMES], dtype=np.float32)
    pixels = image.astype(np.float32).reshape(-1, 1, 3)
    best_residual = np.full(pixels.shape[0], np.inf, dtype=np.float32)
    best_label = np.zeros(pixels.shape[0], dtype=np.int64)
    for first, second in _BLEND_PAIRS:
        start, direction = palette[first], palette[second] - palette[first]
        # Position along the blend from ``first`` (0) to ``second`` (1); a colour may be a little brighter (1.5).
        alpha = np.clip(
            (pixels[:, 0] - start) @ direction / float(direction @ direction), 0.0, 1.5 if first == 0 else 1.0
        )
        residual = np.linalg.norm(pixels[:, 0] - start - alpha[:, None] * direction, axis=1)
        if first != 0:
            residual += BLEND_PENALTY  # edges between two objects are rare; a colour near such a blend is not one
        label = np.where(alpha >= 0.5, second, first)
        better = residual < best_residual
        best_residual = np.where(better, residual, best_residual)
        best_label = np.where(better, label, best_label)
    labels = best_label - 1  # palette index; background becomes -1 here
    labels = np.where(labels < 0, BACKGROUND_LABEL, labels)
    far = best_residual > REJECT_DISTANCE
    foreground = np.linalg.norm(pixels[:, 0] - palette[0], axis=1) > REJECT_DISTANCE
    labels = np.where(far, np.where(foreground, UNKNOWN, BACKGROUND_LABEL), labels)
    return labels.reshape(image.shape[:2]).astype(np.int64)


# Blends of the background with each colour, and of each two colours (an edge between two objects).
_BLEND_PAIRS = [(first, second) for first in range(len(COLOURS) + 1) for second in range(first + 1, len(COLOURS) + 1)]
_NEIGHBOURS_8 = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
_NEIGHBOURS_4 = [(-1, 0), (1, 0), (0, -1), (0, 1)]


def _shifted(array: np.ndarray, dy: int, dx: int, fill) -> np.ndarray:
    """``out[y, x] = array[y + dy, x + dx]``, ``fill`` outside."""
    out = np.full_like(array, fill)
    height, width = array.shape
    ys = slice(max(0, -dy), min(height, height - dy))
    xs = slice(max(0, -dx), min(width, width - dx))
    yt = slice(max(0, dy), min(height, height + dy))
    xt = slice(max(0, dx), min(width, width + dx))
    out[ys, xs] = array[yt, xt]
    return out


def connected_components(mask: np.ndarray, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """Label the connected components of a boolean mask: ``(labels int [H, W] with 0 = outside, count)``.

    Labels spread as the maximum pixel number over neighbours inside the mask, with pointer jumping, until
    nothing changes; components are then numbered 1.. in order of their first pixel (row-major)."""
    mask = np.asarray(mask, dtype=bool)
    height, width = mask.shape
    index = np.arange(height * width).reshape(height, width)
    labels = np.where(mask, index, -1)
    neighbours = _NEIGHBOURS_8 if connectivity == 8 else _NEIGHBOURS_4
    while True:
        spread = labels.copy()
        for dy, dx in neighbours:
            spread = np.maximum(spread, np.where(mask, _shifted(labels, dy, dx, -1), -1))
        # Pointer jumping: take the label of the pixel whose number is our label, which is at least as large.
        flat = spread.ravel()
        inside = flat >= 0
        jumped = flat.copy()
        jumped[inside] = np.maximum(flat[inside], flat[flat[inside]])
        spread = jumped.reshape(height, width)
        if np.array_equal(spread, labels):
            break
        labels = spread
    roots = labels[mask]
    unique, first = np.unique(roots, return_index=True)
    order = unique[np.argsort(np.flatnonzero(mask.ravel())[first])]
    numbering = {int(root): number + 1 for number, root in enumerate(order)}
    out = np.zeros((height, width), dtype=np.int64)
    if numbering:
        lookup = np.zeros(height * width, dtype=np.int64)
        lookup[np.asarray(list(numbering), dtype=np.int64)] = list(numbering.values())
        out[mask] = lookup[roots]
    return out, len(numbering)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """The mask plus every pixel not reachable from the border through pixels outside it (4-connected)."""
    outside, _ = connected_components(~mask, connectivity=4)
    border = np.unique(np.concatenate([outside[0], outside[-1], outside[:, 0], outside[:, -1]]))
    reachable = np.isin(outside, border[border > 0])
    return ~reachable


def neighbour_count(mask: np.ndarray) -> np.ndarray:
    """How many of each pixel's 8 neighbours lie in the mask."""
    total = np.zeros(mask.shape, dtype=np.int64)
    for dy, dx in _NEIGHBOURS_8:
        total += _shifted(mask, dy, dx, False)
    return total


def erode(mask: np.ndarray, connectivity: int = 8) -> np.ndarray:
    """Pixels whose 8 (or, with ``connectivity=4``, 4) neighbours all lie in the mask (outside the image counts as
    outside)."""
    out = mask.copy()
    for dy, dx in _NEIGHBOURS_8 if connectivity == 8 else _NEIGHBOURS_4:
        out &= _shifted(mask, dy, dx, False)
    return out
