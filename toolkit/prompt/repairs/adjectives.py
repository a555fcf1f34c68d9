"""Repairs of adjectives the small tagger reads as nouns, objects or heads when they are new to it, asking the
lemmatiser's word lists (:class:`~attnmod.toolkit.prompt.repairs.lexical.Lexicon`) what a word can be."""

from __future__ import annotations

from ..syntax import noun_lemma
from ..words import ATTRIBUTE_NOUNS, ING_NAME_WORDS, ING_NOUNS
from .common import ARTICLES, as_noun, describing_ing_form, rehang, take_place
from .lexical import Lexicon


def _known_noun(token, nouns) -> bool:
    return token.lower_ in nouns or noun_lemma(token.text, "NNS") in nouns


def _noun_described(doc, token):
    """The noun that ``token`` stands before with nothing but adjectives between ("shimmery scaly fins": "fins"),
    when ``token`` hangs from it or from one of those adjectives; else None."""
    for word in doc[token.i + 1 :]:
        if word.pos_ in ("NOUN", "PROPN"):
            between = {t.i for t in doc[token.i + 1 : word.i]}
            return word if token.head.i == word.i or token.head.i in between else None
        if word.pos_ != "ADJ":
            return None
    return None


def repair_adjective_read_as_noun(doc, lexicon: Lexicon) -> None:
    """ "a misty lake": ``misty`` tagged a (proper) noun in a compound, though the lemmatiser knows it only as an
    adjective: an adjective of the noun after it. A word in lower case tagged a proper noun that the lemmatiser
    knows as an adjective is one too ("..., dark clouds", "..., moody,": the tagger's guess for unknown words).

    The same with adjectives between ("huge leathery wings", "shimmery scaly fins", "a waxy yellow skin": the word
    tagged a noun and hung as a modifier of the noun or of an adjective before it, ``amod``, ``nmod``, ``npadvmod``);
    a word the lemmatiser knows as a noun too is an adjective only where the tagger's own arc says so (``amod``:
    "analog film photo"). A sentence's capitalised first word read as a name with the common noun after it ("Thick
    fog rolls ...") is an adjective when the lemmatiser knows it as one."""
    adjectives, nouns = lexicon.known("adj"), lexicon.known("noun")
    for token in reversed(doc):  # "shimmery scaly fins": "scaly" first, then "shimmery" stands before adjectives
        lower = token.lower_
        if token.pos_ == "ADV" and token.dep_ == "advmod" and lower in adjectives and lower not in nouns:
            # "gnarly knobbly fingers", "woolly red mittens": an adjective in "-ly" tagged an adverb of the noun
            # after it or of an adjective before that noun ("the only child", "early light": the lemmatiser knows
            # them as adverbs too, and they stay)
            if lower in lexicon.known("adv"):
                continue
            noun = _noun_described(doc, token)
            if noun is not None and token.text == lower:
                rehang(token, noun, "amod")
                token.tag_, token.pos_, token.lemma_ = "JJ", "ADJ", lower
            continue
        if token.is_sent_start and token.tag_ == "NNP" and token.text == lower.capitalize() and lower in adjectives:
            # "Thick fog rolls over the harbor.": a sentence's first word, capitalised, read as a name with the noun
            # after it; a common noun there ("fog", not "Gate") makes it an adjective
            head = token.head
            if token.dep_ in ("compound", "amod", "nmod") and head.i == token.i + 1 and head.tag_ in ("NN", "NNS"):
                token.tag_, token.pos_, token.dep_, token.lemma_ = "JJ", "ADJ", "amod", lower
            continue
        if token.text != lower or lower in ATTRIBUTE_NOUNS or token.pos_ not in ("NOUN", "PROPN"):
            continue
        proper = token.tag_ in ("NNP", "NNPS")
        if lower not in adjectives:
            continue
        if token.dep_ in ("amod", "nmod", "npadvmod") and lower not in ING_NAME_WORDS:
            # a word known as a noun too stays in a name right before its head ("a pet owner", "a light show", "the
            # living room"), but not hung across other modifiers ("analog film photo", "the clean white pillow")
            noun = _noun_described(doc, token) if lower not in nouns else None
            between = doc[token.i + 1 : token.head.i] if token.dep_ == "amod" else doc[0:0]
            across = len(between) > 0 and all(t.pos_ in ("NOUN", "ADJ") for t in between)
            if noun is not None or across:
                noun = noun if noun is not None else token.head
                rehang(token, noun, "amod")
                for child in [c for c in token.children if c.dep_ == "det"]:
                    rehang(child, noun, "det")  # "a waxy yellow skin": the article is the skin's
                token.tag_, token.pos_, token.lemma_ = "JJ", "ADJ", lower
                continue
        if lower in nouns and not proper:
            continue
        if token.dep_ == "compound" and token.head.i > token.i:
            token.tag_, token.pos_, token.dep_, token.lemma_ = "JJ", "ADJ", "amod", lower
        elif proper and not any(c.dep_ in ("det", "amod", "nummod") for c in token.children):
            token.tag_, token.pos_, token.lemma_ = "JJ", "ADJ", lower


