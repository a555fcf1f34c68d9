"""Repairs of the small tagger's misreads of words it has seen rarely (round 10): a bare plural at the start read as a
verb, a plural with accented letters, a colour pair whose first colour is read as the head; asking the lemmatiser's
word lists (:class:`~attnmod.toolkit.prompt.repairs.lexical.Lexicon`) what a word can be."""

from __future__ import annotations

import unicodedata

from ..syntax import noun_lemma
from ..words import ATTRIBUTE_NOUNS
from .common import as_noun, rehang, take_place
from .lexical import Lexicon, verb_stem


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


def repair_colour_pair_read_as_head(doc) -> None:
    """ "a fluffy grey and white rabbit", "a shaggy brown and white goat": the first colour (or material) tagged a
    noun and made the head, with the noun after the second colour as its conjunct (an entity "grey"). A colour
    noun, then "and", a colour or an adjective, and a noun hung on the first colour as its conjunct: the noun is the
    head, the two colours its coordinated modifiers (round 10)."""
    for colour in doc:
        if colour.lower_ not in ATTRIBUTE_NOUNS or colour.pos_ not in ("NOUN", "PROPN") or colour.i + 3 >= len(doc):
            continue
        joiner, second, noun = doc[colour.i + 1], doc[colour.i + 2], doc[colour.i + 3]
        if joiner.lower_ != "and" or noun.pos_ not in ("NOUN", "PROPN") or noun.lower_ in ATTRIBUTE_NOUNS:
            continue
        if noun.head.i != colour.i or noun.dep_ != "conj":
            continue
        if second.lower_ not in ATTRIBUTE_NOUNS and second.tag_ != "JJ" or second.head.i not in (noun.i, colour.i):
            continue
        take_place(noun, colour)
        for child in [c for c in colour.children if c.i < colour.i]:
            rehang(child, noun, child.dep_)  # "a fluffy": the rabbit's
        rehang(colour, noun, "amod")
        rehang(second, colour, "conj")
        rehang(joiner, colour, "cc")
        colour.tag_, colour.pos_, colour.lemma_ = "JJ", "ADJ", colour.lower_


def repair_participle_conjunct_with_object(doc) -> None:
    """ "a ceramic teapot and chipped blue cups", "a glass vase and wilted pink roses": the participle after "and"
    read as a verb coordinated with the first noun, the second noun its object (the participle lost). A participle
    with no subject hung on a noun as its conjunct, right after the "and", whose object follows it with only its own
    modifiers between: the object is the conjunct, the participle describes it (round 10)."""
    for participle in doc:
        if participle.tag_ not in ("VBN", "VBD") or participle.dep_ != "conj" or participle.i < 2:
            continue
        first, joiner = participle.head, doc[participle.i - 1]
        if first.pos_ not in ("NOUN", "PROPN") or first.i >= participle.i or joiner.lower_ != "and":
            continue
        if any(c.dep_ in ("nsubj", "nsubjpass", "aux", "auxpass") for c in participle.children):
            continue
        obj = next((c for c in participle.children if c.dep_ == "dobj" and c.i > participle.i), None)
        if obj is None or obj.pos_ not in ("NOUN", "PROPN"):
            continue
        if any(t.head.i != obj.i or t.pos_ not in ("ADJ", "NOUN", "PROPN") for t in doc[participle.i + 1 : obj.i]):
            continue
        rehang(obj, first, "conj")
        for child in [c for c in participle.children if c.i > obj.i]:
            rehang(child, obj, child.dep_)  # "... banners on a wall": the banners'
        rehang(participle, obj, "amod")
        participle.tag_, participle.pos_ = "VBN", "ADJ"


def repair_adverb_read_as_noun(doc, lexicon: Lexicon) -> None:
    """ "gulls circling overhead", "children resting downstairs", "a puppy sleeping indoors": an adverb of place
    tagged a noun, as the participle's adverb or object (an entity "overhead"). A bare word right after a verb or
    participle, with nothing hung on it, at the end or before punctuation, a preposition or a conjunction, that the
    lemmatiser knows as an adverb: an adverb, when it does not know it as a noun or the tagger hung it as an adverb
    (round 10)."""
    adverbs, nouns = lexicon.known("adv"), lexicon.known("noun")
    for word in doc:
        if (
            word.tag_ not in ("NN", "NNS", "JJ")
            or word.i == 0
            or word.lower_ not in adverbs
            or word.text != word.lower_
        ):
            continue
        verb = doc[word.i - 1]
        if verb.pos_ != "VERB" or word.head.i != verb.i or any(True for _ in word.children):
            continue
        if not (word.dep_ in ("advmod", "npadvmod") or word.dep_ == "dobj" and word.lower_ not in nouns):
            continue
        after = doc[word.i + 1] if word.i + 1 < len(doc) else None
        if after is not None and after.pos_ not in ("PUNCT", "ADP", "CCONJ", "SCONJ"):
            continue
        word.tag_, word.pos_, word.lemma_, word.dep_ = "RB", "ADV", word.lower_, "advmod"


