"""Repairs that ask the lemmatiser's own word lists (:class:`Lexicon`) whether a word is a known noun, verb or
adjective, and the merge of hyphenated words."""

from __future__ import annotations

from ..cues import fronted_preposition
from ..syntax import noun_lemma
from ..words import ATTRIBUTE_NOUNS, ING_MODIFIERS, ING_NOUNS, IRREGULAR_PLURALS
from .common import AFTER_INTRANSITIVE, as_noun, describing_ing_form, rehang, take_place


def verb_stem(word: str, verbs) -> str | None:
    """The base form of a third-person "-s" form that ``verbs`` (known verb lemmas) lists: "sings" -> "sing",
    "buzzes" -> "buzz", "flies" -> "fly"; None when no candidate is a known verb."""
    lower = word.lower()
    if not lower.endswith("s") or len(lower) < 4:
        return None
    candidates = [lower[:-1]]
    if lower.endswith("es"):
        candidates.append(lower[:-2])
    if lower.endswith("ies"):
        candidates.append(lower[:-3] + "y")
    return next((c for c in candidates if c in verbs), None)


class _Words:
    """A word set read from the lemmatiser's tables at its first use (a membership test or an intersection)."""

    def __init__(self, load):
        self._load = load
        self._words: frozenset[str] | None = None

    def _get(self) -> frozenset[str]:
        if self._words is None:
            self._words = frozenset(self._load())
        return self._words

    def __contains__(self, word: object) -> bool:
        return word in self._get()

    def __rand__(self, other) -> frozenset[str]:
        return self._get() & frozenset(other)

    __and__ = __rand__


class Lexicon:
    """The rule lemmatiser's own word lists (``lemma_index``: known nouns, verbs and adjectives; ``lemma_exc``:
    irregular nouns), each read into a set when a repair first asks it about a word, so that a prompt that needs none
    of them costs nothing at start-up."""

    def __init__(self, lookups):
        self.lookups = lookups
        self._sets: dict[str, _Words] = {}

    def known(self, kind: str) -> _Words:
        """``kind``: "noun", "verb", "adj" or "adv" (known lemmas), or "noun_exceptions" (irregular forms)."""
        if kind not in self._sets:
            if kind == "noun_exceptions":
                self._sets[kind] = _Words(lambda: self.lookups.get_table("lemma_exc").get("noun", {}))
            else:
                self._sets[kind] = _Words(lambda: self.lookups.get_table("lemma_index").get(kind, ()))
        return self._sets[kind]


def repair_noun_lemmas(doc, lexicon: Lexicon) -> None:
    """Keep a noun lemma the lemmatiser changed only when it knows the result as a noun or lists the word as an
    exception ("ramen" stays "ramen", not "raman"); irregular plurals it misses come from the table."""
    for token in doc:
        if token.pos_ not in ("NOUN", "PROPN"):
            continue
        lower = token.lower_
        if lower in IRREGULAR_PLURALS:
            token.lemma_ = IRREGULAR_PLURALS[lower]
        elif token.tag_ == "NN" and lower.endswith("s") and _plural_read_as_singular(lower, lexicon):
            # "covered in dust and cobwebs": a plural tagged singular (the lemmatiser then keeps it), whose
            # singular the lemmatiser knows as a noun and which it does not know itself
            token.tag_, token.lemma_ = "NNS", noun_lemma(lower, "NNS")
        elif (
            token.lemma_
            and token.lemma_.lower() != lower
            and lower not in lexicon.known("noun_exceptions")
            and token.lemma_.lower() not in lexicon.known("noun")
        ):
            token.lemma_ = lower


def _plural_read_as_singular(lower: str, lexicon: Lexicon) -> bool:
    singular = noun_lemma(lower, "NNS")
    return (
        singular != lower
        and singular in lexicon.known("noun")
        and lower not in lexicon.known("noun")
        and lower not in lexicon.known("noun_exceptions")
    )


