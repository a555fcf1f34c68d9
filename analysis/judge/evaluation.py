"""The shapes judge over a run's items: what ``attnmod evaluate RUN --judge shapes`` adds.

Per item (a ``results.jsonl`` row whose scene is known) the judge's scores (:meth:`JudgeResult.metrics
<attnmod.analysis.judge.image.JudgeResult.metrics>`): ``judge_object_accuracy`` (share of named objects found with shape
and colour), ``judge_colour_binding``, ``judge_count``, ``judge_relation``, ``judge_all_correct``,
``judge_missing``, ``judge_wrong_colour``, ``judge_merged``, ``judge_leaked`` (a named object drawn two-tone in its
own and another named object's colour); booleans, None where a verdict does not apply
(binding without any named shape drawn, relation without a stated relation).

Per variant, each score's mean (booleans as 0/1: a rate) with a percentile-bootstrap interval over the variant's
items, from :func:`~attnmod.analysis.image_metrics.bootstrap_mean_interval`.

An item's scene comes from its row's ``metadata.scene`` (the ``shapes:`` prompt source writes it) or from
``scene.json`` in its folder; :func:`attnmod.workflows.evaluate_run` reads them and the images, and judges each
image with :func:`~attnmod.analysis.judge.image.judge_image`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...toolkit.shapes_world import Scene

JUDGES = ("shapes",)
JUDGE_FIELDS = (
    "judge_object_accuracy",
    "judge_colour_binding",
    "judge_count",
    "judge_relation",
    "judge_all_correct",
    "judge_missing",
    "judge_wrong_colour",
    "judge_merged",
    "judge_leaked",
)
SCENE_FILE = "scene.json"


def scene_from_json(data) -> Scene | None:
    """The scene an item was asked to draw from its JSON form (a row's ``metadata.scene`` or the item folder's
    ``scene.json``), or None when there is none or it is damaged."""
    if not isinstance(data, dict):
        return None
    try:
        return Scene.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def row_scene(row: dict):
    """The JSON scene a ``results.jsonl`` row carries in ``metadata.scene`` (the ``shapes:`` source writes it)."""
    metadata = row.get("metadata")
    return metadata.get("scene") if isinstance(metadata, dict) else None


def unjudged_warning(item_ids: Sequence[str]) -> str | None:
    """The warning for items that have no scene and were not judged (None when every item was judged)."""
    if not item_ids:
        return None
    shown = ", ".join(item_ids[:3]) + (" ..." if len(item_ids) > 3 else "")
    return (
        f"{len(item_ids)} item(s) have no shapes-world scene (metadata.scene or {SCENE_FILE}) and were not judged: "
        f"{shown}; use a shapes: prompt source"
    )


def as_number(value) -> float | None:
    return None if value is None else float(value)


def judge_summary(
    scores: dict[int, dict],
    row_indices: Sequence[int],
    resamples: int,
    confidence: float,
    seed: int,
    groups: Sequence | None = None,
) -> dict | None:
    """``{field: {"mean", "low", "high", "n"}}`` over the judged items among ``row_indices`` (None if none).
    ``groups``: a label per row index (its prompt), so that the intervals resample prompts with all their seeds."""
    from ..image_metrics import bootstrap_mean_interval

    kept = [position for position, i in enumerate(row_indices) if i in scores]
    if not kept:
        return None
    judged = [scores[row_indices[position]] for position in kept]
    labels = None if groups is None else [groups[position] for position in kept]
    return {
        field: bootstrap_mean_interval([as_number(s[field]) for s in judged], resamples, confidence, seed, labels)
        for field in JUDGE_FIELDS
    }
