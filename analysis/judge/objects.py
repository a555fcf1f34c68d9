"""The judge's objects (rules 2 and 3 of :mod:`attnmod.analysis.judge.image`): one-colour components with a core, rims
and nested-ring holes resolved, each classified by shape and size. Also the run-length form of masks that the
judge's JSON uses.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ...toolkit.shapes_world import SHAPES, SIZES, shape_coverage
from .pixels import (
    BACKGROUND_LABEL,
    COLOUR_NAMES,
    as_array,
    colour_labels,
    connected_components,
    fill_holes,
    neighbour_count,
)
from .shapes import FEATURE_NAMES, ShapeClassifier, load_classifier, shape_features

RIM_CORE_SHARE = 0.4
MIN_AREA = 12  # pixels; the smallest object drawn (a nested inner triangle) has about 45
MIN_CORE = 4  # core pixels a component needs
CORE_NEIGHBOURS = 5  # of 8: a core pixel's neighbours of its colour (a one-pixel line has 2, a two-pixel band 5)
SIZE_SPLIT = math.sqrt(SIZES["small"] * SIZES["large"])  # radius in pixels between small (7) and large (12)
INSIDE_SHARE = 0.8
JOIN_GAP = 2  # pixels between two components that may be one two-tone object
JOIN_CONFIDENCE = 0.6  # the classifier's probability that a joined two-tone object needs
JOIN_ASPECT = 1.6  # a piece more elongated than this is no object on its own
JOIN_FIT = 0.95  # share of each joined part that must lie within the ideal drawing of the joined shape
FIT_ANGLES = (-12.0, -6.0, 0.0, 6.0, 12.0)  # degrees tried when fitting the ideal drawing
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
    # The share of the object's coloured pixels in each colour: one colour (1.0) unless it was joined from
    # adjacent components of several colours (a two-tone object, rule 3 of the image module); ``colour`` is
    # the largest share.
    colour_shares: dict[str, float] = dataclasses.field(default_factory=dict)

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
            "colour_shares": {colour: round(share, 4) for colour, share in self.colour_shares.items()},
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


def detect_objects(
    image, canvas: int = 64, classifier: ShapeClassifier | None = None, nesting: bool = True
) -> tuple[list, np.ndarray]:
    """Every object in the image (rules 1-3 of :mod:`attnmod.analysis.judge.image`) and the blob labels ``int [H, W]``.

    ``nesting``: whether an object may lie inside another (the scene nests one: "a red square with a blue circle
    inside"). Without nesting, a component lying in the holes of another colour's component is a patch of that
    object's paint (a blue square with a purple centre), joined to it with its colour counted in its shares."""
    parts = segment(image, canvas)
    background, blobs, candidates = parts.background, parts.blobs, parts.candidates
    classifier = classifier or load_classifier()
    detected: list[DetectedObject] = []
    if not candidates:
        return detected, blobs
    masks = _with_closing_strays([mask for _, mask in candidates], background)
    colour_pixels = [{colour: int(mask.sum())} for colour, mask in candidates]
    if not nesting:
        masks, colour_pixels = _absorb_patches(masks, colour_pixels, background)
    pieces = [
        _Piece.of([k], mask, pixels, background, classifier)
        for k, (mask, pixels) in enumerate(zip(masks, colour_pixels, strict=True))
    ]
    for piece in join_two_tone(pieces, background, classifier):
        mask = piece.mask
        row = piece.probabilities
        best = int(row.argmax())
        shape = SHAPES[best]
        filled = fill_holes(mask)
        ys, xs = np.nonzero(filled)
        radius = _object_radius(shape, float(len(ys)))
        blob_ids = blobs[mask]
        coloured = sum(piece.colour_pixels.values())
        shares = {c: n / coloured for c, n in sorted(piece.colour_pixels.items(), key=lambda item: -item[1])}
        detected.append(
            DetectedObject(
                shape=shape,
                colour=next(iter(shares)),
                size="small" if radius < SIZE_SPLIT else "large",
                centre=(float(xs.mean() + 0.5), float(ys.mean() + 0.5)),
                area=int(mask.sum()),
                confidence=float(row[best]),
                blob=int(np.bincount(blob_ids).argmax()),
                mask=mask,
                filled=filled,
                radius=radius,
                colour_shares=shares,
            )
        )
    return detected, blobs


def _with_closing_strays(masks: list[np.ndarray], background: np.ndarray) -> list[np.ndarray]:
    """Each component with the *stray* foreground pixels next to it (pixels of no component: unknown colour or
    fragments too small to be components, each group touching this component and no other) when they close a hole
    that the component alone leaves open: an orange ring reads as red and yellow pixels in turn, and its red
    component is a ring broken where the yellow fragments lie. Only for the shape; the colour shares count the
    component's own pixels."""
    taken = np.zeros_like(background)
    for mask in masks:
        taken |= mask
    strays, count = connected_components(~background & ~taken)
    if not count:
        return masks
    touching = [_grown(mask, 1) for mask in masks]
    out = []
    for k, mask in enumerate(masks):
        near = np.unique(strays[touching[k] & (strays > 0)])
        own = [
            label
            for label in near
            if not any((touching[j] & (strays == label)).any() for j in range(len(masks)) if j != k)
        ]
        if not own:
            out.append(mask)
            continue
        closed = mask | np.isin(strays, own)
        holes_before = int((fill_holes(mask) & ~mask & background).sum())
        holes_after = int((fill_holes(closed) & ~closed & background).sum())
        out.append(closed if holes_after >= holes_before + MIN_CORE else mask)
    return out


def _absorb_patches(
    masks: list[np.ndarray], colour_pixels: list[dict[str, int]], background: np.ndarray
) -> tuple[list[np.ndarray], list[dict[str, int]]]:
    """Join every component lying in the holes of another component (``INSIDE_SHARE`` of its pixels there) to the
    smallest such container, smallest patches first (a patch may hold a patch), when the holes hold no background
    besides it (fewer than ``MIN_AREA`` background pixels): paint fills its object, while an object lying in a
    ring's hole or over a ring's band leaves background in the hole."""
    masks = [mask.copy() for mask in masks]
    colour_pixels = [dict(pixels) for pixels in colour_pixels]
    alive = list(range(len(masks)))
    for k in sorted(alive, key=lambda index: int(masks[index].sum())):
        area = int(masks[k].sum())
        containers = []
        for j in alive:
            if j == k or int(masks[j].sum()) <= area:
                continue
            holes = fill_holes(masks[j]) & ~masks[j]
            if int((masks[k] & holes).sum()) >= INSIDE_SHARE * area and int((holes & background).sum()) < MIN_AREA:
                containers.append(j)
        if not containers:
            continue
        host = min(containers, key=lambda index: int(masks[index].sum()))
        masks[host] |= masks[k]
        for colour, count in colour_pixels[k].items():
            colour_pixels[host][colour] = colour_pixels[host].get(colour, 0) + count
        alive.remove(k)
    return [masks[k] for k in alive], [colour_pixels[k] for k in alive]


@dataclasses.dataclass
class _Piece:
    """One object in the making: the candidates it holds, its mask, the classifier's probabilities for that mask
    and its pixels per colour."""

    members: list[int]
    mask: np.ndarray
    probabilities: np.ndarray
    colour_pixels: dict[str, int]
    aspect: float  # bounding box long side / short side

    @classmethod
    def of(cls, members, mask, colour_pixels, background, classifier) -> _Piece:
        features = shape_features(mask, background)
        aspect = math.exp(abs(features[FEATURE_NAMES.index("log_aspect")]))
        return cls(members, mask, classifier.probabilities(features[None])[0], colour_pixels, aspect)

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())

    @property
    def standalone(self) -> float:
        """How sure the classifier is of this piece as an object of its own: its confidence, or 0 for a piece
        more elongated than any shape of the world (a two-tone object's thin strip; softmax is overconfident far
        from its training data)."""
        return self.confidence if self.aspect <= JOIN_ASPECT else 0.0


