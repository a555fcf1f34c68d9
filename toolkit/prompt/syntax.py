"""What both parser back ends share: the words of a prompt, and a draft tree over word indices.

A back end (constituency or dependency) reads a parse and returns a :class:`DraftTree`: entities as word
indices (the head noun's name words, each attribute's words, the enclosing entity). The front end
(:mod:`attnmod.toolkit.prompt.parse`) turns a draft into the public :class:`~attnmod.toolkit.prompt.tree.PromptTree`
with character spans and token positions. Keeping the draft in word indices lets the two back ends be compared
word for word and lets the constituency builder run on hand-written trees with no model at all.

The word lists live in :mod:`attnmod.toolkit.prompt.words`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .words import (
    CONTAINER_NOUNS,
    CONTAINER_SUFFIXES,
    CONTRAST_OPENERS,
    CONTRAST_PHRASES,
    FRAMING_NOUNS,
    IRREGULAR_PLURALS,
    STYLE_SEGMENT_OPENERS,
    STYLE_TAG_FORMS,
    STYLE_TAG_NOUNS,
    TIME_NOUNS,
    UNCHANGED_PLURALS,
    style_word,
)

_ARTICLES = frozenset({"a", "an", "the"})
_PROPER_TAGS = frozenset({"NNP", "NNPS"})
# Adjectives, adverbs and participles: "highly detailed", "cinematic", "moody" as a tag of their own.
_DESCRIBING_TAGS = frozenset({"JJ", "JJR", "JJS", "RB", "RBR", "RBS", "VBN", "VBG"})
# An opening "An oil painting," or "Photo," before a comma: articles, adjectives, nouns and numbers only.
_FRAMING_PHRASE_TAGS = frozenset({"DT", "JJ", "JJR", "JJS", "NN", "NNS", "NNP", "NNPS", "CD", "VBN", "RB"})


def contrasted(lowers, start: int) -> bool:
    """Whether the noun phrase whose first word is ``lowers[start]`` is the denied side of a contrast: "a zebra,
    not a horse", "a goose but not swans" ("not" opening the phrase or just before it, after a comma or a
    coordinator), "a horse instead of a zebra", "a mug rather than a cup" (:data:`~attnmod.toolkit.prompt.words.
    CONTRAST_PHRASES`). ``lowers`` the prompt's words in lower case."""
    if start < len(lowers) and lowers[start] == "not":
        start += 1
    if start >= 2 and lowers[start - 1] == "not":
        return lowers[start - 2] in CONTRAST_OPENERS
    return start >= 2 and (lowers[start - 2], lowers[start - 1]) in CONTRAST_PHRASES


def is_container(lemma: str) -> bool:
    """A container that holds what is in it: a :data:`~attnmod.toolkit.prompt.words.CONTAINER_NOUNS` word, or a
    compound written as one word that ends in one of the plainest ("shoebox", "lunchbox", "fishbowl":
    :data:`~attnmod.toolkit.prompt.words.CONTAINER_SUFFIXES`)."""
    if lemma in CONTAINER_NOUNS:
        return True
    return any(lemma.endswith(suffix) and len(lemma) - len(suffix) >= 3 for suffix in CONTAINER_SUFFIXES)


def noun_lemma(word: str, tag: str = "NN") -> str:
    """Lower-case singular of a noun: spaCy's lemma when available; this rule set for hand-written trees.

    Only plural tags (``NNS``, ``NNPS``) are singularised: ``-ies`` -> ``-y``, ``-(s|x|z|ch|sh)es`` -> drop
    ``es``, ``-s`` -> drop ``s``, with a table of irregular plurals.
    """
    lower = word.lower()
    if tag not in ("NNS", "NNPS") or lower in UNCHANGED_PLURALS:
        return lower
    if lower in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[lower]
    if lower.endswith("ies") and len(lower) > 4:
        return lower[:-3] + "y"
    if lower.endswith(("sses", "shes", "ches", "xes", "zes")):
        return lower[:-2]
    if lower.endswith("s") and not lower.endswith("ss") and len(lower) > 2:
        return lower[:-1]
    return lower


