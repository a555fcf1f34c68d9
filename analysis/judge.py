"""The shapes-world judge: read the objects back from an image and check them against the scene it should show.

:func:`judge_image` is a pure function of an image and a :class:`~attnmod.toolkit.shapes_world.Scene`. It works in
four steps, each documented with its rule and constants (see also docs/shapes.md):

1. **Colour per pixel** by palette distance. A rendered pixel is a blend ``a * second + (1 - a) * first`` of two
   palette entries (anti-aliased edges: an object over the background ``B``, or one object over another), so each
   pixel ``p`` is compared with every such *blend segment*: ``a = clip(<p - first, second - first> /
   |second - first|^2, 0, a_max)`` (``a_max`` = 1.5 from the background, a colour may be drawn brighter; 1 between
   two colours) and residual ``d = |p - first - a (second - first)|`` (RGB, 0-255), plus ``BLEND_PENALTY`` for a
   blend of two colours (rare, and purple lies close to the red-blue blend). The nearest segment wins; the pixel
   takes its ``second`` entry when ``a >= 1/2`` (the truth masks' half-coverage rule), else its ``first``. When
   every residual exceeds ``REJECT_DISTANCE`` the pixel is *unknown*: foreground when ``|p - B| >
   REJECT_DISTANCE``, else background.
2. **Objects** are 8-connected components of one colour with at least ``MIN_AREA`` pixels and a *core*: at least
   ``MIN_CORE`` pixels with ``CORE_NEIGHBOURS`` or more of their 8 neighbours in the colour (a one-pixel line has 2,
   a two-pixel band 5), which drops one-pixel rims and speckle noise. A *rim* (core under ``RIM_CORE_SHARE`` of its
   area, touching two or more larger components of other colours) is the blended edge between two objects and is
   dropped too. A component inside the hole of another colour's component that itself lies inside a component of
   the first colour is that container seen through a nested ring's hole, and joins it.
3. **Shape** by a small softmax classifier over mask-geometry features (:func:`shape_features`: solidity, extent,
   aspect, holes and how much background they hold, centroid offset, moment of inertia, corner and row fill, and
   the harmonics of the outline's distance from the centre: 3 for a triangle, 4 for a square or cross, 5 for a star),
   trained on degraded renders (``benchmarks/train_judge.py``; weights in ``toolkit/data/judge_shapes.safetensors``,
   read with safetensors only). The confidence is the classifier's probability. **Size**: the radius implied by the
   filled area for the detected shape, ``sqrt(area / k_shape)``, is ``small`` below ``SIZE_SPLIT`` pixels.
4. **Verdicts**, GenEval-style, by matching named objects (caption order) to detections: first by shape and colour,
   then by shape alone (a *wrong colour*, preferring a detection whose colour another named object has). A named
   object with no detection of its shape is *missing* (also when its colour appears on another shape).

**Merged** (two named objects drawn as one blob): a *blob* is an 8-connected component of foreground pixels (any
colour or unknown). A blob is merged when (A) it holds detections of two different colours that are the colours
of two different named objects, each with at least ``MERGE_SHARE`` of the expected visible area of the (smallest)
named object of its colour, and neither lies inside the other (a nested pair: at least ``INSIDE_SHARE`` of its
pixels within the other's filled mask); that is, two named objects touch or overlap; or (B) it holds one detection whose shape the classifier does not recognise (confidence below
``MERGE_CONFIDENCE``), whose colour at least two named objects share, and whose area is at least ``MERGE_AREA``
times the expected area of the largest of them.

Relations use detection centres (the centroid of the filled mask, y down): ``left of`` holds when the object's
centre lies right of the subject's by more than ``RELATION_MIN_OFFSET`` pixels and that offset exceeds the vertical
one (the stated axis dominates); the same for right of, above, below. ``inside`` holds when at least
``INSIDE_SHARE`` of the subject's pixels lie within the object's filled mask. A relation needs both objects found
(shape and colour); otherwise it does not hold.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import numpy as np

from ..toolkit.shapes_world import BACKGROUND, COLOURS, SHAPES, SIZES, Scene

REJECT_DISTANCE = 70.0  # RGB distance from every blend line beyond which a pixel has no palette colour
BLEND_PENALTY = 30.0  # RGB distance added to blends of two colours (purple lies 61 from the red-blue blend)
RIM_CORE_SHARE = 0.4
MIN_AREA = 12  # pixels; the smallest object drawn (a nested inner triangle) has about 45
MIN_CORE = 4  # core pixels a component needs
CORE_NEIGHBOURS = 5  # of 8: a core pixel's neighbours of its colour (a one-pixel line has 2, a two-pixel band 5)
SIZE_SPLIT = math.sqrt(SIZES["small"] * SIZES["large"])  # radius in pixels between small (7) and large (12)
MERGE_SHARE = 0.3
MERGE_CONFIDENCE = 0.5
MERGE_AREA = 1.25
INSIDE_SHARE = 0.8
RELATION_MIN_OFFSET = 2.0  # pixels
# Filled area of each shape in units of its bounding radius squared (shapes_world.shape_coverage's geometry).
AREA_FACTOR = {
    "circle": math.pi,
    "square": 1.64**2,
    "triangle": 3 * math.sqrt(3) / 4,
    "star": 10 * 0.5 * 0.45 * math.sin(math.pi / 5),
    "ring": math.pi,  # the filled outline
    "cross": 2 * (0.64 * 1.9) - 0.64**2,
}
VISIBLE_AREA_FACTOR = {"ring": math.pi * (1 - 0.55**2)}  # a ring's own pixels (AREA_FACTOR counts its hole)
CLASSIFIER_FILE = Path(__file__).resolve().parent.parent / "toolkit" / "data" / "judge_shapes.safetensors"
COLOUR_NAMES = tuple(COLOURS)
UNKNOWN = -1
BACKGROUND_LABEL = -2
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


# ---------------------------------------------------------------------------------------------- result types


def mask_to_rle(mask: np.ndarray) -> dict:
    """A boolean mask as run lengths over its row-major pixels, starting with a run of False:
    ``{"size": [H, W], "counts": [n0, n1, ...]}``."""
    flat = np.asarray(mask, dtype=bool).ravel()
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"size": list(mask.shape), "counts": counts}


def rle_to_mask(rle: dict) -> np.ndarray:
    """The inverse of :func:`mask_to_rle`."""
    values = np.zeros(len(rle["counts"]), dtype=bool)
    values[1::2] = True
    return np.repeat(values, rle["counts"]).reshape(rle["size"])


@dataclasses.dataclass
class DetectedObject:
    """One object read from the image. ``centre`` is ``(x, y)`` in pixels (y down), the centroid of the filled
    mask; ``confidence`` is the shape classifier's probability; ``blob`` indexes the foreground blob it lies in."""

    shape: str
    colour: str
    size: str
    centre: tuple[float, float]
    area: int
    confidence: float
    blob: int
    mask: np.ndarray = dataclasses.field(repr=False)
    filled: np.ndarray = dataclasses.field(repr=False)
    radius: float = 0.0
    named: int | None = None  # the named object this detection was matched to

    def to_json(self) -> dict:
        return {
            "shape": self.shape,
            "colour": self.colour,
            "size": self.size,
            "centre": [round(self.centre[0], 2), round(self.centre[1], 2)],
            "area": self.area,
            "radius": round(self.radius, 2),
            "confidence": round(self.confidence, 4),
            "blob": self.blob,
            "named": self.named,
            "mask": mask_to_rle(self.mask),
        }


