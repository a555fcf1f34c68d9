"""Repairs of verbs and predicates: a finite verb or a comparative read as a noun or the root, a relative
clause's predicate, coordinated verbs, predicates without a verb."""

from __future__ import annotations

from ..words import ATTRIBUTE_NOUNS
from .common import AFTER_INTRANSITIVE, ARTICLES, RELATIVE_PRONOUNS, as_noun, rehang, take_place
from .lexical import Lexicon, verb_stem


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
        if article.lower_ not in ARTICLES or article.head.i != adjective.i:
            continue
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if following is not None and (following.pos_ in ("DET", "NOUN", "PROPN", "ADJ", "PRON", "NUM")):
            continue  # a verb with an object ("a tall man holds a cup") stays a verb
        ancestors = {a.i for a in adjective.ancestors}
        if token.i in ancestors:
            # the branch under the false verb that leads to the adjective takes the verb's place
            branch = next(c for c in token.children if c.i == adjective.i or c.i in ancestors)
            if branch.i != adjective.i:
                take_place(branch, token)
                moved = [c for c in token.children if c.i > token.i and c.dep_ == "prep"]
                rehang(token, adjective.head, adjective.dep_)
                for child in moved:
                    rehang(child, branch, "prep")
            else:
                continue
        else:
            rehang(token, adjective.head, adjective.dep_)
        rehang(adjective, token, "amod")
        rehang(article, token, "det")
        as_noun(token)


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
            rehang(child, token, child.dep_)  # "a pale pink rose": the article and "pale" are the rose's
        rehang(colour, token, "amod")
        as_noun(token)


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
        rehang(noun, noun, "ROOT")
        rehang(adjective, noun, "amod")
        for child in before:
            rehang(child, noun, child.dep_)
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
        if doc[token.i + 1].lower_ not in ARTICLES:
            continue
        subjects = [c for c in root.children if c.dep_ in ("nsubj", "nsubjpass") and c.i < root.i]
        clauses = [c for s in subjects for c in s.children if c.dep_ == "relcl" and c.lemma_ == "be"]
        if not clauses:
            continue
        after = [c for c in root.children if c.i > token.i]
        rehang(token, token, "ROOT")
        rehang(subjects[0], token, "nsubj")
        rehang(root, clauses[0], "acomp")
        for child in after:
            rehang(child, token, "dobj" if child.pos_ in ("NOUN", "PROPN") else child.dep_)
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
        if copula.dep_ != "relcl" or copula.lemma_ != "be" or doc[token.i + 1].lower_ not in ARTICLES:
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
        rehang(token, token, "ROOT")
        if root.i != token.i and root.i != described.i and root.i != obj.i:
            rehang(root, token, "dep")
        rehang(colour, copula, "acomp")
        colour.tag_, colour.pos_ = "JJ", "ADJ"
        rehang(described, token, "nsubj")
        rehang(obj, token, "dobj")
        rehang(doc[token.i + 1], obj, "det")
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
            rehang(adjective, verb, "acomp")


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
        take_place(token, subject)
        rehang(subject, token, "nsubj")
        token.tag_, token.pos_, token.lemma_ = "VBZ", "VERB", token.lower_[:-1]


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
            as_noun(token)
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
            rehang(token, before, "conj")
            rehang(doc[token.i - 1], before, "cc")
            as_noun(token)


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
        rehang(subject, subject, "ROOT")
        rehang(root, coordinator.head, "conj")


def repair_purpose_read_as_relative(doc) -> None:
    """ "The old librarian climbs a wooden ladder to reach a dusty atlas": "to reach" hung on the ladder as a relative
    clause. An infinitive after a verb's object that has an object of its own says what the verb's subject does it
    for: it hangs from the verb, and its object is the subject's ("a book to read", with no object, stays the
    book's)."""
    for verb in doc:
        if verb.tag_ != "VB" or verb.dep_ != "relcl":
            continue
        noun = verb.head
        if noun.dep_ != "dobj" or noun.head.pos_ != "VERB" or noun.i > verb.i:
            continue
        if not any(c.lower_ == "to" and c.dep_ == "aux" and c.i == verb.i - 1 for c in verb.children):
            continue
        if not any(c.dep_ == "dobj" for c in verb.children):
            continue
        rehang(verb, noun.head, "advcl")


def _modifier_dep(word) -> str:
    """How a word before a noun hangs from it: an article, a number, a possessive or an adjective."""
    if word.tag_ == "PRP$":
        return "poss"
    return {"DET": "det", "NUM": "nummod"}.get(word.pos_, "amod")


