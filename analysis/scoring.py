"""From captured attention to scores: which parts of a prompt tree can be scored, and every metric of a record.

* :func:`plan_scoring` resolves a :class:`~attnmod.toolkit.prompt.tree.PromptTree` against the captured token
  positions (entities and attributes past the 77-token limit, and negated entities, are skipped with a reason).
* :func:`score_maps` maps one set of maps onto the pure functions of :mod:`attnmod.analysis.metrics`.
* :func:`score_record` scores an :class:`~attnmod.toolkit.modulation.record.AttentionRecord` per captured phase and
  over the whole run ("overall": the sums of all phases over their total count).
* :func:`summary_metrics` (of :mod:`attnmod.analysis.scores`) flattens the scores into the numbers of a results row.

Scores are the typed models of :mod:`attnmod.analysis.scores` (undefined values are ``None``, never NaN; their
``to_json()`` is the JSON of docs/diagnosis.md); entities and attributes are referred to by their index in the
prompt tree (``entity``) and in that entity's attribute list (``attribute``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch

from ..toolkit.errors import AttnmodError
from ..toolkit.modulation.record import AttentionRecord, resolution_key
from ..toolkit.prompt.tree import PromptTree
from ..toolkit.run_files import json_number
from . import attention_maps, binding, map_overlap, regions, word_attention
from .scores import (
    SCORES_FORMAT,
    Binding,
    EntityRegion,
    NestedPair,
    Overlap,
    PhaseScores,
    RecordScores,
    ScoredAttribute,
    ScoredEntity,
    SelfLeak,
    Share,
    summary_metrics,
)
from .thresholds import Thresholds

__all__ = ["MAP_SOURCES", "SCORES_FORMAT", "plan_scoring", "score_maps", "score_record", "summary_metrics"]
#: Which maps a record is scored on: the model's own (default) or those applied after modulation.
MAP_SOURCES = ("model", "applied")
OVERALL = "overall"


# ---- which entities and attributes can be scored ----


@dataclasses.dataclass(frozen=True)
class ScoringPlan:
    """The entities and attributes of a tree that have token positions inside the captured sequence.

    ``entities``: tree indices, in tree order; ``parents``: for each, the position in ``entities`` of its nearest
    scored ancestor (None at the top); ``attributes``: ``(slot, tree entity index, attribute index, positions)``;
    ``skipped``: why something was left out.
    """

    entities: tuple[int, ...]
    parents: tuple[int | None, ...]
    positions: tuple[tuple[int, ...], ...]
    attributes: tuple[tuple[int, int, int, tuple[int, ...]], ...]
    skipped: tuple[dict, ...]


def plan_scoring(tree: PromptTree, token_count: int) -> ScoringPlan:
    """Resolve ``tree`` against ``token_count`` captured token positions (77 for CLIP)."""
    entities, positions, skipped = [], [], []
    for index, entity in enumerate(tree.entities):
        kept = tuple(t for t in entity.tokens if 0 <= t < token_count)
        if entity.absent:
            # "a bowl without oranges": the image should not show it, so it has no presence to lack (never
            # "neglected") and no region to leak into
            reason = "the prompt negates it (absent)"
            skipped.append({"entity": index, "attribute": None, "text": entity.text, "reason": reason})
            continue
        if not kept:
            reason = (
                "it lies past the 77-token limit"
                if entity.truncated or entity.tokens
                else "its noun has no token positions"
            )
            skipped.append({"entity": index, "attribute": None, "text": entity.text, "reason": reason})
            continue
        entities.append(index)
        positions.append(kept)
    slot_of = {tree_index: slot for slot, tree_index in enumerate(entities)}
    parents = []
    for tree_index in entities:
        nearest = next((a for a in tree.ancestors(tree_index) if a in slot_of), None)
        parents.append(slot_of[nearest] if nearest is not None else None)
    attributes = []
    for slot, tree_index in enumerate(entities):
        for attribute_index, attribute in enumerate(tree.entities[tree_index].attributes):
            kept = tuple(t for t in attribute.tokens if 0 <= t < token_count)
            if not kept:
                skipped.append(
                    {
                        "entity": tree_index,
                        "attribute": attribute_index,
                        "text": attribute.text,
                        "reason": "it lies past the 77-token limit" if attribute.truncated else "it has no tokens",
                    }
                )
                continue
            attributes.append((slot, tree_index, attribute_index, kept))
    return ScoringPlan(tuple(entities), tuple(parents), tuple(positions), tuple(attributes), tuple(skipped))


def _labels(tree: PromptTree, entities: Sequence[int]) -> dict[int, str]:
    """Readable names: the noun's text, numbered when two entities share it ("cat #2")."""
    texts = [tree.entities[i].text for i in entities]
    labels = {}
    for index, text in zip(entities, texts, strict=True):
        if texts.count(text) > 1:
            number = [i for i, t in zip(entities, texts, strict=True) if t == text].index(index) + 1
            labels[index] = f"{text} #{number}"
        else:
            labels[index] = text
    return labels


