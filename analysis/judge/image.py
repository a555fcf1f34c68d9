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
3. **Shape** by a small softmax classifier over mask-geometry features (:func:`~attnmod.analysis.judge.shapes.shape_features`: solidity, extent,
   aspect, holes and how much background they hold, centroid offset, moment of inertia, corner and row fill, and
   the harmonics of the outline's distance from the centre: 3 for a triangle, 4 for a square or cross, 5 for a star),
   trained on degraded renders (``benchmarks/train_judge.py``; weights in ``toolkit/data/judge_shapes.safetensors``,
   read with safetensors only). The confidence is the classifier's probability. **Two-tone objects**: adjacent
   components of different colours are joined into one object when together they form one shape the classifier
   is sure of, surer than of the parts as separate objects, and every part lies within the ideal drawing of that
   shape (:func:`~attnmod.analysis.judge.objects.join_two_tone`, constants ``JOIN_*`` in
   :mod:`~attnmod.analysis.judge.objects`); a square painted half red, half blue is one square, and a ring cut
   by a colour boundary through its hole is a ring again. Unless the scene nests an object in another, a
   component lying in another's hole is a patch of its paint and joins it (a blue square with a purple centre);
   stray foreground pixels of no component (unknown colour, fragments) join the one component they touch when
   they close a hole in it (an orange ring read as red and yellow pixels in turn). Its colour is the one holding
   most of its pixels; its ``colour_shares`` give every colour's share. **Size**: the radius implied by the filled area for the detected
   shape, ``sqrt(area / k_shape)``, is ``small`` below ``SIZE_SPLIT`` pixels.
4. **Verdicts**, GenEval-style, by matching named objects (caption order) to detections: first by shape and colour,
   then by shape alone (a *wrong colour*, preferring a detection whose colour another named object has). A named
   object with no detection of its shape is *missing* (also when its colour appears on another shape).

**Leaked** (the colour of one named object inside another, the failure attribute-binding methods target): a named
object whose matched detection holds at least ``LEAK_SHARE`` of its pixels in its own colour and at least
``LEAK_SHARE`` in the colour of another named object. The threshold was chosen on renders with planted two-tone
fills (``benchmarks/judge_leak_threshold.py``; docs/shapes.md). A two-tone object whose own colour holds most of
it is found (present, colour right) and leaked; one mostly in the foreign colour is a wrong colour and leaked.

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
import math

import numpy as np

from ...toolkit.shapes_world import SHAPES, Scene
from .objects import AREA_FACTOR, INSIDE_SHARE, DetectedObject, detect_objects, mask_to_rle
from .pixels import connected_components
from .shapes import CLASSIFIER_FILE, ShapeClassifier

# SHAPES, connected_components and CLASSIFIER_FILE stay importable from here for the scripts written before the
# judge was split (benchmarks/judge_accuracy.py, benchmarks/train_judge.py); new code imports them from where
# they are defined.
__all__ = [
    "CLASSIFIER_FILE",
    "SHAPES",
    "DetectedObject",
    "JudgeResult",
    "ObjectVerdict",
    "connected_components",
    "detect_objects",
    "judge_image",
]

MERGE_SHARE = 0.3
MERGE_CONFIDENCE = 0.5
MERGE_AREA = 1.25
RELATION_MIN_OFFSET = 2.0  # pixels
LEAK_SHARE = 0.05  # share of a two-tone object's pixels each of its own and a foreign named colour must hold
VISIBLE_AREA_FACTOR = {"ring": math.pi * (1 - 0.55**2)}  # a ring's own pixels (AREA_FACTOR counts its hole)


@dataclasses.dataclass
class ObjectVerdict:
    """What became of one named object (caption order).

    ``found``: a detection with its shape and colour (the colour holding most of its pixels). ``shape_found``:
    one with its shape (any colour). ``missing`` = not ``shape_found``. ``wrong_colour``: its shape is there but
    only in another colour (``detected_colour``). ``colour_correct``: None when missing. ``size_correct``: the
    matched detection's size equals the named size (None when missing). ``merged``: its colour is part of a merged
    blob and no detection outside merged blobs matches it. ``mask`` is the matched detection's mask (None when
    missing).

    Leakage (the matched detection's pixels by colour, :attr:`DetectedObject.colour_shares`): ``foreign_colour``
    is the colour of another named object that holds the largest share of the object's pixels and
    ``foreign_share`` that share (0.0 and None when no other named object's colour is in it; both None when
    missing). ``leaked``: the object is two-tone, at least ``LEAK_SHARE`` of its pixels in its own colour and at
    least ``LEAK_SHARE`` in ``foreign_colour`` (None when missing)."""

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
    leaked: bool | None = None
    foreign_colour: str | None = None
    foreign_share: float | None = None
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
    ``missing`` / ``wrong_colour`` / ``leaked`` (any named object so), ``merged`` (a merged blob, see the module
    docstring), ``size_correct`` (sizes stated in the caption are right; None when none is stated) and
    ``all_correct`` (present, counts, no extra, relation not false, not merged, nothing leaked, stated sizes
    right)."""

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
    leaked: bool = False
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
            "judge_leaked": self.leaked,
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
                ("leaked", self.leaked),
                ("extra", not self.no_extra),
                ("count", not self.counts),
                ("relation", self.relation is False),
                ("size", self.size_correct is False),
            )
            if value
        ]
        return f"saw {seen}; " + ("all correct" if self.all_correct else "wrong: " + ", ".join(failed))


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


def _leak(
    colour: str, named_colours: list[str], detection: DetectedObject | None
) -> tuple[bool | None, str | None, float | None]:
    """``(leaked, foreign_colour, foreign_share)`` of a named object of ``colour`` matched to ``detection``
    (:class:`ObjectVerdict`'s leakage fields)."""
    if detection is None:
        return None, None, None
    shares = detection.colour_shares or {detection.colour: 1.0}
    foreign = [(share, other) for other, share in shares.items() if other != colour and other in named_colours]
    if not foreign:
        return False, None, 0.0
    share, other = max(foreign)
    return shares.get(colour, 0.0) >= LEAK_SHARE and share >= LEAK_SHARE, other, share


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
    nesting = any(r.relation == "inside" for r in scene.relations)
    detected, _ = detect_objects(image, scene.canvas, classifier, nesting=nesting)
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
        leak = _leak(obj.colour, [o.colour for o in named], detection)
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
                leaked=leak[0],
                foreign_colour=leak[1],
                foreign_share=leak[2],
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
    leaked = any(bool(v.leaked) for v in verdicts)
    all_correct = (
        present
        and counts
        and no_extra
        and relation is not False
        and not merged
        and not leaked
        and size_correct is not False
    )
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
        leaked=leaked,
        merged_blobs=sorted(merged_blobs),
    )
