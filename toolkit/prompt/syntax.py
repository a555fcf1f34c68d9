"""What both parser back ends share: the words of a prompt, a draft tree over word indices, and the word lists.

A back end (constituency or dependency) reads a parse and returns a :class:`DraftTree`: entities as word
indices (the head noun's name words, each attribute's words, the enclosing entity). The front end
(:mod:`attnmod.toolkit.prompt.parse`) turns a draft into the public :class:`~attnmod.toolkit.prompt.tree.PromptTree`
with character spans and token positions. Keeping the draft in word indices lets the two back ends be compared
word for word and lets the constituency builder run on hand-written trees with no model at all.

The word lists encode the decisions of issue 3: framing nouns ("a photo of") and relational nouns in locative
phrases ("on top of") are not entities, colour/material/shape nouns used as modifiers are attributes, pronouns are
not entities, and an object reached through a spatial relation ("to the left of", "next to", "on") is a sibling of
the object it relates to, not a part of it (:data:`SPATIAL_WORDS`).
"""

from __future__ import annotations

import dataclasses

# "a photo of X": the noun frames the picture; X is what the image shows. Recorded as the prompt's style.
FRAMING_NOUNS = frozenset(
    {
        "photo",
        "photograph",
        "picture",
        "image",
        "painting",
        "drawing",
        "sketch",
        "illustration",
        "render",
        "rendering",
        "close-up",
        "closeup",
        "shot",
        "snapshot",
        "portrait",
        "depiction",
        "artwork",
        "watercolor",
        "watercolour",
        "photography",
        "view",
        "scene",
        "cartoon",
        "selfie",
    }
)

# Nouns that name a place relative to another object ("on top of", "in front of", "to the left of"): not entities
# when they head the object of a preposition.
RELATIONAL_NOUNS = frozenset(
    {
        "top",
        "front",
        "side",
        "back",
        "middle",
        "left",
        "right",
        "bottom",
        "center",
        "centre",
        "edge",
        "corner",
        "rear",
        "underside",
        "inside",
        "outside",
        "behind",
        "foreground",
        "background",
        "midst",
        "surface",
        "end",
        "rest",
        "direction",
    }
)

# Words that make a phrase a spatial relation between two separate objects ("a cat to the left of a dog",
# "a lamp next to a bed", "a cat on a table", "a ring above a cross"). An entity reached from another through such a
# phrase is the other's sibling (it takes the other's parent), never its child: nesting means "part of, worn by,
# held by, inside", and the scorer and the masking treat a child as lying inside its parent's region. Matched
# against the words that link the two nouns (prepositions, adverbs, the relational noun of "to the left of"), never
# against the nouns themselves. Deliberately absent, so that they keep nesting: "with", "of" ("the handle of a
# cup", "a bowl of apples"), "in", "inside", "within", "into" ("a girl in a yellow dress": containment and
# clothing), and participles ("wearing", "holding", "riding"). "on" is spatial: "a cat on a table" names two objects
# ("a hat on a man" then also gives siblings, which is closer to the picture than the man nested inside the hat).
SPATIAL_WORDS = frozenset(
    {
        # prepositions and adverbs: "above a cross", "next to a bed", "across from a fountain"
        "above",
        "below",
        "under",
        "underneath",
        "beneath",
        "over",
        "atop",
        "on",
        "onto",
        "upon",
        "beside",
        "alongside",
        "along",
        "near",
        "nearby",
        "next",
        "close",
        "adjacent",
        "far",
        "away",
        "behind",
        "opposite",
        "across",
        "between",
        "among",
        "amongst",
        "amid",
        "around",
        "against",
        "beyond",
        "outside",
        "inside",
        "within",
        "toward",
        "towards",
        "past",
        "by",
        "at",
        # relational nouns of "to the left of", "in front of", "on top of", "in the middle of"
        "left",
        "right",
        "top",
        "bottom",
        "front",
        "back",
        "rear",
        "side",
        "middle",
        "center",
        "centre",
        "edge",
        "corner",
        "end",
        "underside",
        "foreground",
        "background",
        "midst",
    }
)

# "a lot of cats": quantity words whose "of" object is the entity.
QUANTITY_NOUNS = frozenset(
    {
        "lot",
        "lots",
        "couple",
        "number",
        "pair",
        "dozen",
        "handful",
        "plenty",
        "variety",
        "kind",
        "type",
        "sort",
        "few",
        "amount",
        "bunch",
    }
)

COLOUR_WORDS = frozenset(
    {
        "red",
        "blue",
        "green",
        "yellow",
        "orange",
        "purple",
        "pink",
        "brown",
        "black",
        "white",
        "gray",
        "grey",
        "violet",
        "indigo",
        "cyan",
        "magenta",
        "turquoise",
        "teal",
        "beige",
        "maroon",
        "navy",
        "gold",
        "golden",
        "silver",
        "bronze",
        "copper",
        "crimson",
        "scarlet",
        "lavender",
        "lilac",
        "olive",
        "tan",
        "ivory",
        "cream",
        "khaki",
        "amber",
        "emerald",
        "ruby",
        "coral",
        "peach",
        "mint",
        "aqua",
        "rainbow",
    }
)

