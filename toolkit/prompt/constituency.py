"""The constituency back end: a draft entity tree from Penn-Treebank-style constituency trees.

benepar emits ``nltk.Tree`` objects (``(NP (DT a) (JJ red) (NN car))``); this builder reads any such tree, so it
is tested on hand-written bracketed parses with no model at all. Leaves are matched to words by order.

How a tree becomes entities:

* A noun phrase whose children are words (a *base* NP) names one entity per coordinated segment: the last noun
  is the head, the nouns directly before it name the object with it ("wine glass") unless they are colour or
  material words ("brick wall"), and adjectives, participles, numerals and colour/material nouns before the head
  are its attributes. Coordinated adjectives ("red and white striped") stay in the segment of the noun after them.
* An NP made of NPs is either a coordination (two or more segments holding a noun, split at ``CC`` and commas:
  siblings) or a head NP followed by modifiers (``PP``, ``VP``, ``SBAR``): the modifiers' entities nest under
  the head entity, and a relative clause with a copula ("that is red") adds predicative attributes to it. A
  spatial phrase (a ``PP``/``ADVP``/``ADJP`` that starts with a word of ``SPATIAL_WORDS``, "above", "on", "next",
  or whose object is such a relational noun, "to the left of", "in front of") relates two separate objects: its
  entities become siblings of the modified entity instead of nesting under it (``spatial_parent``: past a wearer,
  holder or whole, into a "with" container).
* A framing noun followed by "of" ("a photo of") is style, a relational noun as object of a preposition or before
  "of" ("on top of", "to the left of") and a quantity noun before "of" ("a lot of") are not entities: what they
  govern moves up to the enclosing entity. Pronouns are not entities.
* In a clause (``S -> NP VP``) the subject governs the predicate's entities ("a man rides a horse"), and a copula
  with an adjective ("the car is red") gives the subject an attribute.
* Negation (:mod:`attnmod.toolkit.prompt.constituency_negation`): what "without", "no", "neither" or "not a" governs
  is absent, and so are the later conjuncts of a list the negation reaches ("no gondolas or barges").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .constituency_clauses import ATTRIBUTE_TAGS, GRADING_TAGS, NP_LABELS, _ClauseBuilder
from .constituency_negation import negating, negating_verb, spread_negation
from .possessive_pronouns import nest_possessed
from .syntax import (
    DraftTree,
    Word,
    contrasted,
    draft_spatial_parent,
    framing_units,
    is_container,
    noun_lemma,
    recurring_time,
    style_segments,
)
from .words import (
    ATTRIBUTE_NOUNS,
    CONTAINMENT_WORDS,
    FRAMING_NOUNS,
    JOINING_ADVERBS,
    LIGHT_NOUNS,
    LIGHT_PREPOSITIONS,
    MATERIAL_PARTICIPLES,
    MATERIAL_PREPOSITIONS,
    NEGATION_PREPOSITIONS,
    PLACE_NOUNS,
    PRONOUNS,
    QUANTITY_NOUNS,
    RELATIONAL_NOUNS,
    SPATIAL_WORDS,
    TIME_NOUNS,
    TIME_PREPOSITIONS,
    style_word,
)

NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
_GRADING_COMPARATIVES = frozenset({"more", "less", "most", "least"})
SPLIT_TAGS = frozenset({"CC", "CONJP", ",", ":"})
# Phrases that can state a spatial relation: "(PP (IN above) ...)", "(ADVP (JJ next) (PP (TO to) ...))".
RELATION_LABELS = frozenset({"PP", "ADVP", "ADJP"})
FLATTEN_LABELS = frozenset({"NML", "NX", "NAC", "ADJP", "QP"})
_PTB_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LCB-": "{", "-RCB-": "}", "-LSB-": "[", "-RSB-": "]"}


@dataclasses.dataclass
class _Node:
    """A constituent: ``label`` without function tags, children, or (for a preterminal) its word index."""

    label: str
    children: list[_Node] = dataclasses.field(default_factory=list)
    word: int | None = None

    @property
    def is_word(self) -> bool:
        return self.word is not None


def _base_label(label: str) -> str:
    # "NP-SBJ", "NP=2", "-NONE-": keep the category only.
    if label.startswith("-"):
        return label
    return label.split("-")[0].split("=")[0]


def _convert(tree, counter: list[int]) -> _Node:
    from nltk import Tree

    label = _base_label(tree.label()) if isinstance(tree, Tree) else ""
    if isinstance(tree, Tree) and len(tree) == 1 and not isinstance(tree[0], Tree):
        index = counter[0]
        counter[0] += 1
        return _Node(label=label, word=index)
    return _Node(label=label, children=[_convert(child, counter) for child in tree if isinstance(child, Tree)])


def words_from_tree(tree, prompt: str | None = None) -> tuple[str, list[Word]]:
    """Words for a hand-written tree: leaves located in ``prompt`` in order (or ``prompt`` built from the leaves).

    Tags come from the preterminals; noun lemmas from :func:`~attnmod.toolkit.prompt.syntax.noun_lemma`.
    """
    leaves = [_PTB_ESCAPES.get(leaf, leaf) for leaf in tree.leaves()]
    tags = [tag for _, tag in tree.pos()]
    if prompt is None:
        prompt = " ".join(leaves)
    words = []
    cursor = 0
    for leaf, tag in zip(leaves, tags, strict=True):
        found = prompt.find(leaf, cursor)
        if found < 0:
            raise ValueError(f"leaf {leaf!r} not found in the prompt after character {cursor}")
        words.append(Word(text=leaf, start=found, end=found + len(leaf), tag=tag, lemma=noun_lemma(leaf, tag)))
        cursor = found + len(leaf)
    return prompt, words


def build_from_constituency(trees, words: Sequence[Word]) -> DraftTree:
    """Read one tree (or one per sentence, in order) whose leaves are ``words`` into a :class:`DraftTree`.

    Preterminal labels are read as Penn Treebank tags when the words carry none.
    """
    from nltk import Tree

    if isinstance(trees, Tree):
        trees = [trees]
    counter = [0]
    roots = [_convert(tree, counter) for tree in trees]
    if counter[0] != len(words):
        raise ValueError(f"the trees have {counter[0]} leaves but there are {len(words)} words")
    tags = [tag for tree in trees for _, tag in tree.pos()]
    words = [w if w.tag else dataclasses.replace(w, tag=tag) for w, tag in zip(words, tags, strict=True)]
    builder = _Builder(DraftTree(words=list(words)))
    for root in roots:
        builder.visit(root, parent=None)
    nest_possessed(builder.draft)  # "an elephant and her calf": the calf is the elephant's
    return builder.draft


class _Builder(_ClauseBuilder):
    def __init__(self, draft: DraftTree):
        self.draft = draft
        self.words = draft.words
        units = framing_units(self.words)
        self.framing_words = {k for unit in units for k in unit}
        self.draft.style.extend(units)
        segments = style_segments(self.words)  # "..., 85mm lens, trending on artstation"
        self.style_words = {k for segment in segments for k in segment}
        self.draft.style.extend(segments)
        # The kind of phrase being walked between a modified entity and the next entity: "spatial" (the parent was
        # already moved up: "next" in "(ADVP (JJ next) (PP (TO to) ...))" moves it once, not once per phrase),
        # "with" (the next entity is inside the modified one) or None.
        self._link: str | None = None
        # Entities inside a container: reached through "with", or placed in one by a spatial phrase.
        self._contained: set[int] = set()
        # The preposition of the PP or the verb of the VP being walked ("in" for "a boy in a raincoat ...", "wearing"
        # for "a fox wearing a scarf ..."), or None.
        self._preposition: str | None = None
        self._negated = False  # walking a VP inside a negated one ("is not [wearing a collar]")

    # -- helpers over words ------------------------------------------------------------------------------------
    def _tag(self, node: _Node) -> str:
        return self.words[node.word].tag or node.label

    def _is_noun(self, node: _Node) -> bool:
        return (
            node.is_word
            and (self._tag(node) in NOUN_TAGS or node.word in self.framing_words)
            and any(ch.isalpha() for ch in self.words[node.word].text)
        )

    def _lemma(self, index: int) -> str:
        word = self.words[index]
        if index in self.framing_words:
            return "close-up"
        return word.lemma or noun_lemma(word.text, word.tag)

    def _flatten(self, nodes: list[_Node]) -> list[_Node]:
        """Preterminals of a base NP, opening nested nominal, adjective and quantity phrases."""
        flat: list[_Node] = []
        for node in nodes:
            if node.is_word:
                flat.append(node)
            elif node.label in FLATTEN_LABELS or node.label in NP_LABELS:
                flat.extend(self._flatten(node.children))
        return flat

    def _contains_noun(self, nodes: list[_Node]) -> bool:
        return any(self._is_noun(n) for n in self._flatten(nodes)) or any(
            not n.is_word and n.label in NP_LABELS for n in nodes
        )

    @staticmethod
    def _split(nodes: list[_Node], is_separator) -> list[list[_Node]]:
        segments: list[list[_Node]] = [[]]
        for node in nodes:
            if is_separator(node):
                segments.append([])
            else:
                segments[-1].append(node)
        return [s for s in segments if s]

    def _segments(self, nodes: list[_Node]) -> list[list[_Node]]:
        """Coordinated segments: split at CC and commas; a segment without a noun (adjectives before "and",
        a trailing relative clause after a comma) joins its neighbour."""
        parts = self._split(nodes, lambda n: n.is_word and self._tag(n) in SPLIT_TAGS or n.label == "CONJP")
        merged: list[list[_Node]] = []
        pending: list[_Node] = []
        for part in parts:
            if self._contains_noun(part):
                merged.append(pending + part)
                pending = []
            elif merged and not all(n.is_word and self._tag(n) in ATTRIBUTE_TAGS | {"DT", "RB"} for n in part):
                merged[-1] = merged[-1] + part  # "a car, which is red": the clause stays with its noun
            else:
                pending.extend(part)
        if pending:
            if merged:
                merged[-1] = merged[-1] + pending
            else:
                merged.append(pending)
        return merged

    # -- the walk ----------------------------------------------------------------------------------------------
    def visit(self, node: _Node, parent: int | None, in_pp: bool = False, before_of: bool = False) -> list[int]:
        """Add the entities under ``node`` (nested under ``parent``); return those at this node's level."""
        if node.is_word:
            return []
        if all(leaf.word in self.style_words for leaf in self._flatten_all(node)):
            return []  # a style tag after a comma: no object, and nothing hangs from it
        if (
            node.label == "PP"
            and self._first_word(node) in TIME_PREPOSITIONS
            and self._object_lemma(node) in TIME_NOUNS
            and len([c for c in node.children if not c.is_word]) == 1
        ):
            return []  # "an owl at night", "a park in autumn": a time, not an object
        if node.label in NP_LABELS and recurring_time([self.words[leaf.word] for leaf in self._flatten_all(node)]):
            return []  # "every evening": a time, not an object
        if (
            node.label == "PP"
            and self._first_word(node) in LIGHT_PREPOSITIONS
            and self._object_lemma(node) in LIGHT_NOUNS
            and len([c for c in node.children if not c.is_word]) == 1
        ):
            # "in the morning light": the light the picture is in, style
            words = [n.word for n in self._flatten_all(node)[1:] if self._tag(n) not in ("DT", "PRP$")]
            self.draft.style.append(tuple(words))
            return []
        if (
            node.label == "PP"
            and parent is not None
            and self._first_word(node) in CONTAINMENT_WORDS
            and is_container(self._object_lemma(node))
        ):
            # "a fish in a bowl": the bowl takes the fish's place and holds it
            found = self._visit_linked(node, self.draft.entities[parent].parent, "spatial", in_pp=True)
            if found:
                self.draft.hold(found[0], parent)
            return found
        if node.label == "PP" and self._first_word(node) in NEGATION_PREPOSITIONS:
            found = [e for child in node.children for e in self.visit(child, parent, in_pp=True)]  # "without oranges"
            for entity in found:
                self.draft.entities[entity].absent = True
            return found
        if node.label == "SBAR" and node.children and node.children[0].is_word:
            # "... while her dog chases a ball": a subordinate clause's subject stands alone
            return [e for child in node.children for e in self.visit(child, None)]
        if node.label in RELATION_LABELS and self._link != "spatial" and self._is_spatial(node):
            # "a cat to the left of a dog": the dog is the cat's sibling, not its part
            lifted = draft_spatial_parent(self.draft, parent, self._contained)
            return self._visit_linked(node, lifted, "spatial", in_pp, before_of)
        if node.label in NP_LABELS:
            return self._noun_phrase(node.children, parent, in_pp, before_of)
        if node.label == "PP" and self._link is None and self._first_word(node) == "with":
            return self._visit_linked(node, parent, "with", in_pp, before_of)
        if node.label == "PP":
            found = []
            outer, self._preposition = self._preposition, self._first_word(node)
            try:
                for child in node.children:
                    found += self.visit(child, parent, in_pp=True)
            finally:
                self._preposition = outer
            return found
        if node.label in ("S", "SQ", "SINV"):
            return self._clause(node, parent)
        found = []
        outer, outer_negated = self._preposition, self._negated
        # "is not wearing a collar": the objects of a negated verb (in this VP or a VP inside it) are absent
        negated = node.label == "VP" and (self._negated or negating_verb(self.words, node.children, self._flatten_all))
        if node.label == "VP":
            self._preposition = self._first_word(node)  # "wearing" in "a fox wearing a scarf ..."
        try:
            for child in node.children:
                self._negated = negated and child.label == "VP"
                entities = self.visit(child, parent)
                if negated and child.label in NP_LABELS:
                    for entity in entities:
                        self.draft.entities[entity].absent = True
                found += entities
        finally:
            self._preposition, self._negated = outer, outer_negated
        return found

    def _noun_phrase(self, children: list[_Node], parent: int | None, in_pp: bool, before_of: bool) -> list[int]:
        link_word = self._preposition
        has_phrase_child = any(not c.is_word and c.label in NP_LABELS for c in children)
        segments = self._segments(children)
        if len(segments) > 1:
            found = [self._noun_phrase(segment, parent, in_pp, before_of) for segment in segments]
            # "no boats or barges", "neither roses nor tulips": the negation goes on over the list
            spread_negation(self.draft, self.words, children, segments, found, self._opens_with_determiner)
            return [entity for entities in found for entity in entities]
        children = segments[0] if segments else []
        if not has_phrase_child or all(c.is_word or c.label in FLATTEN_LABELS for c in children):
            return self._base(children, parent, in_pp, before_of)
        first = children[0]
        if first.label not in NP_LABELS:
            # determiners or adjectives before an NP ("all the red cars"): read as one base phrase
            head_index = next(i for i, c in enumerate(children) if not c.is_word and c.label in NP_LABELS)
            return self._noun_phrase(
                [*self._flatten(children[:head_index]), *children[head_index].children, *children[head_index + 1 :]],
                parent,
                in_pp,
                before_of,
            )
        rest = children[1:]
        flat_first = self._flatten([first])
        if flat_first and self._tag(flat_first[-1]) == "POS":
            # possessive "the dog's collar": the owner holds what it owns
            owners = self.visit(first, parent)
            owned = self._base(rest, owners[-1] if owners else parent, in_pp, before_of)
            return owned
        followed_by_of = bool(rest) and (self._starts_with_of(rest[0]) or self._depicting(rest[0]))
        heads = self.visit(first, parent, in_pp=in_pp, before_of=followed_by_of)
        governor = heads[-1] if heads else parent
        found = list(heads)
        for child in rest:
            if heads and self._modifier_attributes(child, governor):
                continue
            if child.label == "SBAR" and heads:
                inner = self._relative_clause(child, governor)
            elif heads and parent is not None and not in_pp and self._place_phrase(child):
                # "reads a book in a cozy library": the place is where the verb happens, its subject's
                inner = self._visit_modifier(child, parent)
            elif heads and parent is not None and link_word in ("in", "wearing") and self._participle_phrase(child):
                # "a boy in a yellow raincoat jumping in puddles", "a fox wearing a scarf sitting in the snow": the
                # one in the raincoat jumps, the one wearing the scarf sits
                inner = self._visit_modifier(child, parent)
            else:
                inner = self._visit_modifier(child, governor) if heads else self.visit(child, governor)
            if not heads:
                found += inner  # "a photo of a cat": the cat stands where the photo stood
                if inner and (self._starts_with_of(child) or self._depicting(child)):
                    heads, governor = inner, inner[-1]  # "a photo of a barn in a field": the barn's field
        return found

    def _opens_with_determiner(self, nodes: list[_Node]) -> bool:
        return any(self._tag(n) == "DT" for n in self._flatten(nodes)[:1])

    def _modifier_attributes(self, node: _Node, entity: int) -> bool:
        """Post-nominal phrases that describe ``entity`` rather than add an object: "made of clear glass" binds
        "clear" and "glass" (and is done: True); "bigger than a cat" binds "bigger" and goes on to the cat."""
        flat = self._flatten_all(node)
        if not flat:
            return False
        material = [c for c in node.children if c.label == "PP" and self._first_word(c) in MATERIAL_PREPOSITIONS]
        if node.label == "VP" and self.words[flat[0].word].lower in MATERIAL_PARTICIPLES and material:
            for leaf in self._flatten_all(material[0])[1:]:
                if self._tag(leaf) in ATTRIBUTE_TAGS | NOUN_TAGS:
                    self.draft.bind(entity, (leaf.word,))
            for child in node.children:
                if not child.is_word and child is not material[0]:
                    self._visit_modifier(child, entity)  # "made of marble in a park": the park is the statue's
            return True
        if node.label in ("ADJP", "ADVP") and self._tag(flat[0]) in ("JJR", "JJS", "RBR"):
            graded = len(flat) > 1 and self.words[flat[0].word].lower in _GRADING_COMPARATIVES
            if graded and self._tag(flat[1]) in ("JJ", "VBN"):
                self.draft.bind(entity, (flat[0].word, flat[1].word))  # "more expensive than a house"
            else:
                self.draft.bind(entity, (flat[0].word,))
        return False

    def _visit_modifier(self, node: _Node, entity: int) -> list[int]:
        """Visit a phrase that modifies ``entity``: a spatial phrase in it relates to ``entity`` afresh."""
        return self._visit_linked(node, entity, None)

    def _visit_linked(
        self, node: _Node, parent: int | None, link: str | None, in_pp: bool = False, before_of: bool = False
    ) -> list[int]:
        outer = self._link
        self._link = link
        try:
            return self.visit(node, parent, in_pp, before_of)
        finally:
            self._link = outer

    def _object_lemma(self, node: _Node) -> str:
        """The lemma of the head noun of a PP's object ("in a glass bowl": "bowl"), or ""."""
        objects = [child for child in node.children if child.label in NP_LABELS]
        if not objects:
            return ""
        head = objects[0]
        while head.children and not head.children[0].is_word and head.children[0].label in NP_LABELS:
            head = head.children[0]
        nouns = [n for n in self._flatten(head.children) if self._is_noun(n)]
        return self._lemma(nouns[-1].word) if nouns else ""

    def _is_spatial(self, node: _Node) -> bool:
        """Whether a PP/ADVP/ADJP states a spatial relation: it starts with a word of
        :data:`~attnmod.toolkit.prompt.words.SPATIAL_WORDS` ("above", "on", "next"), or its object is a relational
        noun of that list ("to the left of", "in front of", "in the middle of")."""
        if self._first_word(node) in SPATIAL_WORDS:
            return True
        return node.label == "PP" and self._object_lemma(node) in SPATIAL_WORDS & RELATIONAL_NOUNS

    def _place_phrase(self, node: _Node) -> bool:
        """ "in a cozy library": "in" and a place (:data:`~attnmod.toolkit.prompt.words.PLACE_NOUNS`)."""
        return node.label == "PP" and self._first_word(node) == "in" and self._object_lemma(node) in PLACE_NOUNS

    def _starts_with_of(self, node: _Node) -> bool:
        return node.label == "PP" and self._first_word(node) == "of"

    def _first_word(self, node: _Node) -> str:
        flat = self._flatten_all(node)
        return self.words[flat[0].word].lower if flat else ""

    def _flatten_all(self, node: _Node) -> list[_Node]:
        if node.is_word:
            return [node]
        return [leaf for child in node.children for leaf in self._flatten_all(child)]

    def _base(self, children: list[_Node], parent: int | None, in_pp: bool, before_of: bool) -> list[int]:
        flat = self._flatten(children)
        noun_positions = [i for i, n in enumerate(flat) if self._is_noun(n)]
        if not noun_positions:
            return []
        head_position = noun_positions[-1]
        head = flat[head_position].word
        lemma = self._lemma(head)
        if self.words[head].lower in PRONOUNS or head in self.style_words:
            return []
        if head in self.framing_words or (lemma in FRAMING_NOUNS and before_of):
            modifiers = [n.word for n in flat[:head_position] if self._tag(n) in ATTRIBUTE_TAGS | NOUN_TAGS]
            if head not in self.framing_words:
                self.draft.style.append(tuple(sorted([*modifiers, head])))
            return []
        if lemma in RELATIONAL_NOUNS and (in_pp or before_of):
            return []
        if lemma in QUANTITY_NOUNS and before_of:
            return []
        first_word = flat[0].word
        if style_word(self.words[head].lower, lemma) and first_word > 0 and self.words[first_word - 1].text == ",":
            self.draft.style.append(tuple(n.word for n in flat[: head_position + 1] if self._tag(n) not in ("DT",)))
            return []  # "..., soft light": a style tag
        name = [head]
        position = head_position - 1
        while (
            position >= 0
            and self._is_noun(flat[position])
            and self.words[flat[position].word].lower not in ATTRIBUTE_NOUNS
        ):
            name.insert(0, flat[position].word)
            position -= 1
        entity = self.draft.add_entity(tuple(name), parent)
        before = flat[:head_position]
        self.draft.entities[entity].absent = negating(
            self.words, [self._tag(n) for n in before], [n.word for n in before]
        ) or contrasted([w.lower for w in self.words], flat[0].word)
        if parent is not None and self._link is not None:
            self._contained.add(entity)  # "a room with a lamp next to a bed": the lamp and then the bed are in the room
        grading: list[int] = []
        for node in flat[: position + 1]:
            tag = self._tag(node)
            word = self.words[node.word]
            if tag in GRADING_TAGS and word.lower not in JOINING_ADVERBS:
                grading.append(node.word)
                continue
            if (tag in ATTRIBUTE_TAGS or word.lower in ATTRIBUTE_NOUNS) and node.word not in self.style_words:
                self.draft.bind(entity, (*grading, node.word))
            grading = []
        return [entity]
