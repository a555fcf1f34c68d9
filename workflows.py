"""Workflows: generate, score, write folders and build reports; each one call from Python, the same as its command.

* :func:`run_diagnosis` (``attnmod diagnose``): baseline (``none``) and a modulated variant with the same seed,
  scored and judged, written as a diagnosis folder (``diagnosis.json``, images, records, ``report.html/pdf``).
* :func:`analyze_path` (``attnmod analyze``): scores and verdicts of saved attention records, without the model.

This module sits above :mod:`attnmod.analysis` (pure functions of records and trees) and :mod:`attnmod.reports`
(figures and documents); ``cli.py`` only parses options, calls one of these and prints.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from .analysis.schema import DIAGNOSIS_FORMAT, write_diagnosis
from .analysis.scoring import score_record, summary_metrics
from .analysis.thresholds import Thresholds
from .analysis.verdicts import compare_scores, verdicts
from .toolkit.attention_record import METADATA_FILE, AttentionRecord
from .toolkit.errors import AttnmodError
from .toolkit.prompt_tree import PromptTree
from .toolkit.run_files import (
    DIAGNOSIS_FILE,
    IMAGE_FILE,
    PARSE_FILE,
    ROLES,
    json_number,
    resolve_generation_settings,
    role_image,
    software_versions,
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

    ``model`` is a :class:`~attnmod.toolkit.models.LoadedModel`; ``steps``/``height``/``width`` default to the
    model's defaults. With ``attribute``, captum attributions of the baseline's leakage (and of each misbound
    attribute's binding) are added (see :mod:`attnmod.analysis.attribution`).
    """
    from .toolkit import generation
    from .toolkit.modulation_config import ModulationConfig

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
        from .toolkit.parsing import parse_prompt

        tree = parse_prompt(prompt, tokenizers=model.tokenizers, parser=parser)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AttnmodError(f"cannot create output folder {str(out)!r}: {error}") from error

    variants, images = {}, {}
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
        shutil.copyfile(out / role / IMAGE_FILE, out / role_image(role))
        scores = score_record(result.record, tree, thresholds)
        variants[role] = {
            "variant": role_config.variant,
            "config": role_config.to_json(),
            "image": role_image(role),
            "record": f"{role}/",
            "seconds": round(result.seconds, 4),
            "warnings": list(result.warnings),
            "scores": scores,
            "summary": {k: json_number(v) for k, v in summary_metrics(scores).items()},
            "verdicts": verdicts(scores, thresholds),
            # The maps after modulation, labelled as such (scores.maps == "applied"): shaped by the modulation
            # itself, so they are shown for reference and never scored as the run's result.
            "applied_scores": score_record(result.record, tree, thresholds, source="applied")
            if result.record.applied
            else None,
        }
        images[role] = role_image(role)
        settings = result.settings

    name = modulated_config.variant
    comparison = compare_scores(variants["baseline"]["scores"], variants["modulated"]["scores"], name)
    attributions = None
    if attribute:
        from .analysis.attribution import diagnosis_attributions

        attributions = diagnosis_attributions(
            model, prompt, tree, variants["baseline"]["scores"], seed=seed, steps=steps, n_steps=attribution_steps
        )
    summary_lines = [f"with {name}: {line}" for line in variants["modulated"]["verdicts"]]
    data = {
        "format": DIAGNOSIS_FORMAT,
        "prompt": prompt,
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
        "verdicts": [f"without modulation: {line}" for line in variants["baseline"]["verdicts"]]
        + summary_lines
        + comparison["verdicts"],
        "attributions": attributions,
        "images": images,
        "versions": software_versions(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_diagnosis(data, out)
    if report_formats:
        from .reports.diagnosis_report import write_diagnosis_report

        write_diagnosis_report(out, formats=report_formats)
    return data


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
    "comparison"}``; ``comparison`` (see :func:`compare_scores`) is filled for a diagnosis folder with
    ``baseline/`` and ``modulated/`` records, else null.
    """
    thresholds = thresholds or Thresholds()
    items = []
    for folder in find_records(path):
        record = AttentionRecord.load(folder)
        tree = _tree_for(folder, record)
        scores = score_record(record, tree, thresholds)
        items.append(
            {
                "path": str(folder),
                "prompt": tree.prompt,
                "variant": record.metadata.get("variant"),
                "scores": scores,
                "summary": {k: json_number(v) for k, v in summary_metrics(scores).items()},
                "verdicts": verdicts(scores, thresholds),
            }
        )
    comparison = None
    roles = {Path(item["path"]).name: item for item in items}
    if len(items) == 2 and set(roles) == {"baseline", "modulated"}:
        comparison = compare_scores(
            roles["baseline"]["scores"], roles["modulated"]["scores"], roles["modulated"]["variant"] or "modulated"
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
    for role in ROLES:
        entry = data["variants"].get(role)
        if entry is None:
            continue
        record = AttentionRecord.load(out / entry["record"])
        scores = score_record(record, tree, thresholds)
        entry["scores"] = scores
        entry["summary"] = {k: json_number(v) for k, v in summary_metrics(scores).items()}
        entry["verdicts"] = verdicts(scores, thresholds)
        if entry.get("applied_scores") is not None:
            entry["applied_scores"] = score_record(record, tree, thresholds, source="applied")
    name = data["variants"]["modulated"]["variant"]
    comparison = compare_scores(data["variants"]["baseline"]["scores"], data["variants"]["modulated"]["scores"], name)
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
