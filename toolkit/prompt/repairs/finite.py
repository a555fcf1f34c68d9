"""Repairs of finite verbs new to the small tagger, read into the noun before them or as a noun after a plural
subject, asking the lemmatiser's word lists (:class:`~attnmod.toolkit.prompt.repairs.lexical.Lexicon`) what a word
can be (round 9)."""

from __future__ import annotations

from ..syntax import noun_lemma
from ..words import ATTRIBUTE_NOUNS, IRREGULAR_PLURALS, UNCHANGED_PLURALS
from .common import AFTER_INTRANSITIVE, as_noun, rehang, take_place
from .lexical import Lexicon, verb_stem

# Words that open a clause whose subject and verb follow: "while sparks drift", "as gulls wheel".
_SUBORDINATORS = frozenset({"while", "as", "when", "whilst", "until", "because", "though", "although"})


def _modifier_dep(word) -> str:
    if word.tag_ == "PRP$":
        return "poss"
    return {"DET": "det", "NUM": "nummod"}.get(word.pos_, "amod")


def _plural(token, nouns) -> bool:
    """A plural noun, whatever its tag: "kites" tagged a verb, "limes" a plural noun, whose singular the lemmatiser
    knows as a noun."""
    lower = token.lower_
    if lower in IRREGULAR_PLURALS and token.tag_ == "NNS":
        return True  # "children", "geese"
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


def _object_before_clause(doc, start: int):
    """ "A potter shapes clay while two cats doze": a bare singular noun (with adjectives) right before a subordinator
    that opens a clause: the clause needs a main clause, so the noun is an object, not the head of one long name."""
    for word in doc[start:]:
        if word.pos_ in ("NOUN", "PROPN") and word.tag_ in ("NN", "NNP"):
            after = doc[word.i + 1] if word.i + 1 < len(doc) else None
            if after is not None and after.lower_ in _SUBORDINATORS:
                return word
            if after is None or after.pos_ not in ("NOUN", "PROPN"):
                return None
            continue
        if word.pos_ != "ADJ" and word.lower_ not in ATTRIBUTE_NOUNS:
            return None
    return None


def _object_read_as_predicate(doc, verb, nouns):
    """ "a chemist pipes liquid into a flask", "a baker dusts flour over the dough": a bare singular (a mass noun)
    right after the "-s" word, tagged an adjective or a verb and made the head of the "-s" word (its subject), that
    the lemmatiser knows as a noun and that a preposition or the end follows: the object of the verb (round 10)."""
    if verb.i + 1 >= len(doc):
        return None
    word = doc[verb.i + 1]
    after = doc[word.i + 1] if word.i + 1 < len(doc) else None
    if word.tag_ not in ("JJ", "VB", "VBP") or word.text != word.lower_ or word.lower_ not in nouns:
        return None
    if verb.head.i != word.i or verb.dep_ != "nsubj" or word.head.i != word.i:
        return None
    if after is not None and after.pos_ not in ("ADP", "PUNCT"):
        return None
    return word


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
        if obj is None and singular:
            obj = _object_before_clause(doc, verb.i + 1)
        mass = obj is None and singular and _object_read_as_predicate(doc, verb, nouns) is not None
        if mass:
            obj = doc[verb.i + 1]
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
        if mass:
            obj.tag_, obj.pos_, obj.lemma_ = "NN", "NOUN", obj.lower_
        elif obj.lower_ not in UNCHANGED_PLURALS:
            obj.tag_, obj.pos_, obj.lemma_ = "NNS", "NOUN", noun_lemma(obj.text, "NNS")


def _bare_object(doc, word, nouns) -> bool:
    """ "while children chase seagulls past the crates": a bare plural (tagged a noun or a verb) after the verb,
    then a preposition, punctuation or the end: the verb's object (round 10)."""
    after = doc[word.i + 1] if word.i + 1 < len(doc) else None
    if not _plural(word, nouns) or word.tag_ not in ("NNS", "VBZ") or word.text != word.lower_:
        return False
    return after is None or after.pos_ in ("ADP", "PUNCT")


