"""Workflows: generate, score, write folders and build reports; each one call from Python, the same as its command.

* :func:`run_diagnosis` (``attnmod diagnose``): baseline (``none``) and a modulated variant with the same seed,
  scored and judged, written as a diagnosis folder (``diagnosis.json``, images, records, ``report.html/pdf``).
* :func:`analyze_path` (``attnmod analyze``): scores and verdicts of saved attention records, without the model.
* :func:`rescore_diagnosis` (``attnmod analyze DIR --update``): a diagnosis folder re-scored and rewritten.
* :func:`evaluate_run` (``attnmod evaluate``): image-level scores of an ablation run (CLIP score, FID, preference,
  the shapes judge) merged into its ``results.jsonl`` and summarised in ``evaluation.json``.

This module sits above :mod:`attnmod.analysis` (pure functions of records and trees) and :mod:`attnmod.reports`
(figures and documents); ``cli.py`` only parses options, calls one of these and prints.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

from .analysis.evaluate import (
    RunItem,
    by_variant,
    merge_item_scores,
    provenance_warnings,
    small_fid_warning,
    unreadable_lines_warning,
    variant_scores,
)
from .analysis.image_metrics import DEFAULT_CLIP_MODEL
from .analysis.information_flow import model_reading
from .analysis.schema import DIAGNOSIS_FORMAT, write_diagnosis
from .analysis.scoring import score_record, summary_metrics
from .analysis.thresholds import Thresholds
from .analysis.verdicts import compare_scores, ranked_findings, verdicts
from .toolkit.errors import AttnmodError
from .toolkit.modulation.record import METADATA_FILE, AttentionRecord
from .toolkit.probe import known_figures
from .toolkit.prompt.tree import PromptTree
from .toolkit.run_files import (
    DIAGNOSIS_FILE,
    EVALUATION_FILE,
    IMAGE_FILE,
    ITEMS_FOLDER,
    NO_VARIANT,
    PARSE_FILE,
    REFERENCE_STATS_FILE,
    RESULTS_FILE,
    ROLES,
    RUN_FILE,
    image_decode_problem,
    json_number,
    read_jsonl,
    resolve_generation_settings,
    role_image,
    software_versions,
    write_atomic,
)
from .toolkit.threads import thread_record

#: The report formats a diagnosis writes unless told otherwise (the same as ``attnmod diagnose``).
REPORT_FORMATS = ("html", "pdf")


# ---- the diagnosis run ----


def _with_capture(config, self_attention: bool):
    return dataclasses.replace(config, capture=dataclasses.replace(config.capture, self_attention=self_attention))


def run_diagnosis(
    model,
    prompt: str,
    variant: str = "full",
    seed: int = 0,
    steps: int | None = None,
    guidance: float = 5.0,
    height: int | None = None,
    width: int | None = None,
    out_dir: str | Path = "diagnosis",
    thresholds: Thresholds | None = None,
    config=None,
    tree: PromptTree | None = None,
    parser: str = "auto",
    self_attention: bool = True,
    attribute: bool = False,
    attribution_steps: int = 16,
    progress: bool = False,
    formats: str | Sequence[str] | None = REPORT_FORMATS,
) -> dict:
    """Generate ``prompt`` without modulation (``none``) and with ``variant`` (or ``config``), same seed and
    settings, attention captured (self-attention too when ``self_attention``), score and judge both, and write
    ``out_dir/diagnosis.json``, ``baseline.png``, ``modulated.png`` and each variant's folder (``baseline/``,
    ``modulated/``: image, parse, config, attention record), then the diagnosis report in each of ``formats``
    (``report.html``, ``report.pdf``; ``"none"`` or empty: no report). Returns the diagnosis dict, as written.

    ``model`` is a :class:`~attnmod.toolkit.models.loading.LoadedModel`; ``steps``/``height``/``width`` default to the
    model's defaults. With ``attribute``, captum attributions of the baseline's leakage (and of each misbound
    attribute's binding) are added (see :mod:`attnmod.analysis.attribution`).
    """
    from .toolkit import generation
    from .toolkit.modulation.config import ModulationConfig

    report_formats = _report_formats(formats)

    started = time.perf_counter()
    thresholds = thresholds or Thresholds()
    size = resolve_generation_settings(model, steps, height, width)
    steps, height, width = size["steps"], size["height"], size["width"]
    modulated_config = config if config is not None else ModulationConfig.from_variant(variant)
    modulated_config = _with_capture(modulated_config, self_attention)
    baseline_config = _with_capture(ModulationConfig.from_variant("none"), self_attention)
    baseline_config = dataclasses.replace(baseline_config, capture=modulated_config.capture)
    if tree is None:
        from .toolkit.prompt.parse import parse_prompt

        tree = parse_prompt(prompt, tokenizers=model.tokenizers, parser=parser)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AttnmodError(f"cannot create output folder {str(out)!r}: {error}") from error

    variants, images, pictures, scores = {}, {}, {}, {}
    for role, role_config in (("baseline", baseline_config), ("modulated", modulated_config)):
        result = generation.generate(
            model,
            prompt,
            role_config,
            seeds=seed,
            steps=steps,
            guidance=guidance,
            height=height,
            width=width,
            capture=True,
            trees=[tree],
            progress=progress,
        )[0]
        generation.save_generation(result, out / role)
        write_atomic(out / role_image(role), (out / role / IMAGE_FILE).read_bytes())
        scores[role] = score_record(result.record, tree, thresholds)
        # The maps after modulation, labelled as such (scores.maps == "applied"): shaped by the modulation itself,
        # so they are shown for reference and never scored as the run's result.
        applied = score_record(result.record, tree, thresholds, source="applied") if result.record.applied else None
        variants[role] = {
            "variant": role_config.variant,
            "config": role_config.to_json(),
            "image": role_image(role),
            "record": f"{role}/",
            "seconds": round(result.seconds, 4),
            "warnings": list(result.warnings),
            "scores": scores[role].to_json(),
            "summary": {k: json_number(v) for k, v in summary_metrics(scores[role]).items()},
            "verdicts": verdicts(scores[role], thresholds),
            "applied_scores": applied.to_json() if applied is not None else None,
        }
        images[role] = role_image(role)
        pictures[role] = result.image
        settings = result.settings

    name = modulated_config.variant
    comparison = compare_scores(scores["baseline"], scores["modulated"], name)
    attributions = None
    if attribute:
        from .analysis.attribution import diagnosis_attributions

        attributions = diagnosis_attributions(
            model, prompt, tree, scores["baseline"], seed=seed, steps=steps, n_steps=attribution_steps
        )
    summary_lines = [f"with {name}: {line}" for line in variants["modulated"]["verdicts"]]
    all_verdicts = (
        [f"without modulation: {line}" for line in variants["baseline"]["verdicts"]]
        + summary_lines
        + comparison["verdicts"]
    )
    data = {
        "format": DIAGNOSIS_FORMAT,
        "prompt": prompt,
        "truth": judge_diagnosis(model, prompt, pictures, {role: v["variant"] for role, v in variants.items()}),
        "settings": {
            "model": str(settings["model"]),
            "family": str(settings["family"]),
            "seed": int(seed),
            "steps": int(steps),
            "guidance": float(guidance),
            "height": int(height),
            "width": int(width),
            "device": str(settings["device"]),
            "dtype": str(settings["dtype"]),
            "threads": thread_record(),  # the thread policy in effect (toolkit/threads.py)
        },
        "tree": tree.to_json(),
        "thresholds": thresholds.to_json(),
        "variants": variants,
        "comparison": comparison,
        "verdicts": all_verdicts,
        "findings": ranked_findings(all_verdicts),
        "attributions": attributions,
        "images": images,
        "versions": software_versions(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    # What the model's measured information flow means for every verdict above (docs/information_flow.md).
    data["information_flow"] = model_reading(known_figures(str(settings["model"])))
    write_diagnosis(data, out)
    if report_formats:
        from .reports.diagnosis_report import write_diagnosis_report

        write_diagnosis_report(out, formats=report_formats)
    return data


def judge_diagnosis(model, prompt: str, images: dict, variants: dict[str, str]) -> dict | None:
    """The ``truth`` section of a diagnosis (:func:`attnmod.analysis.judge.truth.truth_section`): the shapes judge's
    reading of each image, when ``prompt`` is a caption of the shapes world and ``model`` was trained on it; else
    None (nothing is known about the image but what attention suggests)."""
    from .toolkit.models.shapes import trained_on_world
    from .toolkit.shapes_world import scene_from_caption

    scene = scene_from_caption(prompt) if trained_on_world(model) else None
    if scene is None:
        return None
    from .analysis.judge.image import judge_image
    from .analysis.judge.truth import truth_section

    return truth_section(scene, {role: judge_image(image, scene) for role, image in images.items()}, variants)


def diagnosis_files(formats: str | Sequence[str] = REPORT_FORMATS) -> list[str]:
    """What :func:`run_diagnosis` writes into its folder with these report ``formats`` (folders end in ``/``)."""
    return [DIAGNOSIS_FILE, *(role_image(role) for role in ROLES), *(f"{role}/" for role in ROLES)] + [
        f"report.{name}" for name in _report_formats(formats)
    ]


def _report_formats(formats: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"html,pdf"``, a sequence of names, or ``"none"``/empty/None for no report -> checked format names."""
    if formats is None or (isinstance(formats, str) and formats.strip().lower() in ("", "none")) or not formats:
        return ()
    from .reports.html import parse_formats

    return parse_formats(formats)


# ---- re-analysis of saved records ----


def find_records(path: str | Path) -> list[Path]:
    """Folders holding an attention record: ``path`` itself (a folder or either file of a record), else every
    folder below it with an ``attention.json``, sorted."""
    path = Path(path)
    if not path.exists():
        raise AttnmodError(f"{str(path)!r} does not exist")
    if path.is_file():
        return [path.parent]
    if (path / METADATA_FILE).is_file():
        return [path]
    found = sorted(p.parent for p in path.rglob(METADATA_FILE))
    if not found:
        raise AttnmodError(f"no attention record (attention.json + attention.safetensors) under {str(path)!r}")
    return found


def _tree_for(folder: Path, record: AttentionRecord) -> PromptTree:
    if record.tree is not None:
        return record.tree
    parse_file = folder / PARSE_FILE
    if parse_file.is_file():
        try:
            return PromptTree.from_json(json.loads(parse_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise AttnmodError(f"{str(parse_file)!r} is not a valid prompt tree: {error}") from error
    raise AttnmodError(f"the record in {str(folder)!r} carries no prompt tree and there is no parse.json beside it")


def analyze_path(path: str | Path, thresholds: Thresholds | None = None) -> dict:
    """Recompute scores, summaries and verdicts of every attention record at ``path``, without the model.

    Returns ``{"thresholds", "items": [{"path", "prompt", "variant", "scores", "summary", "verdicts"}],
    "comparison"}`` as JSON (``scores``: :meth:`RecordScores.to_json`); ``comparison`` (see :func:`compare_scores`)
    is filled for a diagnosis folder with ``baseline/`` and ``modulated/`` records, else null.
    """
    thresholds = thresholds or Thresholds()
    items, scored = [], {}
    for folder in find_records(path):
        record = AttentionRecord.load(folder)
        tree = _tree_for(folder, record)
        scores = scored[folder.name] = score_record(record, tree, thresholds)
        items.append(
            {
                "path": str(folder),
                "prompt": tree.prompt,
                "variant": record.metadata.get("variant"),
                "scores": scores.to_json(),
                "summary": {k: json_number(v) for k, v in summary_metrics(scores).items()},
                "verdicts": verdicts(scores, thresholds),
            }
        )
    comparison = None
    roles = {Path(item["path"]).name: item for item in items}
    if len(items) == 2 and set(roles) == {"baseline", "modulated"}:
        comparison = compare_scores(
            scored["baseline"], scored["modulated"], roles["modulated"]["variant"] or "modulated"
        )
    return {"thresholds": thresholds.to_json(), "items": items, "comparison": comparison}


# ---- re-scoring a diagnosis folder ----


def rescore_diagnosis(
    folder: str | Path, thresholds: Thresholds | None = None, formats: str | Sequence[str] | None = REPORT_FORMATS
) -> dict:
    """Re-score a diagnosis folder's saved attention with ``thresholds`` and rewrite its ``diagnosis.json`` (and
    report, unless ``formats`` is empty): what ``attnmod analyze DIR --update`` does. No model is loaded; the
    images, settings and attributions stay as they were. Returns the updated diagnosis."""
    from .analysis.schema import load_diagnosis

    out = Path(folder)
    data = load_diagnosis(out)
    thresholds = thresholds or Thresholds()
    tree = PromptTree.from_json(data["tree"])
    scored = {}
    for role in ROLES:
        entry = data["variants"].get(role)
        if entry is None:
            continue
        record = AttentionRecord.load(out / entry["record"])
        scores = scored[role] = score_record(record, tree, thresholds)
        entry["scores"] = scores.to_json()
        entry["summary"] = {k: json_number(v) for k, v in summary_metrics(scores).items()}
        entry["verdicts"] = verdicts(scores, thresholds)
        if entry.get("applied_scores") is not None:
            entry["applied_scores"] = score_record(record, tree, thresholds, source="applied").to_json()
    name = data["variants"]["modulated"]["variant"]
    comparison = compare_scores(scored["baseline"], scored["modulated"], name)
    data["thresholds"] = thresholds.to_json()
    data["comparison"] = comparison
    data["verdicts"] = (
        [f"without modulation: {line}" for line in data["variants"]["baseline"]["verdicts"]]
        + [f"with {name}: {line}" for line in data["variants"]["modulated"]["verdicts"]]
        + comparison["verdicts"]
    )
    write_diagnosis(data, out)
    report_formats = _report_formats(formats)
    if report_formats:
        from .reports.diagnosis_report import write_diagnosis_report

        write_diagnosis_report(out, formats=report_formats)
    return data


# ---- image-level evaluation of an ablation run ----


def read_results(run_dir: str | Path, skipped: list | None = None) -> list[dict]:
    """The rows of ``RUN/results.jsonl`` in file order, read by the run files' one reader: blank lines are
    ignored and damaged lines (not UTF-8, not JSON, not an object) skipped; ``skipped`` receives their
    ``(line number, reason)`` pairs."""
    read = _read_results_file(Path(run_dir))
    if skipped is not None:
        skipped.extend(read.skipped)
    return read.rows


def _read_results_file(run: Path):
    path = run / RESULTS_FILE
    if not path.is_file():
        raise AttnmodError(f"{str(path)!r} does not exist: pass the folder of a run written by `attnmod ablate`")
    return read_jsonl(path, require=None)


def select_items(run_dir: str | Path, rows: Sequence[dict]) -> tuple[list[RunItem], list[str]]:
    """The rows that can be scored (status "done", a prompt and a readable image), and warnings for the rest.

    An item is read from ``RUN/items/{id}/image.png`` only (:func:`~attnmod.toolkit.run_files.run_item_folder`):
    a ``folder`` field that names another place, an id that is not a plain name, or a link leading out of the
    run are not followed.
    """
    from .toolkit.run_files import run_item_folder

    run = Path(run_dir)
    items, warnings = [], []
    for index, row in enumerate(rows):
        if row.get("status", "done") != "done":
            continue
        item_id = str(row.get("id", index))
        prompt = row.get("prompt")
        try:
            folder = run_item_folder(run, item_id)
        except AttnmodError as error:
            warnings.append(f"item {item_id!r}: {error}, not scored")
            continue
        if row.get("folder") not in (None, f"{ITEMS_FOLDER}/{item_id}"):
            warnings.append(
                f"item {item_id}: its folder field {row['folder']!r} is ignored; read {ITEMS_FOLDER}/{item_id}"
            )
        image = folder / IMAGE_FILE
        if not isinstance(prompt, str) or not prompt.strip():
            warnings.append(f"item {item_id}: no prompt in {RESULTS_FILE}, not scored")
        elif not image.is_file():
            warnings.append(f"item {item_id}: {str(image)!r} is missing, not scored")
        elif (problem := _image_problem(image, folder)) is not None:
            warnings.append(f"item {item_id}: {str(image)!r} {problem}, not scored")
        else:
            variant = NO_VARIANT if row.get("variant") in (None, "") else str(row["variant"])
            items.append(RunItem(index, item_id, prompt, variant, image))
    return items, warnings


def _image_problem(image: Path, folder: Path) -> str | None:
    """Why an item's image cannot be scored (a link out of its folder, bytes that do not decode), or None."""
    if not image.resolve().is_relative_to(folder.resolve()):
        return "leads outside its item folder"
    problem = image_decode_problem(image)
    return None if problem is None else f"does not decode ({problem})"


def _run_status(run: Path) -> str | None:
    """``status`` from ``RUN/run.json`` as `attnmod ablate` writes it, or None."""
    try:
        info = json.loads((run / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info.get("status") if isinstance(info, dict) else None


def _file_signature(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _resolve_fid_inputs(fid_reference: str | None, fid_model: str | None) -> tuple[Path | None, str | None]:
    from .analysis.fid import environment_fid_model
    from .analysis.image_metrics import STATISTICS_SUFFIXES

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


def _item_scene(row: dict, folder: Path):
    """The scene an item was asked to draw: its row's ``metadata.scene``, else ``scene.json`` in its folder."""
    from .analysis.judge.evaluation import SCENE_FILE, row_scene, scene_from_json

    data = row_scene(row)
    if data is None and (folder / SCENE_FILE).is_file():
        try:
            data = json.loads((folder / SCENE_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
    return scene_from_json(data)


def _judge_items(items: Sequence[RunItem], rows: Sequence[dict], progress: bool) -> tuple[dict[int, dict], list[str]]:
    """The shapes judge's scores of every item whose scene is known, ``{row_index: {field: value}}``, and the
    warning for the others."""
    from PIL import Image
    from tqdm.auto import tqdm

    from .analysis.judge.evaluation import unjudged_warning
    from .analysis.judge.image import judge_image

    scores: dict[int, dict] = {}
    without = []
    for item in tqdm(items, desc="judge", disable=not progress, unit="image"):
        scene = _item_scene(rows[item.row_index], item.image.parent)
        if scene is None:
            without.append(item.item_id)
            continue
        with Image.open(item.image) as picture:
            scores[item.row_index] = judge_image(picture.convert("RGB"), scene).metrics()
    warning = unjudged_warning(without)
    return scores, [warning] if warning else []


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
    allow_pickle: bool = False,
) -> dict:
    """Score a run's images, merge per-item scores into ``results.jsonl`` and write ``evaluation.json``: what
    ``attnmod evaluate RUN`` does. Returns the summary written to ``evaluation.json``.

    Reads ``RUN/results.jsonl`` (one row per item: ``id, prompt, seed, variant, status, folder``, ...) and each
    finished item's ``RUN/{folder}/image.png``, then

    * adds to every scored row ``clip_score`` (``100 * max(cos, 0)``), ``clip_truncated`` (bool) and, with a reward
      model, ``reward``; rows that were not scored lose stale values of these fields. The file is rewritten
      atomically (temporary file + rename), and only if no other process changed it meanwhile;
    * with ``judge="shapes"``, adds the shapes-world judge's per-item scores (``judge_*``, see
      :mod:`attnmod.analysis.judge.evaluation`) to every row whose scene is known; CLIP runs only when
      ``clip_model`` is given (None skips it, and its fields are null);
    * writes ``RUN/evaluation.json``, the per-variant summary (each variant's entry from
      :func:`attnmod.analysis.evaluate.variant_scores`)::

        {"clip_model": str | null, "clip_backbone": str | null, "clip_context_length": int | null,
         "judge": str | null, "items_judged": int,
         "reward_model": str | null, "reward_kind": str | null,
         "fid_feature_model": str | null, "fid_reference": str | null, "fid_reference_images": int | null,
         "fid_reference_stats": str | null, "fid_image_size": int,
         "confidence": float, "bootstrap_resamples": int, "device": str, "threads": {...} | null,
         "variants": {VARIANT: {"n": int,
                                "clip_score": {"mean", "low", "high", "n"},
                                "clip_truncated": int,
                                "fid": float | null, "fid_images": int,
                                "reward": {"mean", "low", "high", "n"} | null,
                                "judge": {JUDGE_FIELD: {"mean", "low", "high", "n"}} | null}},
         "truncated_captions": int, "items_scored": int, "items_skipped": int, "warnings": [str]}

      ``low``/``high`` bound a percentile-bootstrap confidence interval of the mean over the variant's items. FID
      has no interval (one number per variant against the reference set). ``threads``: the thread policy in effect
      (:mod:`attnmod.toolkit.threads`; ``--threads`` or ``ATTNMOD_THREADS``, else the cores available).

    ``clip_model``: a local CLIP folder or a hub id present in the local cache. ``fid_reference``: a folder of
    reference images (their statistics are saved to ``RUN/fid_reference_stats.safetensors`` for reuse) or a
    ``.npz``/``.safetensors`` file with ``mu``/``sigma``; it needs ``fid_model`` (or ``$ATTNMOD_FID_MODEL``), a
    TorchScript or ``.pt2`` feature network. ``reward_model``: a local CLIP-form preference model folder.
    ``judge``: "shapes" to judge images against their shapes-world scenes (no model needed); ``clip_model=None``
    skips CLIP. Evaluation runs in one process on one device; ``devices`` is accepted for symmetry with
    ``attnmod ablate``. ``allow_pickle``: accept CLIP or reward weights stored as Python pickles
    (``pytorch_model.bin``), which can run code when loaded; refused otherwise, as for every model attnmod loads.

    The run's lock is held throughout (a running ``attnmod ablate`` is refused); items are read from
    ``RUN/items/{id}/`` only; lines of results.jsonl that cannot be read are kept as they are in the rewrite.
    """
    from .analysis.judge.evaluation import JUDGES
    from .toolkit.output_folder import RunLock

    run = Path(run_dir)
    if not run.is_dir():
        raise AttnmodError(f"run folder {str(run)!r} does not exist")
    if batch_size < 1:
        raise AttnmodError(f"batch size must be at least 1, got {batch_size}")
    if fid_image_size < 0:
        raise AttnmodError(f"FID image size must be 0 (keep sizes) or positive, got {fid_image_size}")
    if judge is not None and judge not in JUDGES:
        raise AttnmodError(f"unknown judge {judge!r}; judges: {', '.join(JUDGES)}")
    # The run's lock, held until evaluation.json is written: a running `attnmod ablate` (which rewrites
    # results.jsonl) and a second evaluate are refused instead of racing this one.
    with RunLock(run, "`attnmod ablate` run or `attnmod evaluate`"):
        return _evaluate_locked(
            run,
            clip_model,
            fid_reference,
            reward_model,
            devices,
            fid_model=fid_model,
            device=device,
            batch_size=batch_size,
            fid_image_size=fid_image_size,
            resamples=resamples,
            confidence=confidence,
            seed=seed,
            progress=progress,
            judge=judge,
            allow_pickle=allow_pickle,
        )


def _evaluate_locked(
    run: Path,
    clip_model,
    fid_reference,
    reward_model,
    devices,
    *,
    fid_model,
    device,
    batch_size,
    fid_image_size,
    resamples,
    confidence,
    seed,
    progress,
    judge,
    allow_pickle,
) -> dict:

    from .analysis.fid import load_feature_model
    from .analysis.image_metrics import ClipScorer, load_clip, load_reward_model
    from .toolkit.devices import resolve_device
    from .toolkit.threads import ensure_thread_policy

    results_path = run / RESULTS_FILE
    read = _read_results_file(run)
    rows, unreadable = read.rows, read.skipped
    signature = _file_signature(results_path)
    items, warnings = select_items(run, rows)
    if unreadable:
        # Kept verbatim in the rewritten results.jsonl: this command cannot read them, but they are not its to drop.
        warnings.append(unreadable_lines_warning(unreadable, RESULTS_FILE))
    if _run_status(run) == "running":
        warnings.append("run.json says the run is still running (or was killed): its results may be incomplete")
    if not items:
        raise AttnmodError(f"run {str(run)!r} has no finished items with an image to score")
    reference, fid_model_path = _resolve_fid_inputs(None if fid_reference is None else str(fid_reference), fid_model)
    torch_device = resolve_device(device)
    if devices > 1:
        warnings.append(f"evaluation runs in one process on {torch_device}; --devices {devices} is not split")
    threads = ensure_thread_policy()

    # Load every model before scoring anything, so a missing file fails in seconds, not after the CLIP pass.
    clip = (
        ClipScorer(load_clip(clip_model, device=str(torch_device), allow_pickle=allow_pickle)) if clip_model else None
    )
    reward = (
        load_reward_model(reward_model, device=str(torch_device), allow_pickle=allow_pickle) if reward_model else None
    )
    extractor = reference_stats = None
    reference_images = None
    stats_written = None
    if reference is not None:
        extractor = load_feature_model(fid_model_path, device=str(torch_device), image_size=fid_image_size)
        reference_stats, reference_images, stats_written = _fid_reference(
            run, reference, extractor, fid_model_path, fid_image_size, batch_size, progress, warnings
        )
    clip_scores, truncated, rewards = _clip_and_reward_scores(items, clip, reward, batch_size, progress)

    judged: dict[int, dict] = {}
    if judge:
        judged, judge_warnings = _judge_items(items, rows, progress)
        warnings.extend(judge_warnings)
        if not judged and clip is None and reward is None and reference_stats is None:
            raise AttnmodError(
                f"--judge {judge}: none of the {len(items)} items of {str(run)!r} has a scene to judge (make the run "
                "from a shapes: source); nothing was written"
            )

    groups = by_variant(items)
    variants = {}
    for variant, members in groups.items():
        fid = None
        if reference_stats is not None:
            fid = _variant_fid(
                variant, members, extractor, reference_stats, fid_image_size, batch_size, progress, warnings
            )
        variants[variant] = variant_scores(
            members,
            clip_scores if clip is not None else None,
            truncated if clip is not None else None,
            rewards if reward is not None else None,
            judged if judge else None,
            fid,
            resamples,
            confidence,
            seed,
        )
    if extractor is not None:
        warning = small_fid_warning((len(members) for members in groups.values()), extractor.num_features)
        if warning:
            warnings.append(warning)

    merge_item_scores(rows, clip_scores, truncated, rewards if reward is not None else None, judged)
    if _file_signature(results_path) != signature:
        raise AttnmodError(
            f"{str(results_path)!r} changed while evaluating (is `attnmod ablate` still writing it?): "
            "nothing was written; run evaluate again when the run is finished"
        )
    write_atomic(results_path, read.rewritten())

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
        "threads": threads,
        "variants": variants,
        "truncated_captions": sum(truncated.values()),
        "items_scored": len(items),
        "items_skipped": len(rows) - len(items),
        "warnings": warnings,
    }
    write_atomic(run / EVALUATION_FILE, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def _fid_reference(
    run: Path, reference: Path, extractor, fid_model_path, fid_image_size, batch_size, progress, warnings
):
    """The FID reference statistics ``(statistics, reference images or None, path of the statistics written or
    None)``: computed from a folder of images (and saved in the run for reuse) or read from a statistics file."""
    from .analysis.fid import FeatureStatistics, feature_statistics
    from .analysis.image_metrics import list_images

    reference_images = stats_written = None
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
        warnings.extend(provenance_warnings(reference_stats.provenance, fid_model_path, fid_image_size))
    if reference_stats.dimension != extractor.num_features:
        raise AttnmodError(
            f"FID reference statistics have {reference_stats.dimension} features but {fid_model_path!r} gives "
            f"{extractor.num_features}: compute the reference with the same feature model"
        )
    return reference_stats, reference_images, stats_written


def _clip_and_reward_scores(items, clip, reward, batch_size: int, progress: bool):
    """Per row index: the CLIP score, whether the caption was cut to the CLIP context, and the reward (empty
    without the model), in batches of ``batch_size`` images."""
    from tqdm.auto import tqdm

    from .analysis.image_metrics import read_image_tensor

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
    return clip_scores, truncated, rewards


def _variant_fid(variant, members, extractor, reference_stats, fid_image_size, batch_size, progress, warnings):
    """One variant's FID against the reference (None, with a warning, below 2 images or when not finite)."""
    from .analysis.fid import feature_statistics, frechet_distance

    if len(members) < 2:
        warnings.append(f"variant {variant}: {len(members)} image, FID needs at least 2")
        return None
    generated = feature_statistics(
        extractor, [m.image for m in members], fid_image_size, batch_size, progress, description=f"FID {variant}"
    )
    fid = frechet_distance(reference_stats, generated)
    if not math.isfinite(fid):
        warnings.append(f"variant {variant}: FID is not finite (degenerate features), left out")
        return None
    return fid


# ---- the information-flow probe ----

#: What :func:`run_probe` writes into its folder (grids: one PNG per edit, ``grids/NN-KEY.png``).
PROBE_FILE = "probe.json"
PROBE_GRIDS = "grids"
PROBE_JUDGES = ("auto", "shapes", "none")


def run_probe(
    model,
    prompt: str,
    seeds: Sequence[int] = (0, 1),
    edits: str | Sequence[str] = "default",
    encoders: str | Sequence[str] = "both",
    steps: int | None = None,
    guidance: float = 5.0,
    height: int | None = None,
    width: int | None = None,
    out_dir: str | Path | None = None,
    tree: PromptTree | None = None,
    parser: str = "auto",
    judge: str = "auto",
    batch_size: int = 8,
    progress: bool = False,
    formats: str | Sequence[str] | None = ("html",),
):
    """Probe which text positions ``prompt``'s image depends on (``attnmod probe``): generate it unedited and under
    each edit (:mod:`attnmod.toolkit.probe`) for every seed, and tabulate the effects
    (:mod:`attnmod.analysis.information_flow`). Returns ``(ProbeTable, ProbeImages)``.

    ``judge``: ``"auto"`` judges the images when the model is ``shapes`` and the prompt is a caption of the shapes
    world's grammar, ``"shapes"`` whenever the prompt is such a caption (an error otherwise), ``"none"`` never.
    With ``out_dir``: ``probe.json`` (the table), ``grids/NN-KEY.png`` (per edit: unedited seeds on top, edited
    below) and the report in each of ``formats`` (``report.html``/``report.pdf``)."""
    from .analysis.information_flow import probe_table
    from .toolkit.probe import run_probe as probe_images
    from .toolkit.shapes_world import scene_from_caption

    if judge not in PROBE_JUDGES:
        raise AttnmodError(f"unknown judge {judge!r}; judges: {', '.join(PROBE_JUDGES)}")
    report_formats = _report_formats(formats)
    size = resolve_generation_settings(model, steps, height, width)
    scene = None
    if judge != "none":
        scene = scene_from_caption(prompt)
        if judge == "shapes" and scene is None:
            raise AttnmodError(f"{prompt!r} is not a caption of the shapes world: the judge cannot read it")
        if judge == "auto" and model.name != "shapes":
            scene = None
    if tree is None:
        from .toolkit.prompt.parse import parse_prompt

        tree = parse_prompt(prompt, tokenizers=model.tokenizers, parser=parser)
    images = probe_images(
        model.pipeline,
        prompt,
        tree,
        seeds=seeds,
        edits=edits,
        encoders=encoders,
        guidance=guidance,
        batch_size=batch_size,
        progress=progress,
        **size,
    )
    table = probe_table(images, scene)
    table.settings["model"] = str(model.name)
    if out_dir is not None:
        write_probe(table, images, out_dir, report_formats)
    return table, images


def write_probe(table, images, out_dir: str | Path, formats: Sequence[str] = ("html",)) -> list[Path]:
    """Write a probe's ``probe.json``, its grids and its report into ``out_dir``; returns the paths written."""
    from .analysis.information_flow import table_reading
    from .reports.probe_report import edit_grid, png_bytes, probe_html

    out = Path(out_dir)
    try:
        (out / PROBE_GRIDS).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AttnmodError(f"cannot create output folder {str(out)!r}: {error}") from error
    written = [write_atomic(out / PROBE_FILE, json.dumps(table.to_json(), indent=2, ensure_ascii=False) + "\n")]
    index = {edit.key: number for number, edit in enumerate(images.edits, start=1)}
    grids = {}
    for row in table.rows:
        number = index[row.key]
        grids[row.key] = png_bytes(edit_grid(images.images[0], images.images[number]))
        name = "".join(c if c.isalnum() or c in "-@" else "-" for c in row.key)
        written.append(write_atomic(out / PROBE_GRIDS / f"{number:02d}-{name}.png", grids[row.key]))
    if formats:
        from .reports.html import write_outputs

        written += write_outputs(probe_html(table, grids, table_reading(table)), out, "report", formats)
    return written