def _object_after(doc, start: int):
    """The noun that heads the phrase starting at ``start`` ("soft dough", "a tall vase", "two clay pots"): articles,
    numbers, adjectives, past participles and colours, then nouns; None when something else comes first."""
    for word in doc[start:]:
        if word.pos_ == "PRON" and word.i == start and word.tag_ == "PRP":
            return word  # "combs it"
        if word.pos_ in ("NOUN", "PROPN"):
            nxt = doc[word.i + 1] if word.i + 1 < len(doc) else None
            if nxt is not None and nxt.pos_ in ("NOUN", "PROPN") and word.head.i == nxt.i:
                continue  # "clay pots": the last noun of a compound
            return word
        if (
            word.pos_ not in ("DET", "NUM", "ADJ")
            and word.tag_ not in ("VBN", "PRP$")
            and word.lower_ not in ATTRIBUTE_NOUNS
        ):
            return None  # "a torn sail", "his dog": a past participle describes it too, a possessive takes its place
    return None


def repair_verb_after_copular_clause(doc, lexicon: Lexicon) -> None:
    """ "a cook whose apron is dusty kneads soft dough", "a weaver whose loom is old spins fine wool": the main verb
    tagged a plural noun (the predicate of the relative clause's "is", or a modifier of the object) when a bare noun
    phrase follows it. After a relative clause whose "is"/"are" already has its adjective, an "-s" word the lemmatiser
    knows as a verb, followed by a noun phrase, a preposition, an adverb, punctuation or the end, is the main verb:
    the noun the clause describes is its subject (unless another verb has it), the noun phrase its object. A verb
    tagged one but with the predicate as its subject ("a painting whose frame is gold hangs on a wall": "gold" its
    subject, later read as the colour of a noun "hangs") or its adverb ("whose coat is long walks") is rebuilt too."""
    verbs, adjectives = lexicon.known("verb"), lexicon.known("adj")
    for token in doc:
        if token.tag_ not in ("NNS", "NN", "VBZ") or token.i < 4:
            continue
        stem = token.lemma_.lower() if token.tag_ == "VBZ" else verb_stem(token.lower_, verbs)
        if stem is None:
            continue
        if token.tag_ == "VBZ" and not any(
            c.dep_ in ("nsubj", "advmod") and c.i == token.i - 1 for c in token.children
        ):
            continue  # a verb read as one, its predicate in place
        start = token.i
        while start > 0 and (doc[start - 1].pos_ in ("ADJ", "ADV") or doc[start - 1].lower_ in ATTRIBUTE_NOUNS):
            start -= 1  # the clause's predicate: "dusty", "very old", "red"
        copula = doc[start - 1]
        if start == token.i or copula.lemma_ != "be" or copula.dep_ != "relcl":
            continue
        described = copula.head
        if described.pos_ not in ("NOUN", "PROPN") or described.i >= copula.i:
            continue
        verb = described.head
        if described.dep_ in ("nsubj", "nsubjpass") and verb.pos_ in ("VERB", "AUX") and verb.i != token.i:
            continue  # "... sits on a fence": the noun has its verb
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        obj = None
        if following is not None and following.pos_ not in ("ADP", "ADV", "PUNCT", "SCONJ", "CCONJ"):
            obj = _object_after(doc, token.i + 1)
            if obj is None or (token.dep_ == "compound" and token.head.i == following.i):
                continue  # "whose shoes are red sports shoes": a compound noun, the predicate
        elif (following is None or following.pos_ == "PUNCT") and stem in lexicon.known("noun"):
            continue  # "a man whose shoes are old boots": the predicate, unless the word is only a verb
        predicate = list(doc[start : token.i])
        placed = all(word.head.i == copula.i or start <= word.head.i < token.i for word in predicate)
        if placed and obj is not None and obj.head.i == token.i and obj.dep_ == "dobj" and described.head.i == token.i:
            continue  # read right
        if described.head.i == described.i or described.head.i > copula.i:
            rehang(token, token, "ROOT")  # "a potter whose hands are muddy glazes tall vases": "vases" the root
        else:
            take_place(token, described)
        rehang(described, token, "nsubj")
        for word in predicate:
            if word.head.i == word.i or word.head.i not in {p.i for p in predicate}:
                last = word.i == token.i - 1 and (word.pos_ != "ADV" or word.lower_ in adjectives)
                rehang(word, copula, "acomp" if last or word.pos_ != "ADV" else "advmod")
                if last or word.pos_ != "ADV":
                    word.tag_, word.pos_ = "JJ", "ADJ"  # "whose armor is silver", "whose coat is long": what it is
        if obj is not None:
            for word in doc[token.i + 1 : obj.i]:
                if not token.i < word.head.i <= obj.i:
                    rehang(word, obj, _modifier_dep(word))
            rehang(obj, token, "dobj")
        token.tag_, token.pos_, token.lemma_ = "VBZ", "VERB", stem


