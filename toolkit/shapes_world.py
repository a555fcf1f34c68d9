"""The shapes world: seeded procedural scenes whose truth is known pixel by pixel.

A scene is a plain background with 1 to 3 objects. Each object has a shape (:data:`SHAPES`), a colour
(:data:`COLOURS`, far apart in RGB), a size (``small``/``large``) and a position; a scene also records its relations
(left of, right of, above, below, inside) and the caption that names it. Captions come from a small grammar that
the prompt front end parses into one entity per object:

* ``single``: "a red circle", "a small blue square"
* ``pair``: "a red circle and a yellow star"
* ``relation``: "a green triangle to the left of a purple circle" (also right of, above, below)
* ``triple``: "a red circle, a blue square and a yellow star"
* ``nested``: "a red square with a blue circle inside"
* ``count``: "two blue stars", "three red rings"

:func:`render_scene` draws a scene with anti-aliased edges (4x4 supersampling) and returns the image with one
boolean mask per object (pixels whose coverage is at least one half; an inner object of a nested pair is cut out of
its container's mask).

Compositional hold-outs (never drawn in training scenes, see :func:`is_heldout`): the colour-shape pairs in
:data:`HELDOUT_COLOUR_SHAPES` (one per colour and per shape) and the shape pairs in :data:`HELDOUT_SHAPE_PAIRS`
(never two of these shapes in one scene). Evaluation prompt sets (:func:`prompt_set`) are named
``{seen|heldout}-{1|2|3}[/{tune|test}]`` (plus ``nested`` and ``count``): ``seen`` scenes contain no held-out
combination, ``heldout`` scenes contain at least one; ``tune`` and ``test`` halves never share a caption, so
methods can be chosen on one and reported on the other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
import re
from collections.abc import Iterable, Sequence

import numpy as np

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


# ---- sampling ----


def _article_phrase(obj: ShapeObject, with_size: bool) -> str:
    size = f"{obj.size} " if with_size else ""
    return f"a {size}{obj.colour} {obj.shape}"


def _free_position(
    rng: random.Random, radius: float, placed: Sequence[ShapeObject], canvas: int, tries: int = 200
) -> tuple[float, float] | None:
    low, high = radius + 1.0, canvas - radius - 1.0
    for _ in range(tries):
        x, y = rng.uniform(low, high), rng.uniform(low, high)
        if all(math.hypot(x - o.x, y - o.y) >= radius + o.radius + MIN_GAP for o in placed):
            return x, y
    return None


def _relation_positions(
    rng: random.Random, relation: str, r1: float, r2: float, canvas: int
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Centres for subject and object so that ``relation`` clearly holds (along its axis by RELATION_MARGIN and
    more than across it)."""
    for _ in range(200):
        (x1, y1), (x2, y2) = (
            (rng.uniform(r + 1, canvas - r - 1), rng.uniform(r + 1, canvas - r - 1)) for r in (r1, r2)
        )
        along, across = {
            "to the left of": (x2 - x1, y2 - y1),
            "to the right of": (x1 - x2, y2 - y1),
            "above": (y2 - y1, x2 - x1),
            "below": (y1 - y2, x2 - x1),
        }[relation]
        if along >= RELATION_MARGIN and along > 2 * abs(across) and math.hypot(x1 - x2, y1 - y2) >= r1 + r2 + MIN_GAP:
            return (x1, y1), (x2, y2)
    return None


_RELATION_NAMES = {"to the left of": "left of", "to the right of": "right of", "above": "above", "below": "below"}


def _pick_objects(rng: random.Random, count: int, combos: str, distinct: bool = True) -> list[tuple[str, str]] | None:
    """``count`` (colour, shape) pairs; ``combos`` is "seen" (no held-out combination), "heldout" (at least one)
    or "any"."""
    for _ in range(500):
        picks = [(rng.choice(list(COLOURS)), rng.choice(SHAPES)) for _ in range(count)]
        if distinct and len(set(picks)) < count:
            continue
        fake = [ShapeObject(s, c, "small", 0, 0, 1) for c, s in picks]
        held = is_heldout(fake)
        if combos == "any" or (combos == "seen") == (not held):
            return picks
    return None


