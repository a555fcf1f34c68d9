"""Repairs of participles and gerunds read as nouns, adjectives, heads or roots, or hung on the wrong word."""

from __future__ import annotations

from ..cues import ends_phrase
from ..words import FRAMING_NOUNS, ING_MODIFIERS, ING_NOUNS
from .common import ARTICLES, is_clothing, rehang, take_place
from .lexical import Lexicon


def repair_participle_head(doc, lexicon: Lexicon | None = None) -> None:
    """ "a horse grazing near a barn": ``grazing`` (NN, heading ``horse`` as a compound and a phrase after it).

    With the lemmatiser's word lists, also a participle of a known verb that ends the phrase ("a drawing of a horse
    galloping") and a past participle tagged a noun before its phrase ("a glass filled with orange juice": ``filled``
    the head, ``glass`` its adjective)."""
    verbs = lexicon.known("verb") if lexicon is not None else frozenset()
    nouns = lexicon.known("noun") if lexicon is not None else frozenset()
    for token in doc:
        lower = token.lower_
        if token.i == 0 or lower in FRAMING_NOUNS:
            continue
        if lower in ING_NOUNS and not (token.tag_ == "VBG" and any(c.dep_ == "dobj" for c in token.children)):
            continue  # "a crossing", but "geese crossing a road": a participle with its object
        if token.tag_ == "VBG" and (token.head.i == token.i or _read_into_noun(doc, token)):
            # "a clown juggling three oranges", "a little girl chasing butterflies": the participle made the root,
            # with the noun before it as a compound or an adverbial noun ("geese crossing a road": "geese" a proper
            # noun hung as an adjective); or hung in a sentence with a compound noun before it ("... and a pigeon
            # pecking at bread", round 9)
            noun = doc[token.i - 1]
            deps = ("compound", "npadvmod", "amod") if noun.tag_.startswith("NN") else ("compound", "npadvmod")
            if noun.head.i == token.i and noun.dep_ in deps and noun.pos_ in ("NOUN", "PROPN"):
                left = [c for c in token.children if c.i < noun.i]
                take_place(noun, token)
                rehang(token, noun, "acl")
                for child in left:
                    rehang(child, noun, child.dep_)
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
        take_place(noun, token)
        rehang(token, noun, "acl")
        for child in left:
            rehang(child, noun, child.dep_)
        token.tag_, token.pos_ = ("VBG", "VERB") if present else ("VBN", "VERB")


def _read_into_noun(doc, verb) -> bool:
    """ "... and a pigeon pecking at bread": a participle, not the root, with a phrase after it and the noun before it
    hung on it as a compound, that noun's article right before it (a gerund's compound, "ice skating", has none)."""
    if verb.i < 2 or verb.dep_ not in ("conj", "appos", "dep") or verb.lower_ in ING_MODIFIERS:
        return False
    noun, article = doc[verb.i - 1], doc[verb.i - 2]
    if noun.dep_ != "compound" or article.lower_ not in ARTICLES or article.head.i not in (noun.i, verb.i):
        return False
    return any(c.i > verb.i and c.dep_ in ("prep", "dobj") for c in verb.children)


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
        take_place(subject, obj)
        rehang(verb, subject, "acl")
        rehang(obj, verb, "dobj")
        for child in after:
            rehang(child, verb, "prep")


def repair_participle_with_article_subject(doc) -> None:
    """ "an orange and purple striped scarf": ``striped`` read as a verb with the article "an" as its subject and the
    scarf as its object. An article is never a subject: the noun right after the participle is the head, the
    participle and the adjectives between the article and it describe the noun."""
    for verb in doc:
        if verb.tag_ not in ("VBD", "VBN") or verb.i + 1 >= len(doc):
            continue
        article = next((c for c in verb.children if c.dep_ == "nsubj" and c.lower_ in ARTICLES), None)
        noun = doc[verb.i + 1]
        if article is None or noun.head.i != verb.i or noun.pos_ not in ("NOUN", "PROPN"):
            continue
        between = [t for t in doc[article.i + 1 : verb.i] if t.head.i in (article.i, verb.i)]
        take_place(noun, verb)
        rehang(verb, noun, "amod")
        rehang(article, noun, "det")
        for token in between:
            if token.dep_ not in ("cc", "punct"):
                rehang(token, noun, "amod")
        verb.tag_, verb.pos_ = "VBN", "VERB"


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


def repair_participle_on_worn_item(doc) -> None:
    """ "a boy in a yellow raincoat jumping in puddles", "a fox wearing a scarf sitting in the snow", "a samurai with a
    katana standing on a staircase": the participle hung on the raincoat, the scarf or the katana; who is in something
    (wearing it, or inside it), wears it or has it is who acts: the participle hangs from the noun before "in",
    "with" or "wearing" ("a girl sitting under a tree reading a book": from the
    one who sits)."""
    for verb in doc:
        if verb.tag_ != "VBG" or verb.dep_ != "acl":
            continue
        item = verb.head
        while item.dep_ == "conj" and item.head.i < item.i and is_clothing(item.head):
            item = item.head  # "a man in a jacket and a cap feeding pigeons": the first piece's link
        link = item.head  # "in" (a boy in a raincoat) or "wearing" (a fox wearing a scarf)
        if item.dep_ == "pobj" and link.lower_ in ("in", "with") and link.dep_ == "prep":
            # "an elf with silver braids riding a bicycle": the one with the braids rides
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
        if wearer.lemma_.lower() in FRAMING_NOUNS and link.lower_ == "with":
            # "a screenshot of an elf with braids riding a bicycle": "with" hung on the framing noun; the elf rides
            shown = [g for c in wearer.children if c.lower_ == "of" for g in c.children if g.dep_ == "pobj"]
            wearer = shown[0] if shown else wearer
        if wearer.pos_ in ("NOUN", "PROPN") and wearer.i < link.i < item.i < verb.i:
            rehang(verb, wearer, "acl")


