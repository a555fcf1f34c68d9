"""Cues the dependency back end reads in a spaCy parse for the prose forms of issue 29: negation, containers,
possessives, "made of", style tags after a comma, comparatives after the noun, and the preposition a relative
clause fronts ("a table on which a vase stands").

Each is a small function of spaCy tokens, so :mod:`attnmod.toolkit.prompt.dependency` stays a reader of the tree and
the rules can be read one by one. The constituency back end reads the same cues from bracketed phrases
(:mod:`attnmod.toolkit.prompt.constituency`); both take their words from :mod:`attnmod.toolkit.prompt.words`.
"""

from __future__ import annotations

from .syntax import contrasted, is_container
from .words import (
    ALTERNATIVE_COORDINATORS,
    CONTAINMENT_WORDS,
    DEPICTING_PARTICIPLES,
    MATERIAL_PARTICIPLES,
    MATERIAL_PREPOSITIONS,
    NEGATION_ADVERBS,
    NEGATION_DETERMINERS,
    NEGATION_PREPOSITIONS,
    RELATIONAL_NOUNS,
    UNCHANGED_PLURALS,
    VERB_NEGATIONS,
    style_word,
)

_RELATIVE_PRONOUNS = frozenset({"which", "whom", "who", "that", "whose"})


def _counts(lower: str, tag: str) -> bool:
    """ "a", "an", "any" or a numeral: after "not", the words that deny there is one ("not a cloud", "not one tree")."""
    return lower in ("a", "an", "any") or tag == "CD"


def negates_itself(token) -> bool:
    """A noun under a negating determiner ("no cars", "neither roses"), the object of "without", a noun phrase
    that "not" opens before "a", "any" or a numeral ("with not a single cloud", "not one tree"; not "not the biggest
    workspace", nor a verb's "not" the tagger hung on a noun: "a 'do not touch' sign"), the denied side of a
    contrast ("a zebra, not a horse", "a horse instead of a zebra": :func:`~attnmod.toolkit.prompt.syntax.contrasted`)
    or the object of a negated verb ("is not wearing a collar")."""
    if any(child.dep_ in ("det", "preconj") and child.lower_ in NEGATION_DETERMINERS for child in token.children):
        return True
    left = token.doc[token.left_edge.i]
    after = token.doc[left.i + 1] if left.i + 1 < token.i else None
    if (
        left.lower_ in NEGATION_ADVERBS
        and left.dep_ == "neg"
        and after is not None
        and _counts(after.lower_, after.tag_)
    ):
        return True
    if token.dep_ == "pobj" and token.head.lower_ in NEGATION_PREPOSITIONS:
        return True
    if _without_subject(token):
        return True
    return contrasted([t.lower_ for t in token.doc], token.left_edge.i) or _negated_object(token)


def _negated_object(token) -> bool:
    """The object of a negated verb: "a cat that is not wearing a collar", "does not have a tail", "isn't holding
    a cup", "without wearing a hat"."""
    if token.dep_ != "dobj" or token.head.pos_ not in ("VERB", "AUX"):
        return False
    verb = token.head
    if verb.dep_ == "pcomp" and verb.head.lower_ in NEGATION_PREPOSITIONS:
        return verb.i == verb.head.i + 1  # "without wearing a hat", not "without boots leading a pony"
    return any(child.dep_ == "neg" and child.lower_ in VERB_NEGATIONS for child in verb.children)


def _without_subject(token) -> bool:
    """The noun after "without" that the tagger read as the subject of a participle after it ("a lamp without a
    shade standing on a desk", "a cowboy without boots leading a pony": the noun as the gerund's ``nsubj`` or
    ``compound``): the object of "without", so absent; the participle describes the head noun, whose objects stay
    present."""
    verb = token.head
    return (
        token.dep_ in ("nsubj", "compound", "nmod")
        and verb.dep_ == "pcomp"
        and verb.tag_ == "VBG"
        and verb.head.lower_ in NEGATION_PREPOSITIONS
        and verb.head.i < token.i < verb.i
    )


def list_coordinator(first):
    """The coordinator of the list of conjuncts that ``first`` opens ("or" in "chairs, tables or lamps"), in lower
    case, or None for a list joined by commas alone ("no windows, eerie atmosphere")."""
    coordinators = []
    stack = [first]
    while stack:
        member = stack.pop()
        for child in member.children:
            if child.dep_ == "cc":
                coordinators.append(child)
            elif child.dep_ == "conj":
                stack.append(child)
    return max(coordinators, key=lambda c: c.i).lower_ if coordinators else None


def negated(token) -> bool:
    """A noun the prompt negates: :func:`negates_itself`, or a conjunct in the negation's scope. The scope goes over
    the conjuncts of a list with a coordinator: every one after "or" or "nor" ("without a fridge or a stove", "no
    swimmers or kayaks", "neither a horse nor a cow"), and after "and" those with no determiner of their own ("no
    chairs and tables", not "no cars and a bus"); it stops at a comma with no coordinator in the list ("with no
    windows, bare walls")."""
    if negates_itself(token):
        return True
    if token.dep_ != "conj" or token.head.i == token.i:
        return False
    first = token.head
    while first.dep_ == "conj" and first.head.i != first.i:
        first = first.head
    if first.dep_ == "pobj" and any(c.dep_ == "prep" and c.lower_ == first.head.lower_ for c in token.children):
        return False  # "a cup without a handle and a plate without food": the plate's "without" is its own
    coordinator = list_coordinator(first)
    if coordinator is None or not negates_itself(first):
        return False
    return coordinator in ALTERNATIVE_COORDINATORS or not any(c.dep_ == "det" for c in token.children)


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
