"""The shapes judge over a run's items: what ``attnmod evaluate RUN --judge shapes`` adds.

Per item (a ``results.jsonl`` row whose scene is known) the judge's scores (:meth:`JudgeResult.metrics
<attnmod.analysis.judge.JudgeResult.metrics>`): ``judge_object_accuracy`` (share of named objects found with shape
and colour), ``judge_colour_binding``, ``judge_count``, ``judge_relation``, ``judge_all_correct``,
``judge_missing``, ``judge_wrong_colour``, ``judge_merged``; booleans, None where a verdict does not apply
(binding without any named shape drawn, relation without a stated relation).

Per variant, each score's mean (booleans as 0/1: a rate) with a percentile-bootstrap interval over the variant's
items, from :func:`~attnmod.analysis.image_metrics.bootstrap_mean_interval`.

An item's scene comes from its row's ``metadata.scene`` (the ``shapes:`` prompt source writes it) or from
``scene.json`` in its folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..toolkit.shapes_world import Scene

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
)
SCENE_FILE = "scene.json"


def item_scene(row: dict, folder: Path | None) -> Scene | None:
    """The scene an item was asked to draw, or None when the row and its folder hold none (or a damaged one)."""
    metadata = row.get("metadata")
    data = metadata.get("scene") if isinstance(metadata, dict) else None
    if data is None and folder is not None and (folder / SCENE_FILE).is_file():
        try:
            data = json.loads((folder / SCENE_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
    if not isinstance(data, dict):
        return None
    try:
        return Scene.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def judge_items(items: Sequence, rows: Sequence[dict], progress: bool = False) -> tuple[dict[int, dict], list[str]]:
    """Judge every item (``RunItem``: ``row_index``, ``item_id``, ``image``) whose scene is known.

    Returns ``({row_index: {field: value}}, warnings)``; items without a scene are left out with one warning."""
    from PIL import Image
    from tqdm.auto import tqdm

    from .judge import judge_image

    scores: dict[int, dict] = {}
    without = []
    for item in tqdm(items, desc="judge", disable=not progress, unit="image"):
        scene = item_scene(rows[item.row_index], item.image.parent)
        if scene is None:
            without.append(item.item_id)
            continue
        with Image.open(item.image) as picture:
            result = judge_image(picture.convert("RGB"), scene)
        scores[item.row_index] = result.metrics()
    warnings = []
    if without:
        shown = ", ".join(without[:3]) + (" ..." if len(without) > 3 else "")
        warnings.append(
            f"{len(without)} item(s) have no shapes-world scene (metadata.scene or {SCENE_FILE}) and were not judged: "
            f"{shown}; use a shapes: prompt source"
        )
    return scores, warnings


def as_number(value) -> float | None:
    return None if value is None else float(value)


def judge_summary(
    scores: dict[int, dict], row_indices: Sequence[int], resamples: int, confidence: float, seed: int
) -> dict | None:
    """``{field: {"mean", "low", "high", "n"}}`` over the judged items among ``row_indices`` (None if none)."""
    from .image_metrics import bootstrap_mean_interval

    judged = [scores[i] for i in row_indices if i in scores]
    if not judged:
        return None
    return {
        field: bootstrap_mean_interval([as_number(s[field]) for s in judged], resamples, confidence, seed)
        for field in JUDGE_FIELDS
    }