@dataclasses.dataclass
class ObjectVerdict:
    """What became of one named object (caption order).

    ``found``: a detection with its shape and colour. ``shape_found``: one with its shape (any colour).
    ``missing`` = not ``shape_found``. ``wrong_colour``: its shape is there but only in another colour
    (``detected_colour``). ``colour_correct``: None when missing. ``size_correct``: the matched detection's size
    equals the named size (None when missing). ``merged``: its colour is part of a merged blob and no detection
    outside merged blobs matches it. ``mask`` is the matched detection's mask (None when missing)."""

    shape: str
    colour: str
    size: str
    found: bool
    shape_found: bool
    missing: bool
    wrong_colour: bool
    colour_correct: bool | None
    detected_colour: str | None
    size_correct: bool | None
    merged: bool
    detection: int | None
    centre: tuple[float, float] | None = None
    mask: np.ndarray | None = dataclasses.field(default=None, repr=False)

    def to_json(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "mask"}
        data["centre"] = None if self.centre is None else [round(self.centre[0], 2), round(self.centre[1], 2)]
        data["mask"] = None if self.mask is None else mask_to_rle(self.mask)
        return data


@dataclasses.dataclass
class JudgeResult:
    """The judge's reading of one image against its scene.

    Verdicts: ``present`` (every named object found with its shape and colour), ``object_accuracy`` (the share of
    named objects found), ``colour_binding`` (every named object whose shape is there has its colour; None when no
    named shape is there), ``no_extra`` (no detection left unmatched), ``counts`` (for every named shape-colour
    pair, as many detections as named), ``relation`` (every stated relation holds; None without relations),
    ``missing`` / ``wrong_colour`` (any named object so), ``merged`` (a merged blob, see the module docstring),
    ``size_correct`` (sizes stated in the caption are right; None when none is stated) and ``all_correct`` (present,
    counts, no extra, relation not false, not merged, stated sizes right)."""

    caption: str
    detected: list[DetectedObject]
    objects: list[ObjectVerdict]
    present: bool
    object_accuracy: float
    colour_binding: bool | None
    no_extra: bool
    counts: bool
    relation: bool | None
    missing: bool
    wrong_colour: bool
    merged: bool
    size_correct: bool | None
    all_correct: bool
    merged_blobs: list[int] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict:
        data = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("detected", "objects")
        }
        data["detected"] = [d.to_json() for d in self.detected]
        data["objects"] = [o.to_json() for o in self.objects]
        return data

    def metrics(self) -> dict:
        """The per-item scores ``attnmod evaluate --judge shapes`` stores (None where not applicable)."""
        return {
            "judge_object_accuracy": self.object_accuracy,
            "judge_colour_binding": self.colour_binding,
            "judge_count": self.counts,
            "judge_relation": self.relation,
            "judge_all_correct": self.all_correct,
            "judge_missing": self.missing,
            "judge_wrong_colour": self.wrong_colour,
            "judge_merged": self.merged,
        }

    def summary(self) -> str:
        """One short line: what was seen and which verdicts failed."""
        seen = ", ".join(f"{d.size} {d.colour} {d.shape}" for d in self.detected) or "nothing"
        failed = [
            name
            for name, value in (
                ("missing", self.missing),
                ("wrong colour", self.wrong_colour),
                ("merged", self.merged),
                ("extra", not self.no_extra),
                ("count", not self.counts),
                ("relation", self.relation is False),
                ("size", self.size_correct is False),
            )
            if value
        ]
        return f"saw {seen}; " + ("all correct" if self.all_correct else "wrong: " + ", ".join(failed))