def _grown(mask: np.ndarray, steps: int) -> np.ndarray:
    for _ in range(steps):
        mask = mask | (neighbour_count(mask) > 0)
    return mask


def join_two_tone(pieces: list[_Piece], background: np.ndarray, classifier: ShapeClassifier) -> list[_Piece]:
    """Rule 3's joining of two-tone objects: adjacent one-colour components that together form one shape are one
    object (a square painted half red, half blue is one square, not a red and a blue oblong).

    Two pieces are *adjacent* when they come within ``JOIN_GAP`` pixels of each other (a blended edge between two
    colours reads as a third colour, as unknown or even as background, and is dropped, leaving a gap of a pixel or
    two); neither may lie inside the other (``INSIDE_SHARE`` of its pixels within the other's filled mask: a
    nesting). Their union is the two masks, the pixels next to both (a one-pixel seam, whatever its colour) and the
    foreground pixels within ``JOIN_GAP`` of both. The union is kept when the classifier is sure of its shape,
    ``p(union) >= JOIN_CONFIDENCE``, and surer than of the two pieces as separate objects, ``p(union) > s(first)
    s(second)``, where ``p`` is the classifier's largest probability and ``s`` the same for a piece on its own, 0
    for a piece whose bounding box is more than ``JOIN_ASPECT`` times as long as wide (no shape of the world is:
    a triangle's box is 1.15 times as wide as high). Greedy: the pair with the largest margin ``p(union) - s(first)
    s(second)`` joins first, and joining repeats until no pair qualifies, so an object cut into three pieces joins
    in two steps."""
    pieces = list(pieces)
    seam = [_grown(piece.mask, 1) for piece in pieces]
    grown = [_grown(piece.mask, JOIN_GAP) for piece in pieces]
    filled = [fill_holes(piece.mask) for piece in pieces]
    rejected: set[tuple[int, ...]] = set()
    while True:
        best = None
        for i, first in enumerate(pieces):
            for j in range(i + 1, len(pieces)):
                second = pieces[j]
                key = tuple(sorted(first.members + second.members))
                if key in rejected or not (grown[i] & second.mask).any():
                    continue
                if _share_within(first.mask, filled[j]) or _share_within(second.mask, filled[i]):
                    rejected.add(key)
                    continue
                union = first.mask | second.mask | (seam[i] & seam[j]) | (grown[i] & grown[j] & ~background)
                colour_pixels = dict(first.colour_pixels)
                for colour, count in second.colour_pixels.items():
                    colour_pixels[colour] = colour_pixels.get(colour, 0) + count
                joined = _Piece.of(first.members + second.members, union, colour_pixels, background, classifier)
                margin = joined.confidence - first.standalone * second.standalone
                if (
                    joined.confidence < JOIN_CONFIDENCE
                    or margin <= 0
                    or shape_fit(joined, [first.mask, second.mask]) < JOIN_FIT
                ):
                    rejected.add(key)
                    continue
                if best is None or margin > best[0]:
                    best = (margin, i, j, joined)
        if best is None:
            return pieces
        _, i, j, joined = best
        for index in (j, i):
            del pieces[index], seam[index], grown[index], filled[index]
        pieces.append(joined)
        seam.append(_grown(joined.mask, 1))
        grown.append(_grown(joined.mask, JOIN_GAP))
        filled.append(fill_holes(joined.mask))