# Nouns that, in front of another noun, describe what it is made of or what shape it has ("a brick wall",
# "a teardrop pendant"): attributes, not part of the object's name.
MATERIAL_WORDS = frozenset(
    {
        "wood",
        "wooden",
        "glass",
        "plastic",
        "metal",
        "metallic",
        "rubber",
        "leather",
        "fabric",
        "stone",
        "brick",
        "paper",
        "steel",
        "iron",
        "marble",
        "wool",
        "woolen",
        "woollen",
        "cotton",
        "silk",
        "ceramic",
        "porcelain",
        "concrete",
        "clay",
        "diamond",
        "crystal",
        "velvet",
        "denim",
        "felt",
        "cardboard",
        "bamboo",
        "wicker",
        "straw",
        "lace",
        "fur",
        "furry",
        "fluffy",
        "aluminum",
        "aluminium",
        "tin",
        "titanium",
        "granite",
        "wax",
        "ice",
        "jade",
        "linen",
        "nylon",
        "suede",
        "teardrop",
        "heart",
        "star",
    }
)

# Shape and size words taggers often call nouns before another noun ("an oval sink", "a pyramidal trophy").
SHAPE_WORDS = frozenset(
    {
        "oval",
        "round",
        "square",
        "circular",
        "rectangular",
        "triangular",
        "pyramidal",
        "spherical",
        "cubic",
        "cylindrical",
        "conical",
        "oblong",
        "pentagonal",
        "hexagonal",
        "octagonal",
        "elliptical",
        "crescent",
        "big",
        "small",
        "large",
        "tiny",
        "huge",
        "tall",
        "short",
        "long",
    }
)

ATTRIBUTE_NOUNS = COLOUR_WORDS | MATERIAL_WORDS | SHAPE_WORDS

COPULA_LEMMAS = frozenset({"be", "look", "seem", "appear", "become", "remain", "stay", "get", "turn"})

PRONOUNS = frozenset(
    {
        "i",
        "me",
        "you",
        "he",
        "him",
        "she",
        "her",
        "it",
        "we",
        "us",
        "they",
        "them",
        "this",
        "that",
        "these",
        "those",
        "who",
        "whom",
        "which",
        "what",
        "one",
        "ones",
        "someone",
        "somebody",
        "something",
        "anyone",
        "anybody",
        "anything",
        "everyone",
        "everybody",
        "everything",
        "nobody",
        "nothing",
        "itself",
        "himself",
        "herself",
        "themselves",
        "myself",
        "yourself",
        "each",
        "other",
    }
)

# Irregular plurals a rule cannot guess; the dependency back end uses spaCy's lemmatiser instead.
_IRREGULAR_PLURALS = {
    "men": "man",
    "women": "woman",
    "children": "child",
    "people": "person",
    "mice": "mouse",
    "geese": "goose",
    "teeth": "tooth",
    "feet": "foot",
    "oxen": "ox",
    "knives": "knife",
    "wives": "wife",
    "leaves": "leaf",
    "wolves": "wolf",
    "shelves": "shelf",
    "loaves": "loaf",
    "calves": "calf",
    "halves": "half",
    "scarves": "scarf",
    "lives": "life",
    "thieves": "thief",
    "dice": "die",
    "cacti": "cactus",
    "fungi": "fungus",
}
_UNCHANGED_PLURALS = frozenset(
    {"sheep", "deer", "fish", "moose", "bison", "glasses", "scissors", "pants", "jeans", "shorts", "series", "species"}
)


def noun_lemma(word: str, tag: str = "NN") -> str:
    """Lower-case singular of a noun: spaCy's lemma when available; this rule set for hand-written trees.

    Only plural tags (``NNS``, ``NNPS``) are singularised: ``-ies`` -> ``-y``, ``-(s|x|z|ch|sh)es`` -> drop
    ``es``, ``-s`` -> drop ``s``, with a table of irregular plurals.
    """
    lower = word.lower()
    if tag not in ("NNS", "NNPS") or lower in _UNCHANGED_PLURALS:
        return lower
    if lower in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[lower]
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
        lemma = noun_lemma(token.text, token.tag_ if token.tag_ in NOUN_TAGS else "NN")
    elif token.lemma_:
        lemma = token.lemma_.lower()
    else:
        lemma = noun_lemma(token.text, token.tag_)
    return Word(text=token.text, start=token.idx, end=token.idx + len(token.text), tag=token.tag_, lemma=lemma)


@dataclasses.dataclass
class DraftEntity:
    """An entity as word indices: ``name`` the head noun with the nouns that name it with it ("wine glass"),
    ``attributes`` one word-index tuple per attribute, ``parent`` an index into the draft's entity list."""

    name: tuple[int, ...]
    attributes: list[tuple[int, ...]] = dataclasses.field(default_factory=list)
    parent: int | None = None

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

    def summary(self) -> list[tuple[str, list[str], str | None]]:
        """(name, attributes, parent name) per entity: a compact form for comparing back ends."""
        out = []
        for entity in self.entities:
            parent = None if entity.parent is None else self.text(self.entities[entity.parent].name)
            out.append((self.text(entity.name), [self.text(a) for a in entity.attributes], parent))
        return out

    def text(self, indices: tuple[int, ...]) -> str:
        return " ".join(self.words[i].text for i in indices)


def spatial_parent(related: int | None, parent_of, contained) -> int | None:
    """The parent of an object that stands in a spatial relation to entity ``related``: ``related``'s sibling.

    Climbs from ``related`` past parents that merely wear, hold or consist of it, and stops at a container: when
    ``related`` is ``contained`` (reached through "with", or itself placed inside a container), the object is in
    the same container ("a room with a lamp next to a bed": the bed is in the room); otherwise the object is a
    sibling of ``related``'s parent in turn ("a man in a suit standing next to a car": the car is the man's sibling,
    whether the parser hangs "standing" from the man or from the suit). ``parent_of(e)`` and ``contained(e)``
    describe entities already placed.
    """
    seen: set[int] = set()
    while related is not None and related not in seen:
        seen.add(related)
        parent = parent_of(related)
        if parent is None or contained(related):
            return parent
        related = parent
    return None


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
