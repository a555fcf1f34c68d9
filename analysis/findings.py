"""The findings engine: the threshold rules that turn one variant's scores into problems, written once.

:func:`find_problems` reads the scores (the :class:`~attnmod.analysis.scores.RecordScores` of
:func:`~attnmod.analysis.scoring.score_record`, or their JSON) and returns each
problem as a :class:`Problem`: what it is (``kind``), what it is about (``key``, the same in every variant), the
overall value and the threshold it was held against, whether the overall value crosses it (``crossed``) and the
phases where it does. Nothing here is worded for a reader: :func:`attnmod.analysis.verdicts.verdicts` words every
problem for the verdict lines, and :mod:`attnmod.reports.findings` ranks the overall ones for the report.

====================  ========  ==============================================================  ================
kind                  severity  when                                                            value (better)
====================  ========  ==============================================================  ================
``misbound``          3         another entity's region holds the attribute more densely than   own lift (higher)
                                its own entity's (overall; or, not crossed, in some phases)
``leakage``           2         two entities (not nested) overlap at ``O' >= overlap``          O' (lower)
``neglected``         2         the scoring flagged the entity (presence below ``presence``)    presence (higher)
``weak_binding``      1         own lift ``< binding`` and not misbound                         own lift (higher)
``self_leakage``      1         self-attention lift on another entity's region ``>=             lift (lower)
                                self_leakage``
``margin``            0         KL margin ``< margin`` (nats)                                   margin (higher)
``undefined_binding`` 0         the binding is undefined although the entity has a region       -
``no_attention``      0         the entity's map is all zero                                    -
``unlocalised``       0         the entity's map is flat (contrast ``< min_contrast``)          contrast
``no_pixels``         0         the entity wins no pixel                                        -
====================  ========  ==============================================================  ================

Severity 0: reported in the verdicts only. Problems come in the order the verdicts list them: misbound attributes,
overlapping pairs, leaking self-attention, neglected entities, then per attribute (undefined, weak, margin) and per
entity (no attention, unlocalised, no pixels).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from .scores import Binding, EntityRegion, Overlap, RecordScores, SelfLeak
from .thresholds import Thresholds

SEVERITY = {"misbound": 3, "leakage": 2, "neglected": 2, "weak_binding": 1, "self_leakage": 1}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One rule that one variant's scores break (see the module docstring for the rules).

    ``row`` is the overall row the rule read (a :class:`~attnmod.analysis.scores.Binding`, an ``Overlap``, a
    ``SelfLeak`` or an ``EntityRegion``); ``phases`` the ``(phase name, phase row)`` pairs where the rule holds as
    well, in phase order (misbound, leakage and self-leakage only). ``crossed``: the overall value crosses the
    threshold (for misbound: the overall row is misbound); a problem that holds in some phases only has ``crossed``
    False.
    """

    kind: str
    key: tuple
    row: Binding | Overlap | SelfLeak | EntityRegion
    value: float | None
    threshold: float | None
    lower_is_better: bool
    crossed: bool = True
    phases: tuple[tuple[str, Binding | Overlap | SelfLeak], ...] = ()

    @property
    def severity(self) -> int:
        return SEVERITY.get(self.kind, 0)

    @property
    def excess(self) -> float:
        """How far past its threshold the overall value lies (in the metric's units; negative only for an entity the
        scoring flagged neglected at another presence threshold); for a misbound attribute, how much denser it lies
        on the dominant entity than on its own (>= 0). Ranks problems of one severity."""
        if self.kind == "misbound":
            return max(self.row.lift_on(self.row.dominant, self.value) - float(self.value), 0.0)
        if self.value is None or self.threshold is None:
            return 0.0
        return self.value - self.threshold if self.lower_is_better else self.threshold - self.value


def lift_on(row: Binding, entity, default=None):
    """The lift of a binding row's attribute on ``entity`` (``default`` when not listed or undefined)."""
    return row.lift_on(entity, default)