def sample_scene(
    rng: random.Random,
    form: str | None = None,
    combos: str = "seen",
    canvas: int = CANVAS,
    form_weights: dict[str, float] | None = None,
) -> Scene:
    """One random scene of the given caption form (random by ``form_weights`` when None, by default
    :data:`FORM_WEIGHTS`).

    ``combos``: "seen" never draws a held-out combination (training and seen-split prompts), "heldout" draws at
    least one (for ``single``: a held-out colour-shape pair), "any" either.
    """
    if form is None:
        weights = FORM_WEIGHTS if form_weights is None else form_weights
        form = rng.choices(list(weights), weights=list(weights.values()))[0]
    if form not in FORMS:
        raise ValueError(f"unknown caption form {form!r}; known forms: {', '.join(FORMS)}")
    for _ in range(100):
        scene = _try_scene(rng, form, combos, canvas)
        if scene is not None:
            return scene
    raise RuntimeError(f"could not place a {form!r} scene with {combos!r} combinations")


def _try_scene(rng: random.Random, form: str, combos: str, canvas: int) -> Scene | None:
    if form == "count":
        count = rng.choice((2, 3))
        picks = _pick_objects(rng, 1, combos)
        if picks is None:
            return None
        colour, shape = picks[0]
        size = rng.choice(list(SIZES)) if count == 2 else "small"
        placed: list[ShapeObject] = []
        for _ in range(count):
            position = _free_position(rng, SIZES[size], placed, canvas)
            if position is None:
                return None
            placed.append(ShapeObject(shape, colour, size, *position, SIZES[size]))
        caption = f"{COUNT_WORDS[count]} {colour} {PLURALS[shape]}"
        return Scene(tuple(placed), caption, form, (), canvas)
    if form == "nested":
        for _ in range(50):
            picks = _pick_objects(rng, 2, combos)
            if picks and picks[0][1] in NESTED_CONTAINERS and picks[0][0] != picks[1][0]:
                break
        else:
            return None
        (c1, s1), (c2, s2) = picks
        r = NESTED_OUTER_RADIUS
        x, y = rng.uniform(r + 1, canvas - r - 1), rng.uniform(r + 1, canvas - r - 1)
        outer = ShapeObject(s1, c1, "large", x, y, r)
        inner = ShapeObject(s2, c2, "small", x, y, NESTED_INNER_RADIUS)
        caption = f"a {c1} {s1} with a {c2} {s2} inside"
        return Scene((outer, inner), caption, form, (Relation(1, "inside", 0),), canvas)
    count = {"single": 1, "pair": 2, "relation": 2, "triple": 3}[form]
    picks = _pick_objects(rng, count, combos)
    if picks is None:
        return None
    sizes = [rng.choice(list(SIZES)) for _ in picks]
    if form == "triple":
        sizes = ["large" if rng.random() < 0.25 else "small" for _ in picks]
    if form == "relation":
        relation = rng.choice(RELATIONS)
        positions = _relation_positions(rng, relation, SIZES[sizes[0]], SIZES[sizes[1]], canvas)
        if positions is None:
            return None
        objects = tuple(
            ShapeObject(shape, colour, size, *position, SIZES[size])
            for (colour, shape), size, position in zip(picks, sizes, positions, strict=True)
        )
        caption = f"{_article_phrase(objects[0], False)} {relation} {_article_phrase(objects[1], False)}"
        return Scene(objects, caption, form, (Relation(0, _RELATION_NAMES[relation], 1),), canvas)
    placed = []
    for (colour, shape), size in zip(picks, sizes, strict=True):
        position = _free_position(rng, SIZES[size], placed, canvas)
        if position is None:
            return None
        placed.append(ShapeObject(shape, colour, size, *position, SIZES[size]))
    with_size = form == "single" and rng.random() < 0.5
    phrases = [_article_phrase(o, with_size) for o in placed]
    if form == "single":
        caption = phrases[0]
    elif form == "pair":
        caption = f"{phrases[0]} and {phrases[1]}"
    else:
        caption = f"{phrases[0]}, {phrases[1]} and {phrases[2]}"
    return Scene(tuple(placed), caption, form, (), canvas)


