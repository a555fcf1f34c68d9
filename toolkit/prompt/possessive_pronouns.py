"""A thing owned through a possessive pronoun ("his", "her", "its", "their") nests under the noun the pronoun refers
to, as "the dog's collar" nests the collar under the dog: "an elephant and her calf", "a clockmaker leans over his
workbench" (the owner wins over the spatial sibling rule), "a girl jumps into a puddle while her brother ...".

Both back ends run this pass on their finished draft, over the words alone (their tags and the draft's nesting):

* the owned entity is the one whose phrase opens right after the pronoun: its name and the attributes bound to it
  ("his open case"), or a quantity noun and "of" before it ("his flock of sheep": the sheep).
* the referent is, among the entities before the pronoun that agree in number ("their": a plural noun; "his",
  "her", "its": a singular one), the nearest **subject**: an entity followed by a verb before any entity outside
  its own subtree ("a street musician plays ..."; "a girl in a yellow raincoat jumps": the raincoat is hers). With
  no subject (a bare noun phrase: "a knight without his helmet"), the nearest agreeing entity. A worn item
  (:data:`~attnmod.toolkit.prompt.words.CLOTHING_NOUNS`) is never the referent: "a man in a grey coat and his dog"
  is the man's dog. "their" with no plural noun before it (a coordinated group) is left as it was.
* a container that holds the noun before its preposition stands for that noun ("a dog in a kennel wagging its
  tail": the dog's tail, though the draft hangs the dog under the kennel).
* an owner inside the owned thing's own subtree is not taken (no cycle).
* the subject of a finite clause of its own stands alone, as any such subject does ("The little girl holds a red
  balloon while her dog chases a ball": the dog at the top level, the reading of dev.txt and test7.txt; test10.txt's
  writer nests it under the owner, a disagreement left to the gold).
"""

from __future__ import annotations

from .syntax import NOUN_TAGS, DraftTree
from .words import CLOTHING_NOUNS

_PRONOUNS = frozenset({"his", "her", "its", "their"})
_PLURAL_TAGS = frozenset({"NNS", "NNPS"})
_VERB_TAGS = frozenset({"VB", "VBD", "VBG", "VBP", "VBZ", "MD"})
_LINK_TAGS = frozenset({"IN", "DT", "JJ", "JJR", "JJS", "CD", "VBN"}) | NOUN_TAGS
_FINITE_TAGS = frozenset({"VBD", "VBP", "VBZ", "MD"})
# Words that may stand between the pronoun and the owned noun: adjectives, participles, numbers, noun modifiers.
_MODIFIER_TAGS = frozenset({"JJ", "JJR", "JJS", "VBN", "VBG", "CD", "RB", "HYPH", ","}) | NOUN_TAGS


def _descendants(draft: DraftTree, entity: int) -> set[int]:
    found = {entity}
    changed = True
    while changed:
        changed = False
        for k, other in enumerate(draft.entities):
            if k not in found and other.parent in found:
                found.add(k)
                changed = True
    return found


def _pronoun_before(draft: DraftTree, entity: int, owned_words: set[int]) -> int | None:
    """Position of the possessive pronoun that opens ``entity``'s phrase, or None."""
    k = min(draft.entities[entity].name) - 1
    words = draft.words
    while k >= 0:
        word = words[k]
        if word.lower in _PRONOUNS:
            return k if word.tag != "PRP" else None  # "gives her a rose": an object, not an owner
        if k in owned_words:
            return None  # another entity's words
        if word.lower == "of" and k > 0 and words[k - 1].tag in NOUN_TAGS:
            k -= 1  # "his flock of sheep": the quantity noun before "of"
        elif word.tag not in _MODIFIER_TAGS:
            return None
        k -= 1
    return None


def _subjects(draft: DraftTree, order: list[int], verbs: frozenset[str] = _VERB_TAGS) -> set[int]:
    """Entities followed by a verb (a tag of ``verbs``) before any entity outside their own subtree."""
    found = set()
    words = draft.words
    for entity in order:
        inside = _descendants(draft, entity)
        starts = {min(draft.entities[e].name): e for e in range(len(draft.entities)) if e not in inside}
        for k in range(draft.entities[entity].head + 1, len(words)):
            if k in starts:
                break
            if words[k].tag in verbs:
                found.add(entity)
                break
    return found


def _held_before(draft: DraftTree, owner: int, candidates: list[int]) -> int:
    """A container turned round to hold the noun its preposition followed ("a dog in a kennel": the dog under the
    kennel) stands for that noun: "a dog in a kennel wagging its tail" is the dog's tail."""
    entities = draft.entities
    start = min(entities[owner].name)
    for held in candidates:
        between = draft.words[entities[held].head + 1 : start]
        if (
            entities[held].parent == owner
            and entities[held].head < start
            and any(w.tag == "IN" for w in between)
            and all(w.tag in _LINK_TAGS for w in between)
        ):
            return held
    return owner


def nest_possessed(draft: DraftTree) -> None:
    """Hang each thing owned through a possessive pronoun under the entity the pronoun refers to (module doc)."""
    entities = draft.entities
    if not any(w.lower in _PRONOUNS for w in draft.words):
        return
    entity_words = {k: e for e, entity in enumerate(entities) for k in entity.name}
    order = sorted(range(len(entities)), key=lambda e: entities[e].head)
    subjects = _subjects(draft, order)
    finite = _subjects(draft, order, _FINITE_TAGS)
    moves = []
    for owned in order:
        others = {k for k, e in entity_words.items() if e != owned}
        pronoun = _pronoun_before(draft, owned, others)
        if pronoun is None or owned in finite:
            continue
        plural = draft.words[pronoun].lower == "their"
        before = [
            e
            for e in reversed(order)
            if entities[e].head < pronoun
            and (draft.words[entities[e].head].tag in _PLURAL_TAGS) == plural
            and draft.words[entities[e].head].lemma not in CLOTHING_NOUNS
            and draft.words[entities[e].head].lower not in CLOTHING_NOUNS
        ]
        owner = next((e for e in before if e in subjects), before[0] if before else None)
        if owner is not None:
            owner = _held_before(draft, owner, before)
        if owner is not None and owner not in _descendants(draft, owned):
            moves.append((owned, owner))
    for owned, owner in moves:
        if owner not in _descendants(draft, owned):
            entities[owned].parent = owner
