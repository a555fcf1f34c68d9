"""The dependency back end: a draft entity tree from a spaCy dependency parse.

Entities are the heads of noun phrases (``NOUN``/``PROPN`` tokens that are not compounds of another noun).
Attributes hang from them as ``amod``, ``nummod``, ``compound`` colour/material nouns, their ``conj`` chains,
and predicative adjectives (``acomp``) of a copula in a relative clause ("a car that is red") or of a clause
whose subject is the entity ("the car is red"). An entity's parent is the nearest entity above it in the tree,
reached through prepositions ("with", "of", "in"), participles ("holding") and relative clauses; a verb's
subject governs the verb's other arguments, so "a man rides a horse" nests like "a man riding a horse".
Conjuncts and appositions ("a red apple, a yellow pear and a green grape") are siblings of their first conjunct.

Two repairs for errors of the small English model, both tied to a visible cue in the words:

* parallel structure: in "a woman with a green scarf and a man with a blue tie" the model makes "man" a conjunct
  of "scarf"; a conjunct that repeats the preposition (or participle) that governs its first conjunct is instead
  a sibling of the entity that preposition modifies.
* "A red apple and yellow bananas": the model makes "apple" a noun modifier of "bananas" with the "and" under it;
  a noun modifier that carries its own coordinator is a sibling, and an adjective coordinated onto a noun binds to
  the next entity.
"""

from __future__ import annotations

from .prompt_syntax import (
    ATTRIBUTE_NOUNS,
    COPULA_LEMMAS,
    FRAMING_NOUNS,
    PRONOUNS,
    QUANTITY_NOUNS,
    RELATIONAL_NOUNS,
    DraftTree,
    Word,
    framing_units,
)

_ATTRIBUTE_DEPS = frozenset({"amod", "nummod", "quantmod", "nmod", "npadvmod", "advmod", "compound", "dep"})
_ADJECTIVE_POS = frozenset({"ADJ", "NUM"})
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
_PREDICATE_DEPS = frozenset({"acomp", "oprd", "attr", "xcomp"})


def _is_nounlike(token) -> bool:
    # Emoji and symbols tagged as nouns are not objects a parse can name.
    return (token.pos_ in ("NOUN", "PROPN") or token.tag_ in ("NN", "NNS", "NNP", "NNPS")) and any(
        ch.isalpha() for ch in token.text
    )


def _has_of(token) -> bool:
    return any(child.dep_ == "prep" and child.lower_ == "of" for child in token.children)


def _is_attribute_word(token) -> bool:
    """Adjectives, numerals, participles and colour/material nouns can describe an entity."""
    return (
        token.pos_ in _ADJECTIVE_POS
        or token.tag_ in ("JJ", "JJR", "JJS", "VBN", "VBG", "CD")
        or token.lower_ in ATTRIBUTE_NOUNS
    )


def build_from_dependency(doc) -> DraftTree:
    """Read a parsed spaCy ``Doc`` (or ``Span``) into a :class:`DraftTree` over its non-space tokens."""
    tokens = [token for token in doc if not token.is_space]
    word_of = {token.i: k for k, token in enumerate(tokens)}
    words = [
        Word(
            text=token.text,
            start=token.idx,
            end=token.idx + len(token.text),
            tag=token.tag_,
            lemma=(token.lemma_ or token.text).lower(),
        )
        for token in tokens
    ]
    draft = DraftTree(words=words)
    framing_word_ids = {k for unit in framing_units(words) for k in unit}
    draft.style.extend(framing_units(words))

    style_token_ids: set[int] = set()
    attribute_token_ids: set[int] = set()
    heads = []
    for token in tokens:
        if not _is_nounlike(token) or word_of[token.i] in framing_word_ids or token.i in style_token_ids:
            continue
        lemma = words[word_of[token.i]].lemma
        if token.lower_ in PRONOUNS or token.pos_ == "PRON":
            continue
        if token.dep_ == "compound" and _is_nounlike(token.head):
            continue  # part of the head's name, or an attribute of it (decided from the head)
        if token.dep_ in ("amod", "nmod", "npadvmod") and token.lower_ in ATTRIBUTE_NOUNS and token.head.i > token.i:
            continue  # "a gold clock": a colour or material word before its noun
        if lemma == "style" and _has_of(token):
            # "in the style of Van Gogh": the whole phrase is style, and the painter is not in the image.
            subtree = []
            for t in token.subtree:
                if t.i < token.i or t.is_space:
                    continue
                if t.is_punct:
                    break  # "in the style of Van Gogh, a starry sky": the style ends at the comma
                subtree.append(t)
            style_token_ids.update(t.i for t in subtree)
            draft.style.append(tuple(word_of[t.i] for t in subtree))
            continue
        if lemma in FRAMING_NOUNS and _has_of(token):
            modifiers = [c for c in token.children if c.i < token.i and c.dep_ in ("amod", "compound", "nmod")]
            draft.style.append(tuple(sorted(word_of[t.i] for t in [*modifiers, token])))
            style_token_ids.update(t.i for t in modifiers)
            continue
        if lemma in RELATIONAL_NOUNS and (token.dep_ == "pobj" or _has_of(token)):
            continue
        if lemma in QUANTITY_NOUNS and _has_of(token):
            continue
        heads.append(token)

    entity_of: dict[int, int] = {}
    for token in heads:
        name = _name_tokens(token)
        entity_of[token.i] = draft.add_entity(tuple(word_of[t.i] for t in name), parent=None)

    for token in heads:
        entity = entity_of[token.i]
        for attribute in _attributes(token, entity_of):
            if not attribute_token_ids.intersection(t.i for t in attribute):
                attribute_token_ids.update(t.i for t in attribute)
                draft.bind(entity, tuple(word_of[t.i] for t in attribute))

    _bind_stray_adjectives(tokens, heads, entity_of, attribute_token_ids, word_of, draft)

    for token in heads:
        draft.entities[entity_of[token.i]].parent = _governing_entity(token, entity_of)
    return draft


