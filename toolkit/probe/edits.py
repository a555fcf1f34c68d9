"""The probe's words and edits: which text positions an edit replaces, and with what (see the package docstring)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..errors import AttnmodError
from ..prompt.tokenizer import CLIP_CONTEXT_LENGTH
from ..prompt.tree import PromptTree

MAX_TOKENS = CLIP_CONTEXT_LENGTH  # the text encoders' context, start and end tokens included
ENCODERS = ("both", "1", "2")
# Names an ``edits`` list may use besides ``word:TEXT`` and ``swap:A:B``.
POSITION_EDITS = ("other-words", "all-words", "start", "end", "padding")
EDIT_GROUPS = ("default", "words", "swaps", "pooled", *POSITION_EDITS)
DEFAULT_EDITS = ("words", "other-words", "all-words", "start", "end", "padding", "pooled", "swaps")
#: How an edit of a position group is named in tables and reports (a word's or a swap's label names its words).
GROUP_LABELS = {
    "other-words": "words outside the tree",
    "all-words": "all words",
    "start": "start token",
    "end": "end token",
    "padding": "padding",
    "pooled": "pooled embedding",
}


@dataclasses.dataclass(frozen=True)
class Word:
    """A word of the prompt tree: ``role`` is "noun" or "attribute"; ``entity`` indexes the tree's entities."""

    text: str
    role: str
    entity: int
    positions: tuple[int, ...]
    span: tuple[int, int]  # characters in the prompt, end exclusive

    def to_json(self) -> dict:
        return {"text": self.text, "role": self.role, "entity": self.entity, "positions": list(self.positions)}


@dataclasses.dataclass(frozen=True)
class Edit:
    """One change of the text states.

    ``kind``: "replace" (``positions`` take the empty prompt's states), "swap" (``positions`` and ``other`` take
    the states of ``source``, the prompt with the two words exchanged) or "pooled" (the pooled embedding from the
    empty prompt). ``group`` names what was edited
    ("noun", "attribute", "other-words", "all-words", "start", "end", "padding", "pooled", "swap-attributes",
    "swap-nouns", "swap-words"); ``encoder`` is "both", "1" or "2"; ``entities`` the tree entities a word or swap
    belongs to (for judging); ``words`` the words' texts."""

    key: str
    kind: str
    group: str
    positions: tuple[int, ...] = ()
    other: tuple[int, ...] = ()
    encoder: str = "both"
    entities: tuple[int, ...] = ()
    words: tuple[str, ...] = ()
    source: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "swap":
            text = f"swap {self.words[0]!r} and {self.words[1]!r}"
        elif self.group in ("noun", "attribute"):
            text = f"{self.group} {self.words[0]!r}"
        else:
            text = GROUP_LABELS.get(self.group, self.group)
        return text if self.encoder == "both" else f"{text} (encoder {self.encoder})"

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "group": self.group,
            "positions": list(self.positions),
            "other": list(self.other),
            "encoder": self.encoder,
            "entities": list(self.entities),
            "words": list(self.words),
            "source": self.source,
        }


# ---- the prompt's words and the edits ----


def tree_words(tree: PromptTree) -> list[Word]:
    """The tree's head nouns and attributes with their token positions, in prompt order (truncated words and words
    without positions left out)."""
    words = []
    for index, entity in enumerate(tree.entities):
        if entity.tokens and not entity.truncated:
            words.append(Word(entity.text, "noun", index, tuple(entity.tokens), tuple(entity.span)))
        for attribute in entity.attributes:
            if attribute.tokens and not attribute.truncated:
                words.append(Word(attribute.text, "attribute", index, tuple(attribute.tokens), tuple(attribute.span)))
    return sorted(words, key=lambda word: (word.span, word.positions))


def _word_keys(words: Sequence[Word]) -> dict[str, Word]:
    """``word:TEXT`` for each word (lower case), ``word:TEXT#2`` for a second word of the same text, and so on."""
    keys: dict[str, Word] = {}
    for word in words:
        base = f"word:{word.text.lower()}"
        key, count = base, 1
        while key in keys:
            count += 1
            key = f"{base}#{count}"
        keys[key] = word
    return keys


def _nearest_attribute(words: Sequence[Word], entity: int) -> Word | None:
    """The entity's attribute nearest its noun (English puts the colour after the size: "a small red circle")."""
    attributes = [w for w in words if w.role == "attribute" and w.entity == entity]
    return attributes[-1] if attributes else None


