"""Findings from scores: :func:`verdicts` names the entities, attributes and evidence of each problem, and
:func:`compare_scores` sets a baseline against a modulated variant."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..toolkit.run_files import json_number
from . import registry
from .findings import Problem, find_problems
from .registry import ATTENTION_METRICS, METRICS, validity_note
from .scores import PhaseScores, RecordScores, summary_metrics
from .thresholds import Thresholds

# ---- verdicts ----


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _phase_list(names: Sequence[str]) -> str:
    if len(names) == 1:
        return f"the {names[0]} phase"
    return f"the {', '.join(names[:-1])} and {names[-1]} phases"


#: What the validation against the shapes world (docs/validity.md) measured for each verdict: its AUROC for the
#: judge's failures on the test half, with the interval and a reading (``"predicts"``, ``"weak"``, ``"nothing"``,
#: ``"opposite"``), or None where not measured. Read from analysis/validation.json, which
#: ``benchmarks/score_validity --validation`` writes; each verdict's wording carries its reading
#: (:func:`~attnmod.analysis.registry.validity_note`), so a verdict whose score predicted nothing says so.
VALIDATION: dict[str, dict | str | None] = registry.VALIDATION


def _evidence(kind: str) -> str:
    return validity_note(VALIDATION.get(kind))


def _times(value: float) -> str:
    return f"{value:.1f}x"


def verdicts(scores: RecordScores | Mapping, thresholds: Thresholds | None = None) -> list[str]:
    """Findings that name the entities and attributes involved and the evidence, most serious first.

    One line per problem of :func:`~attnmod.analysis.findings.find_problems` (the rules live there): misbound
    attributes, overlapping entity pairs (with the phases), leaking self-attention, neglected entities, undefined,
    weakly bound and distributionally closer attributes, entities with no or no localised attention or no pixels;
    then the scores' notes. When nothing crosses a threshold, one line saying so with the headline numbers (``n/a``
    where undefined).
    """
    scores = RecordScores.of(scores)
    thresholds = thresholds or Thresholds.from_json(scores.thresholds or {})
    names = scores.labels
    overall = scores.overall
    found = [_verdict(problem, names, overall, thresholds) for problem in find_problems(scores, thresholds)]
    found.extend(scores.notes or [])
    if not scores.scored_entities:
        found.append("no entities to score: the prompt tree has no entity with token positions in the record")
    if not found:
        binding = overall.binding_mean
        leakage = overall.leakage
        found.append(
            "no leakage or binding problem at these thresholds ("
            + (f"leakage O' = {leakage:.2f} < {thresholds.overlap:.2f}" if leakage is not None else "leakage n/a")
            + (f", mean binding lift = {binding:.2f}" if binding is not None else ", no attributes")
            + ")"
        )
    return found


def _verdict(problem: Problem, names: dict, overall: PhaseScores, thresholds: Thresholds) -> str:
    """One problem worded for the verdict lines."""
    row, kind = problem.row, problem.kind
    if kind in ("misbound", "undefined_binding", "weak_binding", "margin"):
        label = f"attribute {row.text!r} ({names[row.entity]})"
    if kind == "misbound" and problem.crossed:
        return (
            f"{label} is misbound: it lies more densely on {names[row.dominant]!r} than on "
            f"{names[row.entity]!r} (lift {row.lift_on(row.dominant):.2f} vs {row.value:.2f}; 1 = chance)"
            + _evidence("misbound")
        )
    if kind == "misbound":
        name, other = max(problem.phases, key=lambda item: item[1].lift_on(item[1].dominant) or 0.0)
        return (
            f"{label} is misbound in {_phase_list([n for n, _ in problem.phases])}: up to lift "
            f"{other.lift_on(other.dominant):.2f} on {names[other.dominant]!r} against "
            f"{other.value:.2f} on {names[row.entity]!r}" + _evidence("misbound")
        )
    if kind == "leakage":
        first, second = row.entities
        pair = f"entities {names[first]!r} and {names[second]!r} overlap"
        note = _evidence("overlap")
        above = [(name, other.value) for name, other in problem.phases]
        if len(above) == 1:
            return f"{pair} (O' = {above[0][1]:.2f}, floor removed) in the {above[0][0]} phase{note}"
        if above:
            parts = [f"{name} (O' = {value:.2f})" for name, value in above]
            return f"{pair} in the {', '.join(parts[:-1])} and {parts[-1]} phases (floor removed){note}"
        return f"{pair} (O' = {row.value:.2f}, floor removed) over the whole run{note}"
    if kind == "self_leakage":
        lead = f"self-attention of {names[row.source]!r} leaks into {names[row.to]!r}"
        target = names[row.to]
        if problem.phases:
            name, value = max(((n, other.value) for n, other in problem.phases), key=lambda item: item[1])
            where = _phase_list([n for n, _ in problem.phases])
            return (
                f"{lead}: up to {_times(value)} as densely on the region of {target!r} as on an average pixel, "
                f"in {where}" + _evidence("self_leakage")
            )
        return f"{lead}: {_times(row.value)} as densely on the region of {target!r} as on an average pixel" + _evidence(
            "self_leakage"
        )
    if kind == "neglected":
        presence = problem.value
        return (
            f"entity {names[row.entity]!r} may be neglected: no patch gives it more than "
            f"{_percent(presence)} of the patch's attention to the prompt's words (presence {presence:.2f} < "
            f"{thresholds.presence:.2f})" + _evidence("neglected")
        )
    if kind == "undefined_binding":
        return (
            f"binding of {label} is undefined: {names[row.entity]!r} has no attention region "
            "or the attribute has no attention"
        )
    if kind == "weak_binding":
        return (
            f"{label} is weakly bound: it lies on {names[row.entity]!r} only "
            f"{_times(row.value)} as densely as on an average pixel (lift {row.value:.2f} < "
            f"{thresholds.binding:.2f})" + _evidence("weak_binding")
        )
    if kind == "margin":
        return (
            f"{label} is distributionally closer to {names[row.nearest]!r} than to "
            f"{names[row.entity]!r} (symmetric KL {row.divergence_nearest:.2f} vs "
            f"{row.divergence_own:.2f} nats)" + _evidence("margin")
        )
    if kind == "no_attention":
        return f"entity {names[row.entity]!r} receives no cross-attention (all-zero map)"
    if kind == "unlocalised":
        return (
            f"entity {names[row.entity]!r} has no localised attention (contrast {row.contrast:.2f} < "
            f"{thresholds.min_contrast:.2f}): it claims no region, and its overlaps and the bindings of its "
            "attributes are undefined"
        )
    return (
        f"entity {names[row.entity]!r} wins no pixels at {overall.resolution}: it may be missing "
        "from the image" + _evidence("no_pixels")
    )


# ---- comparing two variants ----

#: Summary numbers compared between baseline and modulated (their direction comes from the metric registry).
COMPARED = ATTENTION_METRICS
#: The verdict whose measured validity a compared number's line carries (leakage is the overlap score).
_COMPARED_EVIDENCE = {"leakage": "overlap", "binding": "weak_binding"}


def compare_scores(baseline: RecordScores | Mapping, modulated: RecordScores | Mapping, variant: str) -> dict:
    """Baseline against modulated scores (or their JSON): ``{"metrics": [{"name", "baseline", "modulated", "change", "better",
    "improved"}], "verdicts": [str]}`` (``change = modulated - baseline``; ``improved`` null when undefined)."""
    baseline, modulated = RecordScores.of(baseline), RecordScores.of(modulated)
    before, after = summary_metrics(baseline), summary_metrics(modulated)
    rows, lines = [], []
    for name in COMPARED:
        metric = METRICS[name]
        first, second = before.get(name, math.nan), after.get(name, math.nan)
        defined = not (math.isnan(first) or math.isnan(second))
        change = second - first if defined else math.nan
        improved = metric.improved(change)
        rows.append(
            {
                "name": name,
                "baseline": json_number(first),
                "modulated": json_number(second),
                "change": json_number(change),
                "better": metric.better,
                "improved": improved,
            }
        )
        if defined and name != "misbound":
            direction = "falls" if change < 0 else "rises" if change > 0 else "stays"
            lines.append(
                (
                    f"{name.replace('_', ' ')} {direction} from {first:.3f} (none) to {second:.3f} ({variant})"
                    if direction != "stays"
                    else f"{name.replace('_', ' ')} stays at {first:.3f} with {variant}"
                )
                + _evidence(_COMPARED_EVIDENCE.get(name, name))
            )
    names = baseline.labels
    after_rows = {(r.entity, r.attribute): r for r in modulated.overall.bindings}
    for row in baseline.overall.bindings:
        other = after_rows.get((row.entity, row.attribute))
        if other is None:
            continue
        label = f"attribute {row.text!r} ({names[row.entity]})"
        if row.misbound and not other.misbound:
            lines.append(f"{label} is no longer misbound with {variant}" + _evidence("misbound"))
        elif other.misbound and not row.misbound:
            lines.append(f"{label} becomes misbound with {variant}" + _evidence("misbound"))
    return {"metrics": rows, "verdicts": lines}


def ranked_findings(lines: Sequence[str]) -> list[dict]:
    """Verdict lines ordered by how well their verdict is validated (:data:`~attnmod.analysis.registry.READINGS`:
    validated first, then weak evidence, then unmeasured, then those whose score did not predict the judge's
    failures), each ``{"text", "reading", "folded"}``; ``folded`` marks the unvalidated ones (reading "nothing" or
    "opposite"), which outputs hide unless asked. The order within one reading is kept."""
    rows = [{"text": line, "reading": registry.verdict_reading(line)} for line in lines]
    rows.sort(key=lambda row: registry.READINGS.index(row["reading"]))
    for row in rows:
        row["folded"] = row["reading"] in registry.UNVALIDATED_READINGS
    return rows
