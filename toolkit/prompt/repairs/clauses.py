"""Repairs of clauses the tagger misreads: a relative clause's list of predicate adjectives, and a clause after
"as" or "while" whose subject was made the object of a preposition."""

from __future__ import annotations

from .common import rehang

# Subordinators that open a clause of their own ("as a cook stirs a pot", "while a gull watches"): spaCy tags "as"
# a preposition when a noun follows it.
_SUBORDINATORS = frozenset({"as", "while", "whilst", "when", "whereas"})
_FINITE_TAGS = frozenset({"VBZ", "VBP", "VBD"})


def repair_predicate_list(doc) -> None:
    """ "a cake that is pink, tall and lopsided": the adjectives after the predicate's comma hang from the noun as
    modifiers after it (``cake -amod-> tall``); they are conjuncts of the predicate ("pink"), as "and" would make
    them. The cue: a copula's adjective (``acomp``), a comma, then an adjective (or an adverb, "long") hung on the noun before the
    copula."""
    for token in doc:
        if token.i < 2 or token.head.i >= token.i or token.head.pos_ not in ("NOUN", "PROPN"):
            continue
        if not ((token.dep_ == "amod" and token.pos_ == "ADJ") or (token.dep_ == "advmod" and token.tag_ == "RB")):
            continue  # an adverb hung on a noun is a misread adjective too: "a dress that is blue, long and frilly"
        comma, predicate = doc[token.i - 1], doc[token.i - 2]
        if comma.text != "," or predicate.dep_ != "acomp" or predicate.pos_ != "ADJ":
            continue
        copula = predicate.head
        if copula.lemma_.lower() != "be" or copula.i <= token.head.i:
            continue
        rehang(token, predicate, "conj")
        rehang(comma, predicate, "punct")
        for word in [token, *(c for c in token.children if c.dep_ == "conj")]:
            if word.tag_ == "RB":
                word.tag_, word.pos_ = "JJ", "ADJ"


def repair_subject_after_subordinator(doc) -> None:
    """ "lanterns sway above a stall as a cook stirs a pot": "as" read as a preposition with the clause's subject
    as its object (``as -pobj-> cook``) and the verb hung apart; "as" opens the clause ("mark") and the noun is its
    verb's subject, so that the clause stands alone. The cue: a finite verb right after the object's phrase."""
    for token in doc:
        if token.lower_ not in _SUBORDINATORS or token.dep_ != "prep":
            continue
        subject = next((c for c in token.children if c.dep_ == "pobj"), None)
        if subject is None:
            continue
        following = subject.right_edge.i + 1
        if following >= len(doc):
            continue
        verb = doc[following]
        if verb.tag_ not in _FINITE_TAGS or verb.pos_ != "VERB" or verb.head.i == verb.i:
            continue
        if verb.head.i != token.head.i and verb.dep_ != "advcl":
            continue
        rehang(verb, token.head, "advcl")
        rehang(token, verb, "mark")
        token.pos_ = "SCONJ"
        rehang(subject, verb, "nsubj")


def repair_participle_read_as_complement(doc) -> None:
    """ "an illustration of a hedgehog holding an acorn": the participle hung on "of" as its complement
    (``of -pcomp-> holding``) beside its object, so that the acorn is no one's; a participle right after the object
    of "of" describes that object (``hedgehog -acl-> holding``)."""
    for token in doc:
        if token.tag_ != "VBG" or token.dep_ != "pcomp" or token.head.lower_ != "of":
            continue  # not after "with": "a boy with a red scarf flying a kite" (the boy flies it)
        noun = next((c for c in token.head.children if c.dep_ == "pobj" and c.i < token.i), None)
        if noun is not None and noun.pos_ in ("NOUN", "PROPN") and noun.right_edge.i == token.i - 1:
            rehang(token, noun, "acl")