# ---------------------------------------------------------------------------------------------- pixels


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
    ``UNKNOWN`` (rule 1 of the module docstring)."""
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


def _neighbour_count(mask: np.ndarray) -> np.ndarray:
    """How many of each pixel's 8 neighbours lie in the mask."""
    total = np.zeros(mask.shape, dtype=np.int64)
    for dy, dx in _NEIGHBOURS_8:
        total += _shifted(mask, dy, dx, False)
    return total


def erode(mask: np.ndarray) -> np.ndarray:
    """Pixels whose 8 neighbours all lie in the mask (outside the image counts as outside)."""
    out = mask.copy()
    for dy, dx in _NEIGHBOURS_8:
        out &= _shifted(mask, dy, dx, False)
    return out


# ---------------------------------------------------------------------------------------------- geometry


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
    boundary = filled & ~_erode4(filled)
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


def _erode4(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    for dy, dx in _NEIGHBOURS_4:
        out &= _shifted(mask, dy, dx, False)
    return out


# ---------------------------------------------------------------------------------------------- classifier


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


# ---------------------------------------------------------------------------------------------- detection


def _object_radius(shape: str, filled_area: float) -> float:
    return math.sqrt(filled_area / AREA_FACTOR[shape])


@dataclasses.dataclass
class Segmentation:
    """Rules 1 and 2 of the module docstring: per-pixel colour labels, the background, the foreground blobs
    (``int [H, W]``, 0 = background) and the object candidates ``(colour, mask)`` before shape classification."""

    labels: np.ndarray
    background: np.ndarray
    blobs: np.ndarray
    candidates: list[tuple[str, np.ndarray]]


def segment(image, canvas: int = 64) -> Segmentation:
    """Colour every pixel and cut the image into one-colour objects (rules 1 and 2)."""
    pixels = as_array(image, canvas)
    labels = colour_labels(pixels)
    background = labels == BACKGROUND_LABEL
    blobs, _ = connected_components(~background)
    candidates = []
    for colour_index, colour in enumerate(COLOUR_NAMES):
        same = labels == colour_index
        if same.sum() < MIN_AREA:
            continue
        components, count = connected_components(same)
        core = same & (_neighbour_count(same) >= CORE_NEIGHBOURS)
        for number in range(1, count + 1):
            mask = components == number
            if int(mask.sum()) >= MIN_AREA and int((core & mask).sum()) >= MIN_CORE:
                candidates.append((colour, mask, int((core & mask).sum())))
    return Segmentation(labels, background, blobs, _join_seen_through_holes(_without_rims(candidates)))


def _join_seen_through_holes(candidates: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """A ring nested in a container shows the container's colour through its hole: a component lying in the hole
    of another colour's component (``INSIDE_SHARE`` of its pixels) that itself lies inside a component of the first
    colour joins that component instead of being an object of its own."""
    if len(candidates) < 3:
        return candidates
    filled = [fill_holes(mask) for _, mask in candidates]
    joined: dict[int, int] = {}
    for x, (colour, mask) in enumerate(candidates):
        area = mask.sum()
        for d, (ring_colour, ring_mask) in enumerate(candidates):
            if ring_colour == colour or (mask & filled[d] & ~ring_mask).sum() < INSIDE_SHARE * area:
                continue
            for y, (outer_colour, _) in enumerate(candidates):
                if (
                    y not in (x, d)
                    and y not in joined
                    and outer_colour == colour
                    and (ring_mask & filled[y]).sum() >= INSIDE_SHARE * ring_mask.sum()
                ):
                    joined[x] = y
                    break
            if x in joined:
                break
    if not joined:
        return candidates
    masks = [mask.copy() for _, mask in candidates]
    for x, y in joined.items():
        masks[y] |= masks[x]
    return [(colour, masks[k]) for k, (colour, _) in enumerate(candidates) if k not in joined]


def _without_rims(candidates: list) -> list[tuple[str, np.ndarray]]:
    """Drop *rims*: thin components (core pixels under ``RIM_CORE_SHARE`` of the area) that touch two or more
    larger components of other colours; they are the blended edge between two objects (a red-blue edge reads as
    purple), not an object."""
    grown = [mask | (_neighbour_count(mask) > 0) for _, mask, _ in candidates]
    kept = []
    for k, (colour, mask, core) in enumerate(candidates):
        area = int(mask.sum())
        larger_neighbours = sum(
            1
            for j, (other, other_mask, _) in enumerate(candidates)
            if j != k and other != colour and int(other_mask.sum()) > area and (grown[k] & other_mask).any()
        )
        if larger_neighbours >= 2 and core < RIM_CORE_SHARE * area:
            continue
        kept.append((colour, mask))
    return kept


def detect_objects(image, canvas: int = 64, classifier: ShapeClassifier | None = None) -> tuple[list, np.ndarray]:
    """Every object in the image (rules 1-3 of the module docstring) and the blob labels ``int [H, W]``."""
    parts = segment(image, canvas)
    background, blobs, candidates = parts.background, parts.blobs, parts.candidates
    classifier = classifier or load_classifier()
    detected: list[DetectedObject] = []
    if not candidates:
        return detected, blobs
    features = np.stack([shape_features(mask, background) for _, mask in candidates])
    probabilities = classifier.probabilities(features)
    for (colour, mask), row in zip(candidates, probabilities, strict=True):
        area = int(mask.sum())
        best = int(row.argmax())
        shape = SHAPES[best]
        filled = fill_holes(mask)
        ys, xs = np.nonzero(filled)
        radius = _object_radius(shape, float(len(ys)))
        blob_ids = blobs[mask]
        detected.append(
            DetectedObject(
                shape=shape,
                colour=colour,
                size="small" if radius < SIZE_SPLIT else "large",
                centre=(float(xs.mean() + 0.5), float(ys.mean() + 0.5)),
                area=area,
                confidence=float(row[best]),
                blob=int(np.bincount(blob_ids).argmax()),
                mask=mask,
                filled=filled,
                radius=radius,
            )
        )
    return detected, blobs


def _inside(inner: DetectedObject, outer: DetectedObject) -> bool:
    return float((inner.mask & outer.filled).sum()) >= INSIDE_SHARE * inner.area


def _merged_blobs(detected: list[DetectedObject], scene: Scene) -> dict[int, set[str]]:
    """Merged blobs (rules A and B of the module docstring): blob -> the named colours merged in it."""
    named_colours = [o.colour for o in scene.objects]
    by_blob: dict[int, list[DetectedObject]] = {}
    for detection in detected:
        by_blob.setdefault(detection.blob, []).append(detection)
    # The smallest visible area of a named object of each colour, in pixels.
    expected: dict[str, float] = {}
    for o in scene.objects:
        visible = (VISIBLE_AREA_FACTOR.get(o.shape) or AREA_FACTOR[o.shape]) * o.radius**2
        expected[o.colour] = min(expected.get(o.colour, visible), visible)
    merged: dict[int, set[str]] = {}
    for blob, members in by_blob.items():
        # Substantial parts of named objects: at least MERGE_SHARE of the object's expected visible area.
        big = [d for d in members if d.colour in named_colours and d.area >= MERGE_SHARE * expected[d.colour]]
        for i, first in enumerate(big):
            for second in big[i + 1 :]:
                if first.colour == second.colour or _inside(first, second) or _inside(second, first):
                    continue
                merged.setdefault(blob, set()).update({first.colour, second.colour})
        if len(members) == 1:
            only = members[0]
            sharing = [o for o in scene.objects if o.colour == only.colour]
            if len(sharing) >= 2 and only.confidence < MERGE_CONFIDENCE:
                largest = max(AREA_FACTOR[o.shape] * o.radius**2 for o in sharing)
                if only.filled.sum() >= MERGE_AREA * largest:
                    merged.setdefault(blob, set()).add(only.colour)
    return merged


def _relation_holds(relation: str, subject: DetectedObject, obj: DetectedObject) -> bool:
    if relation == "inside":
        return _inside(subject, obj)
    dx = obj.centre[0] - subject.centre[0]
    dy = obj.centre[1] - subject.centre[1]
    along, across = {
        "left of": (dx, dy),
        "right of": (-dx, dy),
        "above": (dy, dx),
        "below": (-dy, dx),
    }[relation]
    return along > RELATION_MIN_OFFSET and along > abs(across)


def _stated_sizes(scene: Scene) -> list[bool]:
    """Which named objects' sizes the caption states ("a small blue square")."""
    return [f"{o.size} {o.colour} {o.shape}" in scene.caption for o in scene.objects]


def judge_image(image, scene: Scene, classifier: ShapeClassifier | None = None) -> JudgeResult:
    """Read ``image`` (PIL or uint8 ``[H, W, 3]``; resampled to the scene's canvas) against ``scene``.

    See the module docstring for every rule. Pure: the same image and scene always give the same result."""
    detected, _ = detect_objects(image, scene.canvas, classifier)
    named = scene.objects
    assigned: dict[int, int] = {}  # named index -> detection index
    taken: set[int] = set()
    # 1. Shape and colour; among several candidates the most confident first.
    for i, obj in enumerate(named):
        options = [
            k for k, d in enumerate(detected) if k not in taken and d.shape == obj.shape and d.colour == obj.colour
        ]
        if options:
            best = max(options, key=lambda k: detected[k].confidence)
            assigned[i] = best
            taken.add(best)
    # 2. Shape alone: a wrong colour, preferring a colour that another named object has (a leaked colour).
    named_colours = {o.colour for o in named}
    wrong: set[int] = set()
    for i, obj in enumerate(named):
        if i in assigned:
            continue
        options = [k for k, d in enumerate(detected) if k not in taken and d.shape == obj.shape]
        if options:
            best = max(options, key=lambda k: (detected[k].colour in named_colours, detected[k].confidence))
            assigned[i] = best
            taken.add(best)
            wrong.add(i)
    for i, k in assigned.items():
        detected[k].named = i
    merged_blobs = _merged_blobs(detected, scene)
    stated = _stated_sizes(scene)
    verdicts = []
    for i, obj in enumerate(named):
        k = assigned.get(i)
        detection = detected[k] if k is not None else None
        found = k is not None and i not in wrong
        in_merged = obj.colour in merged_blobs.get(detection.blob, set()) if detection is not None else False
        merged_here = (not found or in_merged) and any(obj.colour in colours for colours in merged_blobs.values())
        verdicts.append(
            ObjectVerdict(
                shape=obj.shape,
                colour=obj.colour,
                size=obj.size,
                found=found,
                shape_found=detection is not None,
                missing=detection is None,
                wrong_colour=i in wrong,
                colour_correct=None if detection is None else i not in wrong,
                detected_colour=None if detection is None else detection.colour,
                size_correct=None if detection is None else detection.size == obj.size,
                merged=merged_here,
                detection=k,
                centre=None if detection is None else detection.centre,
                mask=None if detection is None else detection.mask,
            )
        )
    groups: dict[tuple[str, str], int] = {}
    for obj in named:
        groups[(obj.shape, obj.colour)] = groups.get((obj.shape, obj.colour), 0) + 1
    counts = all(sum(1 for d in detected if (d.shape, d.colour) == key) == expected for key, expected in groups.items())
    relation = None
    if scene.relations:
        relation = all(
            verdicts[r.subject].found
            and verdicts[r.object].found
            and _relation_holds(r.relation, detected[assigned[r.subject]], detected[assigned[r.object]])
            for r in scene.relations
        )
    shape_found = [v for v in verdicts if v.shape_found]
    colour_binding = all(v.colour_correct for v in shape_found) if shape_found else None
    sized = [v.size_correct for v, says in zip(verdicts, stated, strict=True) if says]
    size_correct = None if not sized else all(bool(s) for s in sized)
    present = all(v.found for v in verdicts)
    no_extra = len(taken) == len(detected)
    merged = bool(merged_blobs)
    all_correct = present and counts and no_extra and relation is not False and not merged and size_correct is not False
    return JudgeResult(
        caption=scene.caption,
        detected=detected,
        objects=verdicts,
        present=present,
        object_accuracy=sum(v.found for v in verdicts) / len(verdicts) if verdicts else 1.0,
        colour_binding=colour_binding,
        no_extra=no_extra,
        counts=counts,
        relation=relation,
        missing=any(v.missing for v in verdicts),
        wrong_colour=any(v.wrong_colour for v in verdicts),
        merged=merged,
        size_correct=size_correct,
        all_correct=all_correct,
        merged_blobs=sorted(merged_blobs),
    )
