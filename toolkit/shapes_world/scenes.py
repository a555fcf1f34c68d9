"""The world's vocabulary (shapes, colours, sizes, relations, forms, hold-outs) and its scenes: objects, relations, the caption."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

CANVAS = 64
SUPERSAMPLE = 4
BACKGROUND = (28, 28, 32)
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (40, 175, 70),
    "blue": (45, 90, 225),
    "yellow": (235, 215, 45),
    "purple": (150, 70, 200),
    "white": (235, 235, 235),
}
SHAPES = ("circle", "square", "triangle", "star", "ring", "cross")
PLURALS = {
    "circle": "circles",
    "square": "squares",
    "triangle": "triangles",
    "star": "stars",
    "ring": "rings",
    "cross": "crosses",
}
SIZES = {"small": 7.0, "large": 12.0}
NESTED_OUTER_RADIUS = 15.0
NESTED_INNER_RADIUS = 6.0
NESTED_CONTAINERS = ("circle", "square", "ring")
RELATIONS = ("to the left of", "to the right of", "above", "below")
FORMS = ("single", "pair", "relation", "triple", "nested", "count")
# Training mixture of caption forms (the rest of a batch's captions are dropped for classifier-free guidance).
FORM_WEIGHTS = {"single": 0.22, "pair": 0.22, "relation": 0.2, "triple": 0.16, "nested": 0.1, "count": 0.1}


def parse_form_weights(text: str) -> dict[str, float]:
    """``"single=0.2,pair=0.3"`` -> a mixture of caption forms (forms not named are not drawn); weights are
    relative, non-negative, and at least one is positive. Raises ValueError with a one-line message."""
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"form weight {part.strip()!r} is not FORM=WEIGHT (forms: {', '.join(FORMS)})")
        if name not in FORMS:
            raise ValueError(f"unknown caption form {name!r}; known forms: {', '.join(FORMS)}")
        if name in weights:
            raise ValueError(f"caption form {name!r} is named twice")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"weight of {name!r} is not a number: {value.strip()!r}") from None
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"weight of {name!r} must be a finite number >= 0, not {value.strip()}")
        weights[name] = weight
    if not any(w > 0 for w in weights.values()):
        raise ValueError("at least one caption form needs a positive weight")
    return {form: weights[form] for form in FORMS if form in weights}


HELDOUT_COLOUR_SHAPES = frozenset(
    {
        ("red", "star"),
        ("green", "ring"),
        ("blue", "triangle"),
        ("yellow", "cross"),
        ("purple", "square"),
        ("white", "circle"),
    }
)
HELDOUT_SHAPE_PAIRS = frozenset({frozenset({"circle", "triangle"}), frozenset({"square", "star"})})
COUNT_WORDS = {2: "two", 3: "three"}
MIN_GAP = 3.0  # pixels between the bounding circles of two separate objects
RELATION_MARGIN = 10.0  # pixels by which a stated relation holds along its axis, at least


@dataclasses.dataclass(frozen=True)
class ShapeObject:
    """One drawn object: ``x``, ``y`` are its centre and ``radius`` its bounding radius, in canvas pixels."""

    shape: str
    colour: str
    size: str
    x: float
    y: float
    radius: float

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Relation:
    """``subject`` stands in ``relation`` to ``object`` (indices into the scene's objects)."""

    subject: int
    relation: str  # "left of", "right of", "above", "below", "inside"
    object: int

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Scene:
    """A scene's truth: its objects in caption order, the relations its caption states, and the caption."""

    objects: tuple[ShapeObject, ...]
    caption: str
    form: str
    relations: tuple[Relation, ...] = ()
    canvas: int = CANVAS

    def to_json(self) -> dict:
        return {
            "caption": self.caption,
            "form": self.form,
            "canvas": self.canvas,
            "objects": [o.to_json() for o in self.objects],
            "relations": [r.to_json() for r in self.relations],
        }

    @classmethod
    def from_json(cls, data: dict) -> Scene:
        return cls(
            objects=tuple(ShapeObject(**o) for o in data["objects"]),
            caption=data["caption"],
            form=data["form"],
            relations=tuple(Relation(**r) for r in data.get("relations", ())),
            canvas=int(data.get("canvas", CANVAS)),
        )

    @property
    def heldout(self) -> bool:
        return is_heldout(self.objects)


def is_heldout(objects: Iterable[ShapeObject]) -> bool:
    """True when the objects contain a held-out colour-shape pair or a held-out pair of shapes."""
    objects = list(objects)
    if any((o.colour, o.shape) in HELDOUT_COLOUR_SHAPES for o in objects):
        return True
    shapes = [o.shape for o in objects]
    return any(
        frozenset({a, b}) in HELDOUT_SHAPE_PAIRS for i, a in enumerate(shapes) for b in shapes[i + 1 :] if a != b
    )