def repair_participle_read_as_gerund(doc) -> None:
    """ "a robot with glowing blue eyes": ``glowing`` read as a gerund (the object of "with") taking "eyes" as its
    object; a participle right before its noun, after a preposition, describes the noun, which is the object ("twins
    in matching knitted hats": a past participle between them describes it too)."""
    for verb in doc:
        if verb.tag_ != "VBG" or verb.dep_ != "pcomp" or verb.head.pos_ != "ADP":
            continue
        objects = [c for c in verb.children if c.dep_ == "dobj" and c.pos_ in ("NOUN", "PROPN")]
        if not objects or any(c.i < verb.i for c in verb.children):
            continue
        noun = objects[0]
        if any(t.pos_ not in ("ADJ", "NOUN", "PROPN", "NUM") and t.tag_ != "VBN" for t in doc[verb.i + 1 : noun.i]):
            continue
        preposition = verb.head
        rehang(noun, preposition, "pobj")
        rehang(verb, noun, "amod")


def repair_worn_conjunct(doc) -> None:
    """ "an old man in a tweed jacket and a flat cap": the cap hung as a conjunct of the man. A piece of clothing
    (:data:`~attnmod.toolkit.prompt.words.CLOTHING_NOUNS`) coordinated with someone who is "in" or "wearing" another
    piece is worn too: a conjunct of that piece."""
    for token in doc:
        wearer = token.head
        if token.dep_ != "conj" or wearer.i >= token.i or not is_clothing(token):
            continue
        worn = [
            grandchild
            for child in wearer.children
            if wearer.i < child.i < token.i
            and ((child.dep_ == "prep" and child.lower_ == "in") or (child.dep_ == "acl" and child.lower_ == "wearing"))
            for grandchild in child.children
            if grandchild.dep_ in ("pobj", "dobj") and is_clothing(grandchild)
        ]
        if worn:
            rehang(token, worn[-1], "conj")


def repair_preposition_read_as_adjective(doc) -> None:
    """ "An old tram rattling past brick houses", "a horse galloping past wooden barns": "past" after a participle
    tagged an adjective of the next noun (an attribute "past", and the houses the participle's object or the root).
    It is the participle's preposition and the noun its object; the noun before the participle is who does it."""
    for past in doc:
        if past.lower_ != "past" or past.pos_ != "ADJ" or past.i == 0 or past.dep_ != "amod":
            continue
        verb, noun = doc[past.i - 1], past.head
        if verb.tag_ != "VBG" or noun.i <= past.i or noun.pos_ not in ("NOUN", "PROPN"):
            continue
        subject = verb.head if verb.dep_ == "acl" else doc[verb.i - 1] if verb.i > 0 else None
        if subject is None or subject.pos_ not in ("NOUN", "PROPN") or subject.i >= verb.i:
            continue
        if subject.head.i == noun.i or noun.head.i == noun.i:
            take_place(subject, noun)
            for child in [c for c in noun.children if c.i < subject.i]:
                rehang(child, subject, child.dep_)
            for child in [c for c in noun.children if c.i > noun.i]:
                rehang(child, verb, child.dep_)
        rehang(verb, subject, "acl")
        rehang(past, verb, "prep")
        rehang(noun, past, "pobj")
        past.tag_, past.pos_, past.lemma_ = "IN", "ADP", "past"


def repair_ing_noun_read_as_participle(doc) -> None:
    """ "a cake covered in frosting and sprinkles", "a bun topped with icing": a noun in "-ing" that names a thing
    (:data:`~attnmod.toolkit.prompt.words.ING_NOUNS`: "icing", "frosting", "stuffing") tagged a participle as the
    object of a preposition, with no object of its own: the preposition's object, a noun (round 9)."""
    for token in doc:
        if token.tag_ != "VBG" or token.dep_ not in ("pcomp", "pobj") or token.head.pos_ != "ADP":
            continue
        if token.lower_ not in ING_NOUNS or any(c.dep_ in ("dobj", "nsubj", "aux") for c in token.children):
            continue
        token.tag_, token.pos_, token.dep_, token.lemma_ = "NN", "NOUN", "pobj", token.lower_
        if token.i + 2 >= len(doc) or doc[token.i + 1].lower_ not in ("and", "or"):
            continue
        coordinator, conjunct = doc[token.i + 1], doc[token.i + 2]
        if conjunct.dep_ == "conj" and conjunct.head.i < token.i and conjunct.pos_ == "NOUN" and conjunct.n_lefts == 0:
            # "filled with stuffing and herbs": "herbs" hung on the turkey, the participle being no noun to join
            rehang(conjunct, token, "conj")
            rehang(coordinator, token, "cc")
