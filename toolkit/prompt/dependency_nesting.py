"""The dependency reader's nesting: which entity an entity hangs under, through which link word (a preposition, a
participle, a verb, "of"), and when that link makes them siblings instead. Mixed into the reader of dependency.py.

"where" after a place relates two objects ("a bench where an old couple sits": siblings), but after a container it
puts what follows in it, as "in which" does ("a wicker basket where three puppies nap": the puppies in the basket)."""

from __future__ import annotations

from .cues import coordinated_modifier, fronted_preposition
from .syntax import is_container
from .words import NEGATION_DETERMINERS, NEGATION_PREPOSITIONS, SPATIAL_WORDS

_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})

# A verb in one of these relations heads a clause of its own: its subject is not governed by the clause above.
_CLAUSE_DEPS = frozenset({"advcl", "conj", "ccomp", "parataxis", "ROOT"})


def _with_list_member(token):
    """ "a pizza with mushrooms but no olives", "a burger with pickles and no onions": a negated conjunct that the
    tagger coordinated with the head noun, right after the head's "with" phrase, is coordinated with that phrase's
    object (the pizza has no olives, as it has mushrooms); the object, or None."""
    if token.dep_ != "conj" or not any(c.dep_ == "det" and c.lower_ in NEGATION_DETERMINERS for c in token.children):
        return None
    doc = token.doc
    for prep in token.head.children:
        end = prep.right_edge.i
        if prep.dep_ == "prep" and prep.lower_ == "with" and end + 2 == token.left_edge.i and doc[end + 1].dep_ == "cc":
            return next((c for c in prep.children if c.dep_ == "pobj"), None)
    return None


def _without_object(token) -> bool:
    """The object of "without": absent, so no participle after it says what it does (the head noun does)."""
    return token.dep_ == "pobj" and token.head.lower_ in NEGATION_PREPOSITIONS


