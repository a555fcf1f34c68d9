"""From captured attention to scores: which parts of a prompt tree can be scored, and every metric of a record.

* :func:`plan_scoring` resolves a :class:`~attnmod.toolkit.prompt_tree.PromptTree` against the captured token
  positions (entities and attributes past the 77-token limit are skipped with a reason).
* :func:`score_maps` maps one set of maps onto the pure functions of :mod:`attnmod.analysis.metrics`.
* :func:`score_record` scores an :class:`~attnmod.toolkit.attention_record.AttentionRecord` per captured phase and
  over the whole run ("overall": the sums of all phases over their total count).
* :func:`summary_metrics` flattens the scores into the numbers of a results row.

Scores are plain JSON (undefined values are ``null``, never NaN); entities and attributes are referred to by their
index in the prompt tree (``entity``) and in that entity's attribute list (``attribute``). The layout is documented
in docs/diagnosis.md.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch

from ..toolkit.attention_record import AttentionRecord, resolution_key
from ..toolkit.errors import AttnmodError
from ..toolkit.prompt_tree import PromptTree
from ..toolkit.run_files import json_number
from . import metrics
from .thresholds import Thresholds

SCORES_FORMAT = "attnmod.scores/1"
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
) -> dict:
    """All metrics of one set of maps: ``token_maps [T, H, W]`` (cross-attention per token position, any scale:
    each is normalised here) and optionally ``self_map [N, N]`` (self-attention rows at some resolution N = h w).

    Returns ``{"resolution", "background_share", "entities": [{"entity", "empty", "own_region", "full_region"}],
    "overlaps": [{"entities": [e, f], "value"}], "nested": [{"parent", "child", "overlap", "containment"}],
    "leakage", "leakage_pair", "self_resolution", "self_leakage": [{"from", "to", "value"}] | null,
    "self_leakage_max", "bindings": [...], "binding_mean", "misbound"}`` with tree indices; see docs/diagnosis.md.
    """
    thresholds = thresholds or Thresholds()
    plan = plan or plan_scoring(tree, token_maps.shape[0])
    token_maps = token_maps.float()
    height, width = token_maps.shape[-2:]
    count = len(plan.entities)
    if count:
        entity_maps = torch.stack([metrics.group_map(token_maps, positions) for positions in plan.positions])
    else:
        entity_maps = torch.zeros(0, height, width)
    labels = metrics.assign_regions(entity_maps, thresholds.background, plan.parents)
    own = metrics.own_region_masks(labels, count)
    full = metrics.full_region_masks(labels, plan.parents)
    pixels = float(height * width)
    nested = metrics.nested_pairs(plan.parents)
    matrix = metrics.pairwise_overlap(entity_maps) if count else torch.zeros(0, 0)
    entity_rows = [
        {
            "entity": plan.entities[slot],
            "empty": bool(float(entity_maps[slot].sum()) <= metrics.ZERO_MASS),
            "own_region": json_number(own[slot].sum() / pixels),
            "full_region": json_number(full[slot].sum() / pixels),
        }
        for slot in range(count)
    ]
    overlaps, nested_rows = [], []
    for e in range(count):
        for f in range(e + 1, count):
            if (e, f) in nested:
                parent, child = (e, f) if e in _ancestors(f, plan.parents) else (f, e)
                nested_rows.append(
                    {
                        "parent": plan.entities[parent],
                        "child": plan.entities[child],
                        "overlap": json_number(matrix[e, f]),
                        "containment": json_number(metrics.containment(entity_maps[child], full[parent])),
                    }
                )
            else:
                overlaps.append({"entities": [plan.entities[e], plan.entities[f]], "value": json_number(matrix[e, f])})
    worst = max(overlaps, key=lambda row: row["value"], default=None)

    self_rows, self_max, self_resolution = None, None, None
    if self_map is not None and count:
        side = _grid(self_map.shape[-1], (height, width))
        self_resolution = resolution_key(*side)
        self_entity_maps = metrics.resize_maps(entity_maps, side)
        self_labels = metrics.assign_regions(self_entity_maps, thresholds.background, plan.parents)
        self_full = metrics.full_region_masks(self_labels, plan.parents)
        shares = metrics.self_attention_leakage(self_map.float(), self_full)
        self_rows = [
            {"from": plan.entities[e], "to": plan.entities[f], "value": json_number(shares[e, f])}
            for e in range(count)
            for f in range(count)
            if e != f and (min(e, f), max(e, f)) not in nested
        ]
        defined = [row["value"] for row in self_rows if row["value"] is not None]
        self_max = max(defined) if defined else (0.0 if not self_rows else None)

    bindings = []
    for slot, tree_index, attribute_index, positions in plan.attributes:
        attribute_map = metrics.group_map(token_maps, positions)
        shares = metrics.binding_shares(attribute_map, own)
        defined = not bool(torch.isnan(shares).any())
        related = set(_ancestors(slot, plan.parents)) | _descendants(slot, plan.parents)
        margin, own_divergence, nearest_divergence, nearest = metrics.binding_margin(
            attribute_map, entity_maps, slot, exclude=sorted(related)
        )
        dominant = int(shares.argmax()) if defined else None
        bindings.append(
            {
                "entity": tree_index,
                "attribute": attribute_index,
                "text": tree.entities[tree_index].attributes[attribute_index].text,
                "value": json_number(shares[slot]) if defined else None,
                "shares": [
                    {"entity": plan.entities[f], "value": json_number(shares[f]) if defined else None}
                    for f in range(count)
                ],
                "misbound": metrics.is_misbound(shares, slot),
                "dominant": plan.entities[dominant] if dominant is not None else None,
                "margin": json_number(margin),
                "divergence_own": json_number(own_divergence),
                "divergence_nearest": json_number(nearest_divergence),
                "nearest": plan.entities[nearest] if nearest is not None else None,
            }
        )
    values = [row["value"] for row in bindings if row["value"] is not None]
    return {
        "resolution": resolution_key(height, width),
        "background_share": json_number((labels == metrics.BACKGROUND).sum() / pixels),
        "entities": entity_rows,
        "overlaps": overlaps,
        "nested": nested_rows,
        "leakage": worst["value"] if worst and worst["value"] is not None else 0.0,
        "leakage_pair": worst["entities"] if worst else None,
        "self_resolution": self_resolution,
        "self_leakage": self_rows,
        "self_leakage_max": self_max,
        "bindings": bindings,
        "binding_mean": json_number(sum(values) / len(values)) if values else None,
        "misbound": sum(1 for row in bindings if row["misbound"]),
    }


def _ancestors(slot: int, parents: Sequence[int | None]) -> list[int]:
    chain, parent = [], parents[slot]
    while parent is not None and parent not in chain:
        chain.append(parent)
        parent = parents[parent]
    return chain


def _descendants(slot: int, parents: Sequence[int | None]) -> set[int]:
    return {other for other in range(len(parents)) if slot in _ancestors(other, parents)}


def _grid(pixels: int, like: tuple[int, int]) -> tuple[int, int]:
    """The (h, w) of a flattened self-attention map with ``pixels`` positions, with the aspect ratio of ``like``."""
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


def _record_maps(record: AttentionRecord, phase: str | None, thresholds: Thresholds):
    """Cross maps combined over the chosen resolutions and the self map for ``phase`` (None: all phases)."""
    resolutions = record.resolutions("cross")
    if thresholds.resolution is not None:
        if thresholds.resolution not in resolutions:
            raise AttnmodError(
                f"resolution {thresholds.resolution} was not captured (captured: {', '.join(resolutions) or 'none'})"
            )
        resolutions = [thresholds.resolution]
    cross = [m for m in (record.phase_mean("cross", r, phase) for r in resolutions) if m is not None]
    self_resolutions = record.resolutions("self")
    self_map = record.phase_mean("self", self_resolutions[0], phase) if self_resolutions else None
    return cross, self_map


def score_record(record: AttentionRecord, tree: PromptTree | None = None, thresholds: Thresholds | None = None) -> dict:
    """All metrics of a record, per captured phase and overall (see :func:`score_maps` and docs/diagnosis.md).

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
    token_count = next(iter(record.sums[k] for k in record.sums if k.startswith("cross/"))).shape[0]
    plan = plan_scoring(tree, token_count)
    labels = _labels(tree, plan.entities)
    phases = {}
    for name in record.phase_names():
        cross, self_map = _record_maps(record, name, thresholds)
        if cross:
            phases[name] = score_maps(metrics.combine_resolutions(cross), tree, thresholds, self_map, plan)
    cross, self_map = _record_maps(record, None, thresholds)
    overall = score_maps(metrics.combine_resolutions(cross), tree, thresholds, self_map, plan)
    notes = [
        f"{'attribute' if row['attribute'] is not None else 'entity'} {row['text']!r} was skipped: {row['reason']}"
        for row in plan.skipped
    ]
    return {
        "format": SCORES_FORMAT,
        "prompt": tree.prompt,
        "thresholds": thresholds.to_json(),
        "resolution": overall["resolution"],
        "resolutions": [thresholds.resolution] if thresholds.resolution else record.resolutions("cross"),
        "entities": [
            {
                "entity": index,
                "label": labels[index],
                "noun": tree.entities[index].noun,
                "text": tree.entities[index].text,
                "parent": tree.entities[index].parent,
                "tokens": list(plan.positions[slot]),
            }
            for slot, index in enumerate(plan.entities)
        ],
        "attributes": [
            {
                "entity": tree_index,
                "attribute": attribute_index,
                "text": tree.entities[tree_index].attributes[attribute_index].text,
                "tokens": list(positions),
            }
            for _, tree_index, attribute_index, positions in plan.attributes
        ],
        "skipped": [dict(row) for row in plan.skipped],
        "notes": notes,
        "phases": phases,
        OVERALL: overall,
    }


