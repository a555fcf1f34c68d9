"""The per-sample modulation plan: which prompt tokens form which entity group, and each token's class.

:func:`plan_sample` resolves one :class:`~attnmod.toolkit.prompt.tree.PromptTree` against its tokenisation into a
:class:`SamplePlan`; :class:`ModulationPlan` holds a batch of them as padded tensors for the attention processors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from ..prompt.tokenizer import CLIP_CONTEXT_LENGTH
from ..prompt.tree import PromptTree
from .guidance import GuidanceTargets, guidance_targets

SPECIAL, ENTITY, ATTRIBUTE, OTHER = 0, 1, 2, 3  # token classes for reweighting


@dataclasses.dataclass(frozen=True)
class SamplePlan:
    """One prompt's token groups (positions < 77) resolved for the modulation.

    ``groups[g]`` are the token positions of entity ``entities[g]`` (noun + attributes) and ``nouns[g]`` its head-noun
    positions (the group itself when the noun was truncated away); ``hidden[g]`` the positions masked for a patch
    assigned to group g (every other group's tokens, minus those the nested rule keeps visible).
    ``token_class[t]`` is SPECIAL (start, end, padding), ENTITY, ATTRIBUTE or OTHER (remaining prompt words);
    ``token_count`` the real positions including start and end (the end token sits at ``token_count - 1``).
    """

    groups: tuple[tuple[int, ...], ...]
    entities: tuple[int, ...]
    hidden: tuple[tuple[int, ...], ...]
    token_class: tuple[int, ...]
    nouns: tuple[tuple[int, ...], ...] = ()
    token_count: int = CLIP_CONTEXT_LENGTH
    targets: GuidanceTargets = GuidanceTargets()  # what excite and syngen act on

    @property
    def active(self) -> bool:
        return bool(self.groups)


def plan_sample(tree: PromptTree | None, token_count: int, nested: str = "family") -> SamplePlan:
    """Resolve a prompt tree against its tokenisation.

    ``token_count``: real positions including start and end token (the first padding position). Entities whose tokens
    were all truncated away, and negated ones (``absent``), are left out. ``nested`` (see :mod:`~attnmod.toolkit.modulation.config`): ``family``
    keeps a group's ancestors and descendants visible to its patches, ``ancestors`` its ancestors only, ``strict``
    nothing but the group itself.
    """
    count = max(min(token_count, CLIP_CONTEXT_LENGTH), 1)
    classes = [SPECIAL] * CLIP_CONTEXT_LENGTH
    for position in range(1, max(count - 1, 1)):
        classes[position] = OTHER
    if tree is None:
        return SamplePlan((), (), (), tuple(classes), (), count, guidance_targets(None, count))
    groups, entities, nouns = [], [], []
    # A negated entity ("a bowl without oranges") is not asked of the image: no group (nothing masked for it), and
    # its words keep the OTHER class (no reweighting boost).
    present = [entity for entity in tree.entities if not entity.absent]
    for index, entity in enumerate(tree.entities):
        tokens = tuple(t for t in entity.group_tokens if 0 <= t < CLIP_CONTEXT_LENGTH)
        if tokens and not entity.absent:
            groups.append(tokens)
            entities.append(index)
            nouns.append(tuple(t for t in entity.tokens if 0 <= t < CLIP_CONTEXT_LENGTH) or tokens)
    for entity in present:
        for attribute in entity.attributes:
            for t in attribute.tokens:
                if 0 <= t < CLIP_CONTEXT_LENGTH:
                    classes[t] = ATTRIBUTE
    for entity in present:
        for t in entity.tokens:
            if 0 <= t < CLIP_CONTEXT_LENGTH:
                classes[t] = ENTITY  # a noun wins over an attribute role of the same token
    all_group_tokens = set().union(*groups) if groups else set()
    hidden = []
    for g, entity_index in enumerate(entities):
        related: set[int] = set()
        if nested in ("family", "ancestors"):
            related.update(tree.ancestors(entity_index))
        if nested == "family":
            related.update(other for other in entities if entity_index in tree.ancestors(other))
        visible = set(groups[g])
        for other in related:
            if other in entities:
                visible.update(groups[entities.index(other)])
        hidden.append(tuple(sorted(all_group_tokens - visible)))
    return SamplePlan(
        tuple(groups),
        tuple(entities),
        tuple(hidden),
        tuple(classes),
        tuple(nouns),
        count,
        guidance_targets(tree, count),
    )


@dataclasses.dataclass
class ModulationPlan:
    """The per-sample plans of a batch as padded tensors (G = the largest group count, at least 1).

    membership ``[B, G, T]`` float (1 where token t is in group g), nouns ``[B, G, T]`` float (1 on g's head-noun
    tokens), valid ``[B, G]`` bool, hidden ``[B, G, T]`` bool, token_class ``[B, T]`` long, tail ``[B, T]`` bool (the
    end and padding positions), active ``[B]`` bool.
    """

    samples: tuple[SamplePlan, ...]
    membership: torch.Tensor
    valid: torch.Tensor
    hidden: torch.Tensor
    token_class: torch.Tensor
    active: torch.Tensor
    nouns: torch.Tensor | None = None
    tail: torch.Tensor | None = None

    @property
    def size(self) -> int:
        return len(self.samples)

    @property
    def active_flags(self) -> tuple[bool, ...]:
        """Per-sample activity as Python booleans: branching on these never waits for the GPU."""
        return tuple(sample.active for sample in self.samples)

    @property
    def any_active(self) -> bool:
        return any(self.active_flags)

    @classmethod
    def build(cls, samples: Sequence[SamplePlan], device="cpu") -> ModulationPlan:
        count = len(samples)
        groups = max([len(s.groups) for s in samples] + [1])
        membership = torch.zeros(count, groups, CLIP_CONTEXT_LENGTH)
        nouns = torch.zeros(count, groups, CLIP_CONTEXT_LENGTH)
        valid = torch.zeros(count, groups, dtype=torch.bool)
        hidden = torch.zeros(count, groups, CLIP_CONTEXT_LENGTH, dtype=torch.bool)
        tail = torch.zeros(count, CLIP_CONTEXT_LENGTH, dtype=torch.bool)
        for b, sample in enumerate(samples):
            tail[b, max(sample.token_count - 1, 1) :] = True
            for g, tokens in enumerate(sample.groups):
                membership[b, g, list(tokens)] = 1.0
                nouns[b, g, list(sample.nouns[g] if g < len(sample.nouns) else tokens)] = 1.0
                valid[b, g] = True
                if sample.hidden[g]:
                    hidden[b, g, list(sample.hidden[g])] = True
        token_class = torch.tensor([list(s.token_class) for s in samples], dtype=torch.long).reshape(count, -1)
        active = torch.tensor([s.active for s in samples], dtype=torch.bool)
        return cls(
            tuple(samples),
            membership.to(device),
            valid.to(device),
            hidden.to(device),
            token_class.to(device),
            active.to(device),
            nouns.to(device),
            tail.to(device),
        )