def repair_verb_after_relative_object(doc, lexicon: Lexicon) -> None:
    """ "a sailboat that has crimson sails drifts toward an island", "a windmill that has broken blades creaks in the
    wind": the main verb read into the relative clause's plural object ("sails drifts" one noun), or as a second
    object of "has", and "has broken" read as a perfect tense. After "that"/"who"/"which", a verb and its object
    ending in a plural noun (a two-plural compound is rare: "sails drifts" is not one), an "-s" word the lemmatiser
    knows as a verb, followed by a preposition, an adverb, an article, punctuation or the end (not "and": "sells toys
    games and books" is a list), is the main verb of the noun before "that"; the clause is rebuilt: its verb, its
    subject ("that") and its object with the modifiers between."""
    verbs = lexicon.known("verb")
    for token in doc:
        if token.tag_ not in ("NNS", "VBZ") or token.i < 5:
            continue
        stem = verb_stem(token.lower_, verbs) if token.tag_ == "NNS" else token.lemma_.lower()
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if stem is None or (following is not None and following.pos_ not in AFTER_INTRANSITIVE):
            continue
        if following is not None and following.pos_ == "CCONJ":
            continue  # "a shop that sells toys games and books": a list without commas
        obj = doc[token.i - 1]
        if obj.tag_ != "NNS" or obj.pos_ != "NOUN" or obj.lemma_.lower() == obj.lower_:
            continue
        pronoun = next((t for t in reversed(doc[: obj.i]) if t.lower_ in RELATIVE_PRONOUNS), None)
        if pronoun is None or pronoun.i < 1 or pronoun.i + 2 > obj.i:
            continue
        described, clause = doc[pronoun.i - 1], doc[pronoun.i + 1]
        if described.pos_ not in ("NOUN", "PROPN") or not clause.tag_.startswith("VB") or clause.tag_ == "VBG":
            continue
        modifiers = list(doc[clause.i + 1 : obj.i])
        if any(t.pos_ in ("ADP", "PUNCT", "CCONJ", "SCONJ", "PRON", "AUX") for t in modifiers):
            continue
        verb = described.head
        outside = verb.i != token.i and not pronoun.i < verb.i < token.i
        if described.dep_ in ("nsubj", "nsubjpass") and verb.pos_ in ("VERB", "AUX") and outside:
            continue  # the noun has a verb of its own
        region = range(pronoun.i, token.i)
        if described.head.i == described.i or described.head.i in region or described.head.i == token.i:
            rehang(token, token, "ROOT")
        else:
            take_place(token, described)
        rehang(described, token, "nsubj")
        rehang(clause, described, "relcl")
        rehang(pronoun, clause, "nsubj")
        rehang(obj, clause, "dobj")
        for word in modifiers:
            if word.pos_ == "ADV" and word.head.i in {t.i for t in modifiers}:
                continue
            dep = {"DET": "det", "NUM": "nummod", "NOUN": "compound", "PROPN": "compound"}.get(word.pos_, "amod")
            if word.tag_ in ("VB", "VBP"):
                word.tag_, word.pos_, word.lemma_, dep = "NN", "NOUN", word.lower_, "compound"  # "brass hands"
            rehang(word, obj, dep)
        for word in doc[token.i + 1 :]:
            if word.head.i in region:
                rehang(word, token, word.dep_)  # "... near a reef": hung on the clause, the main verb's
        clause.tag_, clause.pos_ = ("VBZ" if clause.tag_ == "VBZ" else clause.tag_), "VERB"
        token.tag_, token.pos_, token.lemma_ = "VBZ", "VERB", stem


def repair_verb_coordinated_after_object(doc, lexicon: Lexicon) -> None:
    """ "a ferryman sits on the pier and whittles a small wooden spoon", "a sailor sits on the dock and mends a torn
    sail": the second verb read as a plural noun coordinated with the preposition's object ("the pier and whittles").
    An "-s" word the lemmatiser knows as a verb, right after "and", coordinated with the object of a preposition that
    hangs from a verb (or with the verb itself: "stands at the window and waves a scarf"), with an article or a
    possessive right after it (a noun phrase cannot follow a plural noun so), is a second verb of the same subject: a
    conjunct of that verb, the noun after the article its object."""
    verbs = lexicon.known("verb")
    for token in doc:
        if token.tag_ not in ("NNS", "NN", "VBZ") or token.dep_ != "conj" or token.i < 2 or token.i + 2 >= len(doc):
            continue  # a verb tagged one but coordinated with the noun ("the sink and scrubs a pan") too
        coordinator, following = doc[token.i - 1], doc[token.i + 1]
        if coordinator.lower_ != "and" or (following.pos_ != "DET" and following.tag_ != "PRP$"):
            continue
        noun = token.head
        preposition = noun.head
        verb = preposition.head
        if noun.pos_ == "VERB" and noun.i < token.i:
            # "A girl stands at the window and waves a scarf": coordinated with the verb, but tagged a noun
            verb = noun
        elif noun.dep_ != "pobj" or preposition.dep_ != "prep" or verb.pos_ != "VERB" or noun.i > token.i:
            continue
        stem = token.lemma_.lower() if token.tag_ == "VBZ" else verb_stem(token.lower_, verbs)
        obj = _object_after(doc, token.i + 1)
        if stem is None or obj is None:
            continue
        rehang(token, verb, "conj")
        rehang(coordinator, verb, "cc")
        for word in doc[token.i + 1 : obj.i]:
            if not token.i < word.head.i <= obj.i:
                rehang(word, obj, _modifier_dep(word))
        rehang(obj, token, "dobj")
        token.tag_, token.pos_, token.lemma_ = "VBZ", "VERB", stem