# ---- scoring one set of maps ----


def score_maps(
    token_maps: torch.Tensor,
    tree: PromptTree,
    thresholds: Thresholds | None = None,
    self_map: torch.Tensor | None = None,
    plan: ScoringPlan | None = None,
    words: Sequence[int] | None = None,
    raw_maps: torch.Tensor | None = None,
) -> PhaseScores:
    """All metrics of one set of maps: ``token_maps [T, H, W]`` (raw cross-attention per token position: each
    pixel's probabilities over the tokens; token maps are normalised here where a score needs it) and optionally
    ``self_map [N, N]`` (self-attention rows at some resolution N = h w). ``words``: the positions of the prompt's
    word tokens (for presence; default every position but the first). ``raw_maps``: the per-pixel token
    distributions presence is read from, when ``token_maps`` were normalised per token (default: ``token_maps``).

    Returns the :class:`~attnmod.analysis.scores.PhaseScores` (entity regions, overlaps, nested pairs, leakage,
    self-attention leakage, bindings, counts) with tree indices; see docs/diagnosis.md. Overlaps are floor-removed
    (``O'``), bindings and self-attention leakage are lifts over the area share (1 = chance).
    """
    thresholds = thresholds or Thresholds()
    plan = plan or plan_scoring(tree, token_maps.shape[0])
    token_maps = token_maps.float()
    height, width = token_maps.shape[-2:]
    words = list(words) if words is not None else list(range(1, token_maps.shape[0]))
    raw_maps = raw_maps.float() if raw_maps is not None else token_maps
    found = _entity_regions(token_maps, plan, thresholds)
    entity_rows = _entity_rows(found, raw_maps, plan, words, thresholds)
    overlaps, nested_rows = _pair_rows(found, plan)
    # Leakage is undefined (null), not 0, when no pair of entities can be scored: a single entity, one nested in
    # another, or maps with no localised attention. A 0 would read as "perfect" and pull means down.
    scored = [row for row in overlaps if row.value is not None]
    worst = max(scored, key=lambda row: row.value, default=None)
    self_rows, self_max, self_resolution = None, None, None
    if self_map is not None and plan.entities:
        self_rows, self_max, self_resolution = _self_leakage_rows(self_map, found, plan, thresholds)
    bindings = _binding_rows(token_maps, found, plan, tree)
    values = [row.value for row in bindings if row.value is not None]
    return PhaseScores(
        resolution=resolution_key(height, width),
        background_share=json_number((found.labels == regions.BACKGROUND).sum() / found.pixels),
        entities=entity_rows,
        overlaps=overlaps,
        nested=nested_rows,
        leakage=worst.value if worst else None,
        leakage_pair=worst.entities if worst else None,
        self_resolution=self_resolution,
        self_leakage_pairs=self_rows,
        self_leakage_max=self_max,
        bindings=bindings,
        binding_mean=json_number(sum(values) / len(values)) if values else None,
        misbound=sum(1 for row in bindings if row.misbound),
        neglected=sum(1 for row in entity_rows if row.neglected),
    )