def _needs_a_verb(word, following) -> bool:
    """A sentence written as prose (a capital letter first, a full stop last) with no verb in it, where a
    preposition with an article on its object follows, or an article: "Cold rain drums on the tin rooftops." (every
    such sentence in the prose sets has a verb; "City lights at night." keeps its noun: no article, a time of
    day). ``word``: the would-be verb, which the tagger may have tagged one."""
    sentence = word.sent
    first, last = sentence[0], sentence[-1]
    if not first.text[:1].isupper() or last.text not in (".", "!") or len(sentence) < 4:
        return False
    # "Crisp frost coats the wooden bench.": an article, the verb's object; or a preposition with an article
    article = following is not None and following.pos_ == "DET" and following.head.i > following.i
    place = (
        following is not None
        and following.pos_ == "ADP"
        and any(c.dep_ == "pobj" and any(d.dep_ == "det" for d in c.children) for c in following.children)
    )
    if not (article or place):
        return False
    # a verb hung as a conjunct of a noun is no verb of the sentence yet ("... in the chapel and lights a candle.")
    others = [t for t in sentence if t.i != word.i]  # "Fresh snow blankets the village.": "blankets" a verb already
    return not any(t.pos_ in ("VERB", "AUX") and not (t.dep_ == "conj" and t.head.pos_ == "NOUN") for t in others)


def repair_verb_read_as_compound_head(doc, lexicon: Lexicon) -> None:
    """ "A small bird sings in a tree", "a woman who wears a black dress sings": the verb tagged a plural noun with
    its subject hung before it as a compound ("bird sings" as one noun). Read as a verb when all of these hold: it is
    a third-person "-s" form of a verb the lemmatiser knows; the noun before it is singular; nothing but a
    preposition, adverb, conjunction, article or punctuation follows (or the text ends); and either the article of
    the two is "a"/"an" (a singular article cannot head a plural noun) or the word is no noun at all ("sings"), or
    the pair stands in a prose sentence with no other verb ("Cold rain drums on the tin rooftops."). "the city
    lights at night" keeps its compound noun."""
    verbs, nouns = lexicon.known("verb"), lexicon.known("noun")
    for token in doc:
        if token.tag_ not in ("NNS", "VBZ") or token.i == 0:
            continue
        subject = doc[token.i - 1]
        if subject.head.i != token.i or subject.dep_ not in ("compound", "nmod", "amod"):
            continue
        if subject.pos_ not in ("NOUN", "PROPN") or subject.tag_ not in ("NN", "NNP"):
            continue
        stem = token.lemma_.lower() if token.tag_ == "VBZ" else verb_stem(token.lower_, verbs)
        if stem is None:
            continue
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if following is not None and following.pos_ not in AFTER_INTRANSITIVE:
            continue
        singular_article = any(
            c.dep_ == "det" and c.lower_ in ("a", "an") for c in [*token.children, *subject.children]
        )
        if not singular_article and stem in nouns and not _needs_a_verb(token, following):
            continue
        left = [c for c in token.children if c.i < subject.i]  # the article and adjectives: the subject's
        if token.head.i == token.i + 1 and token.head.pos_ == "ADP" and token.head.head.i == token.head.i:
            # "An eagle soars above the peaks": "soars" hung from "above", made the root
            preposition = token.head
            take_place(token, preposition)
            rehang(preposition, token, "prep")
            rehang(subject, token, "nsubj")
        elif token.head.i == token.i or token.dep_ in ("advcl", "conj", "ccomp"):
            rehang(subject, token, "nsubj")
        elif (
            token.dep_ == "nsubj"
            and token.head.pos_ == "VERB"
            and any(c.dep_ == "cc" and c.lower_ == "and" and token.i < c.i < token.head.i for c in token.children)
        ):
            # "A knight kneels by the river and washes a helmet": "knight kneels" made the subject of "washes"
            second = token.head
            take_place(token, second)
            rehang(second, token, "conj")
            rehang(subject, token, "nsubj")
        elif token.dep_ in ("dobj", "attr") and token.head.dep_ == "relcl" and token.head.head.i < token.head.i:
            # "a woman who wears a black dress sings": the dress is what she wears, she is who sings
            clause, described = token.head, token.head.head
            rehang(subject, clause, token.dep_)
            take_place(token, described)
            rehang(described, token, "nsubj")
        else:
            continue
        for child in left:
            rehang(child, subject, child.dep_)
        obj = following.head if following is not None and following.pos_ == "DET" else None
        if obj is not None and obj.head.i == token.i and obj.dep_ in ("appos", "attr", "npadvmod", "dep"):
            obj.dep_ = "dobj"  # "Crisp frost coats the wooden bench.": the bench is its object
        token.tag_, token.pos_, token.lemma_ = "VBZ", "VERB", stem


