"""Image-level evaluation of an ablation run: what ``attnmod evaluate RUN`` does.

Reads ``RUN/results.jsonl`` (one row per item: ``id, prompt, seed, variant, status, folder``, ...) and each finished
item's ``RUN/{folder}/image.png``, then

* adds to every scored row ``clip_score`` (``100 * max(cos, 0)``), ``clip_truncated`` (bool) and, with a reward
  model, ``reward``; rows that were not scored lose stale values of these fields. The file is rewritten atomically
  (temporary file + rename), and only if no other process changed it meanwhile;
* with ``judge="shapes"``, adds the shapes-world judge's per-item scores (``judge_*``, see
  :mod:`attnmod.analysis.judge_evaluation`) to every row whose scene is known; CLIP runs only when ``clip_model``
  is given (None skips it, and its fields are null);
* writes ``RUN/evaluation.json``, the per-variant summary::

    {"clip_model": str | null, "clip_backbone": str | null, "clip_context_length": int | null,
     "judge": str | null, "items_judged": int,
     "reward_model": str | null, "reward_kind": str | null,
     "fid_feature_model": str | null, "fid_reference": str | null, "fid_reference_images": int | null,
     "fid_reference_stats": str | null, "fid_image_size": int,
     "confidence": float, "bootstrap_resamples": int, "device": str,
     "variants": {VARIANT: {"n": int,
                            "clip_score": {"mean", "low", "high", "n"},
                            "clip_truncated": int,
                            "fid": float | null, "fid_images": int,
                            "reward": {"mean", "low", "high", "n"} | null,
                            "judge": {JUDGE_FIELD: {"mean", "low", "high", "n"}} | null}},
     "truncated_captions": int, "items_scored": int, "items_skipped": int, "warnings": [str]}

  ``low``/``high`` bound a percentile-bootstrap confidence interval of the mean over the variant's items. FID has
  no interval (one number per variant against the reference set).

Evaluation runs in one process on one device; ``devices`` is accepted for symmetry with ``attnmod ablate``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path

from ..toolkit.devices import resolve_device
from ..toolkit.errors import AttnmodError
from ..toolkit.run_files import read_jsonl, write_atomic
from .fid import FeatureStatistics, environment_fid_model, feature_statistics, frechet_distance, load_feature_model
from .image_metrics import (
    DEFAULT_CLIP_MODEL,
    STATISTICS_SUFFIXES,
    ClipScorer,
    bootstrap_mean_interval,
    list_images,
    load_clip,
    load_reward_model,
    read_image_tensor,
)
from .judge_evaluation import JUDGE_FIELDS, JUDGES, judge_items, judge_summary

RESULTS_FILE = "results.jsonl"
EVALUATION_FILE = "evaluation.json"
REFERENCE_STATS_FILE = "fid_reference_stats.safetensors"
ITEM_FIELDS = ("clip_score", "clip_truncated", "reward")


@dataclasses.dataclass
class RunItem:
    """One finished item of a run, with the row it came from."""

    row_index: int
    item_id: str
    prompt: str
    variant: str
    image: Path


def read_results(run_dir: str | Path, skipped: list | None = None) -> list[dict]:
    """The rows of ``RUN/results.jsonl`` in file order, read by the run files' one reader: blank lines are
    ignored and damaged lines (not UTF-8, not JSON, not an object) skipped; ``skipped`` receives their
    ``(line number, reason)`` pairs."""
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        raise AttnmodError(f"{str(path)!r} does not exist: pass the folder of a run written by `attnmod ablate`")
    read = read_jsonl(path, require=None)
    if skipped is not None:
        skipped.extend(read.skipped)
    return read.rows


def select_items(run_dir: str | Path, rows: Sequence[dict]) -> tuple[list[RunItem], list[str]]:
    """The rows that can be scored (status "done", a prompt and an image on disk), and warnings for the rest.

    The image is ``RUN/{folder}/image.png``; rows without ``folder`` use ``RUN/items/{id}``.
    """
    run = Path(run_dir)
    items, warnings = [], []
    for index, row in enumerate(rows):
        if row.get("status", "done") != "done":
            continue
        item_id = str(row.get("id", index))
        folder = run / str(row["folder"]) if row.get("folder") else run / "items" / item_id
        image = folder / "image.png"
        prompt = row.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            warnings.append(f"item {item_id}: no prompt in results.jsonl, not scored")
        elif not image.is_file():
            warnings.append(f"item {item_id}: {str(image)!r} is missing, not scored")
        else:
            variant = str(row.get("variant") or "default")
            items.append(RunItem(index, item_id, prompt, variant, image))
    return items, warnings


def _run_status(run: Path) -> str | None:
    """``status`` from ``RUN/run.json`` as `attnmod ablate` writes it, or None."""
    try:
        info = json.loads((run / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info.get("status") if isinstance(info, dict) else None


def _file_signature(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _provenance_warnings(provenance: dict, feature_model: str, image_size: int) -> list[str]:
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


def _resolve_fid_inputs(fid_reference: str | None, fid_model: str | None) -> tuple[Path | None, str | None]:
    if fid_reference is None:
        if fid_model is not None:
            raise AttnmodError("an FID feature model was given without --fid-reference (a folder or statistics file)")
        return None, None
    reference = Path(fid_reference).expanduser()
    if not reference.exists():
        raise AttnmodError(
            f"FID reference {fid_reference!r} does not exist: pass a folder of reference images or a statistics "
            f"file ({' or '.join(STATISTICS_SUFFIXES)} with mu and sigma)"
        )
    if reference.is_file() and reference.suffix not in STATISTICS_SUFFIXES:
        raise AttnmodError(
            f"FID reference {fid_reference!r} is a file but not statistics ({' or '.join(STATISTICS_SUFFIXES)})"
        )
    model = fid_model or environment_fid_model()
    if model is None:
        raise AttnmodError(
            "FID needs a local feature network: pass --fid-model PATH (or set ATTNMOD_FID_MODEL), a TorchScript or "
            ".pt2 file mapping uint8 images [N, 3, H, W] to features [N, D]; nothing is downloaded"
        )
    return reference, model


def evaluate_run(
    run_dir: str | Path,
    clip_model: str | None = DEFAULT_CLIP_MODEL,
    fid_reference: str | Path | None = None,
    reward_model: str | None = None,
    devices: int = 1,
    *,
    fid_model: str | None = None,
    device: str = "auto",
    batch_size: int = 16,
    fid_image_size: int = 299,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    progress: bool = False,
    judge: str | None = None,
) -> dict:
    """Score a run's images, merge per-item scores into ``results.jsonl`` and write ``evaluation.json``.

    ``clip_model``: a local CLIP folder or a hub id present in the local cache. ``fid_reference``: a folder of
    reference images (their statistics are saved to ``RUN/fid_reference_stats.safetensors`` for reuse) or a
    ``.npz``/``.safetensors`` file with ``mu``/``sigma``; it needs ``fid_model`` (or ``$ATTNMOD_FID_MODEL``), a
    TorchScript or ``.pt2`` feature network. ``reward_model``: a local CLIP-form preference model folder.
    ``judge``: "shapes" to judge images against their shapes-world scenes (no model needed); ``clip_model=None``
    skips CLIP. Returns the summary written to ``evaluation.json``.
    """
    from tqdm.auto import tqdm

    run = Path(run_dir)
    if not run.is_dir():
        raise AttnmodError(f"run folder {str(run)!r} does not exist")
    if batch_size < 1:
        raise AttnmodError(f"batch size must be at least 1, got {batch_size}")
    if fid_image_size < 0:
        raise AttnmodError(f"FID image size must be 0 (keep sizes) or positive, got {fid_image_size}")
    if judge is not None and judge not in JUDGES:
        raise AttnmodError(f"unknown judge {judge!r}; judges: {', '.join(JUDGES)}")
    results_path = run / RESULTS_FILE
    unreadable: list = []
    rows = read_results(run, unreadable)
    signature = _file_signature(results_path)
    items, warnings = select_items(run, rows)
    if unreadable:
        # They are left out of the rewritten results.jsonl: nothing in them can be scored or restored.
        lines = ", ".join(str(number) for number, _ in unreadable[:5]) + (" ..." if len(unreadable) > 5 else "")
        warnings.append(
            f"skipped {len(unreadable)} unreadable line(s) of {RESULTS_FILE} (line {lines}; first: "
            f"{unreadable[0][1]}); they are dropped from the rewritten file"
        )
    if _run_status(run) == "running":
        warnings.append("run.json says the run is still running (or was killed): its results may be incomplete")
    if not items:
        raise AttnmodError(f"run {str(run)!r} has no finished items with an image to score")
    reference, fid_model_path = _resolve_fid_inputs(None if fid_reference is None else str(fid_reference), fid_model)
    torch_device = resolve_device(device)
    if devices > 1:
        warnings.append(f"evaluation runs in one process on {torch_device}; --devices {devices} is not split")

    # Load every model before scoring anything, so a missing file fails in seconds, not after the CLIP pass.
    clip = ClipScorer(load_clip(clip_model, device=str(torch_device))) if clip_model else None
    reward = load_reward_model(reward_model, device=str(torch_device)) if reward_model else None
    extractor = reference_stats = None
    reference_images = None
    stats_written = None
    if reference is not None:
        extractor = load_feature_model(fid_model_path, device=str(torch_device), image_size=fid_image_size)
        if reference.is_dir():
            paths = list_images(reference)
            if len(paths) < 2:
                raise AttnmodError(f"FID reference folder {str(reference)!r} holds {len(paths)} images; needs >= 2")
            reference_stats = feature_statistics(
                extractor, paths, fid_image_size, batch_size, progress, description="FID reference"
            )
            reference_images = len(paths)
            stats_written = str(reference_stats.save(run / REFERENCE_STATS_FILE))
        else:
            reference_stats = FeatureStatistics.load(reference)
            reference_images = reference_stats.count or None
            warnings.extend(_provenance_warnings(reference_stats.provenance, fid_model_path, fid_image_size))
        if reference_stats.dimension != extractor.num_features:
            raise AttnmodError(
                f"FID reference statistics have {reference_stats.dimension} features but {fid_model_path!r} gives "
                f"{extractor.num_features}: compute the reference with the same feature model"
            )

    clip_scores: dict[int, float] = {}
    truncated: dict[int, bool] = {}
    rewards: dict[int, float] = {}
    batches = [items[start : start + batch_size] for start in range(0, len(items), batch_size)]
    for batch in tqdm(batches, desc="CLIP score", disable=not progress or clip is None, unit="batch"):
        if clip is None:
            break
        images = [read_image_tensor(item.image) for item in batch]
        captions = [item.prompt for item in batch]
        scores = clip.score(images, captions)
        for item, value, cut in zip(batch, scores.clip_score, scores.truncated, strict=True):
            clip_scores[item.row_index] = value
            truncated[item.row_index] = cut
        if reward is not None:
            for item, value in zip(batch, reward.score(images, captions), strict=True):
                rewards[item.row_index] = value

    judged: dict[int, dict] = {}
    if judge:
        judged, judge_warnings = judge_items(items, rows, progress)
        warnings.extend(judge_warnings)

    by_variant: dict[str, list[RunItem]] = {}
    for item in items:
        by_variant.setdefault(item.variant, []).append(item)
    variants = {}
    for variant, members in by_variant.items():
        fid = None
        if reference_stats is not None:
            if len(members) < 2:
                warnings.append(f"variant {variant}: {len(members)} image, FID needs at least 2")
            else:
                generated = feature_statistics(
                    extractor,
                    [m.image for m in members],
                    fid_image_size,
                    batch_size,
                    progress,
                    description=f"FID {variant}",
                )
                fid = frechet_distance(reference_stats, generated)
                if not math.isfinite(fid):
                    warnings.append(f"variant {variant}: FID is not finite (degenerate features), left out")
                    fid = None
        indices = [m.row_index for m in members]
        variants[variant] = {
            "n": len(members),
            "clip_score": (
                bootstrap_mean_interval([clip_scores[i] for i in indices], resamples, confidence, seed)
                if clip is not None
                else None
            ),
            "clip_truncated": sum(truncated[i] for i in indices) if clip is not None else None,
            "fid": fid,
            "fid_images": len(members) if fid is not None else 0,
            "reward": (
                bootstrap_mean_interval([rewards[i] for i in indices], resamples, confidence, seed)
                if reward is not None
                else None
            ),
            "judge": judge_summary(judged, indices, resamples, confidence, seed) if judge else None,
        }
    if extractor is not None:
        smallest = min(len(members) for members in by_variant.values())
        if smallest < extractor.num_features:
            warnings.append(
                f"FID from {smallest} images per variant, fewer than the {extractor.num_features} features: such FID "
                "is biased upward and only comparable between variants of equal size, not with published values"
            )

    for index, row in enumerate(rows):
        for field in ITEM_FIELDS + JUDGE_FIELDS:
            row.pop(field, None)
        if index in judged:
            row.update(judged[index])
        if index in clip_scores:
            row["clip_score"] = clip_scores[index]
            row["clip_truncated"] = truncated[index]
            if reward is not None:
                row["reward"] = rewards[index]
    if _file_signature(results_path) != signature:
        raise AttnmodError(
            f"{str(results_path)!r} changed while evaluating (is `attnmod ablate` still writing it?): "
            "nothing was written; run evaluate again when the run is finished"
        )
    write_atomic(results_path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))

    summary = {
        "clip_model": clip_model if clip is not None else None,
        "clip_backbone": clip.bundle.backbone if clip is not None else None,
        "clip_context_length": clip.bundle.context_length if clip is not None else None,
        "judge": judge,
        "items_judged": len(judged),
        "reward_model": reward_model,
        "reward_kind": reward.kind if reward is not None else None,
        "fid_feature_model": fid_model_path,
        "fid_reference": str(reference) if reference is not None else None,
        "fid_reference_images": reference_images,
        "fid_reference_stats": stats_written,
        "fid_image_size": fid_image_size,
        "confidence": confidence,
        "bootstrap_resamples": resamples,
        "device": str(torch_device),
        "variants": variants,
        "truncated_captions": sum(truncated.values()),
        "items_scored": len(items),
        "items_skipped": len(rows) - len(items),
        "warnings": warnings,
    }
    write_atomic(run / EVALUATION_FILE, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


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


def format_evaluation(summary: dict) -> str:
    """The summary as a plain-text table: one line per variant, intervals in brackets."""
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
    lines.extend(f"warning: {w}" for w in summary["warnings"])
    return "\n".join(lines)
