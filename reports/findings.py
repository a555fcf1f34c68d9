"""What went wrong in a diagnosis, ranked: the findings a reader needs first, each once, with what the variant did.

``find_problems(scores, thresholds)`` takes the problems of one variant's scores (``diagnosis.json``
``variants.ROLE.scores``) that :mod:`attnmod.analysis.findings` finds, where the rules and severities live, keeps
the overall ones the report shows (misbound, leakage, neglected, weak binding, self-attention leakage: those whose
``overall`` value, all phases combined, crosses its threshold) and words each for a reader.

The scores are the chance-corrected ones of docs/diagnosis.md (lifts: 1 = chance). Each finding's text ends with
what the validation against the shapes world measured for its verdict (analysis/validation.json, docs/validity.md):
"not validated: ... AUROC 0.51 (95% CI 0.44-0.58)" when its score predicted the judge's failures no better than
chance, nothing when it was not measured.

Findings rank by severity, then by how far past its threshold each one lies. ``compare_problems`` pairs the
baseline's findings with the modulated variant's by what they are about (the attribute, the pair of entities: a
misbound attribute that is only weakly bound after modulation is one finding that improved) and
says for each one: ``fixed``, ``new``, ``improved``, ``worse`` or ``no clear change``. A change smaller than the
noise band (:data:`NOISE_BAND`, or ``thresholds["noise"]`` when a diagnosis records one) is ``no clear change`` even
when it crosses a threshold: one seed cannot tell such a change from the difference another seed would make.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ..analysis import findings as analysis_findings
from ..analysis.findings import Problem
from ..analysis.registry import UNVALIDATED_READINGS, VALIDATION, reading_of, validity_note
from ..analysis.scores import RecordScores

# The smallest change of a score that the report calls a change. A fixed tolerance, not a measurement: a diagnosis
# has one seed, so its own seed-to-seed spread is unknown. Overlap and presence are shares in [0, 1]; the lifts
# (binding, self-attention) are ratios around 1, for which the same band is a 2% change at chance level.
NOISE_BAND = 0.02
SEVERITY_NAMES = {3: "severe", 2: "major", 1: "minor"}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem found in one variant's scores. ``key`` says what it is about, the same in every variant."""

    key: tuple
    kind: str
    severity: int
    value: float
    lower_is_better: bool
    excess: float  # how far past the threshold (in the metric's units, >= 0): ranks findings of one severity
    text: str  # one sentence for a reader, no jargon first: what happened, then the number


@dataclasses.dataclass(frozen=True)
class ComparedFinding:
    """A finding of the baseline, the modulated variant or both, and what the variant did to it."""

    key: tuple
    kind: str
    severity: int
    text: str
    baseline: float | None  # the metric in the baseline (also when it is not a finding there)
    modulated: float | None
    present_before: bool
    present_after: bool
    status: str  # fixed | new | improved | worse | no clear change
    lower_is_better: bool

    @property
    def severity_name(self) -> str:
        return SEVERITY_NAMES.get(self.severity, "minor")

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.modulated is None:
            return None
        return self.modulated - self.baseline


#: The verdict of analysis/validation.json each kind of finding is measured as.
_VALIDATION_KIND = {"leakage": "overlap"}


def reading(kind: str) -> str:
    """How well a kind of finding is validated (:data:`~attnmod.analysis.registry.READINGS`)."""
    return reading_of(VALIDATION.get(_VALIDATION_KIND.get(kind, kind)))


def folded(kind: str) -> bool:
    """Whether findings of this kind are folded away: their score did not predict the judge's failures."""
    return reading(kind) in UNVALIDATED_READINGS


def _validated(kind: str, text: str) -> str:
    return text + validity_note(VALIDATION.get(_VALIDATION_KIND.get(kind, kind)))


def _percent(value: float) -> str:
    return f"{round(100 * value)}%"