# ---- reading a caption back ----

#: Every word of every caption the world writes (and so every word the shapes model saw in training), and "an",
#: which captions read back as "a".
VOCABULARY = frozenset(
    {"a", "an", "and", "with", "inside", *COUNT_WORDS.values(), *COLOURS, *SHAPES, *PLURALS.values(), *SIZES}
    | {word for relation in RELATIONS for word in relation.split()}
)


def caption_words(text: str) -> list[str]:
    """The words of ``text``, lower case (runs of letters; digits and punctuation separate words)."""
    return re.findall(r"[a-z]+", text.lower())


def out_of_vocabulary(prompt: str) -> list[str]:
    """The words of ``prompt`` that no caption of the world uses (each once, in order of appearance)."""
    return list(dict.fromkeys(word for word in caption_words(prompt) if word not in VOCABULARY))


_SIZE = f"(?:({'|'.join(SIZES)}) )?"
_COLOUR = f"({'|'.join(COLOURS)})"
_PHRASE = f"an? {_SIZE}{_COLOUR} ({'|'.join(SHAPES)})"
_PLURAL_NAMES = {plural: shape for shape, plural in PLURALS.items()}
_CAPTION_FORMS = (
    ("single", re.compile(f"{_PHRASE}")),
    ("pair", re.compile(f"{_PHRASE} and {_PHRASE}")),
    ("triple", re.compile(f"{_PHRASE}, {_PHRASE} and {_PHRASE}")),
    ("relation", re.compile(f"{_PHRASE} ({'|'.join(RELATIONS)}) {_PHRASE}")),
    ("nested", re.compile(f"{_PHRASE} with {_PHRASE} inside")),
    ("count", re.compile(f"({'|'.join(COUNT_WORDS.values())}) {_SIZE}{_COLOUR} ({'|'.join(_PLURAL_NAMES)})")),
)


def scene_from_caption(caption: str, canvas: int = CANVAS) -> Scene | None:
    """The scene a caption of the world's grammar names (any of :data:`FORMS`), or None for any other text.

    Case, surrounding space, repeated spaces and a final full stop do not matter (the scene's caption is the text
    without them). The objects carry the truth the
    judge reads (shape, colour, size, caption order, stated relations); their positions are not known from a
    caption and are set to the canvas centre ("an" reads as "a"). A size the caption does not state reads as ``small`` (the judge checks
    only stated sizes; for its merged-object rule the smaller expected area is the more sensitive reading), except
    in the nested form, drawn as a large container around a small object.
    """
    text = " ".join(caption.lower().strip().rstrip(".").split()).replace(" ,", ",")
    centre = canvas / 2

    def shape_object(shape: str, colour: str, size: str | None, radius: float | None = None) -> ShapeObject:
        size = size or "small"
        return ShapeObject(shape, colour, size, centre, centre, radius or SIZES[size])

    for form, pattern in _CAPTION_FORMS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        groups = match.groups()
        if form == "count":
            word, size, colour, plural = groups
            number = {name: count for count, name in COUNT_WORDS.items()}[word]
            objects = tuple(shape_object(_PLURAL_NAMES[plural], colour, size) for _ in range(number))
            return Scene(objects, text, form, (), canvas)
        if form == "relation":
            relation = groups[3]
            first, second = (shape_object(groups[i + 2], groups[i + 1], groups[i]) for i in (0, 4))
            return Scene((first, second), text, form, (Relation(0, _RELATION_NAMES[relation], 1),), canvas)
        phrases = [groups[i : i + 3] for i in range(0, len(groups), 3)]
        if form == "nested":
            (outer_size, outer_colour, outer_shape), (inner_size, inner_colour, inner_shape) = phrases
            outer = shape_object(outer_shape, outer_colour, outer_size or "large", NESTED_OUTER_RADIUS)
            inner = shape_object(inner_shape, inner_colour, inner_size, NESTED_INNER_RADIUS)
            return Scene((outer, inner), text, form, (Relation(1, "inside", 0),), canvas)
        objects = tuple(shape_object(shape, colour, size) for size, colour, shape in phrases)
        return Scene(objects, text, form, (), canvas)
    return None


