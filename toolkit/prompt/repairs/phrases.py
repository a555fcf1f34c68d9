"""Repairs of noun phrases and their attachment: nouns read as verbs, articles, numerals, conjuncts,
prepositions and their objects."""

from __future__ import annotations

from ..cues import negates_itself
from ..words import ALTERNATIVE_COORDINATORS, ATTRIBUTE_NOUNS, ING_NOUNS, PLACE_NOUNS
from .common import ARTICLES, RELATIVE_PRONOUNS, rehang, take_place


def repair_colour_read_as_conjunct(doc) -> None:
    """ "three brown puppies and one grey kitten": ``grey`` read as a noun coordinated with the puppies and
    ``kitten`` made a root with the puppies as its subject. A colour or material word right before a noun root, hung
    as a conjunct of that root's subject, describes the root (and takes its numeral along)."""
    for colour in doc:
        if colour.lower_ not in ATTRIBUTE_NOUNS or colour.dep_ != "conj" or colour.i + 1 >= len(doc):
            continue
        root = doc[colour.i + 1]
        if root.head.i != root.i or root.pos_ not in ("NOUN", "PROPN"):
            continue
        if not any(c.i == colour.head.i and c.dep_ in ("nsubj", "nsubjpass") for c in root.children):
            continue
        for child in [c for c in colour.children if c.i < colour.i]:
            rehang(child, root, child.dep_)
        rehang(colour, root, "amod")


def repair_adjective_hung_as_compound(doc) -> None:
    """ "a misty lake" parsed with ``misty`` (an adjective) as a compound of ``lake``: an adjective modifies."""
    for token in doc:
        if token.tag_ in ("JJ", "JJR", "JJS") and token.dep_ == "compound" and token.head.i > token.i:
            token.dep_ = "amod"


def repair_misplaced_article(doc) -> None:
    """ "a castle on a hill, highly detailed": the article of "a hill" hung from "detailed" beyond the noun; an
    article belongs to the first noun after it (past its adjectives, numerals and adverbs)."""
    for article in doc:
        if article.dep_ != "det" or article.lower_ not in ARTICLES or article.head.i <= article.i + 1:
            continue
        if any(True for _ in article.children):
            continue  # something hangs from the article itself ("a fabric rug and fluffy clouds"): leave it be
        for token in doc[article.i + 1 : article.head.i]:
            if token.pos_ in ("NOUN", "PROPN") and token.dep_ != "compound":
                rehang(article, token, "det")
                break
            if token.pos_ not in ("ADJ", "NUM", "ADV", "NOUN", "PROPN"):
                break


def repair_noun_with_subject(doc) -> None:
    """ "A red fox sleeps under a tree.": ``sleeps`` tagged a plural noun, yet the root with a noun subject: a verb
    (so is "dancing" in "a man and a woman dancing");
    "a ship that sails across the sea": a plural noun whose subject is a relative pronoun is a verb too."""
    for token in doc:
        if (
            token.tag_ == "NN"
            and token.lower_.endswith("ing")
            and token.lower_ not in ING_NOUNS
            and token.head.i == token.i
            and any(c.dep_ in ("nsubj", "nsubjpass") and c.pos_ in ("NOUN", "PROPN") for c in token.children)
        ):
            token.tag_, token.pos_ = "VBG", "VERB"  # "a man and a woman dancing"
            continue
        if token.tag_ not in ("NNS", "NN") or not token.lower_.endswith("s"):
            continue
        subjects = [c for c in token.children if c.dep_ in ("nsubj", "nsubjpass")]
        if any(c.dep_ in ("amod", "det", "nummod", "compound") and c.i < token.i for c in token.children):
            continue  # "a street lined with old houses and tall trees": "tall trees" is a noun phrase
        before = doc[token.i - 1] if token.i > 0 else None
        if before is not None and before.dep_ == "cc" and before.head.pos_ == "NOUN" and before.head.i < before.i:
            continue  # "covered in icing and gumdrops": the conjunct the noun's "and" waits for (round 9)
        main_verb = token.head.i == token.i and any(c.pos_ in ("NOUN", "PROPN") for c in subjects)
        relative = token.dep_ == "relcl" and any(c.lower_ in RELATIVE_PRONOUNS and c.i < token.i for c in subjects)
        if main_verb or relative:
            token.tag_, token.pos_, token.lemma_ = "VBZ", "VERB", token.lower_[:-1]


def repair_number_noun(doc) -> None:
    """ "a dozen roses": ``dozen`` tagged a noun though hung as the numeral of the noun after it: a number."""
    for token in doc:
        if token.dep_ == "nummod" and token.tag_ in ("NN", "NNS") and token.head.i > token.i:
            token.tag_, token.pos_ = "CD", "NUM"


