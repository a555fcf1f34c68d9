"""Drawing a scene: anti-aliased coverage of each shape (4x4 supersampling), the image and one mask per object."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .scenes import BACKGROUND, COLOURS, SHAPES, SUPERSAMPLE, Scene

# ---- geometry ----


def _polygon_inside(px: np.ndarray, py: np.ndarray, vertices: Sequence[tuple[float, float]]) -> np.ndarray:
    """Even-odd rule: a point is inside when a ray to +x crosses the polygon's edges an odd number of times."""
    inside = np.zeros(px.shape, dtype=bool)
    count = len(vertices)
    for i in range(count):
        x1, y1 = vertices[i]
        x2, y2 = vertices[(i + 1) % count]
        if y1 == y2:
            continue
        crosses = (py >= min(y1, y2)) & (py < max(y1, y2))
        x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < x_at)
    return inside


def _star_vertices(x: float, y: float, r: float) -> list[tuple[float, float]]:
    inner = 0.45 * r
    points = []
    for k in range(10):
        angle = -math.pi / 2 + k * math.pi / 5
        radius = r if k % 2 == 0 else inner
        points.append((x + radius * math.cos(angle), y + radius * math.sin(angle)))
    return points


def shape_coverage(shape: str, x: float, y: float, r: float, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Boolean: which sample points ``(px, py)`` (canvas pixel coordinates, y down) the shape covers."""
    dx, dy = px - x, py - y
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "square":
        half = 0.82 * r
        return (np.abs(dx) <= half) & (np.abs(dy) <= half)
    if shape == "triangle":
        # Upright equilateral triangle inscribed in the bounding circle, centre shifted down so it sits balanced.
        cy = y + 0.15 * r
        vertices = [(x + r * math.cos(a), cy + r * math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
        return _polygon_inside(px, py, vertices)
    if shape == "star":
        return _polygon_inside(px, py, _star_vertices(x, y, r))
    if shape == "ring":
        d2 = dx * dx + dy * dy
        return (d2 <= r * r) & (d2 >= (0.55 * r) ** 2)
    if shape == "cross":
        arm, half = 0.32 * r, 0.95 * r
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= half)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= half))
    raise ValueError(f"unknown shape {shape!r}; known shapes: {', '.join(SHAPES)}")


def _sample_grid(canvas: int) -> tuple[np.ndarray, np.ndarray]:
    offsets = (np.arange(canvas * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    return np.meshgrid(offsets, offsets)


_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def render_scene(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Draw a scene: ``(image uint8 [H, W, 3], masks bool [N, H, W])`` with one mask per object in caption order.

    Objects are painted in order (a nested scene lists its container first, so the inner object lies on top).
    A mask holds the pixels where the object's visible coverage is at least one half.
    """
    canvas = scene.canvas
    if canvas not in _GRIDS:
        _GRIDS[canvas] = _sample_grid(canvas)
    px, py = _GRIDS[canvas]
    fine = np.empty((canvas * SUPERSAMPLE, canvas * SUPERSAMPLE, 3), dtype=np.float32)
    fine[:] = BACKGROUND
    owner = np.full(px.shape, -1, dtype=np.int16)
    side = canvas * SUPERSAMPLE
    for index, obj in enumerate(scene.objects):
        # Only the object's bounding box is tested (the shapes lie within their bounding circle).
        low_x, high_x = (
            max(0, min(side, int((obj.x + s * obj.radius) * SUPERSAMPLE) + d)) for s, d in ((-1, -1), (1, 2))
        )
        low_y, high_y = (
            max(0, min(side, int((obj.y + s * obj.radius) * SUPERSAMPLE) + d)) for s, d in ((-1, -1), (1, 2))
        )
        box = (slice(low_y, high_y), slice(low_x, high_x))
        covered = shape_coverage(obj.shape, obj.x, obj.y, obj.radius, px[box], py[box])
        fine[box][covered] = COLOURS[obj.colour]
        owner[box][covered] = index
    block = (canvas, SUPERSAMPLE, canvas, SUPERSAMPLE)
    image = fine.reshape(block + (3,)).mean(axis=(1, 3))
    masks = (
        np.stack([(owner == i).reshape(block).mean(axis=(1, 3)) >= 0.5 for i in range(len(scene.objects))])
        if scene.objects
        else np.zeros((0, canvas, canvas), dtype=bool)
    )
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), masks