def metric_values(scores: RecordScores | Mapping) -> dict[tuple, tuple[float, bool]]:
    """Every value a finding could be about, found or not: ``key -> (value, lower_is_better)``."""
    overall = RecordScores.of(scores).overall
    values: dict[tuple, tuple[float, bool]] = {}
    for row in overall.bindings:
        if row.value is not None:
            values[("binding", row.entity, row.attribute)] = (float(row.value), False)
    for row in overall.overlaps:
        if row.value is not None:
            values[("leakage", *sorted(row.entities))] = (float(row.value), True)
    for row in overall.self_leakage_pairs or ():
        if row.value is not None:
            values[("self_leakage", row.source, row.to)] = (float(row.value), True)
    for row in overall.entities:
        if row.presence is not None:
            values[("presence", row.entity)] = (float(row.presence), False)
    return values


#: The problems the report shows (the overall ones that cross their thresholds), and their sentences.
REPORTED = ("misbound", "leakage", "neglected", "weak_binding", "self_leakage")


def find_problems(scores: RecordScores | Mapping, thresholds: Mapping) -> list[Finding]:
    """The findings of one variant's scores (or their JSON), worst first: the overall problems of
    :func:`attnmod.analysis.findings.find_problems` that the report shows, worded for a reader."""
    scores = RecordScores.of(scores)
    names = scores.labels
    found = [
        Finding(
            key=problem.key,
            kind=problem.kind,
            severity=problem.severity,
            value=float(problem.value),
            lower_is_better=problem.lower_is_better,
            excess=problem.excess,
            text=_validated(problem.kind, _sentence(problem, names)),
        )
        for problem in analysis_findings.find_problems(scores, thresholds)
        if problem.kind in REPORTED and problem.crossed and problem.value is not None
    ]
    return sorted(found, key=lambda f: (-f.severity, -f.excess, f.key))


def _sentence(problem: Problem, names: dict[int, str]) -> str:
    row, value = problem.row, problem.value
    if problem.kind in ("misbound", "weak_binding"):
        own, attribute = names.get(row.entity, str(row.entity)), row.text
        if problem.kind == "misbound":
            dominant = row.dominant
            other = float(row.lift_on(dominant, value))
            return (
                f"'{attribute}' is bound to the wrong object: it lies more densely on "
                f"'{names.get(dominant, dominant)}' than on '{own}' (lift {other:.2f} vs {value:.2f}; 1 = chance)"
            )
        return (
            f"'{attribute}' is only loosely tied to '{own}': it lies there {value:.1f}x as densely as on "
            f"an average pixel (lift {value:.2f} < {problem.threshold:.2f})"
        )
    if problem.kind == "leakage":
        first, second = problem.key[1:]
        return (
            f"'{names.get(first, first)}' and '{names.get(second, second)}' blend into each other: their "
            f"attention maps overlap by O' = {value:.2f} (each map's floor removed; 0: apart, 1: the same place)"
        )
    if problem.kind == "neglected":
        return (
            f"'{names.get(row.entity, row.entity)}' may be missing: no patch gives it more than "
            f"{_percent(float(value))} of its attention to the prompt's words (presence {value:.2f} < "
            f"{problem.threshold:.2f})"
        )
    source, target = row.source, row.to
    return (
        f"the region of '{names.get(source, source)}' looks at '{names.get(target, target)}': "
        f"{float(value):.1f}x as densely as at an average pixel (self-attention lift {value:.2f})"
    )


