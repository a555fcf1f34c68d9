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
* a participle read as a noun ("a fox hiding behind a rock"), a comparative read as the root ("a horse taller than a
  man"), a verb read as a plural noun after a relative clause ("a boy whose shirt is orange kicks a ball"), an
  article hung from a word beyond its noun ("a hill, highly detailed"); a relative clause's adjective hung on the
  next word and that word, a verb, read as a plural noun ("a car which is blue stops near a sign"); a plural noun with
  a subject ("a fox sleeps"); a numeral made the root ("two cacti on a shelf");
* a hyphenated word split at its hyphens: "snow-covered mountains" (no snow), "a long-haired cat": merged into one
  token, an adjective when its last part is one;
* a finite verb read into the noun before it: "A small bird sings in a tree" (``bird -compound-> sings``, "sings" a
  plural noun or a verb), "a woman who wears a black dress sings"; a verb read as a plural noun after "that"/"who"
  ("a ship that sails across the sea");
* a participle between two nouns read as a compound: "a chef slicing onions on a board";
* a noun tagged an adjective in a noun's place: "a flock of geese" (``geese`` an adjective);
* a noun hung as a modifier of a word beyond a comma: "a house on a cloud, whimsical, pastel colors";
* a plural noun after a relative clause's colour, read as its predicate: "a knight whose armor is silver guards a
  gate"; a participle read as a verb with an article as its subject: "an orange and purple striped scarf"; a colour
  read as a noun coordinated with the subject: "three brown puppies and one grey kitten";
* a noun read as a verb after "and": "nachos and salsa" (``salsa`` a past tense), or with the colour before it as its
  subject: "a pale pink rose"; an adjective hung as a compound: "a misty lake";
* an adjective read as a noun in a compound: "a misty lake" (checked against the lemmatiser's own word lists), or
  as a proper noun in lower case: "..., moody, dark clouds";
* a second object hung as a conjunct of the first noun while its "and" hangs from the first object: "a woman with
  long hair and a red dress";
* a colour or material noun made the head of the noun after it: "the princess's silver tiara";
* a participle hung on what someone is in: "a boy in a yellow raincoat jumping in puddles" (the boy jumps);
* a piece of clothing coordinated with its wearer: "a man in a tweed jacket and a flat cap";
* a participle read as a gerund after a preposition: "a robot with glowing blue eyes"; a noun made the subject of
  the noun it names with: "a teddy bear with a missing eye"; a conjunct whose own preposition was hung on the first
  noun: "a cup without a handle and a plate without food";
* a place hung on a verb's object: "reads a book in a cozy library" (the reading happens there);
* a preposition left without its object: "a kite flying over a village" (``flying -dobj-> village``);
* a participle before a noun read as part of its name ("a steaming bowl"), a noun before a noun read as an
  adjective ("a lily pad");
* a comparative read as a compound noun when another comparative describes the same noun: "a brighter star above
  a dimmer star";
* a lemma that the lemmatiser's suffix rules made up: "ramen" -> "raman", "lens" -> "len": a changed noun lemma is
  kept only when the lemmatiser knows it as a noun or lists the word as an exception; irregular plurals it misses
  ("oxen") come from :data:`~attnmod.toolkit.prompt.words.IRREGULAR_PLURALS`.
"""

from __future__ import annotations

from .cues import ends_phrase
from .syntax import noun_lemma
from .words import (
    ATTRIBUTE_NOUNS,
    CLOTHING_NOUNS,
    FRAMING_NOUNS,
    ING_MODIFIERS,
    ING_NAME_WORDS,
    ING_NOUNS,
    IRREGULAR_PLURALS,
    PLACE_NOUNS,
)

_ARTICLES = frozenset({"a", "an", "the"})
_RELATIVE_PRONOUNS = frozenset({"who", "that", "which"})
# What may follow a finite verb with no object ("a bird sings in a tree", "a child laughs while ...", "... sings."):
# a preposition, an adverb, a subordinator or coordinator, a particle, punctuation, or an article (an object).
_AFTER_INTRANSITIVE = frozenset({"ADP", "ADV", "SCONJ", "CCONJ", "PART", "PUNCT", "DET"})


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


def repair_participle_head(doc, lexicon: Lexicon | None = None) -> None:
    """ "a horse grazing near a barn": ``grazing`` (NN, heading ``horse`` as a compound and a phrase after it).

    With the lemmatiser's word lists, also a participle of a known verb that ends the phrase ("a drawing of a horse
    galloping") and a past participle tagged a noun before its phrase ("a glass filled with orange juice": ``filled``
    the head, ``glass`` its adjective)."""
    verbs = lexicon.known("verb") if lexicon is not None else frozenset()
    nouns = lexicon.known("noun") if lexicon is not None else frozenset()
    for token in doc:
        lower = token.lower_
        if token.i == 0 or lower in ING_NOUNS or lower in FRAMING_NOUNS:
            continue
        if token.tag_ == "VBG" and token.head.i == token.i:
            # "a clown juggling three oranges", "a little girl chasing butterflies": the participle made the root,
            # with the noun before it as a compound or an adverbial noun
            noun = doc[token.i - 1]
            if noun.head.i == token.i and noun.dep_ in ("compound", "npadvmod") and noun.pos_ in ("NOUN", "PROPN"):
                left = [c for c in token.children if c.i < noun.i]
                _take_place(noun, token)
                _rehang(token, noun, "acl")
                for child in left:
                    _rehang(child, noun, child.dep_)
            continue
        if token.tag_ != "NN":
            continue
        present = lower.endswith("ing")
        past = lower.endswith("ed") and lower not in nouns and bool({lower[:-2], lower[:-1], lower[:-3]} & verbs)
        if not (present or past):
            continue
        noun = doc[token.i - 1]
        if noun.dep_ not in ("compound", "amod") or noun.head.i != token.i or noun.pos_ not in ("NOUN", "PROPN"):
            continue  # "a fox wearing a scarf sitting in the snow" hangs "scarf" as an adjective of "sitting"
        phrase_after = any(
            c.i > token.i and (c.dep_ == "dobj" or (c.dep_ == "prep" and (c.lower_ != "of" or past)))
            for c in token.children
        )
        final = (
            present
            and lower not in ING_MODIFIERS
            and {lower[:-3], lower[:-3] + "e", lower[:-4]} & verbs
            and token.n_rights == 0
            and (ends_phrase(token) or doc[token.i + 1].pos_ == "ADP")  # its phrase hung elsewhere
        )
        if not (phrase_after or final):
            continue
        left = [c for c in token.children if c.i < noun.i]
        _take_place(noun, token)
        _rehang(token, noun, "acl")
        for child in left:
            _rehang(child, noun, child.dep_)
        token.tag_, token.pos_ = ("VBG", "VERB") if present else ("VBN", "VERB")


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
        if token.head.i == adjective.i and token.dep_ in ("acl", "relcl"):
            continue  # "a glass filled with juice": a participle of the noun "glass", not a misread noun
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


def repair_noun_read_as_verb_with_subject(doc) -> None:
    """ "a pale pink rose and a deep red tulip": ``rose`` tagged the past of "rise", with the colour before it as its
    subject ("a light blue rose on a table": "on a table" its phrase). A verb with no object right after a colour or
    material noun that is its subject is the noun the colour describes: a colour does not rise or stand."""
    for token in doc:
        if not token.tag_.startswith("VB") or token.tag_ in ("VBG", "VBN") or token.i == 0:
            continue
        colour = doc[token.i - 1]
        if colour.lower_ not in ATTRIBUTE_NOUNS or colour.head.i != token.i or colour.dep_ not in ("nsubj", "compound"):
            continue
        if any(c.dep_ in ("dobj", "attr", "acomp") for c in token.children):
            continue
        for child in [c for c in colour.children if c.i < colour.i]:
            _rehang(child, token, child.dep_)  # "a pale pink rose": the article and "pale" are the rose's
        _rehang(colour, token, "amod")
        _as_noun(token)


def repair_participle_with_article_subject(doc) -> None:
    """ "an orange and purple striped scarf": ``striped`` read as a verb with the article "an" as its subject and the
    scarf as its object. An article is never a subject: the noun right after the participle is the head, the
    participle and the adjectives between the article and it describe the noun."""
    for verb in doc:
        if verb.tag_ not in ("VBD", "VBN") or verb.i + 1 >= len(doc):
            continue
        article = next((c for c in verb.children if c.dep_ == "nsubj" and c.lower_ in _ARTICLES), None)
        noun = doc[verb.i + 1]
        if article is None or noun.head.i != verb.i or noun.pos_ not in ("NOUN", "PROPN"):
            continue
        between = [t for t in doc[article.i + 1 : verb.i] if t.head.i in (article.i, verb.i)]
        _take_place(noun, verb)
        _rehang(verb, noun, "amod")
        _rehang(article, noun, "det")
        for token in between:
            if token.dep_ not in ("cc", "punct"):
                _rehang(token, noun, "amod")
        verb.tag_, verb.pos_ = "VBN", "VERB"


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
            _rehang(child, root, child.dep_)
        _rehang(colour, root, "amod")


def repair_participle_read_as_noun(doc) -> None:
    """ "a fox hiding behind a rock": ``hiding`` tagged a noun but hung as a clause on the noun before it."""
    for token in doc:
        if (
            token.tag_ == "NN"
            and token.lower_.endswith("ing")
            and token.dep_ == "acl"
            and token.lower_ not in ING_NOUNS
        ):
            token.tag_, token.pos_ = "VBG", "VERB"


def repair_adjective_hung_as_compound(doc) -> None:
    """ "a misty lake" parsed with ``misty`` (an adjective) as a compound of ``lake``: an adjective modifies."""
    for token in doc:
        if token.tag_ in ("JJ", "JJR", "JJS") and token.dep_ == "compound" and token.head.i > token.i:
            token.dep_ = "amod"


def repair_misplaced_article(doc) -> None:
    """ "a castle on a hill, highly detailed": the article of "a hill" hung from "detailed" beyond the noun; an
    article belongs to the first noun after it (past its adjectives, numerals and adverbs)."""
    for article in doc:
        if article.dep_ != "det" or article.lower_ not in _ARTICLES or article.head.i <= article.i + 1:
            continue
        if any(True for _ in article.children):
            continue  # something hangs from the article itself ("a fabric rug and fluffy clouds"): leave it be
        for token in doc[article.i + 1 : article.head.i]:
            if token.pos_ in ("NOUN", "PROPN") and token.dep_ != "compound":
                _rehang(article, token, "det")
                break
            if token.pos_ not in ("ADJ", "NUM", "ADV", "NOUN", "PROPN"):
                break


def repair_comparative_root(doc) -> None:
    """ "a horse taller than a man": the comparative made the root with the noun before it as its modifier; the noun
    is the head and the comparative describes it."""
    for adjective in doc:
        if adjective.head.i != adjective.i:
            continue
        # "a fox cleverer than a crow": "cleverer" tagged a noun, but "than" follows it
        than = adjective.lower_.endswith("er") and any(c.lower_ == "than" for c in adjective.children)
        if adjective.tag_ not in ("JJR", "JJS") and not than:
            continue
        nouns = [c for c in adjective.children if c.i < adjective.i and c.pos_ in ("NOUN", "PROPN")]
        if not nouns or nouns[-1].dep_ not in ("npadvmod", "nmod", "compound", "dep"):
            continue
        noun = nouns[-1]
        before = [c for c in adjective.children if c.i < noun.i]  # "a mountain taller ...": the article is its
        _rehang(noun, noun, "ROOT")
        _rehang(adjective, noun, "amod")
        for child in before:
            _rehang(child, noun, child.dep_)
        if adjective.tag_ not in ("JJR", "JJS"):
            adjective.tag_, adjective.pos_, adjective.lemma_ = "JJR", "ADJ", adjective.lower_


def repair_verb_read_as_plural(doc) -> None:
    """ "a boy whose shirt is orange kicks a ball": ``kicks`` tagged a plural noun, the object of "orange", with an
    article right after it: it is the main verb, its subject the noun the relative clause describes."""
    for token in doc:
        if token.tag_ != "NNS" or token.dep_ != "dobj" or token.i + 1 >= len(doc):
            continue
        root = token.head
        if root.head.i != root.i or root.pos_ != "ADJ" or root.i != token.i - 1:
            continue
        if doc[token.i + 1].lower_ not in _ARTICLES:
            continue
        subjects = [c for c in root.children if c.dep_ in ("nsubj", "nsubjpass") and c.i < root.i]
        clauses = [c for s in subjects for c in s.children if c.dep_ == "relcl" and c.lemma_ == "be"]
        if not clauses:
            continue
        after = [c for c in root.children if c.i > token.i]
        _rehang(token, token, "ROOT")
        _rehang(subjects[0], token, "nsubj")
        _rehang(root, clauses[0], "acomp")
        for child in after:
            _rehang(child, token, "dobj" if child.pos_ in ("NOUN", "PROPN") else child.dep_)
        token.tag_, token.pos_ = "VBZ", "VERB"
        token.lemma_ = token.lower_[:-1]


def repair_verb_read_as_predicate_noun(doc) -> None:
    """ "a knight whose armor is silver guards a gate": ``guards`` read as a plural noun, the predicate of "is" with
    "silver" as its compound, and "gate" made the root. A plural noun after the relative clause's colour or adjective,
    with an article right after it, is the main verb: the colour is the clause's predicate, the noun the clause
    describes is the subject, and the noun after the article is the object."""
    for token in doc:
        if token.tag_ != "NNS" or token.dep_ not in ("attr", "dobj") or token.i + 2 >= len(doc):
            continue
        copula = token.head
        if copula.dep_ != "relcl" or copula.lemma_ != "be" or doc[token.i + 1].lower_ not in _ARTICLES:
            continue
        colour = doc[token.i - 1]
        if colour.head.i != token.i or not (colour.pos_ == "ADJ" or colour.lower_ in ATTRIBUTE_NOUNS):
            continue
        described = copula.head
        objects = [t for t in doc[token.i + 2 :] if t.pos_ in ("NOUN", "PROPN")]
        if described.pos_ not in ("NOUN", "PROPN") or not objects:
            continue
        obj = objects[0]
        root = next(t for t in doc if t.head.i == t.i)
        _rehang(token, token, "ROOT")
        if root.i != token.i and root.i != described.i and root.i != obj.i:
            _rehang(root, token, "dep")
        _rehang(colour, copula, "acomp")
        colour.tag_, colour.pos_ = "JJ", "ADJ"
        _rehang(described, token, "nsubj")
        _rehang(obj, token, "dobj")
        _rehang(doc[token.i + 1], obj, "det")
        token.tag_, token.pos_, token.lemma_ = "VBZ", "VERB", token.lower_[:-1]


def repair_stranded_predicate(doc) -> None:
    """ "a cat that is black sits on a fence": the relative clause's adjective hung as a modifier of the next word;
    it is the predicate of the clause's "is"."""
    for verb in doc:
        if verb.dep_ != "relcl" or verb.lemma_ != "be" or verb.i + 1 >= len(doc):
            continue
        if any(c.dep_ in ("acomp", "attr", "oprd") and c.pos_ == "ADJ" for c in verb.children):
            continue
        adjective = doc[verb.i + 1]
        if adjective.pos_ == "ADJ" and adjective.dep_ == "amod" and adjective.head.i > adjective.i:
            _rehang(adjective, verb, "acomp")


def repair_verb_after_relative_clause(doc) -> None:
    """ "a car which is blue stops near a sign": ``stops`` tagged a plural noun right after the relative clause's
    adjective; it is the main verb, and the noun the clause describes its subject."""
    for token in doc:
        if token.tag_ != "NNS" or not token.lower_.endswith("s") or token.i < 3:
            continue
        adjective = doc[token.i - 1]
        verb = adjective.head
        if adjective.pos_ != "ADJ" or verb.dep_ != "relcl" or verb.lemma_ != "be" or adjective.dep_ != "acomp":
            continue
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if following is not None and following.pos_ not in ("ADP", "DET", "PUNCT", "ADV"):
            continue
        subject = verb.head
        if subject.pos_ not in ("NOUN", "PROPN"):
            continue
        _take_place(token, subject)
        _rehang(subject, token, "nsubj")
        token.tag_, token.pos_, token.lemma_ = "VBZ", "VERB", token.lower_[:-1]


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
        main_verb = token.head.i == token.i and any(c.pos_ in ("NOUN", "PROPN") for c in subjects)
        relative = token.dep_ == "relcl" and any(c.lower_ in _RELATIVE_PRONOUNS and c.i < token.i for c in subjects)
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
            _rehang(noun, noun, "ROOT")
            _rehang(number, noun, "nummod")


def repair_coordinated_verb(doc) -> None:
    """ "nachos and salsa on a plate": ``salsa`` tagged a verb, coordinated with a noun, with no subject or object;
    "pancakes topped with blueberries and syrup": ``syrup`` a base-form verb coordinated with "topped", with nothing
    under it and a noun right before its "and": a conjunct of that noun."""
    for token in doc:
        if not token.tag_.startswith("VB") or token.tag_ == "VBG" or token.dep_ != "conj":
            continue
        if token.head.i > token.i:
            continue
        if any(c.dep_ in ("nsubj", "nsubjpass", "dobj", "aux", "auxpass") for c in token.children):
            continue
        if token.head.pos_ in ("NOUN", "PROPN"):
            _as_noun(token)
            continue
        before = doc[token.i - 2] if token.i >= 2 else None
        if (
            token.tag_ in ("VB", "VBP")
            and token.head.pos_ == "VERB"
            and token.n_lefts == 0
            and token.n_rights == 0
            and doc[token.i - 1].dep_ == "cc"
            and before is not None
            and before.pos_ in ("NOUN", "PROPN")
            and before.dep_ in ("pobj", "dobj", "conj")
        ):
            _rehang(token, before, "conj")
            _rehang(doc[token.i - 1], before, "cc")
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
        _rehang(token, partner, "conj")


def repair_participle_on_worn_item(doc) -> None:
    """ "a boy in a yellow raincoat jumping in puddles", "a fox wearing a scarf sitting in the snow": the participle
    hung on the raincoat or the scarf; who is in something (wearing it, or inside it) or wears it is who acts: the
    participle hangs from the noun before "in" or "wearing" ("a girl sitting under a tree reading a book": from the
    one who sits)."""
    for verb in doc:
        if verb.tag_ != "VBG" or verb.dep_ != "acl":
            continue
        item = verb.head
        link = item.head  # "in" (a boy in a raincoat) or "wearing" (a fox wearing a scarf)
        if item.dep_ == "pobj" and link.lower_ == "in" and link.dep_ == "prep":
            pass
        elif (
            item.dep_ == "pobj"
            and link.dep_ in ("prep", "agent")
            and link.head.tag_ == "VBG"
            and link.head.dep_ == "acl"
        ):
            link = link.head  # "a girl sitting under a tree reading a book": she sits and reads
        elif not (item.dep_ == "dobj" and link.lower_ == "wearing" and link.dep_ == "acl"):
            continue
        wearer = link.head
        if wearer.pos_ in ("NOUN", "PROPN") and wearer.i < link.i < item.i < verb.i:
            _rehang(verb, wearer, "acl")


def repair_participle_read_as_gerund(doc) -> None:
    """ "a robot with glowing blue eyes": ``glowing`` read as a gerund (the object of "with") taking "eyes" as its
    object; a participle right before its noun, after a preposition, describes the noun, which is the object."""
    for verb in doc:
        if verb.tag_ != "VBG" or verb.dep_ != "pcomp" or verb.head.pos_ != "ADP":
            continue
        objects = [c for c in verb.children if c.dep_ == "dobj" and c.pos_ in ("NOUN", "PROPN")]
        if not objects or any(c.i < verb.i for c in verb.children):
            continue
        noun = objects[0]
        if any(t.pos_ not in ("ADJ", "NOUN", "PROPN", "NUM") for t in doc[verb.i + 1 : noun.i]):
            continue
        preposition = verb.head
        _rehang(noun, preposition, "pobj")
        _rehang(verb, noun, "amod")


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
            _rehang(child, root, child.dep_)
        _rehang(subject, root, "compound")


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
        _rehang(token, governor, "conj")
        if coordinator is not None and coordinator.dep_ == "cc":
            _rehang(coordinator, governor, "cc")
        _rehang(following, token, "prep")


def _clothing(token) -> bool:
    return token.lower_ in CLOTHING_NOUNS or token.lemma_.lower() in CLOTHING_NOUNS


def repair_worn_conjunct(doc) -> None:
    """ "an old man in a tweed jacket and a flat cap": the cap hung as a conjunct of the man. A piece of clothing
    (:data:`~attnmod.toolkit.prompt.words.CLOTHING_NOUNS`) coordinated with someone who is "in" or "wearing" another
    piece is worn too: a conjunct of that piece."""
    for token in doc:
        wearer = token.head
        if token.dep_ != "conj" or wearer.i >= token.i or not _clothing(token):
            continue
        worn = [
            grandchild
            for child in wearer.children
            if wearer.i < child.i < token.i
            and ((child.dep_ == "prep" and child.lower_ == "in") or (child.dep_ == "acl" and child.lower_ == "wearing"))
            for grandchild in child.children
            if grandchild.dep_ in ("pobj", "dobj") and _clothing(grandchild)
        ]
        if worn:
            _rehang(token, worn[-1], "conj")


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
        _take_place(noun, token)
        _rehang(token, noun, "amod")
        for child in before:
            _rehang(child, noun, child.dep_)


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
            _rehang(preposition, noun.head, "prep")


def repair_stranded_preposition(doc) -> None:
    """ "a kite flying over a village": the object the model gave the participle belongs to the preposition."""
    for verb in doc:
        if verb.tag_ not in ("VBG", "VBN"):
            continue
        for prep in [c for c in verb.children if c.dep_ == "prep" and c.n_rights == 0]:
            objects = [c for c in verb.children if c.dep_ == "dobj" and c.left_edge.i == prep.i + 1]
            if objects:
                _rehang(objects[0], prep, "pobj")


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
        """``kind``: "noun", "verb" or "adj" (known lemmas), or "noun_exceptions" (irregular forms)."""
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
        elif (
            token.lemma_
            and token.lemma_.lower() != lower
            and lower not in lexicon.known("noun_exceptions")
            and token.lemma_.lower() not in lexicon.known("noun")
        ):
            token.lemma_ = lower


def repair_verb_read_as_compound_head(doc, lexicon: Lexicon) -> None:
    """ "A small bird sings in a tree", "a woman who wears a black dress sings": the verb tagged a plural noun with
    its subject hung before it as a compound ("bird sings" as one noun). Read as a verb when all of these hold: it is
    a third-person "-s" form of a verb the lemmatiser knows; the noun before it is singular; nothing but a
    preposition, adverb, conjunction, article or punctuation follows (or the text ends); and either the article of
    the two is "a"/"an" (a singular article cannot head a plural noun) or the word is no noun at all ("sings"). "the
    city lights at night" keeps its compound noun."""
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
        if following is not None and following.pos_ not in _AFTER_INTRANSITIVE:
            continue
        singular_article = any(
            c.dep_ == "det" and c.lower_ in ("a", "an") for c in [*token.children, *subject.children]
        )
        if not singular_article and stem in nouns:
            continue
        left = [c for c in token.children if c.i < subject.i]  # the article and adjectives: the subject's
        if token.head.i == token.i + 1 and token.head.pos_ == "ADP" and token.head.head.i == token.head.i:
            # "An eagle soars above the peaks": "soars" hung from "above", made the root
            preposition = token.head
            _take_place(token, preposition)
            _rehang(preposition, token, "prep")
            _rehang(subject, token, "nsubj")
        elif token.head.i == token.i or token.dep_ in ("advcl", "conj", "ccomp"):
            _rehang(subject, token, "nsubj")
        elif token.dep_ in ("dobj", "attr") and token.head.dep_ == "relcl" and token.head.head.i < token.head.i:
            # "a woman who wears a black dress sings": the dress is what she wears, she is who sings
            clause, described = token.head, token.head.head
            _rehang(subject, clause, token.dep_)
            _take_place(token, described)
            _rehang(described, token, "nsubj")
        else:
            continue
        for child in left:
            _rehang(child, subject, child.dep_)
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
        if subject.dep_ not in ("compound", "amod"):  # "a long white gown holding roses": "gown" an adjective
            continue
        before = [c for c in obj.children if c.i < subject.i]
        after = [c for c in obj.children if c.i > obj.i and c.dep_ == "prep"]
        _take_place(subject, obj)
        _rehang(verb, subject, "acl")
        _rehang(obj, verb, "dobj")
        for child in before:
            _rehang(child, subject, child.dep_)
        for child in after:
            _rehang(child, verb, "prep")
        verb.tag_, verb.pos_, verb.lemma_ = "VBG", "VERB", lower


def repair_adjective_read_as_noun(doc, lexicon: Lexicon) -> None:
    """ "a misty lake": ``misty`` tagged a (proper) noun in a compound, though the lemmatiser knows it only as an
    adjective: an adjective of the noun after it. A word in lower case tagged a proper noun that the lemmatiser
    knows as an adjective is one too ("..., dark clouds", "..., moody,": the tagger's guess for unknown words)."""
    adjectives, nouns = lexicon.known("adj"), lexicon.known("noun")
    for token in doc:
        lower = token.lower_
        if token.text != lower or lower in ATTRIBUTE_NOUNS or token.pos_ not in ("NOUN", "PROPN"):
            continue
        proper = token.tag_ in ("NNP", "NNPS")
        if lower not in adjectives or (lower in nouns and not proper):
            continue
        if token.dep_ == "compound" and token.head.i > token.i:
            token.tag_, token.pos_, token.dep_, token.lemma_ = "JJ", "ADJ", "amod", lower
        elif proper and not any(c.dep_ in ("det", "amod", "nummod") for c in token.children):
            token.tag_, token.pos_, token.lemma_ = "JJ", "ADJ", lower


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
        _take_place(token, head)
        _rehang(head, token, "appos")
        for child in before:
            _rehang(child, token, child.dep_)
        if token.pos_ not in ("NOUN", "PROPN"):
            _as_noun(token)


def repair_participle_adjective_read_as_noun(doc, lexicon: Lexicon) -> None:
    """ "a steaming bowl of soup": ``steaming`` tagged a noun before its head and read into the name ("a sleeping
    village": a participle hung as a compound); an "-ing" form
    of a known verb right before a noun, not a word that names a kind of thing ("a cutting board", "a wedding
    ring"), describes the noun as a participle."""
    verbs = lexicon.known("verb")
    for token in doc:
        lower = token.lower_
        if (
            token.tag_ not in ("NN", "VBG")
            or not lower.endswith("ing")
            or lower in ING_NOUNS
            or lower in ING_NAME_WORDS
        ):
            continue
        head = token.head
        if token.tag_ == "VBG" and token.dep_ != "compound":
            continue  # "a sleeping cat": already an adjective of its noun
        if token.dep_ not in ("amod", "compound") or head.i != token.i + 1 or head.pos_ not in ("NOUN", "PROPN"):
            continue
        stem = lower[:-3]
        if not {stem, stem + "e", stem[:-1]} & verbs:
            continue
        if token.i > 0 and doc[token.i - 1].pos_ in ("NOUN", "PROPN", "VERB", "ADP"):
            continue  # "a woman on a bench feeding pigeons": a participle with its object, not an adjective
        for child in [c for c in token.children if c.dep_ == "det"]:
            _rehang(child, head, "det")  # "a steaming bowl": the article hung from "steaming"
        token.tag_, token.pos_, token.dep_, token.lemma_ = "VBG", "VERB", "amod", lower


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
            _take_place(token, head)
            _rehang(head, token, "acl")
            for child in left:
                _rehang(child, token, child.dep_)
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
                _rehang(word, noun, "amod")
            elif noun.head.i == word.i:
                _take_place(noun, word)
                _rehang(word, noun, "amod")
            else:
                word.dep_ = "amod"


def repair(doc, lexicon: Lexicon | None):
    repair_hyphenated_modifiers(doc)
    if lexicon is not None:
        repair_noun_modifier_read_as_adjective(doc, lexicon)
        repair_verb_read_as_compound_head(doc, lexicon)
        repair_participle_inside_compound(doc, lexicon)
        repair_noun_read_as_adjective(doc, lexicon)
        repair_modifier_across_comma(doc, lexicon)
    repair_misplaced_article(doc)
    repair_participle_with_article_subject(doc)
    repair_colour_read_as_conjunct(doc)
    repair_noun_read_as_verb_with_subject(doc)
    repair_adjective_hung_as_compound(doc)
    repair_participle_read_as_noun(doc)
    repair_participle_head(doc, lexicon)
    for step in (
        repair_participle_modifier,
        repair_comparative_root,
        repair_verb_read_as_plural,
        repair_verb_read_as_predicate_noun,
        repair_stranded_predicate,
        repair_verb_after_relative_clause,
        repair_noun_with_subject,
        repair_numeral_root,
        repair_number_noun,
        repair_noun_read_as_verb,
        repair_coordinated_verb,
        repair_verbless_predicate,
        repair_stranded_preposition,
        repair_place_on_object,
        repair_participle_on_worn_item,
        repair_worn_conjunct,
        repair_participle_read_as_gerund,
        repair_subject_of_noun,
        repair_parallel_preposition,
        repair_attribute_noun_head,
        repair_conjunct_of_object,
    ):
        step(doc)
    if lexicon is not None:
        repair_adjective_read_as_noun(doc, lexicon)
        repair_comparative_read_as_noun(doc, lexicon)
        repair_participle_adjective_read_as_noun(doc, lexicon)
        repair_noun_lemmas(doc, lexicon)
    return doc
