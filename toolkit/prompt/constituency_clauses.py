"""The constituency builder's clauses: a subject and its verb phrase, relative clauses, and the predicative
attributes they bind ("a car that is red", "a man whose hat is green", "a queen whose crown is made of gold": the gold
describes the crown). "where" after a container nests what follows in it ("a glass jar where crickets chirp"), as
"in which" does; after any other place it relates two siblings. Mixed into the builder of constituency.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .syntax import is_container, spatial_parent
from .words import COPULA_FORMS, DEPICTING_PARTICIPLES, JOINING_ADVERBS, MATERIAL_PARTICIPLES, SPATIAL_WORDS

if TYPE_CHECKING:
    from .constituency import _Node

ATTRIBUTE_TAGS = frozenset({"JJ", "JJR", "JJS", "VBN", "VBG", "CD"})

GRADING_TAGS = frozenset({"RB", "RBR", "RBS"})
NP_LABELS = frozenset({"NP", "NX", "NML", "NAC"})


class _ClauseBuilder:
    """Methods of :class:`constituency._Builder` (mixed in; they read its state)."""

    def _clause(self, node: _Node, parent: int | None) -> list[int]:
        found: list[int] = []
        subject: list[int] = []
        for child in node.children:
            if child.label in NP_LABELS and not subject and not found:
                subject = self.visit(child, parent)
                found += subject
            elif child.label == "VP" and subject:
                for attribute in self._predicative(child):
                    for entity in subject:
                        self.draft.bind(entity, attribute)
                found += self._visit_modifier(child, subject[0])
            else:
                found += self.visit(child, parent)
        return found

    def _relative_clause(self, node: _Node, governor: int) -> list[int]:
        """A relative clause on ``governor``: "whose hat is green" adds the hat (under ``governor``) and binds the
        predicate to it; "on which a vase stands" relates the vase to ``governor`` through the fronted "on"; "that
        is red" binds to ``governor``."""
        wh = node.children[0] if node.children else None
        target, found = governor, []
        if wh is not None and wh.label == "WHNP" and any(self._tag(n) == "WP$" for n in self._flatten_all(wh)):
            found = self._base([n for n in self._flatten_all(wh) if self._tag(n) != "WP$"], governor, False, False)
            target = found[0] if found else governor
            clauses = node.children[1:]
        elif (
            wh is not None
            and wh.label in ("WHPP", "WHADVP")
            and self._first_word(wh) in SPATIAL_WORDS
            # "a wooden crate where two kittens sleep": what is in a container nests in it, as after "in which"
            and not (self._first_word(wh) == "where" and is_container(self._lemma(self.draft.entities[governor].head)))
        ):
            # "on which a vase stands", "where an old couple sits": a place relation between two objects
            lifted = spatial_parent(governor, lambda e: self.draft.entities[e].parent, self._contained.__contains__)
            return [e for child in node.children[1:] for e in self._visit_linked(child, lifted, "spatial")]
        else:
            clauses = node.children
        for child in clauses:
            material = self._material_predicate(child)
            if material is not None and self._modifier_attributes(material, target):
                continue  # "whose thimble is made of silver": the silver describes the thimble
            found += self._visit_modifier(child, target)
        for attribute in self._relative_predicates(node):
            self.draft.bind(target, attribute)
        return found

    def _material_predicate(self, node: _Node) -> _Node | None:
        """The "made of ..." VP a clause predicates ("(S (VP (VBZ is) (VP (VBN made) (PP (IN of) ...))))"), or None."""
        for child in node.children:
            if child.label not in ("S", "VP"):
                continue
            if child.label == "VP" and self._first_word(child) in MATERIAL_PARTICIPLES:
                return child
            inner = self._material_predicate(child)
            if inner is not None:
                return inner
        return None

    def _predicative(self, verb_phrase: _Node, participles: bool = False) -> list[tuple[int, ...]]:
        """Adjectives a copula verb phrase predicates: "is red", "looks old and rusty"; with ``participles`` (in a
        relative clause), a lone participle too ("that is broken")."""
        verbs = [c for c in verb_phrase.children if c.is_word and self._tag(c).startswith(("VB", "MD"))]
        if not verbs or self.words[verbs[0].word].lower not in COPULA_FORMS:
            # "is" may sit in a VP inside this one ("can be red")
            inner = [c for c in verb_phrase.children if c.label == "VP"]
            return [a for vp in inner for a in self._predicative(vp, participles)]
        found: list[tuple[int, ...]] = []
        for child in verb_phrase.children:
            words = self._flatten_all(child) if child.label == "VP" else []
            if participles and words and all(self._tag(n) in ("VBN", "CC", ",") for n in words):
                # "that is broken", "whose armor is dented and scratched"
                found.extend((n.word,) for n in words if self._tag(n) == "VBN")
                continue
            if child.label == "ADJP" or (child.is_word and self._tag(child) in {"JJ", "JJR", "JJS"}):
                grading: list[int] = []
                for node in self._flatten([child]):
                    tag = self._tag(node)
                    if tag in GRADING_TAGS and self.words[node.word].lower not in JOINING_ADVERBS:
                        grading.append(node.word)
                    elif tag in ATTRIBUTE_TAGS:
                        found.append((*grading, node.word))
                        grading = []
        return found

    def _relative_predicates(self, clause: _Node) -> list[tuple[int, ...]]:
        """Predicative adjectives of a relative clause with no subject of its own ("that is red")."""
        found: list[tuple[int, ...]] = []
        for child in clause.children:
            if child.label == "S":
                if any(c.label in NP_LABELS for c in child.children):
                    continue
                for grandchild in child.children:
                    if grandchild.label == "VP":
                        found += self._predicative(grandchild, participles=True)
            elif child.label == "VP":
                found += self._predicative(child, participles=True)
        return found

    def _participle_phrase(self, node: _Node) -> bool:
        flat = self._flatten_all(node)
        return node.label == "VP" and bool(flat) and self._tag(flat[0]) == "VBG"

    def _depicting(self, node: _Node) -> bool:
        """ "showing a cat" after "a picture": a participle that names what a framing noun shows."""
        return node.label == "VP" and self._first_word(node) in DEPICTING_PARTICIPLES