@dataclasses.dataclass
class _Regions:
    """What every score of one set of maps reads: the entity maps ``[E, H, W]``, the region labels and each
    entity's own and full region masks, the floor-removed overlap matrix (NaN on pairs with a flat member), the
    maps' contrasts, the nested pairs and the region settings."""

    entity_maps: torch.Tensor
    labels: torch.Tensor
    own: torch.Tensor
    full: torch.Tensor
    matrix: torch.Tensor
    contrasts: torch.Tensor
    nested: set
    settings: dict
    pixels: float


def _entity_regions(token_maps: torch.Tensor, plan: ScoringPlan, thresholds: Thresholds) -> _Regions:
    height, width = token_maps.shape[-2:]
    count = len(plan.entities)
    if count:
        entity_maps = torch.stack([attention_maps.group_map(token_maps, positions) for positions in plan.positions])
    else:
        entity_maps = torch.zeros(0, height, width)
    settings = {
        "rule": thresholds.region_rule,
        "level": thresholds.background,
        "quantile": thresholds.floor_quantile,
        "min_contrast": thresholds.min_contrast,
    }
    candidates = regions.region_candidates(entity_maps, **settings) if count else None
    labels = regions.assign_regions(entity_maps, thresholds.background, plan.parents, candidates=candidates)
    matrix = map_overlap.pairwise_floor_overlap(entity_maps, thresholds.floor_quantile) if count else torch.zeros(0, 0)
    contrasts = attention_maps.map_contrast(entity_maps, thresholds.floor_quantile) if count else torch.zeros(0)
    if count and thresholds.region_rule != "peak":
        # A flat map localises nothing: the overlap of its noise with another map's is not leakage, so a pair with a
        # flat member is undefined, the same gate that keeps a flat map from claiming a region.
        flat = contrasts < thresholds.min_contrast
        matrix = torch.where(flat[:, None] | flat[None, :], torch.full_like(matrix, float("nan")), matrix)
    return _Regions(
        entity_maps=entity_maps,
        labels=labels,
        own=regions.own_region_masks(labels, count),
        full=regions.full_region_masks(labels, plan.parents),
        matrix=matrix,
        contrasts=contrasts,
        nested=regions.nested_pairs(plan.parents),
        settings=settings,
        pixels=float(height * width),
    )


def _entity_rows(
    found: _Regions, raw_maps: torch.Tensor, plan: ScoringPlan, words: list[int], thresholds: Thresholds
) -> list[EntityRegion]:
    rows = []
    for slot in range(len(plan.entities)):
        peak, mass = word_attention.presence(raw_maps, plan.positions[slot], words)
        empty = bool(float(found.entity_maps[slot].sum()) <= attention_maps.ZERO_MASS)
        rows.append(
            EntityRegion(
                entity=plan.entities[slot],
                empty=empty,
                flat=not empty
                and thresholds.region_rule != "peak"
                and float(found.contrasts[slot]) < thresholds.min_contrast,
                contrast=json_number(found.contrasts[slot]),
                presence=json_number(peak),
                presence_mass=json_number(mass),
                neglected=word_attention.is_neglected(float(peak), thresholds.presence),
                own_region=json_number(found.own[slot].sum() / found.pixels),
                full_region=json_number(found.full[slot].sum() / found.pixels),
            )
        )
    return rows


def _pair_rows(found: _Regions, plan: ScoringPlan) -> tuple[list[Overlap], list[NestedPair]]:
    """The overlap of every pair of entities not nested in each other, and the nested pairs' overlap and
    containment."""
    overlaps, nested_rows = [], []
    count = len(plan.entities)
    for e in range(count):
        for f in range(e + 1, count):
            if (e, f) in found.nested:
                parent, child = (e, f) if e in _ancestors(f, plan.parents) else (f, e)
                nested_rows.append(
                    NestedPair(
                        parent=plan.entities[parent],
                        child=plan.entities[child],
                        overlap=json_number(found.matrix[e, f]),
                        containment=json_number(map_overlap.containment(found.entity_maps[child], found.full[parent])),
                    )
                )
            else:
                value = json_number(found.matrix[e, f])
                overlaps.append(Overlap(entities=(plan.entities[e], plan.entities[f]), value=value))
    return overlaps, nested_rows


