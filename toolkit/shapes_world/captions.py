"""Reading a caption back into its scene (the grammar's own forms), and the world's vocabulary."""

from __future__ import annotations

import re

from .sampling import _RELATION_NAMES
from .scenes import (
    CANVAS,
    COLOURS,
    COUNT_WORDS,
    NESTED_INNER_RADIUS,
    NESTED_OUTER_RADIUS,
    PLURALS,
    RELATIONS,
    SHAPES,
    SIZES,
    Relation,
    Scene,
    ShapeObject,
)

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