def summary_metrics(scores: dict) -> dict[str, float]:
    """Flat numbers for a results row (NaN where undefined).

    ``leakage`` (overall max entity overlap), ``binding`` (mean B_a over attributes), ``misbound`` (count),
    ``entities``, ``attributes`` (scored counts), ``self_leakage`` (overall max), ``margin`` (mean SynGen margin,
    nats), and per phase ``leakage_PHASE``, ``binding_PHASE``, ``misbound_PHASE``.
    """
    nan = float("nan")

    def value(x) -> float:
        return nan if x is None else float(x)

    overall = scores[OVERALL]
    margins = [row["margin"] for row in overall["bindings"] if row["margin"] is not None]
    summary = {
        "leakage": value(overall["leakage"]),
        "binding": value(overall["binding_mean"]),
        "misbound": float(overall["misbound"]),
        "entities": float(len(scores["entities"])),
        "attributes": float(len(scores["attributes"])),
        "self_leakage": value(overall["self_leakage_max"]),
        "margin": sum(margins) / len(margins) if margins else nan,
    }
    for name, phase in scores["phases"].items():
        summary[f"leakage_{name}"] = value(phase["leakage"])
        summary[f"binding_{name}"] = value(phase["binding_mean"])
        summary[f"misbound_{name}"] = float(phase["misbound"])
    return summary
