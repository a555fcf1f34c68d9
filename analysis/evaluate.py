"""Image-level evaluation of an ablation run as pure functions of its rows and scores.

The workflow that reads the run folder, loads the evaluator models, scores the images and writes ``results.jsonl``
and ``evaluation.json`` is :func:`attnmod.workflows.evaluate_run` (``attnmod evaluate RUN``; the file's schema is in
its docstring). This module holds what it computes from rows and per-item scores:

* :func:`variant_scores`, one variant's entry of ``evaluation.json``: ``{"n", "clip_score", "clip_truncated",
  "fid", "fid_images", "reward", "judge"}``, where ``clip_score``, ``reward`` and each judge field are
  ``{"mean", "low", "high", "n"}``, a percentile-bootstrap confidence interval of the mean over the variant's items;
* :func:`merge_item_scores`, the per-item fields written back into the rows (stale values of rows not scored this
  time are removed);
* the warnings the evaluation reports, and :func:`format_evaluation`, the summary as the command prints it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path

from .image_metrics import bootstrap_mean_interval
from .judge.evaluation import JUDGE_FIELDS, judge_summary

#: The per-item fields CLIP and the preference model add to a results row.
ITEM_FIELDS = ("clip_score", "clip_truncated", "reward")


@dataclasses.dataclass
class RunItem:
    """One finished item of a run, with the row it came from."""

    row_index: int
    item_id: str
    prompt: str
    variant: str
    image: Path


def by_variant(items: Iterable[RunItem]) -> dict[str, list[RunItem]]:
    """Items grouped by variant, variants in order of first appearance."""
    groups: dict[str, list[RunItem]] = {}
    for item in items:
        groups.setdefault(item.variant, []).append(item)
    return groups


def variant_scores(
    members: Sequence[RunItem],
    clip_scores: dict[int, float] | None,
    truncated: dict[int, bool] | None,
    rewards: dict[int, float] | None,
    judged: dict[int, dict] | None,
    fid: float | None,
    resamples: int,
    confidence: float,
    seed: int,
) -> dict:
    """One variant's entry of ``evaluation.json`` from per-item scores keyed by row index. ``None`` for a score
    that was not run (CLIP, reward, judge) leaves its fields null; ``fid`` is the variant's Frechet distance or
    None."""
    indices = [m.row_index for m in members]
    prompts = [m.prompt for m in members]  # intervals resample prompts, each with all its seeds
    return {
        "n": len(members),
        "clip_score": (
            bootstrap_mean_interval([clip_scores[i] for i in indices], resamples, confidence, seed, prompts)
            if clip_scores is not None
            else None
        ),
        "clip_truncated": sum(truncated[i] for i in indices) if truncated is not None else None,
        "fid": fid,
        "fid_images": len(members) if fid is not None else 0,
        "reward": (
            bootstrap_mean_interval([rewards[i] for i in indices], resamples, confidence, seed, prompts)
            if rewards is not None
            else None
        ),
        "judge": judge_summary(judged, indices, resamples, confidence, seed, prompts) if judged is not None else None,
    }


def merge_item_scores(
    rows: list[dict],
    clip_scores: dict[int, float],
    truncated: dict[int, bool],
    rewards: dict[int, float] | None,
    judged: dict[int, dict],
) -> list[dict]:
    """Write per-item scores (keyed by row index) into ``rows`` in place and return them. Every row first loses
    the evaluation's fields, so a row not scored this time keeps no stale value; ``reward`` is set only when a
    preference model ran (``rewards`` not None)."""
    for index, row in enumerate(rows):
        for field in ITEM_FIELDS + JUDGE_FIELDS:
            row.pop(field, None)
        if index in judged:
            row.update(judged[index])
        if index in clip_scores:
            row["clip_score"] = clip_scores[index]
            row["clip_truncated"] = truncated[index]
            if rewards is not None:
                row["reward"] = rewards[index]
    return rows


def unreadable_lines_warning(unreadable: Sequence[tuple[int, str]], results_name: str) -> str:
    """The warning for damaged lines of ``results.jsonl`` (``(line number, reason)`` pairs; at most 5 listed)."""
    lines = ", ".join(str(number) for number, _ in unreadable[:5]) + (" ..." if len(unreadable) > 5 else "")
    return (
        f"skipped {len(unreadable)} unreadable line(s) of {results_name} (line {lines}; first: "
        f"{unreadable[0][1]}); they are kept as they are in the rewritten file"
    )


def provenance_warnings(provenance: dict, feature_model: str, image_size: int) -> list[str]:
    """Warnings when saved reference statistics were made another way than this evaluation's features."""
    warnings = []
    saved_size = provenance.get("image_size")
    if saved_size is not None and str(saved_size) != str(image_size):
        warnings.append(
            f"the FID reference statistics were computed at image size {saved_size}, this evaluation uses "
            f"{image_size}: FID values are not comparable"
        )
    saved_model = provenance.get("feature_model")
    if saved_model and Path(saved_model).name != Path(feature_model).name:
        warnings.append(
            f"the FID reference statistics were computed with {saved_model!r}, this evaluation uses "
            f"{feature_model!r}: check that they are the same network"
        )
    return warnings


