"""What went wrong in a diagnosis, ranked: the findings a reader needs first, each once, with what the variant did.

``find_problems(scores, thresholds)`` turns one variant's scores (``diagnosis.json`` ``variants.ROLE.scores``, the
``overall`` phase: all phases combined, as the verdicts use it) into findings:

====================  ========  ==========================================================  =================
kind                  severity  when                                                        value (better)
====================  ========  ==========================================================  =================
``misbound``          3         another entity's region holds the attribute more densely    own lift (higher)
                                than its own entity's (a higher binding lift)
``leakage``           2         two entities (not nested) overlap at ``O' >= overlap``       O'_ef (lower)
                                (floor-removed overlap)
``neglected``         2         an entity's presence is below ``presence``: no patch gives  presence (higher)
                                it a clear share of its attention to the prompt's words
``weak_binding``      1         own lift ``< binding`` and not misbound                     own lift (higher)
``self_leakage``      1         an entity's self-attention lift on another entity's region   lift (lower)
                                is ``>= self_leakage``
====================  ========  ==========================================================  =================

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

from ..analysis.registry import VALIDATION, validity_note

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


def _names(scores: Mapping) -> dict[int, str]:
    return {row["entity"]: row["label"] for row in scores.get("entities", [])}


#: The verdict of analysis/validation.json each kind of finding is measured as.
_VALIDATION_KIND = {"leakage": "overlap"}


def _validated(kind: str, text: str) -> str:
    return text + validity_note(VALIDATION.get(_VALIDATION_KIND.get(kind, kind)))


def _percent(value: float) -> str:
    return f"{round(100 * value)}%"


def metric_values(scores: Mapping) -> dict[tuple, tuple[float, bool]]:
    """Every value a finding could be about, found or not: ``key -> (value, lower_is_better)``."""
    overall = scores.get("overall") or {}
    values: dict[tuple, tuple[float, bool]] = {}
    for row in overall.get("bindings") or []:
        if row.get("value") is not None:
            values[("binding", row["entity"], row["attribute"])] = (float(row["value"]), False)
    for row in overall.get("overlaps") or []:
        if row.get("value") is not None:
            values[("leakage", *sorted(row["entities"]))] = (float(row["value"]), True)
    for row in overall.get("self_leakage") or []:
        if row.get("value") is not None:
            values[("self_leakage", row["from"], row["to"])] = (float(row["value"]), True)
    for row in overall.get("entities") or []:
        if row.get("presence") is not None:
            values[("presence", row["entity"])] = (float(row["presence"]), False)
    return values


def find_problems(scores: Mapping, thresholds: Mapping) -> list[Finding]:
    """The findings of one variant's scores, worst first (see the module docstring for the rules)."""
    overall = scores.get("overall") or {}
    names = _names(scores)
    found: list[Finding] = []
    binding_threshold = float(thresholds.get("binding", 1.0))
    for row in overall.get("bindings") or []:
        value = row.get("value")
        if value is None:
            continue
        own, attribute = names.get(row["entity"], str(row["entity"])), row.get("text", "?")
        key = (row["entity"], row["attribute"])
        if row.get("misbound"):
            dominant = row.get("dominant")
            lifts = {lift["entity"]: lift["value"] for lift in row.get("lifts") or [] if lift["value"] is not None}
            other = float(lifts.get(dominant, value))
            found.append(
                Finding(
                    key=("binding", *key),
                    kind="misbound",
                    severity=3,
                    value=float(value),
                    lower_is_better=False,
                    excess=max(other - float(value), 0.0),
                    text=_validated(
                        "misbound",
                        f"'{attribute}' is bound to the wrong object: it lies more densely on "
                        f"'{names.get(dominant, dominant)}' than on '{own}' (lift {other:.2f} vs {value:.2f}; "
                        "1 = chance)",
                    ),
                )
            )
        elif value < binding_threshold:
            found.append(
                Finding(
                    key=("binding", *key),
                    kind="weak_binding",
                    severity=1,
                    value=float(value),
                    lower_is_better=False,
                    excess=binding_threshold - float(value),
                    text=_validated(
                        "weak_binding",
                        f"'{attribute}' is only loosely tied to '{own}': it lies there {value:.1f}x as densely as on "
                        f"an average pixel (lift {value:.2f} < {binding_threshold:.2f})",
                    ),
                )
            )
    overlap_threshold = float(thresholds.get("overlap", 0.5))
    for row in overall.get("overlaps") or []:
        value = row.get("value")
        if value is None or value < overlap_threshold:
            continue
        first, second = sorted(row["entities"])
        found.append(
            Finding(
                key=("leakage", first, second),
                kind="leakage",
                severity=2,
                value=float(value),
                lower_is_better=True,
                excess=float(value) - overlap_threshold,
                text=_validated(
                    "leakage",
                    f"'{names.get(first, first)}' and '{names.get(second, second)}' blend into each other: their "
                    f"attention maps overlap by O' = {value:.2f} (each map's floor removed; 0: apart, 1: the same "
                    "place)",
                ),
            )
        )
    presence_threshold = float(thresholds.get("presence", 0.2))
    for row in overall.get("entities") or []:
        value = row.get("presence")
        if value is None or not row.get("neglected", value < presence_threshold):
            continue
        found.append(
            Finding(
                key=("presence", row["entity"]),
                kind="neglected",
                severity=2,
                value=float(value),
                lower_is_better=False,
                excess=presence_threshold - float(value),
                text=_validated(
                    "neglected",
                    f"'{names.get(row['entity'], row['entity'])}' may be missing: no patch gives it more than "
                    f"{_percent(float(value))} of its attention to the prompt's words (presence {value:.2f} < "
                    f"{presence_threshold:.2f})",
                ),
            )
        )
    self_threshold = float(thresholds.get("self_leakage", 1.0))
    for row in overall.get("self_leakage") or []:
        value = row.get("value")
        if value is None or value < self_threshold:
            continue
        source, target = row["from"], row["to"]
        found.append(
            Finding(
                key=("self_leakage", source, target),
                kind="self_leakage",
                severity=1,
                value=float(value),
                lower_is_better=True,
                excess=float(value) - self_threshold,
                text=_validated(
                    "self_leakage",
                    f"the region of '{names.get(source, source)}' looks at '{names.get(target, target)}': "
                    f"{float(value):.1f}x as densely as at an average pixel (self-attention lift {value:.2f})",
                ),
            )
        )
    return sorted(found, key=lambda f: (-f.severity, -f.excess, f.key))


def compare_problems(
    baseline: Mapping, modulated: Mapping, thresholds: Mapping, noise: float | None = None
) -> list[ComparedFinding]:
    """Each finding of either variant once, worst first (by the worse of its two severities and excesses), with
    what the modulated variant did to it (see the module docstring)."""
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