def _thresholds(thresholds) -> Thresholds:
    """A :class:`Thresholds` from a Thresholds, None (the scores' own are used by the caller) or a mapping such as
    ``diagnosis.json``'s ``thresholds`` (keys that are not thresholds, such as ``noise``, are left out)."""
    if isinstance(thresholds, Thresholds):
        return thresholds
    known = {field.name for field in dataclasses.fields(Thresholds)}
    return Thresholds.from_json({key: value for key, value in dict(thresholds or {}).items() if key in known})


def find_problems(scores: RecordScores | Mapping, thresholds: Thresholds | Mapping | None = None) -> list[Problem]:
    """Every problem of one variant's scores (or their JSON), in the verdicts' order. ``thresholds``: default the
    scores' own."""
    scores = RecordScores.of(scores)
    limits = _thresholds(scores.thresholds if thresholds is None else thresholds)
    overall, phases = scores.overall, scores.phases
    found: list[Problem] = []

    def in_phases(section: str, same, holds) -> tuple[tuple[str, Binding | Overlap | SelfLeak], ...]:
        return tuple(
            (name, other)
            for name, phase in phases.items()
            for other in getattr(phase, section) or ()
            if same(other) and holds(other)
        )

    for row in overall.bindings:
        key = ("binding", row.entity, row.attribute)
        same = lambda other, row=row: (other.entity, other.attribute) == (row.entity, row.attribute)  # noqa: E731
        misbound_in = in_phases("bindings", same, lambda other: other.misbound)
        if row.misbound or misbound_in:
            found.append(Problem("misbound", key, row, row.value, None, False, row.misbound, misbound_in))

    def past(value, threshold) -> bool:
        return value is not None and value >= threshold

    for row in overall.overlaps:
        same = lambda other, row=row: other.entities == row.entities  # noqa: E731
        above = in_phases("overlaps", same, lambda other: past(other.value, limits.overlap))
        crossed = past(row.value, limits.overlap)
        if above or crossed:
            key = ("leakage", *sorted(row.entities))
            found.append(Problem("leakage", key, row, row.value, limits.overlap, True, crossed, above))
    phase_self = any(phase.self_leakage_pairs for phase in phases.values())
    for row in overall.self_leakage_pairs or ():
        same = lambda other, row=row: (other.source, other.to) == (row.source, row.to)  # noqa: E731
        above = ()
        if phase_self:
            above = in_phases("self_leakage_pairs", same, lambda other: past(other.value, limits.self_leakage))
        crossed = past(row.value, limits.self_leakage)
        if above or crossed:
            key = ("self_leakage", row.source, row.to)
            found.append(Problem("self_leakage", key, row, row.value, limits.self_leakage, True, crossed, above))
    for row in overall.entities:
        if row.presence is None:
            continue
        # scores written before the scoring flagged neglect carry no flag: the threshold decides
        if row.neglected if "neglected" in row.model_fields_set else row.presence < limits.presence:
            found.append(Problem("neglected", ("presence", row.entity), row, row.presence, limits.presence, False))
    unlocalised = {row.entity for row in overall.entities if row.empty or row.flat}
    for row in overall.bindings:
        key = ("binding", row.entity, row.attribute)
        if row.value is None and row.entity not in unlocalised:
            found.append(Problem("undefined_binding", key, row, None, None, False))
        elif row.value is not None and not row.misbound and row.value < limits.binding:
            found.append(Problem("weak_binding", key, row, row.value, limits.binding, False))
        if row.margin is not None and row.margin < limits.margin:
            found.append(Problem("margin", ("margin", *key[1:]), row, row.margin, limits.margin, False))
    for row in overall.entities:
        key = ("entity", row.entity)
        if row.empty:
            found.append(Problem("no_attention", key, row, None, None, False))
        elif row.flat:
            found.append(Problem("unlocalised", key, row, row.contrast, limits.min_contrast, False))
        elif row.full_region == 0:
            found.append(Problem("no_pixels", key, row, 0.0, None, False))
    return found
