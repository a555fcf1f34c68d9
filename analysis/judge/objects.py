"""The judge's objects (rules 2 and 3 of :mod:`attnmod.analysis.judge.image`): one-colour components with a core, rims
and nested-ring holes resolved, each classified by shape and size. Also the run-length form of masks that the
judge's JSON uses.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ...toolkit.shapes_world import SHAPES, SIZES
from .pixels import (
    BACKGROUND_LABEL,
    COLOUR_NAMES,
    as_array,
    colour_labels,
    connected_components,
    fill_holes,
    neighbour_count,
)
from .shapes import ShapeClassifier, load_classifier, shape_features

RIM_CORE_SHARE = 0.4
MIN_AREA = 12  # pixels; the smallest object drawn (a nested inner triangle) has about 45
MIN_CORE = 4  # core pixels a component needs
CORE_NEIGHBOURS = 5  # of 8: a core pixel's neighbours of its colour (a one-pixel line has 2, a two-pixel band 5)
SIZE_SPLIT = math.sqrt(SIZES["small"] * SIZES["large"])  # radius in pixels between small (7) and large (12)
INSIDE_SHARE = 0.8
# Filled area of each shape in units of its bounding radius squared (shapes_world.shape_coverage's geometry).
AREA_FACTOR = {
    "circle": math.pi,
    "square": 1.64**2,
    "triangle": 3 * math.sqrt(3) / 4,
    "star": 10 * 0.5 * 0.45 * math.sin(math.pi / 5),
    "ring": math.pi,  # the filled outline
    "cross": 2 * (0.64 * 1.9) - 0.64**2,
}


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


def _object_radius(shape: str, filled_area: float) -> float:
    return math.sqrt(filled_area / AREA_FACTOR[shape])


@dataclasses.dataclass
class Segmentation:
    """Rules 1 and 2 of :mod:`attnmod.analysis.judge.image`: per-pixel colour labels, the background, the foreground blobs
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
        core = same & (neighbour_count(same) >= CORE_NEIGHBOURS)
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
    grown = [mask | (neighbour_count(mask) > 0) for _, mask, _ in candidates]
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
    """Every object in the image (rules 1-3 of :mod:`attnmod.analysis.judge.image`) and the blob labels ``int [H, W]``."""
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
