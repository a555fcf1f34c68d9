"""A list of modifiers before one noun, read by the tagger with one of them as a noun or a verb."""

from __future__ import annotations

from ..words import ATTRIBUTE_NOUNS
from .common import rehang, take_place

# "yet" and "but" join modifiers as "and" does ("a waterproof yet lightweight parka", "a small but cozy cabin")
_SEPARATORS = frozenset({",", "and", "or", "yet", "but"})
_NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})


def _modifier_word(token, lexicon) -> bool:
    """An adjective the lemmatiser knows, a colour, material or shape, or a participle of a known verb
    ("abandoned", "crumbling", "chipped")."""
    lower = token.lower_
    if not lower.isalpha():
        return False
    if lower in ATTRIBUTE_NOUNS or lower in lexicon.known("adj"):
        return True
    for suffix in ("ed", "ing", "en"):
        if lower.endswith(suffix) and len(lower) > len(suffix) + 2:
            stem = lower[: -len(suffix)]
            if {stem, stem + "e", stem[:-1]} & lexicon.known("verb"):
                return True
    return False


def _adjective_only(token, lexicon) -> bool:
    """A word the lemmatiser knows as an adjective and not as a noun ("ornate", "slender"), whatever its tag."""
    return token.lower_ in lexicon.known("adj") and token.lower_ not in lexicon.known("noun")


def _before_yet(doc, i: int) -> bool:
    """ "a stainproof yet soft rug": "yet" joins modifiers, not nouns, so the word before it is one (a word new to the
    lemmatiser too), when a modifier follows."""
    return i + 2 < len(doc) and doc[i].is_alpha and doc[i].text.islower() and doc[i + 1].lower_ == "yet"


def _run(doc, start: int, lexicon) -> tuple[list, list, int] | None:
    """The modifiers from ``start`` (at least two, joined by commas, "and" or "or"), the separators, and the index
    of the noun they describe: the last noun of the words that follow the list without a break."""
    items, separators, i = [], [], start
    while i < len(doc) and (_modifier_word(doc[i], lexicon) or _before_yet(doc, i)):
        items.append(doc[i])
        i += 1
        seps = []
        while i < len(doc) and doc[i].lower_ in _SEPARATORS:
            seps.append(doc[i])
            i += 1
        if not seps:
            break
        if i >= len(doc) or not _modifier_word(doc[i], lexicon):
            return None  # a list of nouns or a new phrase after the comma
        separators += seps
    if len(items) < 2 or not separators:
        return None
    head = None
    while i < len(doc) and (doc[i].tag_ in _NOUN_TAGS or _modifier_word(doc[i], lexicon)):
        if doc[i].tag_ in _NOUN_TAGS and doc[i].lower_ not in ATTRIBUTE_NOUNS and not _adjective_only(doc[i], lexicon):
            head = i
        elif head is not None:
            break
        i += 1
    if head is None:
        return None
    return items, separators, head


def repair_modifier_list(doc, lexicon) -> None:
    """ "a rusty, abandoned, overgrown tractor", "a tall, slender and elegant candlestick", "a black and gold ornate
    clock": after an article or a number, two or more modifiers joined by commas, "and" or "or" and then a noun, with
    one of them read as a noun ("slender", "gold"), as a verb ("cracked" the root, "lantern" its object) or hung from
    another modifier. Each modifier (and any after the list, "ornate") describes the noun; the phrase keeps its place
    in the sentence. A list of nouns ("a cat, a dog and a bird", "a chair, table and lamp") is no list of modifiers."""
    for det in doc:
        if det.tag_ not in ("DT", "CD") or det.i + 1 >= len(doc):
            continue
        found = _run(doc, det.i + 1, lexicon)
        if found is None:
            continue
        items, separators, head_index = found
        noun = doc[head_index]
        extra = [
            t
            for t in doc[items[-1].i + 1 : head_index]
            if t not in separators and (t.tag_ not in _NOUN_TAGS or _adjective_only(t, lexicon))
        ]
        modifiers = items + extra
        span = {t.i for t in doc[det.i : head_index + 1]}
        misread = any(
            m.pos_ not in ("ADJ", "NUM") and m.lower_ not in ATTRIBUTE_NOUNS or m.head.i not in span for m in modifiers
        ) or noun.head.i in span - {noun.i}
        # "a rugged yet elegant watch": "yet" hung as an adverb of "elegant" (one attribute "yet elegant")
        misread = misread or any(s.dep_ != "cc" and s.lower_ in ("yet", "but") for s in separators)
        if not misread:
            continue
        top = next((t for t in doc[det.i : head_index + 1] if t.head.i not in span or t.head.i == t.i), noun)
        if top.i != noun.i:
            take_place(noun, top)
        for token in doc[det.i : head_index]:
            for child in list(token.children):
                if child.i not in span:
                    rehang(child, noun, child.dep_)  # "... cracked lantern on a shelf": the shelf is the lantern's
        rehang(det, noun, "det" if det.tag_ == "DT" else "nummod")
        for modifier in modifiers:
            rehang(modifier, noun, "amod")
            if modifier.lower_ not in ATTRIBUTE_NOUNS:
                modifier.tag_, modifier.pos_, modifier.lemma_ = "JJ", "ADJ", modifier.lower_
        for separator in separators:
            rehang(separator, noun, "punct" if separator.lower_ == "," else "cc")
