"""Repairs of the small English model's tags, arcs and lemmas on prompt-shaped text, before either back end reads it.

spaCy's small pipeline was trained on sentences; prompts are mostly long noun phrases, on which it makes a few errors
again and again. Each repair below reads a visible cue in the words and rewrites the doc in place (tags, lemmas,
heads), so that the dependency builder reads a sound tree and the benepar route gets sound tags and lemmas:

* a participle read as the head noun of a compound: "a horse grazing near a barn" (``horse -compound-> grazing``):
  the noun before it is the head, the participle hangs from it;
* a participle read as an adjective of the next noun: "a chef cooking pasta in a kitchen" (``chef <-npadvmod-
  cooking <-amod- pasta``): the first noun governs the participle, the second is its object;
* a noun read as a verb after its adjective: "a woman handing a red rose to a child" ("rose" as the past of "rise",
  "red" as the object): the noun takes the adjective's place, the adjective describes it;
* a noun phrase made the predicate of a subject with no verb: "a man wearing a hat and a blue shirt" (``shirt`` the
  root, ``man`` its subject): it is a conjunct of the word before its "and";
* a preposition left without its object: "a kite flying over a village" (``flying -dobj-> village``);
* a lemma that the lemmatiser's suffix rules made up: "ramen" -> "raman", "lens" -> "len": a changed noun lemma is
  kept only when the lemmatiser knows it as a noun or lists the word as an exception; irregular plurals it misses
  ("oxen") come from :data:`~attnmod.toolkit.prompt.words.IRREGULAR_PLURALS`.
"""

from __future__ import annotations

from .syntax import noun_lemma
from .words import ATTRIBUTE_NOUNS, FRAMING_NOUNS, ING_NOUNS, IRREGULAR_PLURALS, SPATIAL_WORDS

_ARTICLES = frozenset({"a", "an", "the"})


def _rehang(token, head, dep: str) -> None:
    """Hang ``token`` from ``head`` (itself: the root) with relation ``dep``."""
    token.head = head
    token.dep_ = dep


def _as_noun(token) -> None:
    token.tag_ = "NNS" if token.tag_ == "NNS" else "NN"
    token.pos_ = "NOUN"
    token.lemma_ = noun_lemma(token.text, token.tag_)


def _take_place(new, old) -> None:
    """``new`` takes ``old``'s place in the tree (its head and relation); ``old`` must then be re-hung."""
    if old.head.i == old.i:
        _rehang(new, new, "ROOT")
    else:
        _rehang(new, old.head, old.dep_)


def repair_participle_head(doc) -> None:
    """ "a horse grazing near a barn": ``grazing`` (NN, heading ``horse`` as a compound and a phrase after it)."""
    for token in doc:
        if not (token.tag_ == "NN" and token.lower_.endswith("ing") and token.i > 0):
            continue
        if token.lower_ in ING_NOUNS or token.lower_ in FRAMING_NOUNS:
            continue
        noun = doc[token.i - 1]
        if noun.dep_ != "compound" or noun.head.i != token.i or noun.pos_ not in ("NOUN", "PROPN"):
            continue
        if not any(
            c.i > token.i and (c.dep_ == "dobj" or (c.dep_ == "prep" and c.lower_ in SPATIAL_WORDS))
            for c in token.children
        ):
            continue
        left = [c for c in token.children if c.i < noun.i]
        _take_place(noun, token)
        _rehang(token, noun, "acl")
        for child in left:
            _rehang(child, noun, child.dep_)
        token.tag_, token.pos_ = "VBG", "VERB"


def repair_participle_modifier(doc) -> None:
    """ "a chef cooking pasta in a kitchen": ``cooking`` (amod of ``pasta``) governing ``chef`` before it."""
    for verb in doc:
        if verb.tag_ != "VBG" or verb.dep_ != "amod" or verb.head.i <= verb.i:
            continue
        subjects = [c for c in verb.children if c.i < verb.i and c.pos_ in ("NOUN", "PROPN")]
        if not subjects:
            continue
        subject, obj = subjects[-1], verb.head
        after = [c for c in obj.children if c.i > obj.i and c.dep_ == "prep"]
        _take_place(subject, obj)
        _rehang(verb, subject, "acl")
        _rehang(obj, verb, "dobj")
        for child in after:
            _rehang(child, verb, "prep")