def _name_tokens(head) -> list:
    """The head noun and the compound nouns that name the object with it ("wine glass", "stop sign"), left of
    the head; colour and material compounds are attributes, not names."""
    name = [head]
    for child in head.children:
        if (
            child.dep_ == "compound"
            and child.i < head.i
            and child.lower_ not in ATTRIBUTE_NOUNS
            and not any(c.dep_ == "cc" for c in child.children)
        ):
            name.extend(_name_tokens(child))
    return sorted(name, key=lambda t: t.i)


def _attribute_with_intensifiers(token) -> list:
    """An attribute word with the words that grade it ("very tall", "dark green" when parsed that way)."""
    grading = [c for c in token.children if c.dep_ in ("advmod", "npadvmod", "amod") and c.i < token.i]
    return sorted([token, *grading], key=lambda t: t.i)


def _with_conjuncts(token) -> list[list]:
    """An attribute and every attribute coordinated with it ("red and white striped"): one list per attribute."""
    found = [_attribute_with_intensifiers(token)]
    for child in token.children:
        if child.dep_ == "conj" and _is_attribute_word(child) and not _is_nounlike_entity_candidate(child):
            found.extend(_with_conjuncts(child))
    return found


def _is_nounlike_entity_candidate(token) -> bool:
    return _is_nounlike(token) and token.lower_ not in ATTRIBUTE_NOUNS


def _predicative(verb) -> list[list]:
    """Adjectives a copula predicates of its subject: "is red", "looks old and rusty"."""
    if verb.lemma_.lower() not in COPULA_LEMMAS:
        return []
    found = []
    for child in verb.children:
        if child.dep_ in _PREDICATE_DEPS and child.pos_ in _ADJECTIVE_POS:
            found.extend(_with_conjuncts(child))
    return found


def _attributes(head, entity_of: dict[int, int]) -> list[list]:
    found: list[list] = []
    for child in head.children:
        if child.i in entity_of:
            continue
        if child.dep_ == "compound":
            if child.lower_ in ATTRIBUTE_NOUNS and child.i < head.i:
                found.extend(_with_conjuncts(child))
            elif child.i < head.i:
                # a compound's own modifiers ("a red stop sign" may hang "red" from "stop")
                for grandchild in child.children:
                    if grandchild.dep_ in ("amod", "nummod") and grandchild.i not in entity_of:
                        found.extend(_with_conjuncts(grandchild))
            continue
        if child.dep_ in _ATTRIBUTE_DEPS and child.i < head.i and _is_attribute_word(child):
            if child.dep_ in ("advmod", "npadvmod") and child.pos_ not in _ADJECTIVE_POS:
                continue
            found.extend(_with_conjuncts(child))
        elif child.dep_ in ("relcl", "acl"):
            found.extend(_predicative(child))
    if head.dep_ in _SUBJECT_DEPS:
        found.extend(_predicative(head.head))
    return found


def _bind_stray_adjectives(tokens, heads, entity_of, attribute_token_ids, word_of, draft: DraftTree) -> None:
    """An adjective coordinated onto a noun ("A red apple and yellow bananas" parsed as apple -conj-> yellow)
    describes the next noun: bind it to the next entity in the prompt."""
    head_positions = sorted(t.i for t in heads)
    for token in tokens:
        if token.i in attribute_token_ids or token.i in entity_of:
            continue
        if token.dep_ == "conj" and token.pos_ in _ADJECTIVE_POS and _is_nounlike(token.head):
            following = [i for i in head_positions if i > token.i]
            if following:
                attribute_token_ids.add(token.i)
                draft.bind(entity_of[following[0]], (word_of[token.i],))


def _coordinated_modifier(token) -> bool:
    """A noun hung as a modifier of the next noun but carrying its own coordinator: a misparsed conjunct."""
    return token.dep_ in ("nmod", "compound", "amod") and any(c.dep_ == "cc" for c in token.children)


def _parallel_target(token, entity_of: dict[int, int]):
    """For a conjunct: the token it is really coordinated with.

    Normally its first conjunct. If the first conjunct is the object of a preposition or participle that
    modifies entity X, and this conjunct has its own child with the same relation and word ("... with a scarf
    and a man with a tie"), it is coordinated with X instead.
    """
    first = token.head
    link = first.head
    if first.dep_ in ("pobj", "dobj") and link.dep_ in ("prep", "acl") and link.head.i in entity_of:
        for child in token.children:
            if child.dep_ == link.dep_ and child.lemma_.lower() == link.lemma_.lower():
                return link.head
    return first


def _governing_entity(token, entity_of: dict[int, int]) -> int | None:
    """Index of the nearest entity that governs ``token``; conjuncts share their first conjunct's governor."""
    current = token
    visited: set[int] = set()
    while current.i not in visited:
        visited.add(current.i)
        # spaCy makes a new Token object on every access: compare positions, never identity.
        if current.dep_ in ("conj", "appos") and current.head.i != current.i:
            current = _parallel_target(current, entity_of)
            continue  # a sibling of `current`: do not test `current` itself
        if _coordinated_modifier(current) and current.head.i != current.i:
            current = current.head
            continue
        head = current.head
        if head.i == current.i:
            return None
        if head.i in entity_of:
            return entity_of[head.i]
        if head.pos_ in ("VERB", "AUX") and current.dep_ not in _SUBJECT_DEPS:
            for child in head.children:
                if child.dep_ in _SUBJECT_DEPS and child.i in entity_of:
                    return entity_of[child.i]
        current = head
    return None