def _colour_before_noun(doc, i: int) -> bool:
    """A colour or material ("yellow", "silver") tagged an adjective, or a noun hung on a word after it."""
    word = doc[i]
    return word.lower_ in ATTRIBUTE_NOUNS and (
        word.tag_ == "JJ" or word.dep_ in ("compound", "amod") and word.head.i > i
    )


def repair_adjective_read_as_object(doc, lexicon: Lexicon) -> None:
    """ "a monster with slimy rubbery tentacles", "a crab with big knobbly claws": the last adjective made the
    object of "with" and the noun after it read as the root verb, an adverb or an adjective ("tentacles" a verb with
    the monster as its subject). A preposition's object that is an adjective (tagged one, or known to the lemmatiser
    only as one), followed by a noun the lemmatiser knows with nothing but adjectives between and not hung under
    the object, is an adjective of that noun; the noun is the object, and a subject it held becomes the root."""
    nouns, adjectives = lexicon.known("noun"), lexicon.known("adj")

    def adjective(token) -> bool:
        lower = token.lower_
        return lower in adjectives and (token.pos_ == "ADJ" or lower not in nouns)

    for word in doc:
        if word.dep_ not in ("pobj", "pcomp") or word.head.pos_ != "ADP" or word.head.i > word.i or not adjective(word):
            continue
        end = word.i + 1
        while (
            end < len(doc)
            and (doc[end].lower_ not in nouns or _colour_before_noun(doc, end))
            and (
                doc[end].tag_ in ("JJ", "VBN")
                or (doc[end].pos_ == "ADV" and adjective(doc[end]))
                or _colour_before_noun(doc, end)
            )
        ):
            end += 1  # "slimy warty knobbly claws", "matching striped shirts", "matching yellow raincoats" (a colour)
        if end >= len(doc):
            continue
        noun = doc[end]
        if noun.tag_ == "VBG" or noun.pos_ not in ("NOUN", "VERB", "ADV", "ADJ") or not _known_noun(noun, nouns):
            continue
        if noun.lower_ in adjectives and noun.pos_ == "ADJ" and noun.lower_ not in nouns:
            continue
        if word.i <= noun.head.i < end:
            continue  # hung under the object or an adjective: another reading
        between = list(doc[word.i + 1 : end])
        held = [c for c in noun.children if c.i not in {t.i for t in between}]
        if noun.head.i == noun.i:
            # the noun the preposition hangs from, hung on the false root as its subject ("a rock with a craggy
            # mossy top": an adverbial noun of "top", read as an adjective)
            root = word.head.head
            if not word.i < root.head.i <= noun.i or root.i > word.head.i or root.pos_ not in ("NOUN", "PROPN"):
                continue
            rehang(root, root, "ROOT")
            for child in held:
                if child.i != root.i:
                    rehang(child, root, child.dep_)
        elif any(t.i == noun.i for t in word.ancestors):
            continue  # the object hangs under the noun: re-hanging would make a cycle
        take_place(noun, word)
        for child in [c for c in word.children if c.i < word.i]:
            rehang(child, noun, child.dep_)  # "a slimy warty back": the article and "slimy" are the back's
        for token in [word, *between]:
            rehang(token, noun, "amod")
            token.tag_, token.pos_, token.lemma_ = "JJ", "ADJ", token.lower_
        if noun.pos_ != "NOUN":
            noun.tag_ = "NNS" if noun.lower_.endswith("s") and noun_lemma(noun.text, "NNS") in nouns else "NN"
            as_noun(noun)