@dataclasses.dataclass(frozen=True)
class Word:
    """One token of the prompt as a parser saw it: its characters ``[start, end)`` in the prompt."""

    text: str
    start: int
    end: int
    tag: str = ""  # Penn Treebank tag (NN, JJ, ...)
    lemma: str = ""

    @property
    def lower(self) -> str:
        return self.text.lower()


NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})


def word_from_token(token, nominal: bool = False) -> Word:
    """The :class:`Word` of a spaCy token, shared by every parser back end so that lemmas follow one rule.

    The lemma is spaCy's, lower-cased, except for a token the parser reads as a noun although spaCy did not tag it
    one (``nominal``): spaCy's lemma is then the verb's ("rose" -> "rise"), so the noun rule of :func:`noun_lemma`
    is used; without any spaCy lemma (a pipeline with no lemmatizer) the noun rule applies too.
    """
    if nominal and not (token.pos_ in ("NOUN", "PROPN") and token.lemma_):
        tag = token.tag_ if token.tag_ in NOUN_TAGS else "NNS" if token.lower_ in IRREGULAR_PLURALS else "NN"
        lemma = noun_lemma(token.text, tag)
    elif token.lemma_:
        lemma = token.lemma_.lower()
    else:
        lemma = noun_lemma(token.text, token.tag_)
    return Word(text=token.text, start=token.idx, end=token.idx + len(token.text), tag=token.tag_, lemma=lemma)


@dataclasses.dataclass
class DraftEntity:
    """An entity as word indices: ``name`` the head noun with the nouns that name it with it ("wine glass"),
    ``attributes`` one word-index tuple per attribute, ``parent`` an index into the draft's entity list, ``absent``
    whether the prompt negates it."""

    name: tuple[int, ...]
    attributes: list[tuple[int, ...]] = dataclasses.field(default_factory=list)
    parent: int | None = None
    absent: bool = False  # negated: "without oranges", "no cars"

    @property
    def head(self) -> int:
        return self.name[-1]


@dataclasses.dataclass
class DraftTree:
    """What a back end found: entities over ``words``, framing phrases (style) and warnings."""

    words: list[Word]
    entities: list[DraftEntity] = dataclasses.field(default_factory=list)
    style: list[tuple[int, ...]] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def add_entity(self, name: tuple[int, ...], parent: int | None) -> int:
        self.entities.append(DraftEntity(name=tuple(sorted(name)), parent=parent))
        return len(self.entities) - 1

    def bind(self, entity: int, words: tuple[int, ...]) -> None:
        """Bind an attribute to an entity once, whatever route (prenominal, predicative) found it."""
        words = tuple(sorted(words))
        taken = {w for a in self.entities[entity].attributes for w in a}
        if words and not taken.intersection(words):
            self.entities[entity].attributes.append(words)

    def hold(self, holder: int, held: int) -> None:
        """``holder`` contains ``held``: it takes ``held``'s place in the tree and ``held`` nests under it.

        Both back ends first nest by the words ("a fish in a bowl" hangs the bowl from the fish, "the dog's collar"
        the dog from the collar) and then turn the pair round where a container or an owner holds the other.
        """
        if holder == held:
            return
        if self.entities[holder].parent == held:
            self.entities[holder].parent = self.entities[held].parent
        self.entities[held].parent = holder

    def summary(self) -> list[tuple[str, list[str], str | None]]:
        """(name, attributes, parent name) per entity: a compact form for comparing back ends."""
        out = []
        for entity in self.entities:
            parent = None if entity.parent is None else self.text(self.entities[entity.parent].name)
            out.append((self.text(entity.name), [self.text(a) for a in entity.attributes], parent))
        return out

    def text(self, indices: tuple[int, ...]) -> str:
        return " ".join(self.words[i].text for i in indices)