def swapped_text(prompt: str, first: Word, second: Word) -> str:
    """``prompt`` with the two words' characters exchanged."""
    (a, b), (c, d) = sorted([first.span, second.span])
    return prompt[:a] + prompt[c:d] + prompt[b:c] + prompt[a:b] + prompt[d:]


def _swap(prompt: str, first: Word, second: Word, group: str, encoder: str, key: str | None = None) -> Edit:
    return Edit(
        key=key or f"swap:{first.text.lower()}:{second.text.lower()}",
        kind="swap",
        group=group,
        positions=first.positions,
        other=second.positions,
        encoder=encoder,
        entities=(first.entity, second.entity),
        words=(first.text, second.text),
        source=swapped_text(prompt, first, second),
    )


def _swappable(first: Word, second: Word) -> bool:
    return first.text.lower() != second.text.lower() and len(first.positions) == len(second.positions)


def default_swaps(prompt: str, words: Sequence[Word], encoder: str = "both") -> list[Edit]:
    """The attribute swap (the attributes nearest the nouns of the first two entities that have one) and the noun
    swap (the first two entities' nouns), each when the two words differ and have as many tokens."""
    swaps = []
    entities = sorted({w.entity for w in words})
    with_attribute = [a for a in (_nearest_attribute(words, e) for e in entities) if a is not None]
    if len(with_attribute) >= 2 and _swappable(with_attribute[0], with_attribute[1]):
        swaps.append(_swap(prompt, with_attribute[0], with_attribute[1], "swap-attributes", encoder))
    nouns = [w for w in words if w.role == "noun"]
    if len(nouns) >= 2 and _swappable(nouns[0], nouns[1]):
        swaps.append(_swap(prompt, nouns[0], nouns[1], "swap-nouns", encoder))
    return swaps


def _edit_and_encoder_names(edits: str | Sequence[str], encoders: str | Sequence[str]) -> tuple[list[str], list[str]]:
    """The edit names and encoder names of a comma-separated string or a list (blank names dropped); raises
    :class:`AttnmodError` when no edit is left or an encoder is not one of :data:`ENCODERS`."""
    names = [part.strip() for part in edits.split(",")] if isinstance(edits, str) else [str(e).strip() for e in edits]
    names = [name for name in names if name]
    if not names:
        raise AttnmodError("no edit given")
    encoder_list = [part.strip() for part in encoders.split(",")] if isinstance(encoders, str) else list(encoders)
    for encoder in encoder_list:
        if encoder not in ENCODERS:
            raise AttnmodError(f"unknown encoder {encoder!r}; encoders: {', '.join(ENCODERS)}")
    return names, encoder_list


def check_edit_names(edits: str | Sequence[str], encoders: str | Sequence[str] = ("both",)) -> None:
    """Raise :class:`AttnmodError` for an edit or encoder name that no prompt could make valid (checked before a
    model loads; words are checked against the prompt's tree by :func:`plan_edits`)."""
    names, encoder_list = _edit_and_encoder_names(edits, encoders)
    for name in names:
        base, _, pinned = name.partition("@")
        if pinned and pinned not in ENCODERS:
            raise AttnmodError(f"unknown encoder {pinned!r} in edit {name!r}; encoders: {', '.join(ENCODERS)}")
        word = base.startswith("word:") and len(base) > len("word:")
        swap = base.startswith("swap:") and base.count(":") == 2
        if not (base in EDIT_GROUPS or word or swap):
            raise AttnmodError(f"unknown edit {name!r}; edits: {', '.join(EDIT_GROUPS)}, word:TEXT, swap:WORD:WORD")


def _suffix(key: str, encoder: str) -> str:
    return key if encoder == "both" else f"{key}@{encoder}"


def _word_edit(key: str, word: Word, encoder: str) -> Edit:
    return Edit(
        key=_suffix(key, encoder),
        kind="replace",
        group=word.role,
        positions=word.positions,
        encoder=encoder,
        entities=(word.entity,),
        words=(word.text,),
    )


