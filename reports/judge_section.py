"""The run report's judge section: the shapes-world judge's rates per variant, as evaluation.json holds them."""

from __future__ import annotations

from collections.abc import Sequence

# (evaluation.json field, column heading, which direction is better)
JUDGE_COLUMNS = (
    ("judge_all_correct", "all correct", "higher"),
    ("judge_object_accuracy", "object accuracy", "higher"),
    ("judge_colour_binding", "colour binding", "higher"),
    ("judge_count", "counts", "higher"),
    ("judge_relation", "relation", "higher"),
    ("judge_missing", "missing", "lower"),
    ("judge_wrong_colour", "wrong colour", "lower"),
    ("judge_merged", "merged", "lower"),
    ("judge_leaked", "leaked", "lower"),
)


def judge_section(evaluation: dict | None, variants: Sequence[str]) -> dict | None:
    """``{"judge", "items_judged", "headers", "rows": [{"variant", "n", "scores": [interval, ...]}]}`` in
    :data:`JUDGE_COLUMNS` order, or None when the run was not judged (``attnmod evaluate RUN --judge shapes``)."""
    if not evaluation or not evaluation.get("judge"):
        return None
    per_variant = evaluation.get("variants") or {}
    rows = []
    for variant in list(variants) + [v for v in per_variant if v not in variants]:
        scores = (per_variant.get(variant) or {}).get("judge")
        if not scores:
            continue
        intervals = [scores.get(field) for field, _, _ in JUDGE_COLUMNS]
        rows.append({"variant": variant, "n": max((i or {}).get("n") or 0 for i in intervals), "scores": intervals})
    return {
        "judge": evaluation["judge"],
        "items_judged": evaluation.get("items_judged", 0),
        "headers": [f"{label} ({better} is better)" for _, label, better in JUDGE_COLUMNS],
        "rows": rows,
    }
