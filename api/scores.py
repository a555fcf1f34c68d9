"""Typed scores of one attention record: the JSON the analysis computes (schema ``attnmod.scores/1``, defined in
docs/diagnosis.md), read into small frozen dataclasses with the verdicts attached.

Entities and attributes are referred to by their index in the prompt tree (``entity``) and in that entity's
attribute list (``attribute``), as in the JSON. Undefined values are ``None``.
"""

from __future__ import annotations

import dataclasses
import html
from typing import TYPE_CHECKING

from ..toolkit.errors import AttnmodError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..toolkit.modulation.record import AttentionRecord
    from ..toolkit.prompt.tree import PromptTree


@dataclasses.dataclass(frozen=True)
class Overlap:
    """Overlap of two entities' cross-attention maps as the analysis defines it (docs/diagnosis.md): 0 apart, 1 the
    same place; None where undefined."""

    entities: tuple[int, int]
    value: float | None


@dataclasses.dataclass(frozen=True)
class Binding:
    """Attribute binding ``B_a`` (docs/diagnosis.md): how much of the attribute's attention on entity regions lies on
    its own entity.

    ``misbound``: another entity holds more of it (``dominant`` names which). ``margin``: SynGen-style symmetric KL
    margin in nats (nearest other noun minus own noun; negative = closer to another noun).
    """

    entity: int
    attribute: int
    text: str
    value: float | None
    misbound: bool
    dominant: int | None
    margin: float | None


@dataclasses.dataclass(frozen=True)
class PhaseScores:
    """The scores of one phase of denoising (or ``overall``).

    ``leakage``: the largest overlap between non-nested entities; ``binding``: the mean ``B_a`` over attributes;
    ``misbound``: how many attributes are misbound; ``neglected``: how many entities get too little attention;
    ``self_leakage``: the largest share of an entity's self-attention falling in another entity's region (None when
    self-attention was not captured).
    """

    resolution: str
    leakage: float | None
    leakage_pair: tuple[int, int] | None
    binding: float | None
    misbound: int
    neglected: int
    self_leakage: float | None
    overlaps: tuple[Overlap, ...]
    bindings: tuple[Binding, ...]

    @classmethod
    def from_json(cls, data: dict) -> PhaseScores:
        pair = data.get("leakage_pair")
        return cls(
            resolution=data["resolution"],
            leakage=data.get("leakage"),
            leakage_pair=tuple(pair) if pair else None,
            binding=data.get("binding_mean"),
            misbound=int(data.get("misbound") or 0),
            neglected=int(data.get("neglected") or 0),
            self_leakage=data.get("self_leakage_max"),
            overlaps=tuple(Overlap(tuple(row["entities"]), row["value"]) for row in data.get("overlaps", ())),
            bindings=tuple(
                Binding(
                    entity=row["entity"],
                    attribute=row["attribute"],
                    text=row["text"],
                    value=row["value"],
                    misbound=bool(row["misbound"]),
                    dominant=row.get("dominant"),
                    margin=row.get("margin"),
                )
                for row in data.get("bindings", ())
            ),
        )


