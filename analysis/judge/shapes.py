"""The judge's shape reading (rule 3 of :mod:`attnmod.analysis.judge.image`): scale-free mask-geometry features of one
object and the softmax classifier over them, whose weights ship in ``toolkit/data/judge_shapes.safetensors``
(fitted by ``benchmarks/train_judge.py`` with :mod:`attnmod.analysis.judge.training`; read with safetensors only).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import numpy as np

from ...toolkit.shapes_world import SHAPES
from .pixels import erode, fill_holes

CLASSIFIER_FILE = Path(__file__).resolve().parents[2] / "toolkit" / "data" / "judge_shapes.safetensors"
FEATURE_NAMES = (
    "solidity",
    "extent",
    "log_aspect",
    "hole_fraction",
    "hole_background",
    "centroid_offset",
    "inertia",
    "corner_fill",
    "top_fill",
    "middle_fill",
    "radial_2",
    "radial_3",
    "radial_4",
    "radial_5",
    "radial_6",
    "radial_cos_3",
    "radial_cos_4",
    "radial_cos_5",
)
RADIAL_BINS = 36


def _hull_area(points: np.ndarray) -> float:
    """Area of the convex hull of 2-D points (Andrew's monotone chain, shoelace)."""
    points = np.unique(points, axis=0)
    if len(points) < 3:
        return 0.0
    ordered = sorted(map(tuple, points.tolist()))

    def cross(o, a, b) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for point in ordered:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], point) <= 0:
            lower.pop()
        lower.append(point)
    upper: list = []
    for point in reversed(ordered):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], point) <= 0:
            upper.pop()
        upper.append(point)
    hull = np.asarray(lower[:-1] + upper[:-1], dtype=np.float64)
    x, y = hull[:, 0], hull[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def shape_features(mask: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Mask-geometry features of one object (order :data:`FEATURE_NAMES`), all scale-free:

    * solidity: filled area / area of the convex hull of the filled mask's pixel squares
    * extent: filled area / bounding-box area; log_aspect: log(box width / box height)
    * hole_fraction: hole pixels / filled area; hole_background: background pixels in the holes / filled area
    * centroid_offset: (centroid y - box centre y) / box height (a triangle's mass sits low)
    * inertia: 2 pi sum(r^2) / area^2 about the centroid (1 for a disc, larger for spiky shapes)
    * corner_fill: share of the four corner cells (a fifth of the box each way) that is filled
    * top_fill / middle_fill: filled share of the box width in the top fifth / the middle row band
    """
    filled = fill_holes(mask)
    ys, xs = np.nonzero(filled)
    area = float(len(ys))
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    height, width = bottom - top, right - left
    # The hull of the pixel squares is the hull of each row's outer corners.
    rows = np.unique(ys)
    row_left = np.full(filled.shape[0], filled.shape[1])
    row_right = np.full(filled.shape[0], -1)
    np.minimum.at(row_left, ys, xs)
    np.maximum.at(row_right, ys, xs)
    corners = np.concatenate(
        [
            np.stack([row_left[rows], rows], axis=1),
            np.stack([row_left[rows], rows + 1], axis=1),
            np.stack([row_right[rows] + 1, rows], axis=1),
            np.stack([row_right[rows] + 1, rows + 1], axis=1),
        ]
    )
    hull = _hull_area(corners)
    holes = filled & ~mask
    cy, cx = ys.mean() + 0.5, xs.mean() + 0.5
    inertia = 2 * math.pi * float(((ys + 0.5 - cy) ** 2 + (xs + 0.5 - cx) ** 2).sum()) / area**2
    box = filled[top:bottom, left:right]
    ch, cw = max(1, round(height / 5)), max(1, round(width / 5))
    corner_cells = [box[:ch, :cw], box[:ch, -cw:], box[-ch:, :cw], box[-ch:, -cw:]]
    corner_fill = float(np.mean([cell.mean() for cell in corner_cells]))
    top_fill = float(box[:ch].mean())
    middle = box[max(0, height // 2 - ch // 2) : height // 2 + max(1, ch // 2)]
    middle_fill = float(middle.mean())
    radial = _radial_harmonics(filled, cx, cy)
    return np.asarray(
        [
            area / hull if hull else 1.0,
            area / (height * width),
            math.log(width / height),
            float(holes.sum()) / area,
            float((holes & background).sum()) / area,
            (cy - (top + bottom) / 2) / height,
            inertia,
            corner_fill,
            top_fill,
            middle_fill,
            *radial,
        ],
        dtype=np.float64,
    )


def _radial_harmonics(filled: np.ndarray, cx: float, cy: float) -> list[float]:
    """The outline as distance from the centroid per angle (``RADIAL_BINS`` bins of the angle from straight up,
    the farthest boundary pixel per bin, empty bins filled from their neighbours), normalised by its mean; returns
    the magnitudes of harmonics 2-6 and the cosine parts of harmonics 3-5 (signed: positive when the outline's
    peaks point up, as a triangle's or a star's do, or along the axes, as a cross's do)."""
    boundary = filled & ~erode(filled, connectivity=4)
    ys, xs = np.nonzero(boundary)
    dx, dy = xs + 0.5 - cx, ys + 0.5 - cy
    angle = np.arctan2(dx, -dy) % (2 * math.pi)
    bins = np.minimum((angle / (2 * math.pi) * RADIAL_BINS).astype(np.int64), RADIAL_BINS - 1)
    profile = np.zeros(RADIAL_BINS)
    np.maximum.at(profile, bins, np.hypot(dx, dy))
    known = profile > 0
    if known.sum() >= 2 and not known.all():
        where = np.flatnonzero(known)
        profile = np.interp(np.arange(RADIAL_BINS), where, profile[where], period=RADIAL_BINS)
    profile = profile / profile.mean() if profile.mean() > 0 else np.ones(RADIAL_BINS)
    spectrum = np.fft.rfft(profile) / RADIAL_BINS
    centres = (np.arange(RADIAL_BINS) + 0.5) / RADIAL_BINS * 2 * math.pi
    cosines = [float(2 * np.mean(profile * np.cos(k * centres))) for k in (3, 4, 5)]
    return [float(2 * abs(spectrum[k])) for k in (2, 3, 4, 5, 6)] + cosines


@dataclasses.dataclass(frozen=True)
class ShapeClassifier:
    """Softmax regression over standardised :func:`shape_features`:
    ``p = softmax(W ((f - mean) / scale) + b)`` with ``W [shapes, features]``, classes in :data:`SHAPES` order."""

    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: np.ndarray

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(features) - self.mean) / self.scale
        logits = z @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        return odds / odds.sum(axis=1, keepdims=True)

    def save(self, path: str | Path) -> Path:
        from safetensors.numpy import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {name: np.ascontiguousarray(getattr(self, name), dtype=np.float32) for name in _CLASSIFIER_FIELDS}
        save_file(tensors, str(path), metadata={"shapes": ",".join(SHAPES), "features": ",".join(FEATURE_NAMES)})
        return path

    @classmethod
    def load(cls, path: str | Path) -> ShapeClassifier:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("shapes") != ",".join(SHAPES) or metadata.get("features") != ",".join(FEATURE_NAMES):
                raise ValueError(
                    f"{str(path)!r} was trained for other shapes or features; retrain with benchmarks/train_judge.py"
                )
            return cls(**{name: handle.get_tensor(name).astype(np.float64) for name in _CLASSIFIER_FIELDS})


_CLASSIFIER_FIELDS = ("mean", "scale", "weight", "bias")


@functools.lru_cache(maxsize=4)
def load_classifier(path: str | None = None) -> ShapeClassifier:
    """The shipped shape classifier (or one at ``path``), read once per process."""
    return ShapeClassifier.load(path or CLASSIFIER_FILE)
