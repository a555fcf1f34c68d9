"""Repairs of finite verbs new to the small tagger, read into the noun before them or as a noun after a plural
subject, asking the lemmatiser's word lists (:class:`~attnmod.toolkit.prompt.repairs.lexical.Lexicon`) what a word
can be (round 9)."""

from __future__ import annotations

from ..syntax import noun_lemma
from ..words import ATTRIBUTE_NOUNS, UNCHANGED_PLURALS
from .common import AFTER_INTRANSITIVE, as_noun, rehang, take_place
from .lexical import Lexicon, verb_stem


def _modifier_dep(word) -> str:
    if word.tag_ == "PRP$":
        return "poss"
    return {"DET": "det", "NUM": "nummod"}.get(word.pos_, "amod")


def _plural(token, nouns) -> bool:
    """A plural noun, whatever its tag: "kites" tagged a verb, "limes" a plural noun, whose singular the lemmatiser
    knows as a noun."""
    lower = token.lower_
    if not lower.endswith("s") or lower.endswith("ss"):
        return False
    return token.tag_ == "NNS" and token.lemma_.lower() != lower or noun_lemma(lower, "NNS") in nouns


def _bare_plural_after(doc, start: int, nouns):
    """The plural noun heading the bare phrase from ``start`` ("limes", "iron hoops", "tiny brass bells"):
    adjectives, colours, materials and nouns of a compound before it, no article; None otherwise."""
    for word in doc[start:]:
        nxt = doc[word.i + 1] if word.i + 1 < len(doc) else None
        if _plural(word, nouns) and word.pos_ in ("NOUN", "VERB", "PROPN"):
            if nxt is not None and nxt.pos_ in ("NOUN", "PROPN") and nxt.lower_ not in ATTRIBUTE_NOUNS:
                return None  # "gems boxes": a compound, no reading here
            return word
        if not (word.pos_ in ("ADJ", "NOUN") or word.tag_ == "VBN" or word.lower_ in ATTRIBUTE_NOUNS):
            return None
    return None


def repair_verb_read_into_subject(doc, lexicon: Lexicon) -> None:
    """ "a kid flies kites on a windy hill", "a chef slices limes on a board", "a clerk files papers at a desk": the
    verb, an "-s" word, read into one noun with its subject and object ("chef slices limes"), as the subject of the
    object read as a verb ("flies" the subject of "kites"), or as a modifier of the object. "a"/"an" cannot
    determine a plural head: after "a"/"an", its singular noun and an "-s" word that the lemmatiser knows as a verb,
    a bare noun phrase ending in a plural (its singular a known noun) and followed by a preposition, an adverb, a
    conjunction, punctuation or the end is that verb's object, and the singular noun its subject."""
    verbs, nouns = lexicon.known("verb"), lexicon.known("noun")
    for article in doc:
        singular = article.lower_ in ("a", "an")
        if not (singular or article.tag_ == "CD" and article.lower_ not in ("one", "1")) or article.i + 3 >= len(doc):
            continue
        start = article.i + 1
        while start < len(doc) and doc[start].pos_ == "ADJ" and doc[start].tag_ == "JJ":
            start += 1  # "a young potter"
        if start + 2 >= len(doc):
            continue
        subject, verb = doc[start], doc[start + 1]
        if subject.text != subject.lower_ or subject.lower_ in ATTRIBUTE_NOUNS or verb.text != verb.lower_:
            continue
        if singular:
            if subject.tag_ not in ("NN", "NNP") or verb.tag_ not in ("NNS", "VBZ", "NN"):
                continue
            stem = verb.lemma_.lower() if verb.tag_ == "VBZ" else verb_stem(verb.lower_, verbs)
        else:
            # "two chefs slice limes": a count, a plural and a plain verb ("chefs slice limes" one name)
            if (
                subject.tag_ != "NNS"
                or subject.lemma_.lower() == subject.lower_
                or verb.tag_ not in ("NN", "VB", "VBP")
            ):
                continue
            stem = verb.lower_
        if stem is None or stem not in verbs:
            continue
        obj = _bare_plural_after(doc, verb.i + 1, nouns)
        if obj is None:
            continue
        following = doc[obj.i + 1] if obj.i + 1 < len(doc) else None
        if following is not None and (following.pos_ not in AFTER_INTRANSITIVE or following.pos_ == "DET"):
            continue
        if verb.pos_ == "VERB" and subject.head.i == verb.i and subject.dep_ == "nsubj" and obj.head.i == verb.i:
            continue  # read right
        span = range(article.i, obj.i + 1)
        top = next((t for t in doc[article.i : obj.i + 1] if t.head.i not in span or t.head.i == t.i), obj)
        outside = [c for t in doc[article.i : obj.i + 1] for c in t.children if c.i not in span]
        if top.i != verb.i:
            take_place(verb, top)
        for child in outside:
            rehang(child, verb, child.dep_)  # "... on a windy hill": the verb's place
        rehang(subject, verb, "nsubj")
        for word in doc[article.i : subject.i]:
            rehang(word, subject, _modifier_dep(word))
        rehang(obj, verb, "dobj")
        for word in doc[verb.i + 1 : obj.i]:
            if not verb.i < word.head.i <= obj.i or word.head.i == word.i:
                rehang(word, obj, "compound" if word.pos_ == "NOUN" else _modifier_dep(word))
        if subject.pos_ not in ("NOUN", "PROPN"):
            as_noun(subject)
        verb.tag_, verb.pos_, verb.lemma_ = ("VBZ" if singular else "VBP"), "VERB", stem
        if obj.lower_ not in UNCHANGED_PLURALS:
            obj.tag_, obj.pos_, obj.lemma_ = "NNS", "NOUN", noun_lemma(obj.text, "NNS")