def repair_participle_inside_compound(doc, lexicon: Lexicon) -> None:
    """ "a chef slicing onions on a board": ``chef`` and ``slicing`` both hung as compounds of ``onions``. An
    "-ing" word between two nouns, which the lemmatiser does not know as a noun, is a participle: the noun before it
    governs it, the noun after it is its object, and what followed that noun hangs from the participle. (The
    lemmatiser lists every gerund as a noun, so the test is on the verb: a known verb's "-ing" form, and not one of
    the "-ing" words that name a kind of thing, "a kitchen cutting board".)"""
    verbs = lexicon.known("verb")
    for verb in doc:
        lower = verb.lower_
        if not lower.endswith("ing") or lower in ING_NOUNS or lower in ING_MODIFIERS or verb.i == 0:
            continue
        stem = lower[:-3]
        if not {stem, stem + "e", stem[:-1]} & verbs:  # "slicing" -> "slice", "running" -> "run"
            continue
        obj, subject = verb.head, doc[verb.i - 1]
        if verb.dep_ not in ("compound", "amod", "nmod") or obj.i <= verb.i or obj.pos_ not in ("NOUN", "PROPN"):
            continue
        if subject.head.i not in (obj.i, verb.i) or subject.pos_ not in ("NOUN", "PROPN"):
            continue
        if subject.dep_ not in ("compound", "amod", "nmod", "npadvmod"):
            continue  # "a long white gown holding roses": "gown" an adjective; "a crate holding melons": adverbial
        before = [c for c in obj.children if c.i < subject.i]
        after = [c for c in obj.children if c.i > obj.i and c.dep_ == "prep"]
        take_place(subject, obj)
        rehang(verb, subject, "acl")
        rehang(obj, verb, "dobj")
        for child in before:
            rehang(child, subject, child.dep_)
        for child in after:
            rehang(child, verb, "prep")
        verb.tag_, verb.pos_, verb.lemma_ = "VBG", "VERB", lower


def repair_noun_read_as_adjective(doc, lexicon: Lexicon) -> None:
    """ "a flock of geese over a field": ``geese`` tagged an adjective as the object of "of". A word in a noun's
    place (object, subject, root) that is an irregular plural, or that the lemmatiser knows as a noun and not as an
    adjective, is a noun."""
    nouns, adjectives = lexicon.known("noun"), lexicon.known("adj")
    for token in doc:
        if token.tag_ not in ("JJ", "JJS", "JJR") or token.dep_ not in ("pobj", "dobj", "nsubj", "nsubjpass", "ROOT"):
            continue
        lower = token.lower_
        if lower in ATTRIBUTE_NOUNS:
            continue
        if lower in IRREGULAR_PLURALS or (lower in nouns and lower not in adjectives):
            token.tag_ = "NNS" if lower in IRREGULAR_PLURALS else "NN"
            token.pos_ = "NOUN"
            token.lemma_ = IRREGULAR_PLURALS.get(lower, lower)


