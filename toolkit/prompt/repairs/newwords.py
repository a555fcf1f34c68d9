"""Repairs of the small tagger's misreads of words it has seen rarely, at the start of a prompt (round 10), asking the
lemmatiser's word lists (:class:`~attnmod.toolkit.prompt.repairs.lexical.Lexicon`) what a word can be."""

from __future__ import annotations

import unicodedata

from ..syntax import noun_lemma
from .common import as_noun, rehang
from .lexical import Lexicon


def _plural_noun(token, lexicon: Lexicon) -> bool:
    """An "-s" word whose singular the lemmatiser knows as a noun, or that it lists as an irregular plural."""
    lower = token.lower_
    if not lower.endswith("s") or lower.endswith("ss"):
        return False
    return noun_lemma(lower, "NNS") in lexicon.known("noun") or lower in lexicon.known("noun_exceptions")


def repair_bare_plural_before_participle(doc, lexicon: Lexicon) -> None:
    """ "elves dancing around a bonfire", "trolls guarding a bridge", "squirrels gathering acorns": the first word, a
    bare plural, tagged a finite verb ("-s") with the participle after it as its complement, or as the participle's
    auxiliary ("is gathering"), so that the subject is lost. A prompt's first word, tagged "-s" verb, that the
    lemmatiser knows as a plural noun, right before a participle hung on it or governing it: the noun is the head,
    the participle describes it (a finite verb there would take an object or a clause, not a bare participle)."""
    if len(doc) < 3:
        return
    first, participle = doc[0], doc[1]
    if first.tag_ != "VBZ" or participle.tag_ != "VBG" or not _plural_noun(first, lexicon):
        return
    if first.head.i == first.i and participle.head.i == first.i and participle.dep_ in ("xcomp", "acl", "ccomp"):
        if any(c.dep_ in ("nsubj", "dobj", "nsubjpass", "expl") for c in first.children):
            return
    elif participle.head.i == participle.i and first.head.i == participle.i and first.dep_ == "aux":
        if any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in participle.children):
            return
        rehang(first, first, "ROOT")
    else:
        return
    rehang(participle, first, "acl")
    first.tag_ = "NNS"
    as_noun(first)
    if first.lower_ in lexicon.known("noun_exceptions"):  # "elves" -> "elf", not "elve"
        first.lemma_ = lexicon.lookups.get_table("lemma_exc").get("noun", {})[first.lower_][0]


def _folded(word: str) -> str:
    """The word with its accents taken off: "crêpes" -> "crepes", "jalapeños" -> "jalapenos"."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def repair_accented_plural(doc, lexicon: Lexicon) -> None:
    """ "crêpes", "jalapeños", "soufflés", "piñatas": a plural with accented letters, which the lemmatiser's word
    lists (written without accents) do not know, so its lemma keeps the "-s" and "jalapeños" may be tagged singular.
    A noun in "-s" with a letter outside ASCII whose lemma is the word itself, whose singular without accents the
    lemmatiser knows as a noun and whose plural without accents it does not: a plural, singularised with its accents
    kept ("crêpe") (round 10)."""
    nouns = lexicon.known("noun")
    for token in doc:
        lower = token.lower_
        if token.pos_ not in ("NOUN", "PROPN") or lower.isascii() or not lower.endswith("s") or lower.endswith("ss"):
            continue
        if token.lemma_.lower() != lower:
            continue
        folded = _folded(lower)
        if folded in nouns or noun_lemma(folded, "NNS") not in nouns:
            continue
        if token.tag_ == "NN":
            token.tag_ = "NNS"
        token.lemma_ = noun_lemma(lower, "NNS")