def spatial_parent(related: int | None, parent_of, contained, absent=lambda e: False) -> int | None:
    """The parent of an object that stands in a spatial relation to entity ``related``: ``related``'s sibling.

    Climbs from ``related`` past parents that merely wear, hold or consist of it, and stops at a container: when
    ``related`` is ``contained`` (reached through "with", or itself placed inside a container), the object is in
    the same container ("a room with a lamp next to a bed": the bed is in the room); otherwise the object is a
    sibling of ``related``'s parent in turn ("a man in a suit standing next to a car": the car is the man's sibling,
    whether the parser hangs "standing" from the man or from the suit). ``parent_of(e)`` and ``contained(e)``
    describe entities already placed. An ``absent`` entity is no place and holds no container's contents: "a
    sailboat with no sails on a calm sea" relates the sea to the sailboat, so the sea is the sailboat's sibling.
    """
    seen: set[int] = set()
    while related is not None and related not in seen:
        seen.add(related)
        parent = parent_of(related)
        if parent is None or (contained(related) and not absent(related)):
            return parent
        related = parent
    return None


def draft_spatial_parent(draft, related: int | None, contained: set[int]) -> int | None:
    """:func:`spatial_parent` over a draft's placed entities (an absent one is no place)."""
    entities = draft.entities
    return spatial_parent(related, lambda e: entities[e].parent, contained.__contains__, lambda e: entities[e].absent)


def framing_units(words: list[Word]) -> list[tuple[int, ...]]:
    """Word-index runs that spell a multi-word framing noun: "close-up", "close up".

    Tokenisers split "close-up" three ways; parsers then call "close" or "up" the head. Finding the run in the
    words keeps the decision out of the parse.
    """
    units = []
    lowers = [w.lower for w in words]
    i = 0
    while i < len(lowers):
        if lowers[i] == "close" and i + 2 < len(lowers) and lowers[i + 1] == "-" and lowers[i + 2] == "up":
            units.append((i, i + 1, i + 2))
            i += 3
            continue
        if lowers[i] == "close" and i + 1 < len(lowers) and lowers[i + 1] in ("up", "-up"):
            units.append((i, i + 1))
            i += 2
            continue
        if lowers[i] in ("close-up", "closeup"):
            units.append((i,))
        i += 1
    return units