def repair_modifier_across_comma(doc, lexicon: Lexicon) -> None:
    """ "a tiny house on a cloud, whimsical, pastel colors": ``cloud`` hung as an adjective of ``colors`` across the
    commas. A comma ends a noun phrase: a noun (tagged one, or known to the lemmatiser as a noun and not as an
    adjective) right before a comma and hung as a modifier of a word after it heads its own phrase; the word after
    the comma becomes its apposition, and the article and adjectives before the noun go with it."""
    nouns, adjectives = lexicon.known("noun"), lexicon.known("adj")
    for token in doc:
        head = token.head
        if token.dep_ not in ("amod", "compound", "nmod") or head.i <= token.i + 1 or doc[token.i + 1].text != ",":
            continue
        lower = token.lower_
        if lower in ATTRIBUTE_NOUNS or lower in adjectives and token.pos_ not in ("NOUN", "PROPN"):
            continue
        if token.pos_ not in ("NOUN", "PROPN") and lower not in nouns:
            continue
        before = [c for c in head.children if c.i < token.i]
        take_place(token, head)
        rehang(head, token, "appos")
        for child in before:
            rehang(child, token, child.dep_)
        if token.pos_ not in ("NOUN", "PROPN"):
            as_noun(token)


def repair_participle_adjective_read_as_noun(doc, lexicon: Lexicon) -> None:
    """ "a steaming bowl of soup": ``steaming`` tagged a noun before its head and read into the name ("a sleeping
    village": a participle hung as a compound); an "-ing" form of a known verb before a noun, not a word that names
    a kind of thing ("a cutting board", "a wedding ring"), describes the noun as a participle. Other modifiers may
    stand between ("the pair's matching grey coats", "a crackling orange fire": adjectives, past participles,
    colours and materials hung on the same noun)."""
    verbs = lexicon.known("verb")
    for token in doc:
        lower = token.lower_
        if not describing_ing_form(token):
            continue
        head = token.head
        if token.tag_ == "VBG" and token.dep_ != "compound":
            continue  # "a sleeping cat": already an adjective of its noun
        if token.dep_ not in ("amod", "compound", "nmod") or head.i <= token.i or head.pos_ not in ("NOUN", "PROPN"):
            continue
        between = doc[token.i + 1 : head.i]
        if any(
            t.head.i != head.i or not (t.pos_ == "ADJ" or t.tag_ == "VBN" or t.lower_ in ATTRIBUTE_NOUNS)
            for t in between
        ):
            continue
        if token.dep_ == "nmod" and not between:
            continue
        stem = lower[:-3]
        if not {stem, stem + "e", stem[:-1]} & verbs:
            continue
        before = doc[token.i - 1] if token.i > 0 else None
        # "a woman on a bench feeding pigeons": a participle with its object, not an adjective; but "a couple wearing
        # matching knitted sweaters": the sweaters are what the verb before takes, with modifiers
        taken = before is not None and before.pos_ == "VERB" and head.head.i == before.i and head.dep_ == "dobj"
        if before is not None and before.pos_ in ("NOUN", "PROPN", "VERB", "ADP") and not (between and taken):
            continue
        for child in [c for c in token.children if c.dep_ == "det"]:
            rehang(child, head, "det")  # "a steaming bowl": the article hung from "steaming"
        for word in between:
            if word.dep_ == "compound" and word.lower_ in ATTRIBUTE_NOUNS:
                word.dep_ = "amod"  # "a crackling orange fire": the colour describes the fire, as "crackling"
        rehang(token, head, "amod")
        token.tag_, token.pos_, token.lemma_ = "VBG", "VERB", lower


def repair_noun_modifier_read_as_adjective(doc, lexicon: Lexicon) -> None:
    """ "a lily pad": ``lily`` tagged an adjective of the noun after it, though the lemmatiser knows it only as a
    noun: part of the name ("lily pad"), not an attribute ("a hummingbird drinking nectar": the subject, which the
    participle repairs then find)."""
    nouns, adjectives = lexicon.known("noun"), lexicon.known("adj")
    for token in doc:
        lower = token.lower_
        if token.tag_ != "JJ" or token.dep_ != "amod" or token.head.i <= token.i or lower in ATTRIBUTE_NOUNS:
            continue
        if any(t.pos_ in ("ADP", "DET", "PUNCT", "CCONJ") for t in doc[token.i + 1 : token.head.i]):
            continue
        if lower not in nouns or lower in adjectives:
            continue
        head = token.head
        if head.pos_ in ("NOUN", "PROPN"):
            token.tag_, token.pos_, token.dep_, token.lemma_ = "NN", "NOUN", "compound", lower
        elif head.tag_ == "VBG" and head.i == token.i + 1:
            # "a tiny hummingbird hovering near a flower": the noun is the head, the participle describes it
            left = [c for c in head.children if c.i < token.i]
            take_place(token, head)
            rehang(head, token, "acl")
            for child in left:
                rehang(child, token, child.dep_)
            token.tag_, token.pos_, token.lemma_ = "NN", "NOUN", lower