class _NestingReader:
    """Methods of :class:`dependency._Reader` (mixed in; they read its state)."""

    def _entity_at(self, token) -> int | None:
        """The entity a noun stands for: its own, or for a collective noun ("a herd of cows") the counted one."""
        if token is None:
            return None
        if token.i in self.entity_of:
            return self.entity_of[token.i]
        if token.i in self.quantity_heads:
            for of in (c for c in token.children if c.lower_ == "of"):
                for counted in of.children:
                    if counted.i in self.entity_of:
                        return self.entity_of[counted.i]
        return None

    def _container_at(self, token) -> bool:
        """Whether ``token`` is an entity that is a container: what is "where" it is, is in it ("a wooden crate where
        two kittens sleep", as "a glass tank in which jellyfish drift"), not beside it."""
        return token.i in self.entity_of and is_container(self.draft.words[self.word_of[token.i]].lemma)

    def _governing_link(self, token) -> tuple[int | None, bool, bool]:
        """Index of the nearest entity that governs ``token`` (conjuncts share their first conjunct's governor);
        whether the words that link the two make a spatial relation (:data:`SPATIAL_WORDS`: "next to",
        "to the left of", "above"), in which case ``token`` is the governor's sibling rather than its child; and
        whether they are "with" ("a room with a lamp": the governor contains ``token``)."""
        link_words: set[str] = set()
        governor = self._governing_entity(token, link_words)
        spatial = bool(link_words & SPATIAL_WORDS)
        return governor, spatial, not spatial and "with" in link_words

    def _counted(self, head) -> int | None:
        """For a collective or quantity noun ("a pack of hyenas"), the entity it counts, or None."""
        return next(
            (
                self.entity_of[counted.i]
                for of in head.children
                if of.lower_ == "of"
                for counted in of.children
                if counted.i in self.entity_of
            ),
            None,
        )

    def _governing_entity(self, token, link_words: set[str]) -> int | None:
        """Index of the nearest entity that governs ``token``; the words passed on the way, in lower case, go
        into ``link_words``."""
        current = token
        visited: set[int] = set()
        # spaCy makes a new Token object on every access: compare positions, never identity.
        extensions = {t.i: head for head, t in self.extension_of.items()}
        while current.i not in visited:
            visited.add(current.i)
            if current.i in extensions and current.i != token.i and extensions[current.i] in self.entity_of:
                return self.entity_of[extensions[current.i]]  # "a coffee shop interior with plants": the interior's
            if current.dep_ in ("conj", "appos") and current.head.i != current.i:
                current = _with_list_member(current) or self._parallel_target(current)
                continue  # a sibling of `current`: do not test `current` itself
            if coordinated_modifier(current) and current.head.i != current.i:
                # a sibling of the noun it hangs from ("preconj" may hang it from that noun's article)
                current = current.head
                while not self._nominal(current) and current.head.i != current.i:
                    current = current.head
                continue
            if current.i != token.i and self._style_tag_word(current):
                return None  # "..., night, rain": coordinated with a tag after a comma, it stands alone
            if current.i in self.style_ids and current.dep_ in _SUBJECT_DEPS:
                return None  # "a photo of a cat ... [verb]": what the picture shows is the top level
            head = current.head
            if head.i == current.i:
                return None
            if head.i in self.entity_of and current.dep_ == "acl" and _without_object(head):
                current = head.head  # "a cowboy without boots leading a pony": the cowboy leads it, not the boots
                continue
            if head.i in self.entity_of:
                return self.entity_of[head.i]
            if head.i in self.depicted_by and current.dep_ == "prep" and current.lower_ != "of":
                # "a photo of a red barn in a field": a phrase hung on the framing noun describes what it shows
                depicted = self._entity_at(self.depicted_by[head.i])
                if depicted is not None and depicted != self.entity_of.get(token.i):
                    return depicted
            if self._style_tag_word(head):
                return None  # "..., night, rain": a tag after a comma governs nothing
            if head.i in self.quantity_heads and not (current.dep_ == "prep" and current.lower_ == "of"):
                counted = self._counted(head)
                if counted is not None:
                    return counted
            if head.pos_ in ("VERB", "AUX") and current.dep_ not in _SUBJECT_DEPS:
                # "a man sits on a bench and feeds the pigeons": a coordinated verb shares its first verb's subject
                verbs = [head, head.head] if head.dep_ == "conj" and head.head.pos_ in ("VERB", "AUX") else [head]
                for verb in verbs:
                    if verb.dep_ == "pcomp" and verb.head.lower_ in NEGATION_PREPOSITIONS:
                        break  # "a jester without bells juggling apples" (bells as the subject): the jester juggles
                    for child in verb.children:
                        if child.dep_ in _SUBJECT_DEPS and child.i in self.entity_of:
                            return self.entity_of[child.i]
                        if child.dep_ in _SUBJECT_DEPS and child.i in self.quantity_heads:
                            counted = self._counted(child)  # "a pack of hyenas circling a zebra": the hyenas'
                            if counted is not None:
                                return counted
            if current.dep_ in _SUBJECT_DEPS and head.dep_ in _CLAUSE_DEPS:
                return None  # "... while her dog chases a ball": the subject of its own clause stands alone
            if head.dep_ == "relcl":
                fronted = fronted_preposition(head)  # "a table on which a vase stands": the vase is on the table
                if fronted:
                    link_words.add(fronted)
                if any(c.lower_ == "where" and c.dep_ == "advmod" for c in head.children) and not self._container_at(
                    head.head
                ):
                    link_words.add("where")  # "a bench where an old couple sits"; not "a crate where kittens sleep"
            link_words.add(head.lower_)
            current = head
        return None

    def _parallel_target(self, token):
        """For a conjunct: the token it is really coordinated with.

        Normally its first conjunct. If the first conjunct is the object of a preposition or participle that
        modifies entity X, and this conjunct has its own child with the same relation and word ("... with a
        scarf and a man with a tie"), it is coordinated with X instead.
        """
        first = token.head
        link = first.head
        if first.dep_ in ("pobj", "dobj") and link.dep_ in ("prep", "acl") and link.head.i in self.entity_of:
            for child in token.children:
                if child.dep_ == link.dep_ and child.lemma_.lower() == link.lemma_.lower():
                    return link.head
        return first