def repair_verb_after_plural_subject(doc, lexicon: Lexicon) -> None:
    """ "... while sparks drift through the workshop", "a glass tank in which three jellyfish drift": a plain verb
    after a plural subject read as a noun (the plural's object or compound: an entity "drift"), with the plural
    perhaps tagged a verb ("sparks"), or the clause read as the object of "as". After "while", "as", "when" (and
    the like) or a preposition and "which", a plural (or a noun with a count above one before it, "three carp"),
    then a word the lemmatiser knows as a verb in its plain form, followed by a preposition, an adverb,
    punctuation or the end: a clause with that subject and verb; after "which" a relative clause of the noun before
    the preposition."""
    verbs, nouns = lexicon.known("verb"), lexicon.known("noun")
    for verb in doc:
        if verb.i < 2 or verb.tag_ not in ("NN", "VB", "VBP") or verb.text != verb.lower_ or verb.lower_ not in verbs:
            continue
        if verb.lower_.endswith(("ing", "ed")):
            continue
        subject = doc[verb.i - 1]
        start = subject.i
        while start > 0 and (doc[start - 1].tag_ in ("CD", "JJ") or doc[start - 1].lower_ in ATTRIBUTE_NOUNS):
            start -= 1  # "three jellyfish", "bright sparks"
        counted = any(t.tag_ == "CD" and t.lower_ not in ("one", "1") for t in doc[start : subject.i])
        if not (_plural(subject, nouns) and subject.tag_ in ("NNS", "VBZ") or subject.tag_ == "NN" and counted):
            continue
        if not (verb.head.i == subject.i or subject.head.i == verb.i):
            continue
        following = doc[verb.i + 1] if verb.i + 1 < len(doc) else None
        obj = following if following is not None and _bare_object(doc, following, nouns) else None
        if obj is None and following is not None and following.pos_ not in ("ADP", "ADV", "PUNCT", "SCONJ", "CCONJ"):
            continue
        opener = doc[start - 1] if start > 0 else None
        relative = (
            opener is not None
            and opener.lower_ in ("which", "whom")
            and opener.i >= 3
            and doc[opener.i - 1].pos_ == "ADP"
            and doc[opener.i - 2].pos_ in ("NOUN", "PROPN")
        )
        if opener is None or not (relative or opener.lower_ in _SUBORDINATORS):
            continue
        if verb.pos_ == "VERB" and subject.head.i == verb.i and subject.dep_ == "nsubj" and opener.head.i == verb.i:
            continue  # read right
        if obj is not None:  # "while children chase seagulls past ...": the clause read with the object as its verb
            if verb.head.i == obj.i:
                take_place(verb, obj)
            for child in [c for c in obj.children if c.i != verb.i]:
                rehang(child, verb, child.dep_)
            rehang(obj, verb, "dobj")
            obj.tag_, obj.pos_, obj.lemma_ = "NNS", "NOUN", noun_lemma(obj.text, "NNS")
        span = range(start, verb.i + 1)
        top = next((t for t in doc[start : verb.i + 1] if t.head.i not in span or t.head.i == t.i), verb)
        outside = [c for t in doc[start : verb.i + 1] for c in t.children if c.i not in span and c.i != opener.i]
        if relative:
            preposition, described = doc[opener.i - 1], doc[opener.i - 2]
            if described.head.i in span or described.head.i == preposition.i:
                take_place(described, top)
            rehang(verb, described, "relcl")
            rehang(preposition, verb, "prep")
            rehang(opener, preposition, "pobj")
            outside = [c for c in outside if c.i not in (preposition.i, described.i)]
        else:
            if top.head.i == opener.i:
                rehang(verb, opener.head, "advcl")  # "as gulls drift": the clause read as the object of "as"
            elif top.i != verb.i:
                take_place(verb, top)
            if verb.dep_ not in ("advcl", "conj", "ccomp", "ROOT"):
                verb.dep_ = "advcl"
            rehang(opener, verb, "mark")
        for child in outside:
            rehang(child, verb, child.dep_)
        rehang(subject, verb, "nsubj")
        for word in doc[start : subject.i]:
            rehang(word, subject, _modifier_dep(word))
        if subject.tag_ == "VBZ":
            subject.tag_ = "NNS"
            as_noun(subject)
        verb.tag_, verb.pos_, verb.lemma_ = "VBP", "VERB", verb.lower_


def repair_clause_read_as_object(doc) -> None:
    """ "... sway above a stall as a cook stirs a pot", "two egrets stand motionless as an angler in a yellow raincoat
    casts a line": "as" (or "while") read as a preposition with the clause's subject as its object, so that the
    cook and what the cook stirs nest under the first subject. A subordinator hung as a preposition whose object is
    followed (after its own phrases, perhaps hung on the first verb) by a finite verb with no subject opens a clause:
    the object is that verb's subject (round 9)."""
    for opener in doc:
        if opener.lower_ not in _SUBORDINATORS or opener.dep_ != "prep" or opener.pos_ != "ADP":
            continue
        objects = [c for c in opener.children if c.dep_ == "pobj" and c.pos_ in ("NOUN", "PROPN")]
        if len(objects) != 1:
            continue
        subject, main = objects[0], opener.head
        verb = next((t for t in doc[subject.i + 1 :] if t.pos_ in ("VERB", "AUX") or t.tag_ in ("VBZ", "VBD")), None)
        if verb is None or verb.tag_ not in ("VBZ", "VBP", "VBD") or verb.pos_ != "VERB":
            continue
        if any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in verb.children):
            continue
        if verb.head.i != main.i and verb.dep_ not in ("conj", "advcl", "ccomp"):
            continue
        # what stands between the object and the verb: the object's own phrases, or phrases hung on the first verb
        between = doc[subject.right_edge.i + 1 : verb.i]
        phrases = [c for c in main.children if c.dep_ == "prep" and subject.i < c.i < verb.i]
        covered = {t.i for p in phrases for t in p.subtree}
        if any(t.i not in covered for t in between):
            continue
        for phrase in phrases:
            rehang(phrase, subject, "prep")  # "an angler in a yellow raincoat"
        rehang(verb, main, "advcl")
        rehang(subject, verb, "nsubj")
        rehang(opener, verb, "mark")
        opener.pos_ = "SCONJ"


def repair_participle_clause_as_object(doc) -> None:
    """ "a cat watches flies buzzing around a lamp": the participle read as a clause that the verb takes, with the
    flies as its subject (so not the cat's). A participle hung as a verb's complement with a noun subject right
    before it: the noun is the verb's object and the participle describes it (round 9)."""
    for verb in doc:
        if verb.tag_ != "VBG" or verb.dep_ not in ("ccomp", "xcomp") or verb.head.pos_ != "VERB" or verb.i == 0:
            continue
        noun = doc[verb.i - 1]
        if noun.head.i != verb.i or noun.dep_ != "nsubj" or noun.pos_ not in ("NOUN", "PROPN"):
            continue
        if any(c.dep_ in ("aux", "mark") for c in verb.children):
            continue  # "... says the birds are singing"
        main = verb.head
        if any(c.dep_ == "dobj" for c in main.children):
            continue
        rehang(noun, main, "dobj")
        rehang(verb, noun, "acl")
        for child in [c for c in verb.children if c.i < noun.i]:
            rehang(child, noun, child.dep_)  # "watches two flies": the count is the flies'