def ideal_shape(shape: str, filled: np.ndarray, angle: float = 0.0) -> np.ndarray:
    """The filled mask of ``shape`` drawn as the world draws it (``shape_coverage`` at pixel centres), with the
    centroid and filled area of ``filled`` and rotated by ``angle`` degrees about the centroid (a ring is drawn
    filled)."""
    ys, xs = np.nonzero(filled)
    cx, cy = xs.mean() + 0.5, ys.mean() + 0.5
    radius = _object_radius(shape, float(len(ys)))
    grid_y, grid_x = np.mgrid[0 : filled.shape[0], 0 : filled.shape[1]] + 0.5
    turn = math.radians(angle)
    dx, dy = grid_x - cx, grid_y - cy
    px = cx + math.cos(turn) * dx + math.sin(turn) * dy
    py = cy - math.sin(turn) * dx + math.cos(turn) * dy
    # A triangle's centroid lies 0.15 radii below the centre of its bounding circle (shape_coverage's geometry).
    centre_y = cy - 0.15 * radius if shape == "triangle" else cy
    return shape_coverage("circle" if shape == "ring" else shape, cx, centre_y, radius, px, py)


def shape_fit(piece: _Piece, parts: list[np.ndarray]) -> float:
    """How well a joined piece is one shape: the ideal drawing of its shape (:func:`ideal_shape`, the rotation
    among ``FIT_ANGLES`` that overlaps the piece's filled mask most, grown by one pixel) holds at least this share
    of every part's pixels. Two touching objects joined into one hole-bearing or round outline leave a part sticking
    out; a two-tone object's parts lie inside its shape."""
    shape = SHAPES[int(piece.probabilities.argmax())]
    filled = fill_holes(piece.mask)
    best, best_iou = None, -1.0
    for angle in (0.0,) if shape in ("circle", "ring") else FIT_ANGLES:
        ideal = ideal_shape(shape, filled, angle)
        iou = float((ideal & filled).sum()) / float((ideal | filled).sum())
        if iou > best_iou:
            best, best_iou = ideal, iou
    grown = _grown(best, 1)
    return min(float((part & grown).sum()) / float(part.sum()) for part in parts)


def _share_within(mask: np.ndarray, filled: np.ndarray) -> bool:
    return float((mask & filled).sum()) >= INSIDE_SHARE * float(mask.sum())
