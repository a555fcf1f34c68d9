"""Ranking the points of a parameter sweep (``attnmod ablate --sweep``) by one score, with bootstrap intervals.

A sweep point is a variant named ``base~key=value,...`` (see :func:`attnmod.lightning_modules.data.expand_sweep`).
The score, per item, is the first of ``SWEEP_SCORES`` that some done item of a point carries (at the top level of its
``results.jsonl`` row or in the row's ``metrics``), unless one is chosen:

* ``judge_all_correct`` (higher is better): the judge's verdict that every object and colour in the prompt is right
  (1 or 0 per image); its mean is the all-correct rate.
* ``binding`` (higher is better): the attention score used when no judge ran: the mean attribute binding ``B_a`` of
  the item (the share of an attribute's attention on entity regions that lies on its own entity; see
  docs/diagnosis.md). It measures attention, not the image.

Each point gets the mean with a 95% percentile-bootstrap interval, and, when the run has the reference variant
(``none``) for the same prompts and seeds, the mean paired difference to it with its interval. The intervals
resample prompts, each with all its seeds (:func:`attnmod.analysis.statistics.bootstrap_ci_grouped`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

SWEEP_MARK = "~"
SWEEP_SCORES = {"judge_all_correct": "higher", "binding": "higher", "leakage": "lower"}


def _value(row: dict, key: str) -> float:
    value = row.get(key)
    if value is None and isinstance(row.get("metrics"), dict):
        value = row["metrics"].get(key)
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _pair(row: dict) -> tuple:
    return (row.get("source"), row.get("index"), row.get("prompt"), row.get("seed"))


def _prompt(row: dict) -> tuple:
    """The prompt an item belongs to (its seeds share it): the unit the intervals resample."""
    return (row.get("source"), row.get("index"), row.get("prompt"))


def _settings(variant: str) -> dict[str, str]:
    from ..lightning_modules.data import sweep_point_settings

    return sweep_point_settings(variant) or {}


def sweep_ranking(
    rows: Sequence[dict], score: str | None = None, reference: str = "none", seed: int = 0
) -> dict | None:
    """``{"score", "direction", "reference", "points": [...]}`` best first, or None when the run holds no sweep point.

    Each point: ``variant``, ``base``, ``settings`` (dict), ``mean``, ``low``, ``high``, ``n`` and ``paired`` (mean,
    low, high, n of the difference to ``reference`` over items with the same source line, prompt and seed; None
    without reference items). Points without any value of the score are listed last.
    """
    from ..analysis.statistics import bootstrap_ci_grouped

    done = [row for row in rows if str(row.get("status", "done")) == "done"]
    points: dict[str, list[dict]] = {}
    for row in done:
        variant = str(row.get("variant") or "")
        if SWEEP_MARK in variant:
            points.setdefault(variant, []).append(row)
    if not points:
        return None
    if score is None:
        score = next(
            (key for key in SWEEP_SCORES if any(math.isfinite(_value(r, key)) for v in points.values() for r in v)),
            "binding",
        )
    direction = SWEEP_SCORES.get(score, "higher")
    baseline = {_pair(row): _value(row, score) for row in done if row.get("variant") == reference}
    ranked = []
    for index, (variant, members) in enumerate(sorted(points.items())):
        # Intervals resample prompts (all seeds of a prompt together): images of one prompt are not independent.
        mean, low, high = bootstrap_ci_grouped(
            [_value(row, score) for row in members], [_prompt(row) for row in members], seed=seed + index
        )
        compared = [row for row in members if _pair(row) in baseline and math.isfinite(baseline[_pair(row)])]
        deltas = [_value(row, score) - baseline[_pair(row)] for row in compared]
        paired = None
        if deltas:
            delta, delta_low, delta_high = bootstrap_ci_grouped(
                deltas, [_prompt(row) for row in compared], seed=seed + index
            )
            paired = {"mean": delta, "low": delta_low, "high": delta_high, "n": sum(math.isfinite(d) for d in deltas)}
        ranked.append(
            {
                "variant": variant,
                "base": variant.split(SWEEP_MARK, 1)[0],
                "settings": _settings(variant),
                "mean": mean,
                "low": low,
                "high": high,
                "n": sum(math.isfinite(_value(row, score)) for row in members),
                "paired": paired,
            }
        )
    sign = -1.0 if direction == "higher" else 1.0
    ranked.sort(key=lambda p: (math.isnan(p["mean"]), sign * p["mean"] if not math.isnan(p["mean"]) else 0.0))
    return {"score": score, "direction": direction, "reference": reference, "points": ranked}