def repair_adjective_read_as_head(doc, lexicon: Lexicon) -> None:
    """ "a squat lugger gliding past a pier", "a plump houseboat drifting down a canal": after an article, an
    adjective and a noun new to the tagger, then a participle; the tagger made the adjective the head (the noun its
    modifier, or the root verb with the adjective its subject) or read the two as one name. When the lemmatiser
    knows the first word as an adjective and the second only as a noun (neither adjective nor verb), and the third
    is the "-ing" form of a known verb, the noun is the head, the adjective describes it and the participle hangs
    from it. With no participle, the noun hung on the adjective is the head too ("a squat lugger in a harbor")."""
    nouns, verbs, adjectives = lexicon.known("noun"), lexicon.known("verb"), lexicon.known("adj")
    for adjective in doc:
        if adjective.i == 0 or adjective.i + 1 >= len(doc) or adjective.text != adjective.lower_:
            continue
        article, noun = doc[adjective.i - 1], doc[adjective.i + 1]
        verb = doc[adjective.i + 2] if adjective.i + 2 < len(doc) else None
        if article.lower_ not in ARTICLES or adjective.lower_ not in adjectives or adjective.pos_ == "VERB":
            continue
        lower = noun.lower_
        if lower not in nouns or lower in adjectives or lower in verbs or noun.text != lower:
            continue
        ing = verb.lower_ if verb is not None else ""
        if not ing.endswith("ing") or ing in ING_NOUNS or not {ing[:-3], ing[:-3] + "e", ing[:-4]} & verbs:
            # no participle: only the noun hung on the adjective ("a squat lugger in a harbor": "squat" the head)
            if noun.head.i != adjective.i or noun.dep_ not in ("amod", "compound", "nmod", "npadvmod", "appos"):
                continue
            verb = None
        if (
            adjective.pos_ == "ADJ"
            and adjective.head.i == noun.i
            and adjective.dep_ == "amod"
            and (verb is None or noun.head.i != verb.i)
        ):
            continue  # read right
        if noun.head.i == adjective.i:
            take_place(noun, adjective)  # "a squat lugger": "squat" the root, "lugger" its adjective
        elif verb is not None and noun.head.i == verb.i and adjective.head.i in (verb.i, noun.i):
            # "a stout trawler gliding": both read as modifiers of "gliding", a noun
            take_place(noun, verb)
            for child in [c for c in verb.children if c.i < noun.i]:
                rehang(child, noun, child.dep_)
            rehang(verb, noun, "acl")
        elif adjective.head.i != noun.i:
            continue
        for child in list(adjective.children):
            rehang(child, noun, child.dep_)
        rehang(adjective, noun, "amod")
        adjective.tag_, adjective.pos_, adjective.lemma_ = "JJ", "ADJ", adjective.lower_
        if verb is not None and verb.head.i in (adjective.i, noun.i):
            rehang(verb, noun, "acl")
            verb.tag_, verb.pos_, verb.lemma_ = "VBG", "VERB", ing
        if noun.pos_ != "NOUN":
            noun.tag_ = "NN"
            as_noun(noun)


