"""Negation in the constituency back end: which nouns of a coordination the prompt negates.

The dependency back end reads the same scope from spaCy's arcs (:func:`~attnmod.toolkit.prompt.cues.negated`): a
noun under "no" or "neither", or in a noun phrase "not" opens, is absent, and so is the object of "without" (read
where the walk meets the PP), and the object of a negated verb (:func:`negating_verb`); in a list, "or" and "nor" carry the first conjunct's negation to every later one
("no gondolas or barges", "neither roses nor tulips"), "and" only to those with no determiner of their own ("no
cars and trucks", not "no cars and a bus"), and a list joined by commas alone carries none.
"""

from __future__ import annotations

from .words import ALTERNATIVE_COORDINATORS, NEGATION_ADVERBS, NEGATION_DETERMINERS, VERB_NEGATIONS

# "neither" in "neither roses nor tulips": Penn Treebank tags it CC (a correlative coordinator), DT elsewhere.
_CORRELATIVE_NEGATIONS = frozenset({"neither"})
_CORRELATIVES = frozenset({"either", "neither", "both"})
_COORDINATORS = frozenset({"and", "or", "nor"}) | _CORRELATIVES


def negating(words, tags: list[str], indices: list[int]) -> bool:
    """Whether the words before a base noun phrase's head negate it: "no", "neither", or "not" before "a", "any" or a
    numeral ("not a single cloud", "not one tree"; not "not the biggest one"). ``indices`` the word indices before the head and ``tags`` their
    tags."""
    return any(
        (tag in ("DT", "CC") and words[k].lower in NEGATION_DETERMINERS)
        or (
            words[k].lower in NEGATION_ADVERBS
            and position + 1 < len(tags)
            and (words[indices[position + 1]].lower in ("a", "an", "any") or tags[position + 1] == "CD")
        )
        for position, (k, tag) in enumerate(zip(indices, tags, strict=True))
    )


def negating_verb(words, children, flatten_all) -> bool:
    """Whether a verb phrase's ``children`` negate its verb: "(VP (VBZ is) (RB not) (VP ...))", "(RB n't)",
    "(ADVP (RB never))"; then the verb's objects are absent ("is not wearing a collar")."""
    return any(
        all(words[n.word].lower in VERB_NEGATIONS for n in flatten_all(child))
        for child in children
        if child.is_word or child.label == "ADVP"
    )


def spread_negation(draft, words, children, segments, found: list[list[int]], has_determiner) -> None:
    """Mark absent the conjuncts of a coordination (``children`` split into ``segments``, whose entities at this
    level are ``found``) that its negation reaches. ``has_determiner(segment)``: whether the segment opens with a
    determiner of its own."""
    coordinators = [words[c.word].lower for c in children if c.is_word and words[c.word].lower in _COORDINATORS]
    opener = words[children[0].word].lower if children and children[0].is_word else None
    listed = [c for c in coordinators if c not in _CORRELATIVES]
    if opener in _CORRELATIVE_NEGATIONS:
        for entities in found:
            for entity in entities[:1]:
                draft.entities[entity].absent = True
        return
    if not listed or not found[0] or not draft.entities[found[0][0]].absent:
        return
    coordinator = listed[-1]
    for segment, entities in zip(segments[1:], found[1:], strict=True):
        if entities and (coordinator in ALTERNATIVE_COORDINATORS or not has_determiner(segment)):
            draft.entities[entities[0]].absent = True