@dataclasses.dataclass(frozen=True)
class Scores:
    """Scores of one record: ``overall`` and per phase (``phases["early"]``, ...), entity labels and verdicts.

    ``data`` is the full JSON (every number, including per-entity regions and KL divergences); ``summary()`` the
    flat numbers of a results row.
    """

    prompt: str
    entities: dict[int, str]
    overall: PhaseScores
    phases: dict[str, PhaseScores]
    verdicts: tuple[str, ...]
    data: dict = dataclasses.field(repr=False, compare=False)

    @property
    def leakage(self) -> float | None:
        return self.overall.leakage

    @property
    def binding(self) -> float | None:
        return self.overall.binding

    @property
    def misbound(self) -> int:
        return self.overall.misbound

    def summary(self) -> dict[str, float]:
        """Flat numbers (NaN where undefined): leakage, binding, misbound, ... and per phase ``leakage_PHASE``."""
        from ..analysis.scoring import summary_metrics

        return summary_metrics(self.data)

    def to_json(self) -> dict:
        return self.data

    def plot(self) -> Figure:
        """Leakage and mean binding per phase, as a matplotlib figure: leakage (an overlap share) on a 0-1 axis,
        binding (a lift, 1 = chance) on its own axis from 0 to above its largest value, with the chance line."""
        from matplotlib.figure import Figure

        names = list(self.phases)
        figure = Figure(figsize=(6, 2.6), layout="constrained")
        left, right = figure.subplots(1, 2)
        leakage = [float("nan") if v is None else v for v in (self.phases[n].leakage for n in names)]
        binding = [float("nan") if v is None else v for v in (self.phases[n].binding for n in names)]
        left.bar(names, leakage, color="#4C72B0")
        left.set_ylim(0, 1)
        left.set_title("leakage (overlap O', lower is better)", fontsize=10)
        right.bar(names, binding, color="#4C72B0")
        finite = [v for v in binding if v == v]
        right.set_ylim(0, 1.15 * max([1.0, *finite]))
        right.axhline(1.0, color="#888888", linestyle="--", linewidth=1, label="chance (lift 1)")
        right.legend(fontsize=8, loc="lower right")
        right.set_title("mean binding (lift, higher is better)", fontsize=10)
        return figure

    def _repr_html_(self) -> str:
        def number(value) -> str:
            return "–" if value is None else f"{value:.3f}"

        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{number(phase.leakage)}</td><td>{number(phase.binding)}</td>"
            f"<td>{phase.misbound}</td></tr>"
            for name, phase in [*self.phases.items(), ("overall", self.overall)]
        )
        verdicts = "".join(f"<li>{html.escape(line)}</li>" for line in self.verdicts)
        return (
            f'<div><div style="font-weight:600">Scores: {html.escape(self.prompt)}</div>'
            "<table><tr><th>phase</th><th>leakage</th><th>binding</th><th>misbound</th></tr>"
            f"{rows}</table><ul>{verdicts}</ul></div>"
        )


def scores_from_json(data: dict) -> Scores:
    """Read the scores JSON (``attnmod.scores/1``) into :class:`Scores`."""
    from ..analysis.verdicts import verdicts

    return Scores(
        prompt=data["prompt"],
        entities={row["entity"]: row["label"] for row in data["entities"]},
        overall=PhaseScores.from_json(data["overall"]),
        phases={name: PhaseScores.from_json(phase) for name, phase in data["phases"].items()},
        verdicts=tuple(verdicts(data)),
        data=data,
    )


def score_record(record: AttentionRecord, tree: PromptTree | None = None, thresholds=None) -> Scores:
    """:func:`attnmod.score`: the arguments checked, each mistake one AttnmodError line."""
    from ..analysis.scoring import score_record as compute
    from ..analysis.thresholds import Thresholds
    from ..toolkit.modulation.record import AttentionRecord
    from ..toolkit.prompt.tree import PromptTree

    if not isinstance(record, AttentionRecord):
        raise AttnmodError(
            f"score() takes an AttentionRecord (session.record, or AttentionRecord.load(folder)), not "
            f"{type(record).__name__}"
        )
    if tree is not None:
        if not isinstance(tree, PromptTree):
            raise AttnmodError(f"tree must be a PromptTree (from attnmod.parse), not {type(tree).__name__}")
        recorded = record.tree.prompt if record.tree is not None else record.metadata.get("prompt")
        if recorded is not None and tree.prompt != recorded:
            raise AttnmodError(
                f"the tree is of {tree.prompt!r} but the record is of {recorded!r}: its token positions would label "
                "the wrong words; parse the record's own prompt (or leave tree out: the record carries its tree)"
            )
    if isinstance(thresholds, dict):
        thresholds = Thresholds(**thresholds)  # unknown names and bad values: one AttnmodError line
    elif thresholds is not None and not isinstance(thresholds, Thresholds):
        raise AttnmodError(
            f"thresholds must be an attnmod.Thresholds or a dict of its settings, not {type(thresholds).__name__}"
        )
    return scores_from_json(compute(record, tree, thresholds))