def _self_leakage_rows(
    self_map: torch.Tensor, found: _Regions, plan: ScoringPlan, thresholds: Thresholds
) -> tuple[list[SelfLeak], float | None, str]:
    """Self-attention lifts between entities' regions at the self-attention map's resolution: rows, max, key."""
    count = len(plan.entities)
    side = self_attention_grid(self_map.shape[-1], tuple(found.entity_maps.shape[-2:]))
    self_entity_maps = attention_maps.resize_maps(found.entity_maps, side)
    self_candidates = regions.region_candidates(self_entity_maps, **found.settings)
    self_labels = regions.assign_regions(
        self_entity_maps, thresholds.background, plan.parents, candidates=self_candidates
    )
    self_full = regions.full_region_masks(self_labels, plan.parents)
    lifts = map_overlap.self_attention_lift(self_map.float(), self_full)
    rows = [
        SelfLeak(source=plan.entities[e], to=plan.entities[f], value=json_number(lifts[e, f]))
        for e in range(count)
        for f in range(count)
        if e != f and (min(e, f), max(e, f)) not in found.nested
    ]
    defined = [row.value for row in rows if row.value is not None]
    return rows, (max(defined) if defined else None), resolution_key(*side)


def _binding_rows(token_maps: torch.Tensor, found: _Regions, plan: ScoringPlan, tree: PromptTree) -> list[Binding]:
    rows = []
    count = len(plan.entities)
    for slot, tree_index, attribute_index, positions in plan.attributes:
        attribute_map = attention_maps.group_map(token_maps, positions)
        lifts = binding.binding_lifts(attribute_map, found.own)
        shares = binding.binding_shares(attribute_map, found.own)
        related = set(_ancestors(slot, plan.parents)) | _descendants(slot, plan.parents)
        margin, own_divergence, nearest_divergence, nearest = binding.binding_margin(
            attribute_map, found.entity_maps, slot, exclude=sorted(related)
        )
        defined = [f for f in range(count) if not math.isnan(float(lifts[f]))]
        dominant = max(defined, key=lambda f: float(lifts[f])) if defined else None
        rows.append(
            Binding(
                entity=tree_index,
                attribute=attribute_index,
                text=tree.entities[tree_index].attributes[attribute_index].text,
                value=json_number(lifts[slot]),
                lifts=[Share(entity=plan.entities[f], value=json_number(lifts[f])) for f in range(count)],
                shares=[Share(entity=plan.entities[f], value=json_number(shares[f])) for f in range(count)],
                misbound=binding.is_misbound_lift(lifts, slot),
                dominant=plan.entities[dominant] if dominant is not None else None,
                margin=json_number(margin),
                divergence_own=json_number(own_divergence),
                divergence_nearest=json_number(nearest_divergence),
                nearest=plan.entities[nearest] if nearest is not None else None,
            )
        )
    return rows


def _ancestors(slot: int, parents: Sequence[int | None]) -> list[int]:
    chain, parent = [], parents[slot]
    while parent is not None and parent not in chain:
        chain.append(parent)
        parent = parents[parent]
    return chain


def _descendants(slot: int, parents: Sequence[int | None]) -> set[int]:
    return {other for other in range(len(parents)) if slot in _ancestors(other, parents)}


def self_attention_grid(pixels: int, like: tuple[int, int]) -> tuple[int, int]:
    """The (h, w) of a flattened self-attention map with ``pixels`` positions, with the aspect ratio of ``like``
    (else square); AttnmodError when neither grid holds ``pixels`` positions."""
    height, width = like
    scale = math.sqrt(pixels / (height * width))
    candidate = (round(height * scale), round(width * scale))
    if candidate[0] * candidate[1] == pixels:
        return candidate
    side = round(math.sqrt(pixels))
    if side * side == pixels:
        return side, side
    raise AttnmodError(f"cannot tell the grid of a {pixels}-pixel self-attention map")


# ---- records ----


