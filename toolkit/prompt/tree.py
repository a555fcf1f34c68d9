"""The prompt tree: entities, their attributes, their nesting, and their token positions.

This is the contract between the prompt front end (which builds it) and everything after it (modulation
groups, capture metadata, metrics). It is immutable and round-trips through JSON with the schema that
``attnmod parse --format json`` prints:

    {"prompt": str, "parser": "benepar"|"dependency", "truncated": bool, "warnings": [str],
     "style": [str],
     "entities": [{"noun": str, "text": str, "span": [start, end],
                   "attributes": [{"text": str, "span": [start, end], "tokens": [int]}],
                   "parent": int|null, "tokens": [int], "absent": bool}]}

Spans are character offsets into ``prompt`` (end exclusive). ``tokens`` are positions in the text
encoders' 77-token sequence, where position 0 is the start token. ``entities`` is flat, in prompt order;
``parent`` indexes the enclosing entity in that list. An entity or attribute whose tokens fall past the 77-token
limit has ``truncated`` true and the positions that remain (possibly none). A negated entity ("a bowl without
oranges", "a street with no cars") stays in the tree with ``absent`` true, so tools can show it; the modulation gives
it no group and the scores do not ask the image for it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True)
class Attribute:
    """A modifier bound to an entity: adjective, participle, modifier noun ("wooden", "brick"), numeral."""

    text: str
    span: tuple[int, int]
    tokens: tuple[int, ...] = ()
    truncated: bool = False

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "span": list(self.span),
            "tokens": list(self.tokens),
            "truncated": self.truncated,
        }

    @classmethod
    def from_json(cls, data: dict) -> Attribute:
        return cls(
            text=data["text"],
            span=tuple(data["span"]),
            tokens=tuple(data.get("tokens", ())),
            truncated=bool(data.get("truncated", False)),
        )


@dataclasses.dataclass(frozen=True)
class Entity:
    """An object the image should contain, named by its head noun.

    ``noun`` is the lemma in lower case; ``text`` the surface form of the head noun and ``span`` its characters;
    ``tokens`` the head noun's token positions. ``absent``: the prompt negates it ("without oranges", "no cars"):
    the image should not show it.
    """

    noun: str
    text: str
    span: tuple[int, int]
    attributes: tuple[Attribute, ...] = ()
    parent: int | None = None
    tokens: tuple[int, ...] = ()
    truncated: bool = False
    absent: bool = False

    @property
    def group_tokens(self) -> tuple[int, ...]:
        """The entity group: noun tokens plus all attribute tokens, sorted and unique."""
        positions = set(self.tokens)
        for attribute in self.attributes:
            positions.update(attribute.tokens)
        return tuple(sorted(positions))

    def to_json(self) -> dict:
        return {
            "noun": self.noun,
            "text": self.text,
            "span": list(self.span),
            "attributes": [a.to_json() for a in self.attributes],
            "parent": self.parent,
            "tokens": list(self.tokens),
            "truncated": self.truncated,
            "absent": self.absent,
        }

    @classmethod
    def from_json(cls, data: dict) -> Entity:
        return cls(
            noun=data["noun"],
            text=data["text"],
            span=tuple(data["span"]),
            attributes=tuple(Attribute.from_json(a) for a in data.get("attributes", ())),
            parent=data.get("parent"),
            tokens=tuple(data.get("tokens", ())),
            truncated=bool(data.get("truncated", False)),
            absent=bool(data.get("absent", False)),
        )


@dataclasses.dataclass(frozen=True)
class PromptTree:
    """A parsed prompt: a flat list of entities in prompt order whose ``parent`` fields encode the nesting."""

    prompt: str
    entities: tuple[Entity, ...] = ()
    parser: str = "dependency"
    truncated: bool = False
    warnings: tuple[str, ...] = ()
    style: tuple[str, ...] = ()

    def children(self, index: int | None) -> list[int]:
        """Indices of the entities directly inside entity ``index`` (``None``: the top level)."""
        return [i for i, entity in enumerate(self.entities) if entity.parent == index]

    def ancestors(self, index: int) -> list[int]:
        """Indices of the entities enclosing entity ``index``, innermost first."""
        chain = []
        parent = self.entities[index].parent
        while parent is not None:
            chain.append(parent)
            parent = self.entities[parent].parent
        return chain

    def to_json(self) -> dict:
        return {
            "prompt": self.prompt,
            "parser": self.parser,
            "truncated": self.truncated,
            "warnings": list(self.warnings),
            "style": list(self.style),
            "entities": [e.to_json() for e in self.entities],
        }

    @classmethod
    def from_json(cls, data: dict) -> PromptTree:
        return cls(
            prompt=data["prompt"],
            entities=tuple(Entity.from_json(e) for e in data.get("entities", ())),
            parser=data.get("parser", "dependency"),
            truncated=bool(data.get("truncated", False)),
            warnings=tuple(data.get("warnings", ())),
            style=tuple(data.get("style", ())),
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False)

    def _repr_html_(self) -> str:
        """Notebook display: the entities as nested lists, attributes and token positions beside each noun."""
        from html import escape

        def item(index: int) -> str:
            entity = self.entities[index]
            attributes = "".join(f' <span style="color:#b35806">{escape(a.text)}</span>' for a in entity.attributes)
            cut = " <em>(cut at 77 tokens)</em>" if entity.truncated else ""
            cut += " <em>(absent: negated)</em>" if entity.absent else ""
            children = "".join(item(child) for child in self.children(index))
            nested = f"<ul>{children}</ul>" if children else ""
            return (
                f"<li><b>{escape(entity.text)}</b>{attributes} "
                f'<span style="color:#777">{list(entity.group_tokens)}</span>{cut}{nested}</li>'
            )

        top = "".join(item(index) for index in self.children(None)) or "<li><em>no entities</em></li>"
        notes = "".join(f"<li><em>{escape(line)}</em></li>" for line in self.warnings)
        style = f" <span style='color:#777'>style: {escape(', '.join(self.style))}</span>" if self.style else ""
        return (
            f"<div><code>{escape(self.prompt)}</code> <small>[{escape(self.parser)}]</small>{style}"
            f"<ul>{top}</ul>{f'<ul>{notes}</ul>' if notes else ''}</div>"
        )

    @classmethod
    def loads(cls, text: str) -> PromptTree:
        return cls.from_json(json.loads(text))


def flat_tokens(entities: Iterable[Entity]) -> set[int]:
    """All token positions that belong to some entity group."""
    positions: set[int] = set()
    for entity in entities:
        positions.update(entity.group_tokens)
    return positions