# ---- named prompt sets ----

SET_FORMS = {1: ("single",), 2: ("pair", "relation"), 3: ("triple",)}
PARTS = ("tune", "test")


def _stable_seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha1("/".join(map(str, parts)).encode()).digest()[:8], "big")


def _caption_part(caption: str) -> str:
    """Which half a caption belongs to: a stable hash, so tune and test never share a caption."""
    return PARTS[_stable_seed("part", caption) % 2]


def parse_set_name(name: str) -> tuple[str, str, str | None]:
    """``"seen-2/test"`` -> ("seen", "2", "test"); kinds: seen-1..3, heldout-1..3, nested, count."""
    base, _, part = name.partition("/")
    if part and part not in PARTS:
        raise ValueError(f"unknown half {part!r} in shapes set {name!r}; use /tune or /test")
    if base in ("nested", "count"):
        return "seen", base, part or None
    combos, _, objects = base.partition("-")
    if combos not in ("seen", "heldout") or objects not in ("1", "2", "3"):
        raise ValueError(
            f"unknown shapes set {name!r}; sets are seen-1, seen-2, seen-3, heldout-1, heldout-2, heldout-3, "
            "nested, count, each optionally with /tune or /test"
        )
    return combos, objects, part or None


def prompt_set(name: str, count: int, seed: int = 0) -> list[Scene]:
    """``count`` scenes of a named set with distinct captions, the same for the same (name, count, seed).

    Each scene's layout is drawn from its own stable seed, so a set's first k scenes do not change when
    ``count`` grows.
    """
    combos, objects, part = parse_set_name(name)
    forms = (objects,) if objects in ("nested", "count") else SET_FORMS[int(objects)]
    scenes: list[Scene] = []
    seen_captions: set[str] = set()
    attempt = last_new = 0
    while len(scenes) < count:
        # A set holds finitely many captions: once draws stop finding new ones (many times more draws than
        # captions found so far), it is exhausted, however large ``count`` is.
        exhausted = attempt - last_new > max(2000, 10 * len(scenes))
        if exhausted or attempt > 50 * count + 1000:
            raise ValueError(
                f"shapes set {name!r} holds {len(scenes)} distinct captions, fewer than the {count} asked for: "
                f"ask for at most {len(scenes)}"
            )
        rng = random.Random(_stable_seed(name, seed, attempt))
        attempt += 1
        scene = sample_scene(rng, forms[attempt % len(forms)], combos)
        if scene.caption in seen_captions or (part and _caption_part(scene.caption) != part):
            continue
        seen_captions.add(scene.caption)
        scenes.append(scene)
        last_new = attempt
    return scenes


def training_batch(
    rng: random.Random, size: int, drop_caption: float = 0.1, form_weights: dict[str, float] | None = None
) -> tuple[np.ndarray, list[str]]:
    """A training batch of seen-combination scenes: ``(images uint8 [B, H, W, 3], captions)``; a share
    ``drop_caption`` of the captions is empty (for classifier-free guidance). ``form_weights``: the mixture of
    caption forms (default :data:`FORM_WEIGHTS`)."""
    images, captions = [], []
    for _ in range(size):
        scene = sample_scene(rng, None, "seen", form_weights=form_weights)
        image, _ = render_scene(scene)
        images.append(image)
        captions.append("" if rng.random() < drop_caption else scene.caption)
    return np.stack(images), captions