def small_fid_warning(variant_sizes: Iterable[int], features: int) -> str | None:
    """A warning when the smallest variant has fewer images than the feature network has features."""
    smallest = min(variant_sizes)
    if smallest >= features:
        return None
    return (
        f"FID from {smallest} images per variant, fewer than the {features} features: such FID "
        "is biased upward and only comparable between variants of equal size, not with published values"
    )


def judge_table(summary: dict) -> str:
    """One line per variant: each judge score's mean and interval (``-`` where it applied to no item)."""
    names = [field.removeprefix("judge_") for field in JUDGE_FIELDS]
    lines = [f"{'variant':<24} " + " ".join(f"{name:<22}" for name in names).rstrip()]
    for variant, scores in summary["variants"].items():
        judged = scores.get("judge") or {}
        cells = [_interval_text(judged.get(field)) for field in JUDGE_FIELDS]
        lines.append(f"{variant:<24} " + " ".join(f"{cell:<22}" for cell in cells).rstrip())
    return "\n".join(lines)


def _interval_text(interval: dict | None) -> str:
    if not interval or interval.get("mean") is None:
        return "-"
    return f"{interval['mean']:.2f} [{interval['low']:.2f}, {interval['high']:.2f}]"


def format_evaluation(summary: dict, warnings: bool = True) -> str:
    """The summary as a plain-text table: one line per variant, intervals in brackets; then the warnings, unless
    ``warnings`` is False (the command line prints them on stderr)."""
    level = round(100 * summary.get("confidence", 0.95))
    header = f"{'variant':<24} {'n':>4}  {f'CLIP score ({level}% CI)':<26} {'FID':>10}  {f'reward ({level}% CI)':<26}"
    lines = [
        f"CLIP {summary['clip_backbone']} ({summary['clip_model']}), context {summary['clip_context_length']} tokens"
        if summary.get("clip_model")
        else "CLIP not run",
        header.rstrip(),
    ]
    for variant, scores in summary["variants"].items():
        fid = "-" if scores["fid"] is None else f"{scores['fid']:.3f}"
        lines.append(
            f"{variant:<24} {scores['n']:>4}  {_interval_text(scores['clip_score']):<26} {fid:>10}  "
            f"{_interval_text(scores['reward']):<26}".rstrip()
        )
    if summary.get("judge"):
        lines.append(f"judge {summary['judge']} ({summary.get('items_judged', 0)} items judged; rates, {level}% CI):")
        lines.append(judge_table(summary))
    lines.append(
        f"{summary['truncated_captions']} caption(s) longer than {summary['clip_context_length']} tokens were "
        f"truncated; {summary['items_scored']} items scored, {summary['items_skipped']} skipped"
        if summary.get("clip_model")
        else f"{summary['items_scored']} items scored, {summary['items_skipped']} skipped"
    )
    if warnings:
        lines.extend(f"warning: {w}" for w in summary["warnings"])
    return "\n".join(lines)