def _record_maps(record: AttentionRecord, phase: str | None, thresholds: Thresholds, source: str = "model"):
    """Cross maps combined over the chosen resolutions and the self map for ``phase`` (None: all phases)."""
    resolutions = record.resolutions("cross")
    if thresholds.resolution is not None:
        if thresholds.resolution not in resolutions:
            raise AttnmodError(
                f"resolution {thresholds.resolution} was not captured (captured: {', '.join(resolutions) or 'none'})"
            )
        resolutions = [thresholds.resolution]
    cross = [m for m in (record.phase_mean("cross", r, phase, source) for r in resolutions) if m is not None]
    self_resolutions = record.resolutions("self")
    self_map = record.phase_mean("self", self_resolutions[0], phase, source) if self_resolutions else None
    return cross, self_map


def score_record(
    record: AttentionRecord,
    tree: PromptTree | None = None,
    thresholds: Thresholds | None = None,
    source: str = "model",
) -> RecordScores:
    """All metrics of a record, per captured phase and overall (see :func:`score_maps` and docs/diagnosis.md).

    ``source``: ``"model"`` (default) scores the model's own maps, what it computed before any modulation edited
    them; ``"applied"`` the maps after modulation (on a modulated run these are shaped by the modulation itself,
    e.g. masking forces entity maps apart, so they are shown for reference, never as the run's scores). The result
    says which in ``maps``; a format-1 record of a modulated run only has applied maps, which ``maps`` then says.

    ``tree`` defaults to the tree saved in the record. Cross maps of several resolutions are combined at the
    coarsest (or only ``thresholds.resolution`` is used); self-attention, where captured, is scored at its own
    resolution. Entities and attributes without token positions in the record are skipped with a reason.
    """
    thresholds = thresholds or Thresholds()
    tree = tree if tree is not None else record.tree
    if tree is None:
        raise AttnmodError("the attention record carries no prompt tree: pass one (parse.json) to score it")
    if not record.resolutions("cross"):
        raise AttnmodError("the attention record holds no cross-attention maps")
    if source not in MAP_SOURCES:
        raise AttnmodError(f"unknown attention maps {source!r} (known: {', '.join(MAP_SOURCES)})")
    token_count = next(iter(record.sums[k] for k in record.sums if k.startswith("cross/"))).shape[0]
    plan = plan_scoring(tree, token_count)
    labels = _labels(tree, plan.entities)
    words = word_attention.word_positions(record.token_ids) if record.token_ids else None

    def score(cross, self_map):
        return score_maps(
            attention_maps.combine_resolutions(cross),
            tree,
            thresholds,
            self_map,
            plan,
            words=words,
            raw_maps=attention_maps.combine_raw_resolutions(cross),
        )

    phases = {}
    for name in record.phase_names():
        cross, self_map = _record_maps(record, name, thresholds, source)
        if cross:
            phases[name] = score(cross, self_map)
    cross, self_map = _record_maps(record, None, thresholds, source)
    overall = score(cross, self_map)
    maps = "applied" if source == "applied" or record.sums_source == "applied" else "model"
    notes = [
        f"{'attribute' if row['attribute'] is not None else 'entity'} {row['text']!r} was skipped: {row['reason']}"
        for row in plan.skipped
    ]
    return RecordScores(
        format=SCORES_FORMAT,
        prompt=tree.prompt,
        maps=maps,
        thresholds=thresholds.to_json(),
        resolution=overall.resolution,
        resolutions=[thresholds.resolution] if thresholds.resolution else record.resolutions("cross"),
        scored_entities=[
            ScoredEntity(
                entity=index,
                label=labels[index],
                noun=tree.entities[index].noun,
                text=tree.entities[index].text,
                parent=tree.entities[index].parent,
                tokens=plan.positions[slot],
            )
            for slot, index in enumerate(plan.entities)
        ],
        attributes=[
            ScoredAttribute(
                entity=tree_index,
                attribute=attribute_index,
                text=tree.entities[tree_index].attributes[attribute_index].text,
                tokens=positions,
            )
            for _, tree_index, attribute_index, positions in plan.attributes
        ],
        skipped=[dict(row) for row in plan.skipped],
        notes=notes,
        phases=phases,
        overall=overall,
    )