def repair_verb_before_possessive(doc, lexicon: Lexicon) -> None:
    """ "The old fisherman mends his torn net on the dock.", "A young tailor hems his coat": the "-s" verb read as a
    plural noun with its subject as a compound ("fisherman mends" one name). A possessive pronoun opens a new noun
    phrase, so an "-s" word the lemmatiser knows as a verb, between a singular noun hung on it and "his", "her",
    "its" or "their", is the verb: the noun its subject, the possessed noun its object (round 10)."""
    verbs = lexicon.known("verb")
    for verb in doc:
        if verb.i < 1 or verb.i + 2 >= len(doc) or verb.tag_ not in ("NNS", "NN", "VBZ") or verb.text != verb.lower_:
            continue
        subject, possessive = doc[verb.i - 1], doc[verb.i + 1]
        if possessive.tag_ != "PRP$" or subject.tag_ not in ("NN", "NNP") or subject.head.i != verb.i:
            continue
        if verb.pos_ == "VERB" and subject.dep_ == "nsubj":
            continue  # read right
        stem = verb.lemma_.lower() if verb.tag_ == "VBZ" else verb_stem(verb.lower_, verbs)
        obj = possessive.head
        if stem is None or stem not in verbs or obj.i <= possessive.i or obj.pos_ not in ("NOUN", "PROPN"):
            continue
        if obj.head.i != verb.i:
            rehang(obj, verb, "dobj")
        obj.dep_ = "dobj"
        for word in [c for c in verb.children if c.i < subject.i]:
            rehang(word, subject, {"DET": "det", "NUM": "nummod"}.get(word.pos_, "amod"))  # "The old": the fisherman's
        rehang(subject, verb, "nsubj")
        verb.tag_, verb.pos_, verb.lemma_ = "VBZ", "VERB", stem


def repair_absolute_clause(doc, lexicon: Lexicon) -> None:
    """ "a woodsman splitting logs on a stump, crows watching nearby", "a postman sorting letters, cats sleeping
    nearby": a closing phrase of a plural and its participle after a comma, read as an apposition of the noun
    before it (the cats nested) or with the plural as the root verb and the first noun its subject (the crows lost).
    A plural (tagged a noun, or an "-s" verb the lemmatiser knows as a plural noun) right after a comma, with the
    participle after it hung on it or governing it, and that phrase running to the end: a scene of its own, a
    conjunct of the sentence's head (round 10)."""
    for plural in doc:
        if plural.i < 2 or plural.i + 1 >= len(doc) or doc[plural.i - 1].text != ",":
            continue
        participle = doc[plural.i + 1]
        if participle.tag_ != "VBG" or participle.head.i != plural.i or plural.text != plural.lower_:
            continue
        if participle.right_edge.i < len(doc) - 1 and not all(t.is_punct for t in doc[participle.right_edge.i + 1 :]):
            continue
        if plural.tag_ == "NNS" and plural.dep_ == "appos" and plural.head.i < plural.i:
            root = plural.head
            while root.head.i != root.i and root.dep_ in ("appos", "conj", "pobj", "prep", "dobj", "acl"):
                root = root.head
            if root.pos_ not in ("NOUN", "PROPN"):
                continue
            rehang(plural, root, "conj")
        elif plural.tag_ == "VBZ" and plural.head.i == plural.i and _plural_noun(plural, lexicon):
            subject = next((c for c in plural.children if c.dep_ == "nsubj" and c.i < plural.i), None)
            if subject is None or subject.pos_ not in ("NOUN", "PROPN"):
                continue
            rehang(subject, subject, "ROOT")
            for child in [c for c in plural.children if c.i < plural.i and c.i != subject.i]:
                rehang(child, subject, child.dep_)
            rehang(plural, subject, "conj")
            plural.tag_ = "NNS"
            as_noun(plural)
        else:
            continue
        participle.dep_ = "acl"
