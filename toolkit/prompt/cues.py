"""Cues the dependency back end reads in a spaCy parse for the prose forms of issue 29: negation, containers,
possessives, "made of", style tags after a comma, comparatives after the noun, and the preposition a relative
clause fronts ("a table on which a vase stands").

Each is a small function of spaCy tokens, so :mod:`attnmod.toolkit.prompt.dependency` stays a reader of the tree and
the rules can be read one by one. The constituency back end reads the same cues from bracketed phrases
(:mod:`attnmod.toolkit.prompt.constituency`); both take their words from :mod:`attnmod.toolkit.prompt.words`.
"""

from __future__ import annotations

from .syntax import is_container
from .words import (
    CONTAINMENT_WORDS,
    DEPICTING_PARTICIPLES,
    MATERIAL_PARTICIPLES,
    MATERIAL_PREPOSITIONS,
    NEGATION_DETERMINERS,
    NEGATION_PREPOSITIONS,
    RELATIONAL_NOUNS,
    UNCHANGED_PLURALS,
    style_word,
)

_RELATIVE_PRONOUNS = frozenset({"which", "whom", "who", "that", "whose"})


def negated(token) -> bool:
    """A noun the prompt negates: "no cars" (a negating determiner), "without oranges" (object of "without", and every
    conjunct of it: "without a fridge or a stove"); a conjunct with no determiner of its own shares its first
    conjunct's negation ("no chairs or tables")."""
    if any(child.dep_ == "det" and child.lower_ in NEGATION_DETERMINERS for child in token.children):
        return True
    if token.dep_ == "pobj" and token.head.lower_ in NEGATION_PREPOSITIONS:
        return True
    if token.dep_ == "conj" and token.head.i != token.i:
        first = token.head
        while first.dep_ == "conj" and first.head.i != first.i:
            first = first.head
        parallel = any(c.dep_ == "prep" and c.lower_ == first.head.lower_ for c in token.children)
        if first.dep_ == "pobj" and first.head.lower_ in NEGATION_PREPOSITIONS and not parallel:
            # "without a fridge or a stove": "without" governs every conjunct (not "... and a cup without tea")
            return True
        if not any(c.dep_ == "det" for c in token.children):
            return negated(token.head)
    return False


def held_in_container(token, lemma: str) -> bool:
    """Whether ``token`` is a container that holds the noun it follows: the object of "in", "inside" or "within"
    ("a fish in a bowl", "a cat sitting in a box") whose lemma is a container (:func:`is_container`)."""
    if token.lower_ in UNCHANGED_PLURALS:
        return False  # "a man in glasses": spectacles, not drinking glasses
    while token.dep_ == "conj" and token.head.i != token.i:
        token = token.head
    return is_container(lemma) and token.dep_ == "pobj" and token.head.lower_ in CONTAINMENT_WORDS


def material_verb(token):
    """For the object of "made of" / "carved from" / "made out of": the participle ("made"), else None."""
    if token.dep_ != "pobj" or token.head.lower_ not in MATERIAL_PREPOSITIONS:
        return None
    verb = token.head.head
    if verb.lower_ == "out" and verb.head.i != verb.i:  # "made out of": "of" may hang from "out"
        verb = verb.head
    return verb if verb.lower_ in MATERIAL_PARTICIPLES else None


def style_tag(token, lemma: str) -> bool:
    """A style tag in a comma-separated list ("..., 4k, soft light"): a style noun
    (:func:`~attnmod.toolkit.prompt.style_words.style_word`) whose phrase starts right after a comma."""
    if not style_word(token.lower_, lemma):
        return False
    start = token.left_edge.i
    while start > 0 and token.doc[start - 1].pos_ in ("ADJ", "ADV", "DET", "NUM") and token.doc[start - 1].i < token.i:
        start -= 1
    return start > 0 and token.doc[start - 1].text == ","


def comparatives_after(head) -> list:
    """Comparative and superlative adjectives after the noun they describe: "a dog bigger than a cat", "a car more
    expensive than a house" (an adjective graded by "more" or "less")."""
    return [
        child
        for child in head.children
        if child.i > head.i
        and child.dep_ in ("amod", "acomp", "advmod")
        and (
            child.tag_ in ("JJR", "JJS", "RBR")
            or any(c.lower_ in ("more", "less", "most", "least") and c.i < child.i for c in child.children)
        )
    ]


def fronted_preposition(verb) -> str | None:
    """The preposition a relative clause fronts with its pronoun ("on which", "under which"), in lower case."""
    for child in verb.children:
        if child.dep_ == "prep" and any(
            grandchild.dep_ == "pobj" and grandchild.lower_ in _RELATIVE_PRONOUNS for grandchild in child.children
        ):
            return child.lower_
    return None


def has_own_subject(verb) -> bool:
    """Whether a relative clause's verb has a subject that is not the relative pronoun ("whose hat is green")."""
    return any(
        child.dep_ in ("nsubj", "nsubjpass") and child.lower_ not in _RELATIVE_PRONOUNS for child in verb.children
    )


def has_of(token) -> bool:
    return any(child.dep_ == "prep" and child.lower_ == "of" for child in token.children)


def depicting(token):
    """For a framing noun: the participle by which it names what it shows ("a picture showing a cat"), or None."""
    return next((c for c in token.children if c.dep_ in ("acl", "relcl") and c.lower_ in DEPICTING_PARTICIPLES), None)


def ends_phrase(token) -> bool:
    """Whether ``token`` is the last word of a phrase: the text ends, or a coordinator or punctuation follows."""
    doc = token.doc
    following = token.i + 1
    while following < len(doc) and doc[following].is_space:
        following += 1
    if following >= len(doc):
        return True
    after = doc[following]
    return after.is_punct or after.pos_ == "CCONJ" or after.dep_ == "cc"


def relational_of(token) -> bool:
    """A relational noun followed by "of": "left of", "right of", "top of" (GenEval writes "a dog right of a cat")."""
    return token.lower_ in RELATIONAL_NOUNS and has_of(token)


def coordinated_modifier(token) -> bool:
    """A noun hung as a modifier of the next noun but carrying its own coordinator: a misparsed conjunct."""
    if token.dep_ == "preconj":
        return True
    return token.dep_ in ("nmod", "compound", "amod") and any(c.dep_ == "cc" for c in token.children)


def before_noun(token) -> bool:
    """Whether a noun-tagged word follows ``token`` directly (then ``token`` is a modifier, not a head)."""
    following = token.i + 1
    return following < len(token.doc) and token.doc[following].pos_ in ("NOUN", "PROPN")
