"""Sampling scenes: objects, positions that keep their gap and stated relations, and the caption's grammar."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from .scenes import (
    CANVAS,
    COLOURS,
    COUNT_WORDS,
    FORM_WEIGHTS,
    FORMS,
    MIN_GAP,
    NESTED_CONTAINERS,
    NESTED_INNER_RADIUS,
    NESTED_OUTER_RADIUS,
    PLURALS,
    RELATION_MARGIN,
    RELATIONS,
    SHAPES,
    SIZES,
    Relation,
    Scene,
    ShapeObject,
    is_heldout,
)

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
