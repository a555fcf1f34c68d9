"""The typed scores of one attention record (format ``attnmod.scores/2``), the one model of them from the analysis to
the reports and the API.

:func:`~attnmod.analysis.scoring.score_record` returns a :class:`RecordScores`; ``diagnosis.json`` stores one per
variant (:mod:`attnmod.analysis.schema` builds the file's JSON Schema from these models); the API's
``attnmod.Scores`` extends it with verdicts, plots and a notebook view. :meth:`ScoreModel.to_json` writes the JSON
of docs/diagnosis.md (the keys in the order listed here, undefined numbers ``null``), :meth:`ScoreModel.from_json`
reads it back; a model read from a file keeps the fields a newer writer added.

Fields carry the names of their JSON keys, except two whose Python name would clash with a name the API documents
(docs/api.md): a phase's per-pair self-attention rows (JSON ``self_leakage``) are :attr:`PhaseScores.self_leakage_pairs`
(``attnmod.Scores``' phases keep ``self_leakage`` for the largest of them, the JSON's ``self_leakage_max``), and the
scored entities (JSON ``entities``) are :attr:`RecordScores.scored_entities` (``attnmod.Scores.entities`` is the
label of each entity). Entities are referred to by their index in the prompt tree, attributes by their index in
their entity's attribute list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCORES_FORMAT = "attnmod.scores/2"

Number = float | None  # a score: null where undefined


class ScoreModel(BaseModel):
    """A part of the scores: immutable, keeps fields it does not list (a newer writer's additions)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    def to_json(self) -> dict:
        """The JSON object of docs/diagnosis.md: the keys in field order, then any additions; ``None`` as null."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_json(cls, data: Mapping):
        """Read the JSON object (``data`` as :meth:`to_json` writes it, or an older file's)."""
        return cls.model_validate(data)

    @classmethod
    def of(cls, value):
        """``value`` itself when it is one of these models, else its JSON (as a file holds it) read in."""
        return value if isinstance(value, cls) else cls.from_json(value)


# ---- one phase ----


class EntityRegion(ScoreModel):
    """One entity's attention in one phase: ``empty`` (all-zero map), ``flat`` (contrast below ``min_contrast``:
    it localises nothing), ``contrast``, ``presence`` (the largest share of a patch's word attention it gets) and
    ``presence_mass``, ``neglected`` (presence below the threshold), ``own_region`` and ``full_region`` (shares of
    pixels it wins alone, and with its nested entities)."""

    entity: int
    empty: bool
    flat: bool = False
    contrast: Number = None
    presence: Number = None
    presence_mass: Number = None
    neglected: bool = False
    own_region: Number
    full_region: Number


class Overlap(ScoreModel):
    """Floor-removed overlap ``O'`` of two entities' maps (docs/diagnosis.md): 0 apart, 1 the same place; None where
    undefined (a flat map)."""

    entities: tuple[int, ...]
    value: Number


class NestedPair(ScoreModel):
    """An entity nested in another: their overlap ``O'`` and the share of the child's attention inside the parent's
    region (``containment``)."""

    parent: int
    child: int
    overlap: Number
    containment: Number


class SelfLeak(ScoreModel):
    """Self-attention lift ``L'`` from one entity's region (``source``, JSON ``from``) onto another's (``to``)."""

    source: int = Field(alias="from")
    to: int
    value: Number


class Share(ScoreModel):
    """A number about one entity (an attribute's lift or share on it)."""

    entity: int
    value: Number


class Binding(ScoreModel):
    """Attribute binding ``B_a`` (docs/diagnosis.md): ``value`` is the attribute's lift on its own entity's region
    (1 = chance), ``lifts``/``shares`` per entity. ``misbound``: another entity holds it more densely (``dominant``:
    the entity of highest lift). ``margin``: SynGen-style symmetric KL margin in nats (``divergence_nearest`` minus
    ``divergence_own``; negative = closer to another noun, ``nearest``)."""

    entity: int
    attribute: int
    text: str
    value: Number
    lifts: tuple[Share, ...]
    shares: tuple[Share, ...]
    misbound: bool
    dominant: int | None
    margin: Number
    divergence_own: Number = None
    divergence_nearest: Number = None
    nearest: int | None

    def lift_on(self, entity: int | None, default: float | None = None) -> float | None:
        """The attribute's lift on ``entity`` (``default`` when not listed or undefined)."""
        found = next((share.value for share in self.lifts if share.entity == entity), None)
        return default if found is None else found


class PhaseScores(ScoreModel):
    """Every score of one set of maps (a phase of denoising, or the whole run).

    ``leakage``: the largest ``O'`` of two entities not nested in each other (``leakage_pair``); ``binding_mean``:
    the mean own lift over attributes; ``misbound`` and ``neglected``: counts; ``self_leakage_pairs`` (JSON
    ``self_leakage``): the self-attention lifts between entities' regions at ``self_resolution`` (None when
    self-attention was not captured), ``self_leakage_max`` the largest.
    """

    resolution: str
    background_share: float
    entities: tuple[EntityRegion, ...]
    overlaps: tuple[Overlap, ...]
    nested: tuple[NestedPair, ...]
    leakage: Number
    leakage_pair: tuple[int, ...] | None
    self_resolution: str | None = None
    self_leakage_pairs: tuple[SelfLeak, ...] | None = Field(alias="self_leakage")
    self_leakage_max: Number
    bindings: tuple[Binding, ...]
    binding_mean: Number
    misbound: int
    neglected: int = 0


# ---- one record ----


class ScoredEntity(ScoreModel):
    """An entity that was scored: its readable ``label`` ("cat #2" when two share a noun), noun, text, parent
    entity and token positions."""

    entity: int
    label: str
    noun: str | None = None
    text: str
    parent: int | None = None
    tokens: tuple[int, ...]


class ScoredAttribute(ScoreModel):
    entity: int
    attribute: int
    text: str
    tokens: tuple[int, ...]


class RecordScores(ScoreModel):
    """The scores of one attention record: ``overall`` (all phases together) and per captured phase, which maps
    were scored (``maps``: the model's own or those applied after modulation), the entities and attributes scored
    (``scored_entities``, JSON ``entities``; ``attributes``), those ``skipped`` with a reason and ``notes``."""

    format: Literal["attnmod.scores/2"]
    prompt: str | None = None
    maps: Literal["model", "applied"]
    thresholds: dict[str, Any] | None = None
    resolution: str | None = None
    resolutions: list[str] | None = None
    scored_entities: tuple[ScoredEntity, ...] = Field(alias="entities")
    attributes: tuple[ScoredAttribute, ...]
    skipped: list[dict[str, Any]]
    notes: list[str] | None = None
    phases: dict[str, PhaseScores]
    overall: PhaseScores

    @property
    def labels(self) -> dict[int, str]:
        """Each scored entity's readable label by its tree index."""
        return {row.entity: row.label for row in self.scored_entities}

    def all_phases(self) -> Iterator[tuple[str, PhaseScores]]:
        """``(name, phase scores)`` of each captured phase, then ``("overall", ...)``."""
        yield from self.phases.items()
        yield "overall", self.overall

    def summary(self) -> dict[str, float]:
        """The flat numbers of a results row: :func:`summary_metrics`."""
        return summary_metrics(self)


def summary_metrics(scores: RecordScores | Mapping) -> dict[str, float]:
    """Flat numbers for a results row (NaN where undefined) of the scores (or their JSON).

    ``leakage`` (overall max floor-removed entity overlap, NaN when no pair can be scored), ``binding`` (mean own
    binding lift over attributes), ``misbound`` (count), ``neglected`` (count of entities below the presence
    threshold), ``presence`` (the smallest presence of an entity), ``entities``, ``attributes`` (scored counts),
    ``self_leakage`` (overall max lift), ``margin`` (mean KL margin, nats), and per phase ``leakage_PHASE``,
    ``binding_PHASE``, ``misbound_PHASE``.
    """
    scores = RecordScores.of(scores)
    nan = float("nan")

    def value(x) -> float:
        return nan if x is None else float(x)

    overall = scores.overall
    margins = [row.margin for row in overall.bindings if row.margin is not None]
    presences = [row.presence for row in overall.entities if row.presence is not None]
    summary = {
        "leakage": value(overall.leakage),
        "binding": value(overall.binding_mean),
        "misbound": float(overall.misbound),
        "neglected": float(overall.neglected),
        "presence": min(presences) if presences else nan,
        "entities": float(len(scores.scored_entities)),
        "attributes": float(len(scores.attributes)),
        "self_leakage": value(overall.self_leakage_max),
        "margin": sum(margins) / len(margins) if margins else nan,
    }
    for name, phase in scores.phases.items():
        summary[f"leakage_{name}"] = value(phase.leakage)
        summary[f"binding_{name}"] = value(phase.binding_mean)
        summary[f"misbound_{name}"] = float(phase.misbound)
    return summary


assert SCORES_FORMAT == "attnmod.scores/2"  # the Literal type above