def repair_comparative_read_as_noun(doc, lexicon: Lexicon) -> None:
    """ "a brighter star above a dimmer star": ``dimmer`` (a noun too: a light's dimmer) read as a compound. A noun
    in "-er" before a head noun is the comparative of a known adjective ("dim") when another comparative describes
    the same noun in the prompt: the two objects are being compared."""
    adjectives = lexicon.known("adj")
    compared = {t.head.lemma_.lower() for t in doc if t.tag_ in ("JJR", "RBR") and t.dep_ == "amod"}
    for token in doc:
        lower = token.lower_
        if token.dep_ != "compound" or token.head.i <= token.i or not lower.endswith("er") or len(lower) < 5:
            continue
        if token.head.lemma_.lower() not in compared:
            continue
        stems = {lower[:-2], lower[:-1], lower[:-3], lower[:-3] + "y"}  # bright-er, larg-er, dim-mer, happi-er
        if stems & adjectives:
            token.tag_, token.pos_, token.dep_, token.lemma_ = "JJR", "ADJ", "amod", lower


def repair_hyphenated_modifiers(doc) -> None:
    """ "snow-covered mountains", "a long-haired cat", "an ice-cold drink": spaCy splits a hyphenated word at its
    hyphens and the model then reads "snow" or "ice" as an object. Words joined by hyphens with no space are merged
    into one token; when the last part is an adjective or participle the word is an adjective (one attribute,
    "long-haired") of the noun right after it. Hyphenated nouns ("a red t-shirt") stay nouns."""
    runs: list[tuple[int, int]] = []
    for token in doc:
        if token.text != "-" or token.i == 0 or token.i + 1 >= len(doc):
            continue
        before, after = doc[token.i - 1], doc[token.i + 1]
        if before.whitespace_ or token.whitespace_ or not before.text.isalnum() or not after.text.isalnum():
            continue
        if runs and runs[-1][1] == token.i:
            runs[-1] = (runs[-1][0], token.i + 2)  # "black-and-white": one run
        else:
            runs.append((token.i - 1, token.i + 2))
    if not runs:
        return
    describing = []
    with doc.retokenize() as retokenizer:
        for start, end in runs:
            span = doc[start:end]
            attributes = {"LEMMA": span.text.lower()}
            if doc[end - 1].tag_ in ("JJ", "VBN", "VBD", "VBG"):
                attributes.update({"TAG": "JJ", "POS": "ADJ"})
                describing.append(start)
            retokenizer.merge(span, attrs=attributes)
    shift = 0
    for start, end in runs:
        index = start - shift
        shift += end - start - 1
        if start in describing and index + 1 < len(doc) and doc[index + 1].pos_ in ("NOUN", "PROPN"):
            word, noun = doc[index], doc[index + 1]
            if word.head.i != noun.i and noun.head.i != word.i:
                rehang(word, noun, "amod")
            elif noun.head.i == word.i:
                take_place(noun, word)
                rehang(word, noun, "amod")
            else:
                word.dep_ = "amod"


