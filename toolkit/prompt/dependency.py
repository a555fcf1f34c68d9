"""The dependency back end: a draft entity tree from a spaCy dependency parse.

Entities are the heads of noun phrases (nominal tokens that are not compounds of another noun). Attributes hang
from them as ``amod``, ``nummod``, ``compound`` colour/material/shape words, their ``conj`` chains, and predicative
adjectives (``acomp``) of a copula in a relative clause ("a car that is red") or of a clause whose subject is the
entity ("the car is red"). An entity's parent is the nearest entity above it in the tree, reached through
prepositions ("with", "of", "in"), participles ("holding") and relative clauses; a verb's subject governs the
verb's other arguments, so "a man rides a horse" nests like "a man riding a horse". An entity linked to that entity
through a spatial relation (a word of ``SPATIAL_WORDS`` among the linking words: "to the left of", "next to", "on",
"above") is instead its sibling: "a cat to the left of a dog" gives two top-level entities; past a wearer or
holder ("a man in a suit standing next to a car": the car is the man's sibling even when "standing" hangs from the
suit) but inside a "with" container ("a room with a lamp next to a bed" puts the bed in the room). Conjuncts and
appositions ("a red apple, a yellow pear and a green grape") are siblings of their first conjunct. Entities inside a
framing phrase that is the subject of a clause ("a photo of a cat ...") stay at the top level.

Prompts are mostly bare noun phrases, which the small English model was not trained on; these repairs read a
visible cue in the words, never a guess about meaning:

* a token with a determiner ("a", "an", "the") or an adjective under it is a noun whatever its tag ("a red rose",
  where "rose" is tagged as the past of "rise"; "an oven" tagged as an adjective).
* a base verb, modal or post-nominal adjective that directly follows a noun and ends the phrase completes the
  noun's name ("a stop sign", "a soda can", "a diamond pendant"), unless it is the verb of a relative clause with
  the noun as its subject ("a porch on which two chairs stand"); a noun hung as an apposition right after another
  noun with no comma does the same ("a fire hydrant"). A count hung on a material word ("three brass
  candlesticks": ``three`` under ``brass``) counts the noun, as the material describes it.
* parallel structure: in "a woman with a green scarf and a man with a blue tie" the model makes "man" a conjunct
  of "scarf"; a conjunct that repeats the preposition (or participle) that governs its first conjunct is instead
  a sibling of the entity that preposition modifies.
* "A red apple and yellow bananas": the model makes "apple" a noun modifier of "bananas" with the "and" under it;
  a noun modifier that carries its own coordinator is a sibling; the adjectives before it are its own, and an
  adjective coordinated onto a noun binds to the next entity.
"""

from __future__ import annotations

import bisect

from .cues import (
    before_noun,
    comparatives_after,
    coordinated_modifier,
    depicting,
    ends_phrase,
    has_of,
    has_own_subject,
    held_in_container,
    material_verb,
    negated,
    relational_of,
    style_tag,
)
from .dependency_nesting import _SUBJECT_DEPS, _NestingReader
from .possessive_pronouns import nest_possessed
from .syntax import (
    DraftTree,
    framing_units,
    recurring_time,
    resolve_parents,
    style_segments,
    word_from_token,
)
from .words import (
    ATTRIBUTE_NOUNS,
    COPULA_LEMMAS,
    FRAMING_NOUNS,
    JOINING_ADVERBS,
    LIGHT_NOUNS,
    LIGHT_PREPOSITIONS,
    PRONOUNS,
    QUANTITY_NOUNS,
    RELATIONAL_NOUNS,
    SPATIAL_WORDS,
    TIME_NOUNS,
    TIME_PREPOSITIONS,
)

_ATTRIBUTE_DEPS = frozenset({"amod", "nummod", "quantmod", "nmod", "npadvmod", "advmod", "compound", "dep"})
_ADJECTIVE_POS = frozenset({"ADJ", "NUM"})
_PREDICATE_DEPS = frozenset({"acomp", "oprd", "attr", "xcomp"})
_ARTICLES = frozenset({"a", "an", "the"})
_NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})


