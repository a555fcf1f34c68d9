"""Findings from scores: :func:`verdicts` names the entities, attributes and evidence of each problem, and
:func:`compare_scores` sets a baseline against a modulated variant."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..toolkit.run_files import json_number
from .registry import ATTENTION_METRICS, METRICS
from .scoring import OVERALL, summary_metrics
from .thresholds import Thresholds

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

#: Summary numbers compared between baseline and modulated (their direction comes from the metric registry).
COMPARED = ATTENTION_METRICS


def compare_scores(baseline: dict, modulated: dict, variant: str) -> dict:
    """Baseline against modulated: ``{"metrics": [{"name", "baseline", "modulated", "change", "better",
    "improved"}], "verdicts": [str]}`` (``change = modulated - baseline``; ``improved`` null when undefined)."""
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