def repair_noun_read_as_verb(doc) -> None:
    """ "a red rose to a child": ``rose`` tagged a verb right after an adjective that holds the article."""
    for token in doc:
        if token.i < 2 or not token.tag_.startswith("VB") or token.tag_ == "VBG":
            continue
        adjective, article = doc[token.i - 1], doc[token.i - 2]
        if not (adjective.pos_ == "ADJ" or adjective.lower_ in ATTRIBUTE_NOUNS) or adjective.head.i == token.i:
            continue
        if article.lower_ not in _ARTICLES or article.head.i != adjective.i:
            continue
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if following is not None and (following.pos_ in ("DET", "NOUN", "PROPN", "ADJ", "PRON", "NUM")):
            continue  # a verb with an object ("a tall man holds a cup") stays a verb
        ancestors = {a.i for a in adjective.ancestors}
        if token.i in ancestors:
            # the branch under the false verb that leads to the adjective takes the verb's place
            branch = next(c for c in token.children if c.i == adjective.i or c.i in ancestors)
            if branch.i != adjective.i:
                _take_place(branch, token)
                moved = [c for c in token.children if c.i > token.i and c.dep_ == "prep"]
                _rehang(token, adjective.head, adjective.dep_)
                for child in moved:
                    _rehang(child, branch, "prep")
            else:
                continue
        else:
            _rehang(token, adjective.head, adjective.dep_)
        _rehang(adjective, token, "amod")
        _rehang(article, token, "det")
        _as_noun(token)


def repair_verbless_predicate(doc) -> None:
    """ "a man wearing a straw hat and a blue shirt": the model made "shirt" the root with "man" its subject, as if
    "is" stood between them; a noun root with a noun subject and no verb is a conjunct of the word before its "and"."""
    for root in doc:
        if root.head.i != root.i or root.pos_ not in ("NOUN", "PROPN"):
            continue
        subjects = [c for c in root.children if c.dep_ in ("nsubj", "nsubjpass") and c.pos_ in ("NOUN", "PROPN")]
        if not subjects or any(c.pos_ in ("AUX", "VERB") for c in root.children):
            continue
        subject = subjects[0]
        start = min([root.i] + [c.left_edge.i for c in root.children if subject.i < c.i < root.i])
        coordinator = doc[start - 1] if start > 0 else None
        if coordinator is None or coordinator.dep_ != "cc" or coordinator.head.i == root.i:
            continue
        if coordinator.head.i not in {t.i for t in subject.subtree}:
            continue
        _rehang(subject, subject, "ROOT")
        _rehang(root, coordinator.head, "conj")


def repair_stranded_preposition(doc) -> None:
    """ "a kite flying over a village": the object the model gave the participle belongs to the preposition."""
    for verb in doc:
        if verb.tag_ not in ("VBG", "VBN"):
            continue
        for prep in [c for c in verb.children if c.dep_ == "prep" and c.n_rights == 0]:
            objects = [c for c in verb.children if c.dep_ == "dobj" and c.left_edge.i == prep.i + 1]
            if objects:
                _rehang(objects[0], prep, "pobj")


class NounLemmas:
    """Keeps a noun lemma the lemmatiser changed only when it knows the result (see the module docstring).

    ``lookups``: the rule lemmatiser's tables (``lemma_index``, ``lemma_exc``); read into sets on the first changed
    lemma, so that a prompt whose nouns all keep their form costs nothing at start-up.
    """

    def __init__(self, lookups):
        self.lookups = lookups
        self.known_nouns: frozenset[str] | None = None
        self.exceptions: frozenset[str] = frozenset()

    def _load(self) -> None:
        self.known_nouns = frozenset(self.lookups.get_table("lemma_index").get("noun", ()))
        self.exceptions = frozenset(self.lookups.get_table("lemma_exc").get("noun", {}))

    def __call__(self, doc) -> None:
        for token in doc:
            if token.pos_ not in ("NOUN", "PROPN"):
                continue
            lower = token.lower_
            if lower in IRREGULAR_PLURALS:
                token.lemma_ = IRREGULAR_PLURALS[lower]
                continue
            if not token.lemma_ or token.lemma_.lower() == lower:
                continue
            if self.known_nouns is None:
                self._load()
            if lower not in self.exceptions and token.lemma_.lower() not in self.known_nouns:
                token.lemma_ = lower


def repair(doc, lemmas: NounLemmas | None):
    for step in (
        repair_participle_head,
        repair_participle_modifier,
        repair_noun_read_as_verb,
        repair_verbless_predicate,
        repair_stranded_preposition,
    ):
        step(doc)
    if lemmas is not None:
        lemmas(doc)
    return doc
