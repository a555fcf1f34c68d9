"""What the repairs share: the word classes they test and the ways they rewrite a token (hang it elsewhere,
read it as a noun, give it another token's place)."""

from __future__ import annotations

from ..syntax import noun_lemma
from ..words import CLOTHING_NOUNS, ING_NAME_WORDS, ING_NOUNS

ARTICLES = frozenset({"a", "an", "the"})


RELATIVE_PRONOUNS = frozenset({"who", "that", "which"})


# What may follow a finite verb with no object ("a bird sings in a tree", "a child laughs while ...", "... sings."):
# a preposition, an adverb, a subordinator or coordinator, a particle, punctuation, or an article (an object).
AFTER_INTRANSITIVE = frozenset({"ADP", "ADV", "SCONJ", "CCONJ", "PART", "PUNCT", "DET"})


def rehang(token, head, dep: str) -> None:
    """Hang ``token`` from ``head`` (itself: the root) with relation ``dep``."""
    token.head = head
    token.dep_ = dep


def as_noun(token) -> None:
    token.tag_ = "NNS" if token.tag_ == "NNS" else "NN"
    token.pos_ = "NOUN"
    token.lemma_ = noun_lemma(token.text, token.tag_)


def take_place(new, old) -> None:
    """``new`` takes ``old``'s place in the tree (its head and relation); ``old`` must then be re-hung."""
    if old.head.i == old.i:
        rehang(new, new, "ROOT")
    else:
        rehang(new, old.head, old.dep_)


def is_clothing(token) -> bool:
    return token.lower_ in CLOTHING_NOUNS or token.lemma_.lower() in CLOTHING_NOUNS


def describing_ing_form(token) -> bool:
    """An "-ing" word tagged a noun or a participle that does not name a kind of thing ("a painting", "a cutting
    board"): one that may describe the noun after it ("a steaming bowl", "a grinning clown")."""
    lower = token.lower_
    return (
        token.tag_ in ("NN", "VBG") and lower.endswith("ing") and lower not in ING_NOUNS and lower not in ING_NAME_WORDS
    )