def repair_numeral_root(doc) -> None:
    """ "two cacti on a shelf": the numeral made the root and the noun after it its modifier."""
    for number in doc:
        if number.tag_ != "CD" or number.head.i != number.i or number.i + 1 >= len(doc):
            continue
        noun = doc[number.i + 1]
        if noun.head.i == number.i and noun.dep_ in ("amod", "appos", "dep", "compound", "npadvmod"):
            rehang(noun, noun, "ROOT")
            rehang(number, noun, "nummod")


def repair_conjunct_of_object(doc) -> None:
    """ "a woman with long hair and a red dress", "a boy holding a kite and a ball": the second object hung as a
    conjunct (or apposition) of the first noun of the prompt, while its "and" hangs from the object before it. The
    coordinator says what is coordinated: the noun is a conjunct of the object that holds its "and"."""
    for token in doc:
        head = token.head
        if token.dep_ not in ("conj", "appos") or head.i >= token.i or token.pos_ not in ("NOUN", "PROPN"):
            continue
        coordinator = doc[token.left_edge.i - 1] if token.left_edge.i > 0 else None
        if coordinator is None or coordinator.dep_ != "cc":
            continue
        partner = coordinator.head
        if partner.i == head.i or not head.i < partner.i < coordinator.i or partner.pos_ not in ("NOUN", "PROPN"):
            continue
        if head.i not in {a.i for a in partner.ancestors}:
            continue
        rehang(token, partner, "conj")


def repair_subject_of_noun(doc) -> None:
    """ "a teddy bear with a missing eye": ``teddy`` made the subject of ``bear`` (read as the verb "bear") though
    "bear" is a singular noun with no verb near: a noun right before a noun root, as its subject, names it with it."""
    for root in doc:
        if root.head.i != root.i or root.tag_ not in ("NN", "NNP") or root.i == 0:
            continue
        subject = doc[root.i - 1]
        if subject.head.i != root.i or subject.dep_ not in ("nsubj", "nsubjpass"):
            continue
        if subject.pos_ not in ("NOUN", "PROPN") or any(c.pos_ in ("VERB", "AUX") for c in root.children):
            continue
        for child in [c for c in subject.children if c.i < subject.i]:
            rehang(child, root, child.dep_)
        rehang(subject, root, "compound")


def repair_parallel_preposition(doc) -> None:
    """ "a cup without a handle and a plate without food": "plate" hung as a conjunct of "handle" and its own
    "without" on "cup". A conjunct followed by the same preposition as the one its first conjunct depends on, hung on
    the same noun, is that noun's conjunct, and the preposition is its own."""
    for token in doc:
        if token.dep_ != "conj" or token.head.dep_ != "pobj" or token.i + 1 >= len(doc):
            continue
        preposition = token.head.head
        following = doc[token.i + 1]
        governor = preposition.head
        if following.dep_ != "prep" or following.lower_ != preposition.lower_ or following.head.i != governor.i:
            continue
        if governor.pos_ not in ("NOUN", "PROPN") or governor.i > preposition.i:
            continue
        coordinator = doc[token.left_edge.i - 1] if token.left_edge.i > 0 else None
        rehang(token, governor, "conj")
        if coordinator is not None and coordinator.dep_ == "cc":
            rehang(coordinator, governor, "cc")
        rehang(following, token, "prep")


def repair_attribute_noun_head(doc) -> None:
    """ "the princess's silver tiara": the colour/material noun ``silver`` made the head and ``tiara`` hung after it
    as an apposition; the noun after it is the head, and what hung before it (the owner, the article) is its."""
    for token in doc:
        if token.lower_ not in ATTRIBUTE_NOUNS or token.pos_ not in ("NOUN", "PROPN") or token.i + 1 >= len(doc):
            continue
        noun = doc[token.i + 1]
        if (
            noun.head.i != token.i
            or noun.dep_ not in ("appos", "dep", "npadvmod")
            or noun.pos_ not in ("NOUN", "PROPN")
        ):
            continue
        before = [c for c in token.children if c.i < token.i]
        take_place(noun, token)
        rehang(token, noun, "amod")
        for child in before:
            rehang(child, noun, child.dep_)