def style_segments(words: list[Word]) -> list[tuple[int, ...]]:
    """Word-index runs that are style tags: the comma-separated segments after the first that hold no article and
    either start with an artist or site credit (:data:`~attnmod.toolkit.prompt.words.STYLE_SEGMENT_OPENERS`:
    "by Studio Ghibli", "trending on artstation"), are a credit without "by" (proper nouns in title case alone: "...,
    Makoto Shinkai", "..., Hokusai": in a tag list a bare name credits the artist, it is not in the picture) or
    hold a style word
    (:func:`~attnmod.toolkit.prompt.style_words.style_word`: "soft light", "shallow depth of field", "85mm lens",
    "f/1.8", "kodak portra 400", "octane render", "soft shadows", "eerie atmosphere", "horror") or end with a framing
    noun ("studio photo", "pixel art") or a time of day ("golden hour").

    The first segment is style when it is only a framing noun and its modifiers ("An oil painting, a bowl of fruit"),
    or, with no article, a style word and its modifiers ("masterpiece, best quality, a cat on a windowsill").
    A segment of adjectives and adverbs alone after a segment that ended in a noun ("a lighthouse on a rock, moody,
    dark clouds", "..., highly detailed"; after a tag also "..., grainy", which the tagger calls a noun) is a tag too.
    No segment after an adjective is a tag (unless that adjective was one): the comma separates the modifiers of one
    noun ("a rusty, old, abandoned truck", "a green, yellow and red traffic light").

    Read from the words alone, like :func:`framing_units`, so that both back ends take the same decision whatever
    the parse: a tag after a comma is never an object, never an attribute, and never the word a phrase hangs from.
    """
    segments: list[list[int]] = [[]]
    for k, word in enumerate(words):
        if word.text == ",":
            segments.append([])
        else:
            segments[-1].append(k)
    found = []
    opening = [k for k in segments[0] if any(ch.isalnum() for ch in words[k].text)]
    if (
        len(segments) > 1
        and opening
        and all(words[k].tag in _FRAMING_PHRASE_TAGS for k in opening)
        and (
            words[opening[-1]].lower in FRAMING_NOUNS
            # "masterpiece, best quality, a cat on a windowsill": tags first
            or (
                not any(words[k].lower in _ARTICLES for k in opening)
                and any(words[k].lower in STYLE_TAG_NOUNS or words[k].lemma in STYLE_TAG_NOUNS for k in opening)
            )
        )
    ):
        # "An oil painting, a bowl of fruit on a table": the picture's kind (its article is no part of the style)
        found.append(tuple(k for k in opening if words[k].tag != "DT"))
    for previous, segment in zip(segments, segments[1:], strict=False):
        content = [k for k in segment if any(ch.isalnum() for ch in words[k].text)]
        if not content or any(words[k].lower in _ARTICLES for k in content):
            continue
        ended = [k for k in previous if any(ch.isalnum() for ch in words[k].text)]
        after_tag = bool(ended) and ended[-1] in {k for unit in found for k in unit}
        if ended and not after_tag and (words[ended[-1]].tag in _DESCRIBING_TAGS or words[ended[-1]].tag == "DT"):
            continue  # "a green, yellow and red traffic light", "a big, soft light": the phrase goes on
        if (
            ended
            and (words[ended[-1]].tag in NOUN_TAGS or after_tag)
            # "..., kodak portra 400, grainy": a look adjective the tagger called a noun is one too
            and all(words[k].tag in _DESCRIBING_TAGS or words[k].lower in STYLE_TAG_FORMS for k in content)
        ):
            found.append(tuple(content))  # "a lighthouse on a rock, moody, ...": a look, after a closed phrase
            continue
        lowers = [words[k].lower for k in content]
        if len(content) > 1 and lowers[0] in STYLE_SEGMENT_OPENERS:
            found.append(tuple(content))
            continue
        if all(words[k].tag in _PROPER_TAGS and words[k].text[:1].isupper() for k in content):
            found.append(tuple(content))  # "..., Makoto Shinkai, ...", "..., Hokusai": a credit with no "by"
            continue
        styled = any(style_word(lower, words[k].lemma) for k, lower in zip(content, lowers, strict=True))
        # a framing noun or a time of day ends the tag ("studio photo", "golden hour"; not "spring flowers")
        if styled or lowers[-1] in FRAMING_NOUNS or lowers[-1] in TIME_NOUNS:
            found.append(tuple(content))
    return found


def resolve_parents(links: dict[int, tuple[int | None, bool, bool]], absent=lambda e: False) -> dict[int, int | None]:
    """Each entity's parent from its (governor, spatial link, "with" link): the governor, or, through a spatial
    link, the governor's sibling place (:func:`spatial_parent`: "a cat on a table
    next to a lamp" gives three top-level entities, "a room with a lamp next to a bed" puts the bed in the room)."""
    parents: dict[int, int | None] = {}
    contained: dict[int, bool] = {}

    def resolve(entity: int) -> int | None:
        if entity in parents:
            return parents[entity]
        governor, spatial, with_link = links.get(entity, (None, False, False))
        parents[entity], contained[entity] = None, False  # a cycle reads as the top level
        if spatial:
            parent = spatial_parent(governor, resolve, lambda e: contained.get(e, False), absent)
            parents[entity], contained[entity] = parent, parent is not None
        else:
            parents[entity], contained[entity] = governor, with_link and governor is not None
        return parents[entity]

    for entity in links:
        resolve(entity)
    return parents


# "every evening", "each morning": a time that recurs (round 10)
RECURRING_DETERMINERS = frozenset({"every", "each"})


def recurring_time(words: Sequence[Word]) -> bool:
    """ "feeds stray cats every evening": "every" or "each", adjectives at most, then a time noun ("morning",
    "evening", :data:`~attnmod.toolkit.prompt.words.TIME_NOUNS`): when it happens, not an object (round 10)."""
    if len(words) < 2 or words[0].lower not in RECURRING_DETERMINERS or words[-1].tag not in NOUN_TAGS:
        return False
    last = words[-1]
    return (last.lemma or noun_lemma(last.text, last.tag)) in TIME_NOUNS and all(w.tag == "JJ" for w in words[1:-1])