def compare_problems(
    baseline: RecordScores | Mapping, modulated: RecordScores | Mapping, thresholds: Mapping, noise: float | None = None
) -> list[ComparedFinding]:
    """Each finding of either variant once, worst first (by the worse of its two severities and excesses), with
    what the modulated variant did to it (see the module docstring)."""
    baseline, modulated = RecordScores.of(baseline), RecordScores.of(modulated)
    band = float(thresholds.get("noise", NOISE_BAND)) if noise is None else float(noise)
    before = {f.key: f for f in find_problems(baseline, thresholds)}
    after = {f.key: f for f in find_problems(modulated, thresholds)}
    values_before, values_after = metric_values(baseline), metric_values(modulated)
    compared = []
    for key in list(before) + [k for k in after if k not in before]:
        # The text and severity of the worse of the two (the baseline's on a tie).
        candidates = [f for f in (before.get(key), after.get(key)) if f is not None]
        finding = candidates[-1] if candidates[-1].severity > candidates[0].severity else candidates[0]
        old = values_before.get(key, (None, finding.lower_is_better))[0]
        new = values_after.get(key, (None, finding.lower_is_better))[0]
        status = _status(key in before, key in after, old, new, finding.lower_is_better, band)
        compared.append(
            ComparedFinding(
                key=key,
                kind=finding.kind,
                severity=finding.severity,
                text=finding.text,
                baseline=old,
                modulated=new,
                present_before=key in before,
                present_after=key in after,
                status=status,
                lower_is_better=finding.lower_is_better,
            )
        )
    excess = {
        key: max(f.excess for f in (before.get(key), after.get(key)) if f is not None)
        for key in rank_keys(before, after)
    }
    return sorted(compared, key=lambda c: (-c.severity, -excess[c.key], c.key))


def rank_keys(*groups: Mapping) -> list:
    return list(dict.fromkeys(key for group in groups for key in group))


def change_verdict(old: float | None, new: float | None, lower_is_better: bool, noise: float = NOISE_BAND) -> str:
    """``improved``, ``worse`` or ``no clear change`` (``|new - old| < noise``, or a value missing)."""
    if old is None or new is None or abs(new - old) < noise:
        return "no clear change"
    better = new < old if lower_is_better else new > old
    return "improved" if better else "worse"


def _status(
    present_before: bool, present_after: bool, old: float | None, new: float | None, lower: bool, noise: float
) -> str:
    verdict = change_verdict(old, new, lower, noise)
    if present_before and not present_after:
        return "fixed" if verdict == "improved" else "no clear change"
    if present_after and not present_before:
        return "new" if verdict == "worse" else "no clear change"
    return verdict


def headline(compared: list[ComparedFinding], variant: str, noise: float = NOISE_BAND) -> dict:
    """The first sentence of the report: the worst problem and whether ``variant`` fixed it.

    ``{"level": "ok"|"warn"|"bad", "problem": str | None, "outcome": str, "counts": {...}}``.
    """
    counts = {
        "before": sum(1 for c in compared if c.present_before),
        "after": sum(1 for c in compared if c.present_after),
        "fixed": sum(1 for c in compared if c.status == "fixed"),
        "new": sum(1 for c in compared if c.status == "new"),
    }
    if not compared:
        return {
            "level": "ok",
            "problem": None,
            "outcome": f"No problem found, without modulation or with {variant}.",
            "counts": counts,
        }
    worst = next((c for c in compared if c.present_before), compared[0])
    numbers = ""
    if worst.baseline is not None and worst.modulated is not None:
        numbers = f" ({worst.baseline:.2f} → {worst.modulated:.2f})"
    if not worst.present_before:
        outcome = f"It appears only with {variant}{numbers}: the modulation made it."
        level = "bad"
    elif worst.status == "fixed":
        outcome = f"{variant} fixed it{numbers}."
        level = "ok" if counts["after"] == 0 else "warn"
    elif worst.status == "improved":
        outcome = f"{variant} improved it but did not fix it{numbers}."
        level = "warn"
    elif worst.status == "worse":
        outcome = f"{variant} made it worse{numbers}."
        level = "bad"
    else:
        outcome = f"{variant} did not fix it: no clear change{numbers}, within the ±{noise:.2f} noise band."
        level = "bad"
    return {"level": level, "problem": worst.text, "outcome": outcome, "counts": counts}