def repair_place_on_object(doc) -> None:
    """ "A young woman reads a book in a cozy library", "a grandmother baking cookies in a warm kitchen": "in" and a
    place (:data:`~attnmod.toolkit.prompt.words.PLACE_NOUNS`) hung on the verb's object; the place is where the
    verb happens, so the phrase hangs from the verb."""
    for preposition in doc:
        noun = preposition.head
        if preposition.lower_ != "in" or preposition.dep_ != "prep" or noun.dep_ != "dobj":
            continue
        if noun.head.pos_ != "VERB" or noun.i > preposition.i:
            continue
        if any(c.dep_ == "pobj" and c.lemma_.lower() in PLACE_NOUNS for c in preposition.children):
            rehang(preposition, noun.head, "prep")


def repair_stranded_preposition(doc) -> None:
    """ "a kite flying over a village": the object the model gave the participle belongs to the preposition."""
    for verb in doc:
        if verb.tag_ not in ("VBG", "VBN"):
            continue
        for prep in [c for c in verb.children if c.dep_ == "prep" and c.n_rights == 0]:
            objects = [c for c in verb.children if c.dep_ == "dobj" and c.left_edge.i == prep.i + 1]
            if objects:
                rehang(objects[0], prep, "pobj")


# Verbs that take "down" as a particle of an object they act on ("putting down a bag", "cutting down a tree"): the
# object is what they act on, not a path; any other verb with "down" right before its object moves along it.
_PHRASAL_DOWN = """
    put set lay place take bring pull push knock kick cut chop saw fell tear burn write jot note turn break shut pin
    hand wipe wash hose hold tie strap weigh track hunt shoot gun mow strike beat hammer press pat slow calm cool
    water tone gulp wolf melt nail bolt screw throw toss drop lower boil
"""
_PHRASAL_DOWN_VERBS = frozenset(_PHRASAL_DOWN.split())


def repair_path_particle(doc) -> None:
    """ "two otters drifting down a winding river", "a cat climbing down a tree": "down" (or "through") tagged a
    particle of the verb and the path after it made the verb's object; a preposition of the path, the noun its
    object (a place the subject moves along, a sibling: :data:`~attnmod.toolkit.prompt.words.SPATIAL_WORDS`).
    Not after a verb that acts on what follows its "down" ("putting down a bag")."""
    for particle in doc:
        if particle.dep_ != "prt" or particle.lower_ not in ("down", "through") or particle.i + 1 >= len(doc):
            continue
        verb = particle.head
        if verb.lemma_.lower() in _PHRASAL_DOWN_VERBS and particle.lower_ == "down":
            continue
        objects = [
            c for c in verb.children if c.dep_ in ("dobj", "npadvmod", "pobj") and c.left_edge.i == particle.i + 1
        ]
        if not objects and particle.n_rights == 0:
            continue
        particle.tag_, particle.pos_, particle.dep_ = "IN", "ADP", "prep"
        for noun in objects:
            rehang(noun, particle, "pobj")


def repair_colour_predicate_noun(doc) -> None:
    """ "a mermaid whose tail is silver, sitting on a rock": a colour or material word (``silver``) tagged a noun as
    what a form of "be" predicates, with no article or modifier of its own: an adjective of the subject, not a new
    object ("the ring is a gold one" keeps its article and stays as read)."""
    for token in doc:
        if token.lower_ not in ATTRIBUTE_NOUNS or token.pos_ not in ("NOUN", "PROPN") or token.dep_ != "attr":
            continue
        if token.head.lemma_.lower() != "be" or any(c.i < token.i for c in token.children):
            continue
        if not any(c.dep_ in ("nsubj", "nsubjpass") for c in token.head.children):
            continue
        token.tag_, token.pos_, token.dep_, token.lemma_ = "JJ", "ADJ", "acomp", token.lower_


def repair_alternative_after_negation(doc) -> None:
    """ "a quiet lagoon with no swimmers or kayaks": ``kayaks`` and its "or" hung on the lagoon, beyond the negated
    noun they follow. "or" or "nor" right after a negated noun ("no swimmers", "without pens", "neither roses")
    offers another thing that is not there: the noun after it is that noun's conjunct (an "and" is left as read:
    "a pond with no ducks and a wooden dock")."""
    for token in doc:
        if token.dep_ != "conj" or token.pos_ not in ("NOUN", "PROPN") or token.left_edge.i < 2:
            continue
        coordinator = doc[token.left_edge.i - 1]
        if coordinator.lower_ not in ALTERNATIVE_COORDINATORS or coordinator.head.i != token.head.i:
            continue
        negated = doc[coordinator.i - 1]  # the negated noun ends its phrase ("no red cars or trucks")
        if negated.i == token.head.i or negated.pos_ not in ("NOUN", "PROPN") or not negates_itself(negated):
            continue
        if token.head.i in {a.i for a in negated.ancestors}:
            rehang(coordinator, negated, "cc")
            rehang(token, negated, "conj")
