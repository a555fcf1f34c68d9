"""Typed scores of one attention record: the analysis' own models (:mod:`attnmod.analysis.scores`, the scores of
docs/diagnosis.md) with what a notebook user reads first: the headline numbers, the verdicts, a plot and a table.

:class:`Scores` extends :class:`~attnmod.analysis.scores.RecordScores` and :class:`PhaseScores` extends its phase
model, so every field of the JSON is an attribute, under its JSON name except ``scored_entities`` (``entities``)
and ``self_leakage_pairs`` (``self_leakage``); the names this API documented before (docs/api.md) keep their
meaning: ``Scores.entities`` (label by entity), ``PhaseScores.binding`` (the mean own lift, ``binding_mean``) and
``PhaseScores.self_leakage`` (the largest self-attention lift, ``self_leakage_max``). :class:`Binding` and
:class:`Overlap` are the analysis' models. Undefined values are ``None``.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..analysis import scores as models
from ..analysis.scores import Binding, Overlap
from ..toolkit.errors import AttnmodError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..toolkit.modulation.record import AttentionRecord
    from ..toolkit.prompt.tree import PromptTree

__all__ = ["Binding", "Overlap", "PhaseScores", "Scores", "score_record", "scores_from_json"]


class PhaseScores(models.PhaseScores):
    """The scores of one phase of denoising (or ``overall``): every field of the analysis' model, and

    ``binding``: the mean attribute binding ``B_a`` (``binding_mean``); ``self_leakage``: the largest
    self-attention lift from one entity's region onto another's (``self_leakage_max``; None when self-attention
    was not captured; the per-pair rows are ``self_leakage_pairs``).
    """

    @property
    def binding(self) -> float | None:
        return self.binding_mean

    @property
    def self_leakage(self) -> float | None:
        return self.self_leakage_max


class Scores(models.RecordScores):
    """Scores of one record: ``overall`` and per phase (``phases["early"]``, ...), entity labels and verdicts.

    ``leakage``, ``binding`` and ``misbound`` are the overall numbers; ``entities`` the label of each scored entity
    by its tree index; ``verdicts`` the findings, worded; ``summary()`` the flat numbers of a results row; ``data``
    (or ``to_json()``) the JSON of docs/diagnosis.md.
    """

    phases: dict[str, PhaseScores]
    overall: PhaseScores

    @property
    def entities(self) -> dict[int, str]:
        """Each scored entity's label by its tree index (the rows are ``scored_entities``)."""
        return self.labels

    @property
    def leakage(self) -> float | None:
        return self.overall.leakage

    @property
    def binding(self) -> float | None:
        return self.overall.binding

    @property
    def misbound(self) -> int:
        return self.overall.misbound

    @functools.cached_property
    def verdicts(self) -> tuple[str, ...]:
        """The findings, most serious first (:func:`attnmod.analysis.verdicts.verdicts` at the scores'
        thresholds)."""
        from ..analysis.verdicts import verdicts

        return tuple(verdicts(self))

    @property
    def data(self) -> dict:
        """The JSON of these scores (docs/diagnosis.md), as ``diagnosis.json`` stores them."""
        return self.to_json()

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
            for name, phase in self.all_phases()
        )
        verdicts = "".join(f"<li>{html.escape(line)}</li>" for line in self.verdicts)
        return (
            f'<div><div style="font-weight:600">Scores: {html.escape(self.prompt or "")}</div>'
            "<table><tr><th>phase</th><th>leakage</th><th>binding</th><th>misbound</th></tr>"
            f"{rows}</table><ul>{verdicts}</ul></div>"
        )


def scores_from_json(data: Mapping | models.RecordScores) -> Scores:
    """The scores JSON (``attnmod.scores/2``, a ``scores`` object of diagnosis.json) or the analysis' model as
    :class:`Scores`."""
    if isinstance(data, models.RecordScores):
        data = data.to_json()
    return Scores.from_json(data)


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