def repair_predicate_read_as_noun(doc, lexicon: Lexicon) -> None:
    """ "The old barn is rickety.", "a baker whose cap is floury shapes loaves": what "is" says of its subject, an
    adjective new to the tagger, tagged a noun (an entity "rickety") or an adverb ("the crust is flaky", "the beard is
    scraggly": no attribute at all). A word right after "is"/"are" that the lemmatiser knows as an adjective and
    neither as a noun nor as an adverb, with nothing hung on it, is the adjective the verb predicates."""
    adjectives, nouns, adverbs = lexicon.known("adj"), lexicon.known("noun"), lexicon.known("adv")
    for token in doc:
        verb = token.head
        if (
            token.i == 0
            or verb.i != token.i - 1
            or verb.lemma_ != "be"
            or token.dep_ not in ("attr", "acomp", "advmod")
        ):
            continue
        lower = token.lower_
        if token.tag_ not in ("NN", "NNP", "RB") or token.text != lower or lower in ATTRIBUTE_NOUNS:
            continue
        if lower not in adjectives or lower in nouns or lower in adverbs or any(True for _ in token.children):
            continue
        token.tag_, token.pos_, token.dep_, token.lemma_ = "JJ", "ADJ", "acomp", lower


def repair_participle_adjective_read_as_head(doc, lexicon: Lexicon) -> None:
    """ "a grinning clown with a red nose", "a snoozing tabby cat on a rug": the participle after the article made
    the head noun (an entity "grinning") and the noun after it hung on it. An "-ing" form of a known verb, not a
    word that names a kind of thing ("a painting", "a cutting board"), right after its article and heading the noun
    that follows it (with adjectives or a compound between), describes that noun, which takes its place."""
    verbs = lexicon.known("verb")
    for token in doc:
        lower = token.lower_
        if not describing_ing_form(token):
            continue  # "a purring tabby cat": tagged a participle, but with the article hung on it
        stem = lower[:-3]
        if token.i == 0 or not {stem, stem + "e", stem[:-1]} & verbs:
            continue
        article = doc[token.i - 1]
        if article.lower_ not in ARTICLES or article.head.i != token.i:
            continue
        noun = None
        for word in doc[token.i + 1 :]:
            if word.pos_ in ("NOUN", "PROPN"):
                after = doc[word.i + 1] if word.i + 1 < len(doc) else None
                if after is not None and after.pos_ in ("NOUN", "PROPN") and word.head.i == after.i:
                    continue  # "a snoozing tabby cat": the last noun of the name
                noun = word
                break
            if word.pos_ != "ADJ" and word.tag_ != "VBN":
                break
        if noun is None or noun.head.i != token.i:
            continue
        take_place(noun, token)
        for child in list(token.children):
            if child.i != noun.i:
                rehang(child, noun, child.dep_)
        rehang(token, noun, "amod")
        token.tag_, token.pos_, token.lemma_ = "VBG", "VERB", lower


def repair_complement_read_as_object(doc, lexicon: Lexicon) -> None:
    """ "two egrets stand motionless as ...", "a fox lies motionless in the snow", "a lake lies tranquil": what the
    verb says its subject is, an adjective new to the tagger, read as the verb's object (an entity "motionless"). A
    bare word right after a verb other than "be" (which :func:`repair_predicate_read_as_noun` reads), hung on it as
    its object, that the lemmatiser knows as an adjective and not as a noun, with nothing hung on it and a
    preposition, a subordinator, punctuation or the end after it, is the verb's complement (round 9)."""
    adjectives, nouns = lexicon.known("adj"), lexicon.known("noun")
    for token in doc:
        verb = token.head
        if token.i == 0 or verb.i != token.i - 1 or verb.pos_ != "VERB" or verb.lemma_ == "be":
            continue
        if token.dep_ not in ("dobj", "attr", "npadvmod") or token.tag_ not in ("NN", "NNP"):
            continue
        lower = token.lower_
        if token.text != lower or lower not in adjectives or lower in nouns or lower in ATTRIBUTE_NOUNS:
            continue
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if any(True for _ in token.children) or (
            following is not None and following.pos_ not in ("ADP", "SCONJ", "PUNCT", "CCONJ")
        ):
            continue
        token.tag_, token.pos_, token.dep_, token.lemma_ = "JJ", "ADJ", "acomp", lower