def plan_edits(
    tree: PromptTree,
    token_count: int,
    edits: str | Sequence[str] = DEFAULT_EDITS,
    encoders: str | Sequence[str] = ("both",),
    pooled: bool = True,
) -> list[Edit]:
    """The edits named by ``edits`` (names of :data:`EDIT_GROUPS`, ``word:TEXT``, ``swap:A:B``; a comma-separated
    string or a list), for each of ``encoders`` ("both", "1", "2"), in that order without repeats. A name followed
    by ``@1``, ``@2`` or ``@both`` is made for that encoder only (``default,padding@1,padding@2``).

    ``token_count``: the prompt's tokens with start and end. ``pooled``: whether the pipeline has a pooled embedding
    (SDXL); the pooled edit is made once, whatever the encoders (it comes from the second encoder alone). Raises
    :class:`AttnmodError` for an unknown name, a word the tree does not hold, or an edit that names no position."""
    names, encoder_list = _edit_and_encoder_names(edits, encoders)
    if not encoder_list:
        raise AttnmodError("no encoder given")
    expanded: list[tuple[str, str]] = []  # (name, encoder): every encoder asked for, or the one a name pins
    for encoder in encoder_list:
        for name in names:
            name, _, pinned = name.partition("@")
            if pinned and pinned not in ENCODERS:
                raise AttnmodError(
                    f"unknown encoder {pinned!r} in edit {name}@{pinned}; encoders: {', '.join(ENCODERS)}"
                )
            if pinned and encoder != encoder_list[0]:
                continue
            for each in DEFAULT_EDITS if name == "default" else [name]:
                expanded.append((each, pinned or encoder))
    words = tree_words(tree)
    keys = _word_keys(words)
    known = ", ".join(keys) or "none"
    end = token_count - 1
    planned: list[Edit] = []
    for name, encoder in expanded:
        if name == "words":
            for key, word in keys.items():
                planned.append(_word_edit(key, word, encoder))
        elif name.startswith("word:"):
            word = keys.get(name.lower())
            if word is None:
                raise AttnmodError(f"edit {name!r} names a word that is not in the prompt's tree; words: {known}")
            planned.append(_word_edit(name.lower(), word, encoder))
        elif name == "swaps":
            for swap in default_swaps(tree.prompt, words, encoder):
                planned.append(dataclasses.replace(swap, key=_suffix(swap.key, encoder)))
        elif name.startswith("swap:"):
            parts = name.lower().split(":")
            if len(parts) != 3:
                raise AttnmodError(f"edit {name!r} is not swap:WORD:WORD")
            found = [keys.get(f"word:{part}") for part in parts[1:]]
            for part, word in zip(parts[1:], found, strict=True):
                if word is None:
                    raise AttnmodError(
                        f"edit {name!r} names {part!r}, which is not a word of the prompt's tree; words: {known}"
                    )
            if found[0] is found[1]:
                raise AttnmodError(f"edit {name!r} swaps a word with itself")
            if len(found[0].positions) != len(found[1].positions):
                raise AttnmodError(
                    f"edit {name!r}: the two words have {len(found[0].positions)} and {len(found[1].positions)} "
                    "tokens; only words of as many tokens can be swapped in place"
                )
            group = "swap-nouns" if found[0].role == found[1].role == "noun" else "swap-words"
            if found[0].role == found[1].role == "attribute":
                group = "swap-attributes"
            planned.append(_swap(tree.prompt, found[0], found[1], group, encoder, key=_suffix(name.lower(), encoder)))
        elif name == "pooled":
            if pooled and encoder in ("both", "2") and not any(e.kind == "pooled" for e in planned):
                planned.append(Edit("pooled", "pooled", "pooled"))
        elif name in POSITION_EDITS:
            in_tree = {p for word in words for p in word.positions}
            positions = {
                "start": (0,),
                "end": (end,),
                "padding": tuple(range(token_count, MAX_TOKENS)),
                "all-words": tuple(range(1, end)),
                "other-words": tuple(p for p in range(1, end) if p not in in_tree),
            }[name]
            if positions:
                planned.append(Edit(_suffix(name, encoder), "replace", name, positions, (), encoder))
        else:
            raise AttnmodError(f"unknown edit {name!r}; edits: {', '.join(EDIT_GROUPS)}, word:TEXT, swap:WORD:WORD")
    unique: dict[str, Edit] = {}
    for edit in planned:
        unique.setdefault(edit.key, edit)
    if not unique:
        raise AttnmodError("the edits asked for name no position of this prompt")
    return list(unique.values())
