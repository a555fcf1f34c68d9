"""From captured attention to scores, verdicts and a diagnosis of one prompt (baseline against modulated).

* :func:`score_record` maps an :class:`~attnmod.toolkit.attention_record.AttentionRecord` and its
  :class:`~attnmod.toolkit.prompt_tree.PromptTree` onto the pure functions of :mod:`attnmod.analysis.metrics`,
  per captured phase and over the whole run ("overall": the sums of all phases over their total count).
* :func:`summary_metrics` flattens the scores into the numbers of a results row.
* :func:`verdicts` turns scores into findings that name entities, attributes and evidence.
* :func:`run_diagnosis` generates the baseline (``none``) and a modulated variant with the same seed, scores both
  and writes ``diagnosis.json`` (schema: :data:`DIAGNOSIS_SCHEMA`, documented in ``docs/diagnosis.md``).

Scores are plain JSON (undefined values are ``null``, never NaN); entities and attributes are referred to by
their index in the prompt tree (``entity``) and in that entity's attribute list (``attribute``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from ..toolkit.attention_record import METADATA_FILE, AttentionRecord, parse_resolution, resolution_key
from ..toolkit.errors import AttnmodError
from ..toolkit.prompt_tree import PromptTree
from ..toolkit.run_files import resolve_generation_settings, software_versions
from . import metrics

SCORES_FORMAT = "attnmod.scores/1"
DIAGNOSIS_FORMAT = "attnmod.diagnosis/1"
DIAGNOSIS_FILE = "diagnosis.json"
OVERALL = "overall"


# ---- thresholds ----


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Settings of the scoring and the verdicts.

    ``background``: a pixel is background when every entity map is below ``background x`` its own peak (0-1).
    ``overlap``: entities "overlap" when ``O_ef >= overlap``. ``binding``: an attribute is weakly bound when
    ``B_a < binding``. ``self_leakage``: self-attention leaks when ``L_ef >= self_leakage``. ``margin``: an
    attribute is distributionally closer to another noun when its SynGen margin (nats) is below ``margin``.
    ``resolution``: score on this cross-attention resolution only ("HxW"); None combines every captured
    resolution at the coarsest one.
    """

    background: float = 0.2
    overlap: float = 0.4
    binding: float = 0.6
    self_leakage: float = 0.3
    margin: float = 0.0
    resolution: str | None = None

    def __post_init__(self) -> None:
        for name in ("background", "overlap", "binding", "self_leakage"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise AttnmodError(f"threshold {name} must be a number in [0, 1], got {value!r}")
        if not isinstance(self.margin, (int, float)) or not math.isfinite(float(self.margin)):
            raise AttnmodError(f"threshold margin must be a finite number (nats), got {self.margin!r}")
        if self.resolution is not None:
            try:
                parse_resolution(str(self.resolution))
            except ValueError as error:
                raise AttnmodError(f"resolution must look like 32x32, got {self.resolution!r}") from error

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data) -> Thresholds:
        if not isinstance(data, dict):
            raise AttnmodError("thresholds must be a mapping of names to numbers")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise AttnmodError(f"unknown threshold(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> Thresholds:
        """Read thresholds from a ``.json``, ``.yaml`` or ``.yml`` file (a ``thresholds`` entry, if present, wins)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise AttnmodError(f"cannot read thresholds {str(path)!r}: {error}") from error
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except Exception as error:  # noqa: BLE001 - json and yaml raise different types
            raise AttnmodError(f"thresholds file {str(path)!r} is not valid JSON/YAML: {error}") from error
        if isinstance(data, dict) and isinstance(data.get("thresholds"), dict):
            data = data["thresholds"]
        return cls.from_json(data)

    @classmethod
    def resolve(cls, path: str | Path | None = None, **overrides) -> Thresholds:
        """Thresholds from a file (default: the built-in values), then the given (not None) overrides."""
        base = cls.load(path) if path else cls()
        return base.replace(**overrides)

    def replace(self, **changes) -> Thresholds:
        """A copy with the given (not None) settings changed."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


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


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else round(value, 6)


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
            "own_region": _number(own[slot].sum() / pixels),
            "full_region": _number(full[slot].sum() / pixels),
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
                        "overlap": _number(matrix[e, f]),
                        "containment": _number(metrics.containment(entity_maps[child], full[parent])),
                    }
                )
            else:
                overlaps.append({"entities": [plan.entities[e], plan.entities[f]], "value": _number(matrix[e, f])})
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
            {"from": plan.entities[e], "to": plan.entities[f], "value": _number(shares[e, f])}
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
                "value": _number(shares[slot]) if defined else None,
                "shares": [
                    {"entity": plan.entities[f], "value": _number(shares[f]) if defined else None} for f in range(count)
                ],
                "misbound": metrics.is_misbound(shares, slot),
                "dominant": plan.entities[dominant] if dominant is not None else None,
                "margin": _number(margin),
                "divergence_own": _number(own_divergence),
                "divergence_nearest": _number(nearest_divergence),
                "nearest": plan.entities[nearest] if nearest is not None else None,
            }
        )
    values = [row["value"] for row in bindings if row["value"] is not None]
    return {
        "resolution": resolution_key(height, width),
        "background_share": _number((labels == metrics.BACKGROUND).sum() / pixels),
        "entities": entity_rows,
        "overlaps": overlaps,
        "nested": nested_rows,
        "leakage": worst["value"] if worst and worst["value"] is not None else 0.0,
        "leakage_pair": worst["entities"] if worst else None,
        "self_resolution": self_resolution,
        "self_leakage": self_rows,
        "self_leakage_max": self_max,
        "bindings": bindings,
        "binding_mean": _number(sum(values) / len(values)) if values else None,
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
    cross = [m for m in (_mean(record, "cross", r, phase) for r in resolutions) if m is not None]
    self_resolutions = record.resolutions("self")
    self_map = _mean(record, "self", self_resolutions[0], phase) if self_resolutions else None
    return cross, self_map


def _mean(record: AttentionRecord, kind: str, resolution: str, phase: str | None):
    if phase is not None:
        return record.mean(kind, resolution, phase)
    total, count = None, 0
    for name in record.phase_names():
        key = record.key(kind, resolution, name)
        if key in record.sums and record.counts.get(key):
            total = record.sums[key].clone() if total is None else total + record.sums[key]
            count += record.counts[key]
    return None if total is None else total / count


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


# ---- verdicts ----


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _phase_list(names: Sequence[str]) -> str:
    if len(names) == 1:
        return f"the {names[0]} phase"
    return f"the {', '.join(names[:-1])} and {names[-1]} phases"


def verdicts(scores: dict, thresholds: Thresholds | None = None) -> list[str]:
    """Findings that name the entities and attributes involved and the evidence, most serious first.

    Misbound attributes, overlapping entity pairs (with the phases where ``O >= overlap``), leaking self-attention,
    weakly bound attributes, negative SynGen margins, entities that win no pixels, and skipped parts; when nothing
    crosses a threshold, one line saying so with the headline numbers.
    """
    thresholds = thresholds or Thresholds.from_json(scores.get("thresholds", {}))
    names = {row["entity"]: row["label"] for row in scores["entities"]}
    overall = scores[OVERALL]
    phases = scores["phases"]
    found: list[str] = []

    def attribute_label(row) -> str:
        return f"attribute {row['text']!r} ({names[row['entity']]})"

    def phase_bindings(row):
        for name, phase in phases.items():
            for other in phase["bindings"]:
                if other["entity"] == row["entity"] and other["attribute"] == row["attribute"]:
                    yield name, other

    for row in overall["bindings"]:
        if row["misbound"]:
            dominant = next(s for s in row["shares"] if s["entity"] == row["dominant"])
            found.append(
                f"{attribute_label(row)} is misbound: {_percent(dominant['value'])} of its attention lies on "
                f"{names[row['dominant']]!r} (B = {row['value']:.2f})"
            )
            continue
        misbound_in = [(name, other) for name, other in phase_bindings(row) if other["misbound"]]
        if misbound_in:

            def dominant_share(item):
                other = item[1]
                return next(s["value"] for s in other["shares"] if s["entity"] == other["dominant"])

            name, other = max(misbound_in, key=dominant_share)
            dominant = next(s for s in other["shares"] if s["entity"] == other["dominant"])
            found.append(
                f"{attribute_label(row)} is misbound in {_phase_list([n for n, _ in misbound_in])}: up to "
                f"{_percent(dominant['value'])} of its attention lies on {names[other['dominant']]!r}"
            )
    for row in overall["overlaps"]:
        first, second = row["entities"]
        above = []
        for name, phase in phases.items():
            for other in phase["overlaps"]:
                same = other["entities"] == row["entities"]
                if same and other["value"] is not None and other["value"] >= thresholds.overlap:
                    above.append((name, other["value"]))
        pair = f"entities {names[first]!r} and {names[second]!r} overlap"
        if len(above) == 1:
            found.append(f"{pair} (O = {above[0][1]:.2f}) in the {above[0][0]} phase")
        elif above:
            parts = [f"{name} (O = {value:.2f})" for name, value in above]
            found.append(f"{pair} in the {', '.join(parts[:-1])} and {parts[-1]} phases")
        elif row["value"] is not None and row["value"] >= thresholds.overlap:
            found.append(f"{pair} (O = {row['value']:.2f}) over the whole run")
    self_source = phases if any(p["self_leakage"] for p in phases.values()) else {}
    for row in overall["self_leakage"] or []:
        above = []
        for name, phase in self_source.items():
            for other in phase["self_leakage"] or []:
                same = other["from"] == row["from"] and other["to"] == row["to"]
                if same and other["value"] is not None and other["value"] >= thresholds.self_leakage:
                    above.append((name, other["value"]))
        lead = f"self-attention of {names[row['from']]!r} leaks into {names[row['to']]!r}"
        if above:
            name, value = max(above, key=lambda item: item[1])
            where = _phase_list([n for n, _ in above])
            found.append(
                f"{lead}: up to {_percent(value)} of it falls in the region of {names[row['to']]!r}, in {where}"
            )
        elif row["value"] is not None and row["value"] >= thresholds.self_leakage:
            found.append(f"{lead}: {_percent(row['value'])} of it falls in the region of {names[row['to']]!r}")
    for row in overall["bindings"]:
        if row["value"] is None:
            found.append(f"{attribute_label(row)} puts no attention on any entity region")
        elif not row["misbound"] and row["value"] < thresholds.binding:
            found.append(
                f"{attribute_label(row)} is weakly bound: only {_percent(row['value'])} of its attention on entity "
                f"regions lies on {names[row['entity']]!r} (B = {row['value']:.2f} < {thresholds.binding:.2f})"
            )
        if row["margin"] is not None and row["margin"] < thresholds.margin:
            found.append(
                f"{attribute_label(row)} is distributionally closer to {names[row['nearest']]!r} than to "
                f"{names[row['entity']]!r} (symmetric KL {row['divergence_nearest']:.2f} vs "
                f"{row['divergence_own']:.2f} nats)"
            )
    for row in overall["entities"]:
        if row["empty"]:
            found.append(f"entity {names[row['entity']]!r} receives no cross-attention (all-zero map)")
        elif row["full_region"] == 0:
            found.append(
                f"entity {names[row['entity']]!r} wins no pixels at {overall['resolution']}: it may be missing "
                "from the image"
            )
    found.extend(scores.get("notes", []))
    if not scores["entities"]:
        found.append("no entities to score: the prompt tree has no entity with token positions in the record")
    if not found:
        binding = overall["binding_mean"]
        found.append(
            f"no leakage or binding problem at these thresholds (leakage O = {overall['leakage']:.2f} < "
            f"{thresholds.overlap:.2f}"
            + (f", mean binding B = {binding:.2f}" if binding is not None else ", no attributes")
            + ")"
        )
    return found


# ---- comparing two variants ----

#: Summary numbers compared between baseline and modulated, and which direction is better.
COMPARED = (("leakage", "lower"), ("binding", "higher"), ("misbound", "lower"), ("self_leakage", "lower"))


def compare_scores(baseline: dict, modulated: dict, variant: str) -> dict:
    """Baseline against modulated: ``{"metrics": [{"name", "baseline", "modulated", "change", "better",
    "improved"}], "verdicts": [str]}`` (``change = modulated - baseline``; ``improved`` null when undefined)."""
    before, after = summary_metrics(baseline), summary_metrics(modulated)
    rows, lines = [], []
    for name, better in COMPARED:
        first, second = before.get(name, math.nan), after.get(name, math.nan)
        defined = not (math.isnan(first) or math.isnan(second))
        change = second - first if defined else math.nan
        improved = None
        if defined and abs(change) > 1e-9:
            improved = change < 0 if better == "lower" else change > 0
        rows.append(
            {
                "name": name,
                "baseline": _number(first),
                "modulated": _number(second),
                "change": _number(change),
                "better": better,
                "improved": improved,
            }
        )
        if defined and name != "misbound":
            direction = "falls" if change < 0 else "rises" if change > 0 else "stays"
            lines.append(
                f"{name.replace('_', ' ')} {direction} from {first:.3f} (none) to {second:.3f} ({variant})"
                if direction != "stays"
                else f"{name.replace('_', ' ')} stays at {first:.3f} with {variant}"
            )
    names = {row["entity"]: row["label"] for row in baseline["entities"]}
    after_rows = {(r["entity"], r["attribute"]): r for r in modulated[OVERALL]["bindings"]}
    for row in baseline[OVERALL]["bindings"]:
        other = after_rows.get((row["entity"], row["attribute"]))
        if other is None:
            continue
        label = f"attribute {row['text']!r} ({names[row['entity']]})"
        if row["misbound"] and not other["misbound"]:
            lines.append(f"{label} is no longer misbound with {variant}")
        elif other["misbound"] and not row["misbound"]:
            lines.append(f"{label} becomes misbound with {variant}")
    return {"metrics": rows, "verdicts": lines}


# ---- diagnosis.json: schema, validation, reading ----

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_STRINGS = {"type": "array", "items": {"type": "string"}}

#: JSON Schema (draft 2020-12 subset: type, required, properties, items, enum, additionalProperties) of
#: diagnosis.json; docs/diagnosis.md prints the same document.
DIAGNOSIS_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "attnmod diagnosis",
    "type": "object",
    "required": [
        "format",
        "prompt",
        "settings",
        "tree",
        "thresholds",
        "variants",
        "comparison",
        "verdicts",
        "attributions",
        "images",
        "versions",
        "seconds",
    ],
    "properties": {
        "format": {"type": "string", "enum": [DIAGNOSIS_FORMAT]},
        "prompt": {"type": "string"},
        "settings": {
            "type": "object",
            "required": ["model", "family", "seed", "steps", "guidance", "height", "width", "device", "dtype"],
            "properties": {
                "model": {"type": "string"},
                "family": {"type": "string"},
                "seed": {"type": "integer"},
                "steps": {"type": "integer"},
                "guidance": {"type": "number"},
                "height": {"type": "integer"},
                "width": {"type": "integer"},
                "device": {"type": "string"},
                "dtype": {"type": "string"},
            },
        },
        "tree": {"type": "object", "required": ["prompt", "entities"]},
        "thresholds": {
            "type": "object",
            "required": ["background", "overlap", "binding", "self_leakage", "margin", "resolution"],
        },
        "variants": {
            "type": "object",
            "required": ["baseline", "modulated"],
            "additionalProperties": {
                "type": "object",
                "required": [
                    "variant",
                    "config",
                    "image",
                    "record",
                    "seconds",
                    "warnings",
                    "scores",
                    "summary",
                    "verdicts",
                ],
                "properties": {
                    "variant": {"type": "string"},
                    "config": {"type": "object"},
                    "image": {"type": "string"},
                    "record": {"type": "string"},
                    "seconds": {"type": "number"},
                    "warnings": _STRINGS,
                    "summary": {"type": "object", "additionalProperties": _NUMBER_OR_NULL},
                    "verdicts": _STRINGS,
                    "scores": {
                        "type": "object",
                        "required": ["format", "entities", "attributes", "skipped", "phases", "overall"],
                        "properties": {
                            "format": {"type": "string", "enum": [SCORES_FORMAT]},
                            "entities": {
                                "type": "array",
                                "items": {"type": "object", "required": ["entity", "label", "text", "tokens"]},
                            },
                            "attributes": {
                                "type": "array",
                                "items": {"type": "object", "required": ["entity", "attribute", "text", "tokens"]},
                            },
                            "phases": {"type": "object", "additionalProperties": {"$ref": "#/$defs/phase"}},
                            "overall": {"$ref": "#/$defs/phase"},
                        },
                    },
                },
            },
        },
        "comparison": {
            "type": "object",
            "required": ["metrics", "verdicts"],
            "properties": {
                "metrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "baseline", "modulated", "change", "better", "improved"],
                        "properties": {
                            "name": {"type": "string"},
                            "baseline": _NUMBER_OR_NULL,
                            "modulated": _NUMBER_OR_NULL,
                            "change": _NUMBER_OR_NULL,
                            "better": {"type": "string", "enum": ["lower", "higher"]},
                            "improved": {"type": ["boolean", "null"]},
                        },
                    },
                },
                "verdicts": _STRINGS,
            },
        },
        "verdicts": _STRINGS,
        "attributions": {"type": ["object", "null"]},
        "images": {
            "type": "object",
            "required": ["baseline", "modulated"],
            "additionalProperties": {"type": "string"},
        },
        "versions": {"type": "object", "additionalProperties": {"type": "string"}},
        "seconds": {"type": "number"},
    },
    "$defs": {
        "phase": {
            "type": "object",
            "required": [
                "resolution",
                "background_share",
                "entities",
                "overlaps",
                "nested",
                "leakage",
                "leakage_pair",
                "self_leakage",
                "self_leakage_max",
                "bindings",
                "binding_mean",
                "misbound",
            ],
            "properties": {
                "resolution": {"type": "string"},
                "background_share": {"type": "number"},
                "entities": {
                    "type": "array",
                    "items": {"type": "object", "required": ["entity", "empty", "own_region", "full_region"]},
                },
                "overlaps": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["entities", "value"],
                        "properties": {
                            "entities": {"type": "array", "items": {"type": "integer"}},
                            "value": _NUMBER_OR_NULL,
                        },
                    },
                },
                "nested": {
                    "type": "array",
                    "items": {"type": "object", "required": ["parent", "child", "overlap", "containment"]},
                },
                "leakage": {"type": "number"},
                "leakage_pair": {"type": ["array", "null"]},
                "self_leakage": {
                    "type": ["array", "null"],
                    "items": {"type": "object", "required": ["from", "to", "value"]},
                },
                "self_leakage_max": _NUMBER_OR_NULL,
                "bindings": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": [
                            "entity",
                            "attribute",
                            "text",
                            "value",
                            "shares",
                            "misbound",
                            "dominant",
                            "margin",
                            "nearest",
                        ],
                        "properties": {
                            "entity": {"type": "integer"},
                            "attribute": {"type": "integer"},
                            "text": {"type": "string"},
                            "value": _NUMBER_OR_NULL,
                            "misbound": {"type": "boolean"},
                            "margin": _NUMBER_OR_NULL,
                        },
                    },
                },
                "binding_mean": _NUMBER_OR_NULL,
                "misbound": {"type": "integer"},
            },
        }
    },
}