def build_from_dependency(doc) -> DraftTree:
    """Read a parsed spaCy ``Doc`` (or ``Span``) into a :class:`DraftTree` over its non-space tokens."""
    draft = _Reader(doc).read()
    nest_possessed(draft)  # "an elephant and her calf": the calf is the elephant's
    return draft


class _Reader(_NestingReader):
    def __init__(self, doc):
        self.doc = doc
        self.tokens = [token for token in doc if not token.is_space]
        self.word_of = {token.i: k for k, token in enumerate(self.tokens)}
        self.nominal_ids = {t.i for t in self.tokens if self._looks_nominal(t)}
        words = [word_from_token(token, nominal=token.i in self.nominal_ids) for token in self.tokens]
        self.draft = DraftTree(words=words)
        units = framing_units(words)
        self.framing_word_ids = {k for unit in units for k in unit}
        self.draft.style.extend(units)
        self.style_ids: set[int] = set()
        for segment in style_segments(words):  # "..., 85mm lens, trending on artstation"
            self.style_ids.update(self.tokens[k].i for k in segment)
            self.draft.style.append(segment)
        self.depicted_by: dict[int, object] = {}  # framing noun position -> its "of" object ("a photo of a barn")
        self.attribute_ids: set[int] = set()
        self.entity_of: dict[int, int] = {}
        self.extension_of: dict[int, object] = {}  # head position -> the token that completes its name
        self.materials: list = []  # objects of "made of": attributes of the entity that is made of them
        self.quantity_heads: set[int] = set()  # "a herd of", "a pair of": not entities, their "of" object is

    # -- word classes ------------------------------------------------------------------------------------------
    @staticmethod
    def _looks_nominal(token) -> bool:
        if not any(ch.isalpha() for ch in token.text) or token.pos_ == "PRON":
            return False
        if token.pos_ in ("NOUN", "PROPN") or token.tag_ in _NOUN_TAGS:
            return True
        if token.lower_ in ATTRIBUTE_NOUNS or token.lower_ in PRONOUNS:
            return False
        if token.pos_ in ("ADP", "DET", "CCONJ", "PUNCT", "PART", "SCONJ") or before_noun(token):
            return False
        if token.pos_ == "ADV" and token.lower_ in SPATIAL_WORDS:
            return False  # "a red square with a white square inside": a place, not a misread noun
        # Verbs and adjectives never take articles, adjectives or numerals: the tagger misread a noun.
        if any(
            (child.dep_ == "det" and child.lower_ in _ARTICLES)
            or (child.dep_ in ("amod", "nummod") and child.i < token.i)
            for child in token.children
        ):
            return True
        # "a white rose": the article went to the adjective, and the noun after it was read as a verb.
        if token.i > 0 and ends_phrase(token):
            previous = token.doc[token.i - 1]
            return (previous.pos_ == "ADJ" or previous.lower_ in ATTRIBUTE_NOUNS) and any(
                c.dep_ == "det" and c.lower_ in _ARTICLES for c in previous.children
            )
        return False

    def _nominal(self, token) -> bool:
        return token.i in self.nominal_ids

    def _is_attribute_word(self, token) -> bool:
        """Adjectives, numerals, participles and colour/material/shape words can describe an entity."""
        return (
            token.pos_ in _ADJECTIVE_POS
            or token.tag_ in ("JJ", "JJR", "JJS", "VBN", "VBG", "CD")
            or token.lower_ in ATTRIBUTE_NOUNS
            or (token.dep_ == "amod" and token.pos_ == "ADV")  # "a still pond": "still" tagged an adverb
        ) and (
            not self._nominal(token)
            # "a crimson and gold banner": a colour noun that is no entity of its own describes the next one
            or (token.lower_ in ATTRIBUTE_NOUNS and bool(self.entity_of) and token.i not in self.entity_of)
        )

    def _name_extension(self, head):
        """The word that completes ``head``'s name when the tagger made it a verb or adjective ("stop sign")."""
        following = head.i + 1
        if following >= len(self.doc):
            return None
        token = self.doc[following]
        if token.is_space or self._nominal(token) or not ends_phrase(token):
            return None
        if token.tag_ in ("VB", "MD"):
            # not the verb of a relative clause whose subject the noun is: "a porch on which two chairs stand"
            clause_verb = token.dep_ == "relcl" and head.dep_ in _SUBJECT_DEPS and head.head.i == token.i
            return None if clause_verb else token
        if (
            token.tag_ == "JJ"
            and token.dep_ == "amod"
            and token.head.i == head.i
            and token.lower_ not in ATTRIBUTE_NOUNS
        ):
            return token
        return None

    def _apposition_extension(self, token) -> bool:
        """A noun hung as an apposition (or adverbial noun) right after another noun, with no comma and not
        governing it: the end of a compound name ("a fire hydrant", "a bead necklace")."""
        if token.dep_ not in ("appos", "npadvmod", "dep") or token.i == 0 or not self._nominal(token):
            return False
        if relational_of(token):
            return False  # "a knife right of a suitcase": "right of" relates the knife, it does not name it
        previous = self.doc[token.i - 1]
        return (
            self._nominal(previous)
            and previous.head.i != token.i
            and previous.lower_ not in ATTRIBUTE_NOUNS
            and previous.lower_ not in PRONOUNS
        )

    # -- the read ----------------------------------------------------------------------------------------------
    def read(self) -> DraftTree:
        heads = self._heads()
        for token in heads:
            self.entity_of[token.i] = self.draft.add_entity(
                tuple(self.word_of[t.i] for t in self._name(token)), parent=None
            )
        for token in heads:
            if token.i in self.extension_of:
                # "a diamond pendant": the words the extension pushed out of the name are attributes
                dropped = [t for t in self._compound_name(token) if t.lower_ in ATTRIBUTE_NOUNS]
                for word in dropped:
                    self.attribute_ids.add(word.i)
                    self.draft.bind(self.entity_of[token.i], (self.word_of[word.i],))
            for attribute in self._attributes(token):
                self._bind(self.entity_of[token.i], attribute)
        self._bind_materials()
        self._bind_loose_modifiers(heads)
        self._bind_stray_adjectives(heads)
        links = {self.entity_of[token.i]: self._governing_link(token) for token in heads}
        links = {e: (None, False, False) if link[0] == e else link for e, link in links.items()}  # a self-loop: top
        for token in heads:
            self.draft.entities[self.entity_of[token.i]].absent = negated(token)
        for entity, parent in resolve_parents(links, lambda e: self.draft.entities[e].absent).items():
            self.draft.entities[entity].parent = parent
        owners = []
        for token in heads:
            entity = self.entity_of[token.i]
            governor = links[entity][0]
            if governor is not None and held_in_container(token, self.draft.words[self.word_of[token.i]].lemma):
                self.draft.hold(entity, governor)  # "a fish in a bowl": the bowl holds the fish
            owners += [
                (token.i, child.i) for child in token.children if child.dep_ == "poss" and child.i in self.entity_of
            ]
        # "the dog's collar": the dog owns the collar; a chain ("the king's daughter's gown") turns round from the
        # last owned word back, so that each owner takes its owned word's place before that word is itself owned
        for owned, owner in sorted(owners, reverse=True):
            self.draft.hold(self.entity_of[owner], self.entity_of[owned])
        return self.draft

    def _bind_materials(self) -> None:
        """ "a teapot made of clear glass": the material and its modifiers are attributes of the teapot."""
        for token in self.materials:
            verb = material_verb(token)
            # "a tailor whose thimble is made of silver": the clause's own subject is made of it
            made = next((c for c in verb.children if c.dep_ in _SUBJECT_DEPS and c.i in self.entity_of), verb.head)
            while made.i not in self.entity_of and made.head.i != made.i and made.dep_ in ("conj", "acl", "relcl"):
                made = made.head
            if made.i not in self.entity_of:
                # "a statue made of marble in a park", parsed as a clause: the participle's subject is made of it
                made = next((c for c in verb.children if c.dep_ in _SUBJECT_DEPS and c.i in self.entity_of), None)
                if made is None:
                    continue
            modifiers = [c for c in token.children if c.i < token.i and self._is_attribute_word(c)]
            for word in [*modifiers, *self._compound_name(token)]:
                self._bind(self.entity_of[made.i], [word])

    def _bind(self, entity: int, tokens: list) -> None:
        tokens = [t for t in tokens if t.i in self.word_of]  # never whitespace tokens
        if any(t.i in self.style_ids for t in tokens):
            return  # "..., cinematic, 35mm": a style tag describes the picture
        ids = {t.i for t in tokens}
        if not ids:
            return
        if ids & self.attribute_ids or ids & set(self.entity_of):
            return
        self.attribute_ids |= ids
        self.draft.bind(entity, tuple(self.word_of[t.i] for t in tokens))

    def _heads(self) -> list:
        heads = []
        absorbed: set[int] = set()
        for token in self.tokens:
            if not self._nominal(token) or token.i in absorbed:
                continue
            if self.word_of[token.i] in self.framing_word_ids or token.i in self.style_ids:
                continue
            if token.lower_ in PRONOUNS:
                continue
            if self._is_name_part(token):
                continue  # part of the head's name, or an attribute of it (decided from the head)
            if token.lower_ in ATTRIBUTE_NOUNS and (
                (
                    token.i + 1 < len(self.doc)
                    and self._nominal(self.doc[token.i + 1])
                    and not relational_of(self.doc[token.i + 1])  # "a wine glass right of a cat"
                )
                or (token.dep_ in ("amod", "nmod", "npadvmod") and token.head.i > token.i and self._nominal(token.head))
            ):
                continue  # "a gold clock", "rubber sole shoes": a colour/material/shape word before its noun
            if self._apposition_extension(token):
                continue  # absorbed into the previous noun's name
            lemma = self.draft.words[self.word_of[token.i]].lemma
            if lemma == "style" and has_of(token):
                self._style_phrase(token)
                continue
            if lemma in FRAMING_NOUNS and (has_of(token) or depicting(token) is not None):
                for of in (c for c in token.children if c.dep_ == "prep" and c.lower_ == "of"):
                    self.depicted_by[token.i] = next((c for c in of.children if c.dep_ == "pobj"), None)
                shows = depicting(token)  # "a picture showing a cat"
                if shows is not None and token.i not in self.depicted_by:
                    self.depicted_by[token.i] = next((c for c in shows.children if c.dep_ == "dobj"), None)
                modifiers = [c for c in token.children if c.i < token.i and c.dep_ in ("amod", "compound", "nmod")]
                self.draft.style.append(tuple(sorted(self.word_of[t.i] for t in [*modifiers, token])))
                self.style_ids.update(t.i for t in [*modifiers, token])
                continue
            if lemma in RELATIONAL_NOUNS and (token.dep_ == "pobj" or has_of(token)):
                continue
            if lemma in TIME_NOUNS and token.dep_ == "pobj" and token.head.lower_ in TIME_PREPOSITIONS:
                continue  # "an owl at night", "a park in autumn": a time, not an object
            if recurring_time([word_from_token(t) for t in token.subtree]):
                continue  # "every evening"
            if lemma in LIGHT_NOUNS and token.dep_ == "pobj" and token.head.lower_ in LIGHT_PREPOSITIONS:
                # "in the morning light": the light the picture is in
                modifiers = [c for c in token.children if c.i < token.i and c.dep_ in ("amod", "compound", "nmod")]
                self.draft.style.append(tuple(sorted(self.word_of[t.i] for t in [*modifiers, token])))
                self.style_ids.update(t.i for t in [*modifiers, token])
                continue
            if lemma in QUANTITY_NOUNS and has_of(token):
                self.quantity_heads.add(token.i)  # "a herd of cows in a field": the cows stand in its place
                continue
            if material_verb(token) is not None:
                self.materials.append(token)
                continue
            if style_tag(token, lemma):
                modifiers = [c for c in token.children if c.i < token.i and c.dep_ in ("amod", "compound", "nmod")]
                self.draft.style.append(tuple(sorted(self.word_of[t.i] for t in [*modifiers, token])))
                self.style_ids.update(t.i for t in [*modifiers, token])
                continue
            extension = self._name_extension(token)
            if extension is not None:
                self.extension_of[token.i] = extension
                absorbed.add(extension.i)
            following = token.i + 1
            if following < len(self.doc) and self._apposition_extension(self.doc[following]):
                self.extension_of[token.i] = self.doc[following]
            heads.append(token)
        return heads

    def _style_phrase(self, token) -> None:
        """ "in the style of Van Gogh": the whole phrase is style, and the painter is not in the image."""
        phrase = []
        for t in token.subtree:
            if t.i < token.i or t.is_space:
                continue
            if t.is_punct:
                break  # "in the style of Van Gogh, a starry sky": the style ends at the comma
            phrase.append(t)
        self.style_ids.update(t.i for t in phrase)
        self.draft.style.append(tuple(self.word_of[t.i] for t in phrase))

    def _name(self, head) -> list:
        """The head noun and the compound nouns that name the object with it ("wine glass"), left of the head.

        With a name extension ("diamond pendant"), the extension is the head and colour/material/shape words
        before it are left to be attributes.
        """
        name = self._compound_name(head)
        extension = self.extension_of.get(head.i)
        if extension is not None:
            name = [t for t in name if t.lower_ not in ATTRIBUTE_NOUNS] + [extension]
        return sorted((t for t in name if t.i in self.word_of), key=lambda t: t.i)

    def _is_name_part(self, token) -> bool:
        """A noun before its head noun that names the object with it: a compound ("wine glass"), or a noun the
        model hung as an adjective right before its head ("frying pan")."""
        head = token.head
        if head.i <= token.i or not self._nominal(head) or any(c.dep_ == "cc" for c in token.children):
            return False
        if relational_of(head):
            return False  # "a tie right of a bat" hangs "tie" from "right" as a compound: "tie" is the object
        return token.dep_ == "compound" or (token.dep_ == "amod" and head.i == token.i + 1)

    def _compound_name(self, head) -> list:
        name = [head]
        for child in head.children:
            if self._is_name_part(child) and child.lower_ not in ATTRIBUTE_NOUNS and self._nominal(child):
                name.extend(self._compound_name(child))
        return name

    def _graded(self, token) -> list:
        """An attribute word with the adverbs that grade it ("very tall")."""
        grading = [
            c
            for c in token.children
            if c.dep_ in ("advmod", "npadvmod")
            and c.pos_ == "ADV"
            and c.i < token.i
            and c.lower_ not in JOINING_ADVERBS
        ]
        return sorted([token, *grading], key=lambda t: t.i)

    def _with_conjuncts(self, token) -> list[list]:
        """An attribute and every attribute coordinated with or stacked on it ("red and white striped",
        "white potted"): one token list per attribute."""
        found = [self._graded(token)]
        for child in token.children:
            if child.i in self.entity_of or not self._is_attribute_word(child):
                continue
            if child.dep_ == "conj" or (child.dep_ in ("amod", "compound", "nmod", "nummod") and child.i < token.i):
                # "three brass candlesticks" may hang "three" from "brass": a count of the noun, as its modifiers are
                found.extend(self._with_conjuncts(child))
        return found

    def _predicative(self, verb) -> list[list]:
        """Adjectives a copula predicates of its subject: "is red", "looks old and rusty"; a participle with only a
        copula as its auxiliary is one too ("a lamp that is broken")."""
        if (
            verb.tag_ == "VBN"
            and verb.dep_ == "relcl"  # not "a car that is red is parked next to a tree": there, a passive verb
            and any(c.dep_ == "auxpass" and c.lemma_.lower() == "be" for c in verb.children)
            and not any(c.dep_ in ("dobj", "prep", "agent", "oprd", "prt") for c in verb.children)
        ):
            return self._with_conjuncts(verb)  # "whose armor is dented and scratched": both
        if verb.lemma_.lower() not in COPULA_LEMMAS:
            return []
        found = []
        for child in verb.children:
            if child.dep_ in _PREDICATE_DEPS and child.pos_ in _ADJECTIVE_POS and not self._nominal(child):
                found.extend(self._with_conjuncts(child))
        return found

    def _attributes(self, head) -> list[list]:
        found: list[list] = []
        # "A red apple and yellow bananas": adjectives before a coordinated modifier noun belong to it
        cutoff = max(
            (c.i for c in head.children if c.i in self.entity_of and coordinated_modifier(c)),
            default=-1,
        )
        sources = [head]
        extension = self.extension_of.get(head.i)
        if extension is not None:
            sources.append(extension)
        if coordinated_modifier(head) and head.head.i != head.i:
            for child in head.head.children:
                if child.i < head.i and child.dep_ in ("amod", "nummod") and self._is_attribute_word(child):
                    found.extend(self._with_conjuncts(child))
        for source in sources:
            for child in source.children:
                if child.i in self.entity_of or child.i <= cutoff:
                    continue
                if child.dep_ == "compound":
                    if child.i < source.i and child.lower_ in ATTRIBUTE_NOUNS:
                        found.extend(self._with_conjuncts(child))
                    elif child.i < source.i:
                        # the name's own modifiers ("a white teddy bear" may hang "white" from "teddy")
                        for grandchild in child.children:
                            if grandchild.dep_ in ("amod", "nummod", "compound") and self._is_attribute_word(
                                grandchild
                            ):
                                found.extend(self._with_conjuncts(grandchild))
                    continue
                if child.dep_ in _ATTRIBUTE_DEPS and child.i < source.i and self._is_attribute_word(child):
                    if child.dep_ in ("advmod", "npadvmod") and child.pos_ not in _ADJECTIVE_POS:
                        continue
                    found.extend(self._with_conjuncts(child))
                elif child.dep_ in ("relcl", "acl") and not has_own_subject(child):
                    found.extend(self._predicative(child))  # not "a man whose hat is green": the hat is
        for comparative in comparatives_after(head):
            if comparative.i not in self.entity_of:
                found.extend(self._with_conjuncts(comparative))
        if head.dep_ in _SUBJECT_DEPS:
            found.extend(self._predicative(head.head))
        return found

    def _bind_loose_modifiers(self, heads) -> None:
        """A colour/material/shape word that was not made a head ("a gold clock", "a pyramidal trophy") and that no
        route above bound describes the noun after it, within the same noun phrase."""
        positions = sorted(t.i for t in heads)
        for token in self.tokens:
            if token.lower_ not in ATTRIBUTE_NOUNS or token.i in self.attribute_ids or token.i in self.entity_of:
                continue
            k = bisect.bisect_right(positions, token.i)
            if k == len(positions):
                continue
            between = self.doc[token.i + 1 : positions[k]]
            if any(t.pos_ in ("CCONJ", "ADP", "VERB", "AUX") or t.is_punct for t in between):
                continue
            self._bind(self.entity_of[positions[k]], [token])

    def _bind_stray_adjectives(self, heads) -> None:
        """An adjective coordinated onto a noun ("A red apple and yellow bananas" parsed as apple -conj-> yellow)
        describes the next noun: bind it to the next entity in the prompt."""
        positions = sorted(t.i for t in heads)
        for token in self.tokens:
            if token.i in self.attribute_ids or token.i in self.entity_of:
                continue
            if token.dep_ == "conj" and token.pos_ in _ADJECTIVE_POS and self._nominal(token.head):
                k = bisect.bisect_right(positions, token.i)
                if k < len(positions):
                    self._bind(self.entity_of[positions[k]], [token])

    def _style_tag_word(self, token) -> bool:
        """A word of a style segment after a comma (not a framing noun, which governs what it shows)."""
        return token.i in self.style_ids and token.i not in self.depicted_by