def repair_plural_subject_compound(doc, lexicon: Lexicon) -> None:
    """ "..., and pigeons circle above it": a plural noun hung as a compound of the plain verb after it ("pigeons
    circle" as one noun, "circle" tagged a singular noun). Read as a subject and its verb when the plural is a real
    plural (its lemma differs), no article stands before the pair (an article would make it a compound noun, "a
    sports car"), the second word is a verb the lemmatiser knows, and nothing but a preposition, adverb, conjunction
    or punctuation follows it (or the text ends). A subject tagged a verb ("..., and crows circle overhead": "crows"
    a "-s" verb) is a plural noun when the lemmatiser knows its singular as a noun."""
    verbs, nouns = lexicon.known("verb"), lexicon.known("noun")
    for token in doc:
        if token.tag_ == "VBZ" and token.dep_ == "nsubj" and token.head.pos_ == "VERB" and token.i < token.head.i:
            if noun_lemma(token.text, "NNS") in nouns:  # "..., and crows circle overhead": "crows" a verb
                token.tag_ = "NNS"
                as_noun(token)
            continue
        if token.tag_ not in ("NN", "NNS", "VB", "VBP") or token.pos_ not in ("NOUN", "VERB") or token.i == 0:
            continue
        if token.tag_ == "NNS" and token.lower_ not in verbs:
            continue
        subject = doc[token.i - 1]
        if subject.tag_ == "VBZ" and token.dep_ == "dobj" and subject.i == token.head.i and subject.dep_ == "conj":
            # "..., and ravens circle above it": "ravens" read as the verb, "circle" as its object
            if noun_lemma(subject.text, "NNS") not in nouns or token.lower_ not in verbs:
                continue
            following = doc[token.i + 1] if token.i + 1 < len(doc) else None
            if following is not None and (following.pos_ not in AFTER_INTRANSITIVE or following.pos_ == "DET"):
                continue
            take_place(token, subject)
            for child in list(subject.children):
                rehang(child, token, child.dep_)
            rehang(subject, token, "nsubj")
            subject.tag_ = "NNS"
            as_noun(subject)
            token.tag_, token.pos_, token.lemma_ = "VBP", "VERB", token.lower_
            continue
        if subject.head.i != token.i or subject.dep_ not in ("compound", "nmod", "nsubj") or subject.tag_ != "NNS":
            continue
        if subject.lemma_.lower() == subject.lower_ or token.lower_ not in verbs:
            continue
        if token.pos_ == "VERB" and subject.dep_ == "nsubj":
            continue  # already read right
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if following is not None and (following.pos_ not in AFTER_INTRANSITIVE or following.pos_ == "DET"):
            continue
        before = [c for c in token.children if c.i < subject.i and c.dep_ in ("det", "nummod", "amod", "compound")]
        if before and not (token.dep_ == "relcl" and fronted_preposition(token)):
            continue
        if any(c.dep_ == "det" for c in subject.children):
            continue
        if token.head.i != token.i and token.dep_ not in ("conj", "advcl", "ccomp", "relcl"):
            continue
        # "a ledge on which two clay owls perch": a clause fronted by "on which" has a verb; what stands before the
        # plural is the plural's own
        for modifier in before:
            rehang(modifier, subject, modifier.dep_)
        rehang(subject, token, "nsubj")
        token.tag_, token.pos_, token.lemma_ = "VBP", "VERB", token.lower_


def repair_bare_subject_read_as_verb(doc, lexicon: Lexicon) -> None:
    """ "goldfish in a round glass aquarium", "shrimp in a small aquarium": the first word, a noun the lemmatiser
    knows, tagged a verb and made the root with neither subject nor object, followed by "in", "inside" or
    "within": a noun, held by what follows (a verb there would be an order, which prompts do not give)."""
    nouns = lexicon.known("noun")
    if len(doc) < 3:
        return
    first = doc[0]
    if first.pos_ != "VERB" or first.head.i != first.i or first.lower_ not in nouns and first.lemma_ not in nouns:
        return
    if any(c.dep_ in ("nsubj", "dobj", "nsubjpass", "attr", "ccomp", "xcomp") for c in first.children):
        return
    if doc[1].lower_ not in ("in", "inside", "within") or doc[1].head.i != first.i:
        return
    first.tag_ = "NNS" if first.tag_ == "VBZ" else "NN"
    as_noun(first)
    rehang(first, first, "ROOT")