_JSON_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _type_matches(value, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, _JSON_TYPES[name])


def schema_errors(data, schema: dict = DIAGNOSIS_SCHEMA, root: dict | None = None, where: str = "$") -> list[str]:
    """Check ``data`` against a JSON Schema using only type, enum, required, properties, additionalProperties,
    items and local ``$ref``; returns one message per problem (empty: valid)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return schema_errors(data, target, root, where)
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_type_matches(data, name) for name in names):
            return [f"{where}: expected {' or '.join(names)}, got {type(data).__name__} {data!r:.60}"]
    errors = []
    if "enum" in schema and data not in schema["enum"]:
        errors.append(f"{where}: {data!r} is not one of {schema['enum']}")
    if isinstance(data, dict):
        for key in schema.get("required", []):
            if key not in data:
                errors.append(f"{where}: missing {key!r}")
        properties = schema.get("properties", {})
        for key, value in data.items():
            if key in properties:
                errors.extend(schema_errors(value, properties[key], root, f"{where}.{key}"))
            elif isinstance(schema.get("additionalProperties"), dict):
                errors.extend(schema_errors(value, schema["additionalProperties"], root, f"{where}.{key}"))
    if isinstance(data, list) and "items" in schema:
        for index, item in enumerate(data):
            errors.extend(schema_errors(item, schema["items"], root, f"{where}[{index}]"))
    return errors


def validate_diagnosis(data: dict) -> None:
    """Raise AttnmodError naming the first problems when ``data`` does not follow :data:`DIAGNOSIS_SCHEMA`."""
    errors = schema_errors(data)
    if errors:
        shown = "; ".join(errors[:3]) + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else "")
        raise AttnmodError(f"diagnosis does not follow the {DIAGNOSIS_FORMAT} schema: {shown}")


def load_diagnosis(path: str | Path) -> dict:
    """Read and validate ``diagnosis.json`` (or the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / DIAGNOSIS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AttnmodError(f"cannot read diagnosis {str(path)!r}: {error}") from error
    validate_diagnosis(data)
    return data


def write_diagnosis(data: dict, out_dir: str | Path) -> Path:
    """Validate and write ``out_dir/diagnosis.json`` (strict JSON: no NaN)."""
    validate_diagnosis(data)
    path = Path(out_dir) / DIAGNOSIS_FILE
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return path


# ---- the diagnosis run ----


def _with_capture(config, self_attention: bool):
    return dataclasses.replace(config, capture=dataclasses.replace(config.capture, self_attention=self_attention))


def run_diagnosis(
    model,
    prompt: str,
    variant: str = "full",
    seed: int = 0,
    steps: int | None = None,
    guidance: float = 5.0,
    height: int | None = None,
    width: int | None = None,
    out_dir: str | Path = "diagnosis",
    thresholds: Thresholds | None = None,
    config=None,
    tree: PromptTree | None = None,
    parser: str = "auto",
    self_attention: bool = True,
    attribute: bool = False,
    attribution_steps: int = 16,
    progress: bool = False,
) -> dict:
    """Generate ``prompt`` without modulation (``none``) and with ``variant`` (or ``config``), same seed and
    settings, attention captured (self-attention too when ``self_attention``), score and judge both, and write
    ``out_dir/diagnosis.json``, ``baseline.png``, ``modulated.png`` and each variant's folder (``baseline/``,
    ``modulated/``: image, parse, config, attention record). Returns the diagnosis dict.

    ``model`` is a :class:`~attnmod.toolkit.models.LoadedModel`; ``steps``/``height``/``width`` default to the
    model's defaults. With ``attribute``, captum attributions of the baseline's leakage (and of each misbound
    attribute's binding) are added (see :mod:`attnmod.analysis.attribution`).
    """
    from ..toolkit import generation
    from ..toolkit.modulation_config import ModulationConfig

    started = time.perf_counter()
    thresholds = thresholds or Thresholds()
    size = resolve_generation_settings(model, steps, height, width)
    steps, height, width = size["steps"], size["height"], size["width"]
    modulated_config = config if config is not None else ModulationConfig.from_variant(variant)
    modulated_config = _with_capture(modulated_config, self_attention)
    baseline_config = _with_capture(ModulationConfig.from_variant("none"), self_attention)
    baseline_config = dataclasses.replace(baseline_config, capture=modulated_config.capture)
    if tree is None:
        from ..toolkit.parsing import parse_prompt

        tree = parse_prompt(prompt, tokenizers=model.tokenizers, parser=parser)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AttnmodError(f"cannot create output folder {str(out)!r}: {error}") from error

    variants, images = {}, {}
    for role, role_config in (("baseline", baseline_config), ("modulated", modulated_config)):
        result = generation.generate(
            model,
            prompt,
            role_config,
            seeds=seed,
            steps=steps,
            guidance=guidance,
            height=height,
            width=width,
            capture=True,
            trees=[tree],
            progress=progress,
        )[0]
        generation.save_generation(result, out / role)
        shutil.copyfile(out / role / "image.png", out / f"{role}.png")
        scores = score_record(result.record, tree, thresholds)
        variants[role] = {
            "variant": role_config.variant,
            "config": role_config.to_json(),
            "image": f"{role}.png",
            "record": f"{role}/",
            "seconds": round(result.seconds, 4),
            "warnings": list(result.warnings),
            "scores": scores,
            "summary": {k: _number(v) for k, v in summary_metrics(scores).items()},
            "verdicts": verdicts(scores, thresholds),
        }
        images[role] = f"{role}.png"
        settings = result.settings

    name = modulated_config.variant
    comparison = compare_scores(variants["baseline"]["scores"], variants["modulated"]["scores"], name)
    attributions = None
    if attribute:
        from .attribution import diagnosis_attributions

        attributions = diagnosis_attributions(
            model, prompt, tree, variants["baseline"]["scores"], seed=seed, steps=steps, n_steps=attribution_steps
        )
    summary_lines = [f"with {name}: {line}" for line in variants["modulated"]["verdicts"]]
    data = {
        "format": DIAGNOSIS_FORMAT,
        "prompt": prompt,
        "settings": {
            "model": str(settings["model"]),
            "family": str(settings["family"]),
            "seed": int(seed),
            "steps": int(steps),
            "guidance": float(guidance),
            "height": int(height),
            "width": int(width),
            "device": str(settings["device"]),
            "dtype": str(settings["dtype"]),
        },
        "tree": tree.to_json(),
        "thresholds": thresholds.to_json(),
        "variants": variants,
        "comparison": comparison,
        "verdicts": [f"without modulation: {line}" for line in variants["baseline"]["verdicts"]]
        + summary_lines
        + comparison["verdicts"],
        "attributions": attributions,
        "images": images,
        "versions": software_versions(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_diagnosis(data, out)
    return data


# ---- re-analysis of saved records ----


def find_records(path: str | Path) -> list[Path]:
    """Folders holding an attention record: ``path`` itself (a folder or either file of a record), else every
    folder below it with an ``attention.json``, sorted."""
    path = Path(path)
    if not path.exists():
        raise AttnmodError(f"{str(path)!r} does not exist")
    if path.is_file():
        return [path.parent]
    if (path / METADATA_FILE).is_file():
        return [path]
    found = sorted(p.parent for p in path.rglob(METADATA_FILE))
    if not found:
        raise AttnmodError(f"no attention record (attention.json + attention.safetensors) under {str(path)!r}")
    return found


def _tree_for(folder: Path, record: AttentionRecord) -> PromptTree:
    if record.tree is not None:
        return record.tree
    parse_file = folder / "parse.json"
    if parse_file.is_file():
        try:
            return PromptTree.from_json(json.loads(parse_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise AttnmodError(f"{str(parse_file)!r} is not a valid prompt tree: {error}") from error
    raise AttnmodError(f"the record in {str(folder)!r} carries no prompt tree and there is no parse.json beside it")


def analyze_path(path: str | Path, thresholds: Thresholds | None = None) -> dict:
    """Recompute scores, summaries and verdicts of every attention record at ``path``, without the model.

    Returns ``{"thresholds", "items": [{"path", "prompt", "variant", "scores", "summary", "verdicts"}],
    "comparison"}``; ``comparison`` (see :func:`compare_scores`) is filled for a diagnosis folder with
    ``baseline/`` and ``modulated/`` records, else null.
    """
    thresholds = thresholds or Thresholds()
    items = []
    for folder in find_records(path):
        record = AttentionRecord.load(folder)
        tree = _tree_for(folder, record)
        scores = score_record(record, tree, thresholds)
        items.append(
            {
                "path": str(folder),
                "prompt": tree.prompt,
                "variant": record.metadata.get("variant"),
                "scores": scores,
                "summary": {k: _number(v) for k, v in summary_metrics(scores).items()},
                "verdicts": verdicts(scores, thresholds),
            }
        )
    comparison = None
    roles = {Path(item["path"]).name: item for item in items}
    if len(items) == 2 and set(roles) == {"baseline", "modulated"}:
        comparison = compare_scores(
            roles["baseline"]["scores"], roles["modulated"]["scores"], roles["modulated"]["variant"] or "modulated"
        )
    return {"thresholds": thresholds.to_json(), "items": items, "comparison": comparison}


def format_summary_table(rows: Sequence[tuple[str, dict]]) -> str:
    """A fixed-width table of summary numbers, one column per named summary (``-`` for undefined)."""
    keys = ["leakage", "binding", "misbound", "self_leakage", "margin", "entities", "attributes"]
    width = max([12, *(len(name) + 2 for name, _ in rows)])
    lines = ["metric".ljust(14) + "".join(name.rjust(width) for name, _ in rows)]
    for key in keys:
        cells = []
        for _, summary in rows:
            value = summary.get(key)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append("-".rjust(width))
            elif key in ("misbound", "entities", "attributes"):
                cells.append(f"{int(value)}".rjust(width))
            else:
                cells.append(f"{value:.3f}".rjust(width))
        lines.append(key.ljust(14) + "".join(cells))
    return "\n".join(lines)


def format_analysis(result: dict) -> str:
    """Text for ``attnmod analyze``: per record its prompt, summary numbers and verdicts; then the comparison."""
    blocks = []
    for item in result["items"]:
        head = f"{item['path']}: {item['prompt']!r}" + (f" [{item['variant']}]" if item["variant"] else "")
        table = format_summary_table([("value", item["summary"])])
        findings = "\n".join(f"  - {line}" for line in item["verdicts"])
        blocks.append(f"{head}\n{table}\n{findings}")
    if result.get("comparison"):
        blocks.append("\n".join(f"  * {line}" for line in result["comparison"]["verdicts"]))
    return "\n\n".join(blocks)


def format_diagnosis(data: dict) -> str:
    """Text for ``attnmod diagnose``: the baseline/modulated table, then every verdict."""
    variants = data["variants"]
    rows = [(f"{role} ({entry['variant']})", entry["summary"]) for role, entry in variants.items()]
    lines = [f"prompt: {data['prompt']!r}", "", format_summary_table(rows), ""]
    lines.extend(f"- {line}" for line in data["verdicts"])
    notes = (data.get("attributions") or {}).get("notes") or []
    for key, item in ((data.get("attributions") or {}).get("items") or {}).items():
        top = sorted(item["scores"], key=lambda row: -abs(row["score"]))[:3]
        listed = ", ".join(f"{row['label']} {row['score']:+.2e}" for row in top)
        delta = f" (delta {item['delta']:.1e})" if item.get("delta") is not None else ""
        lines.append(f"attribution {key}: {listed}{delta}")
    lines.extend(f"attribution note: {note}" for note in notes)
    return "\n".join(lines)
