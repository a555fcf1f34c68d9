"""The report of one diagnosis: ``write_diagnosis_report(DIR)`` -> ``DIR/report.html`` and ``DIR/report.pdf``.

Reads what ``attnmod diagnose`` wrote (``diagnosis.json``, schema in docs/diagnosis.md; ``baseline.png``,
``modulated.png``; the attention records in ``baseline/`` and ``modulated/``) and lays it out: verdicts and key
numbers first, then the images, the prompt tree, per-token attention overlays per phase (baseline and modulated
side by side), the entity overlap heatmaps, the binding bars, captum attributions when present, every number in
tables, and the exact configuration and versions. Nothing is regenerated and no score is recomputed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..analysis.scores import PhaseScores, RecordScores
from ..toolkit.errors import AttnmodError
from ..toolkit.prompt.tree import PromptTree
from . import figures, findings, html, maps

ROLES = ("baseline", "modulated")
SUMMARY_IMAGE_SIDE = 512
# The embedded models with seeded random weights (toolkit.models): their images are noise. `shapes` is trained.
RANDOM_WEIGHT_MODELS = ("tiny", "tiny-sd", "sdxl-shaped")
# Numbers that count things: shown as integers.
COUNT_METRICS = ("misbound", "entities", "attributes")


def overlap_matrix(phase_scores: PhaseScores, entities: Sequence[int]) -> np.ndarray:
    """``[E, E]`` overlap matrix of one phase's scores in the order of ``entities`` (tree indices): ``O_ef`` of
    every pair, nested pairs included, NaN on the diagonal and for pairs without a value."""
    position = {entity: slot for slot, entity in enumerate(entities)}
    matrix = np.full((len(entities), len(entities)), np.nan)
    pairs = [(row.entities[0], row.entities[1], row.value) for row in phase_scores.overlaps]
    pairs += [(row.parent, row.child, row.overlap) for row in phase_scores.nested]
    for first, second, value in pairs:
        if first in position and second in position and value is not None:
            matrix[position[first], position[second]] = matrix[position[second], position[first]] = float(value)
    return matrix


def _summary_image(path: Path) -> bytes | None:
    """The image as PNG bytes, at most SUMMARY_IMAGE_SIDE pixels a side (a 1024 px SDXL image would weigh MBs)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if max(image.size) > SUMMARY_IMAGE_SIDE:
                image.thumbnail((SUMMARY_IMAGE_SIDE, SUMMARY_IMAGE_SIDE))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            return buffer.getvalue()
    except (OSError, UnidentifiedImageError):
        return None


def _load_record(folder: Path):
    from ..toolkit.modulation.record import AttentionRecord

    try:
        return AttentionRecord.load(folder)
    except AttnmodError:
        return None


def _phase_rows(role: str, scores: RecordScores) -> list[dict]:
    return [
        {
            "variant": role,
            "phase": name,
            "resolution": phase.resolution,
            "leakage": phase.leakage,
            "binding": phase.binding_mean,
            "misbound": phase.misbound,
            "self_leakage": phase.self_leakage_max,
            "background": phase.background_share,
        }
        for name, phase in scores.all_phases()
    ]


def _binding_rows(role: str, scores: RecordScores, names: dict[int, str]) -> list[dict]:
    rows = []
    for name, phase in scores.all_phases():
        for row in phase.bindings:
            rows.append(
                {
                    "variant": role,
                    "phase": name,
                    "attribute": f"{row.text} ({names.get(row.entity, row.entity)})",
                    "value": row.value,
                    "misbound": row.misbound,
                    "dominant": names.get(row.dominant, "-"),
                    "shares": ", ".join(
                        f"{names.get(share.entity, share.entity)} {html.format_number(share.value, 2)}"
                        for share in row.shares
                    ),
                    "margin": row.margin,
                }
            )
    return rows


def _overlap_rows(role: str, scores: RecordScores, names: dict[int, str]) -> list[dict]:
    rows = []
    for name, phase in scores.all_phases():
        for row in phase.overlaps:
            first, second = row.entities
            rows.append(
                {
                    "variant": role,
                    "phase": name,
                    "pair": f"{names[first]} / {names[second]}",
                    "kind": "overlap O",
                    "value": row.value,
                }
            )
        for row in phase.nested:
            pair = f"{names[row.parent]} ⊃ {names[row.child]}"
            rows.append({"variant": role, "phase": name, "pair": pair, "kind": "nested overlap", "value": row.overlap})
            rows.append({"variant": role, "phase": name, "pair": pair, "kind": "containment", "value": row.containment})
        for row in phase.self_leakage_pairs or ():
            rows.append(
                {
                    "variant": role,
                    "phase": name,
                    "pair": f"{names[row.source]} → {names[row.to]}",
                    "kind": "self-attention share",
                    "value": row.value,
                }
            )
    return rows


def _counts_as_integers(summary: dict) -> dict:
    """``misbound 1.0`` -> ``1``: counts (also per phase, ``misbound_early``) are shown as integers."""
    result = {}
    for key, value in summary.items():
        is_count = any(key == name or key.startswith(name + "_") for name in COUNT_METRICS)
        if is_count and isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        result[key] = value
    return result


def _key_number(row: dict, noise: float) -> dict:
    """A baseline-against-modulated row with its verdict: a change under the noise band is ``no clear change``;
    counts are integers and change by whole units."""
    change = row.get("change")
    baseline, modulated = row.get("baseline"), row.get("modulated")
    is_count = row["name"] in COUNT_METRICS
    if is_count:
        baseline, modulated = (int(v) if isinstance(v, float) and v.is_integer() else v for v in (baseline, modulated))
    missing = change is None or (isinstance(change, float) and math.isnan(change))
    if missing:
        verdict, change_text = "no clear change", "-"
    else:
        band = 0.5 if is_count else noise  # one more or one fewer misbound attribute is a change
        verdict = findings.change_verdict(0.0, float(change), row["better"] == "lower", band)
        change_text = f"{int(change):+d}" if is_count else f"{change:+.3f}"
    return {**row, "baseline": baseline, "modulated": modulated, "verdict": verdict, "change_text": change_text}


def _finding_row(item) -> dict:
    return {
        "severity": item.severity_name,
        "text": item.text,
        "baseline": item.baseline,
        "modulated": item.modulated,
        "present_before": item.present_before,
        "present_after": item.present_after,
        "status": item.status,
        "better": "lower" if item.lower_is_better else "higher",
    }


def _truth_context(truth: dict | None, roles: Sequence[str]) -> dict | None:
    """The judge's reading per image for the report's first screen: per role whether it is right and one line per
    named object (ok or not), the extra objects and anything else the judge found wrong."""
    if not truth:
        return None
    from ..analysis.judge.truth import object_line

    per_role = {}
    for role in roles:
        reading = truth["images"].get(role)
        if reading is None:
            continue
        items = [
            {"ok": bool(o["found"]) and not o.get("merged") and not o.get("leaked"), "text": object_line(o)}
            for o in reading["objects"]
        ]
        items += [{"ok": False, "text": f"extra: {name}"} for name in reading["extra"]]
        if reading.get("relation") is False:
            items.append({"ok": False, "text": "the stated relation does not hold"})
        if reading.get("size_correct") is False:
            items.append({"ok": False, "text": "a stated size is wrong"})
        per_role[role] = {"right": bool(reading["all_correct"]), "items": items}
    return {"caption": truth["caption"], "images": per_role, "comparison": truth.get("comparison")}


def build_diagnosis_context(diagnosis_dir: str | Path) -> dict:
    """Everything the diagnosis template shows (figures as PNG bytes)."""
    from ..analysis.schema import DiagnosisFile, load_diagnosis

    folder = Path(diagnosis_dir)
    if not folder.is_dir():
        raise AttnmodError(f"diagnosis folder {str(folder)!r} does not exist")
    data = load_diagnosis(folder)  # the file as written: the template shows its settings, tree and versions
    typed = DiagnosisFile.model_validate(data)
    tree = PromptTree.from_json(data["tree"])
    roles = list(ROLES)  # the schema requires both
    variants = {role: getattr(typed.variants, role) for role in roles}
    role_names = {role: f"{role} ({variants[role].variant})" for role in roles}
    scores = {role: variants[role].scores for role in roles}
    names = scores[roles[0]].labels

    image_files = {role: folder / getattr(typed.images, role) for role in roles}
    images = {
        role: {"name": role_names[role], "png": _summary_image(path), "file": path.name}
        for role, path in image_files.items()
    }
    records = {role: _load_record(folder / variants[role].record) for role in roles}
    overlay_images = {role_names[role]: maps.load_image(image_files[role]) for role in roles}
    missing_records = [role for role in roles if records[role] is None]
    figure_list = _attention_figures(scores, tree, roles, role_names, records, overlay_images)
    figure_list += _score_figures(data, scores, roles, role_names, names)
    attributions = data.get("attributions") or {}
    attribution_rows, attribution_figure = _attribution_section(attributions)
    figure_list += attribution_figure
    spotlight = _spotlight(tree, roles, role_names, records, overlay_images)
    noise = float(data["thresholds"].get("noise", findings.NOISE_BAND))
    key_numbers = [_key_number(row, noise) for row in data["comparison"]["metrics"]]
    variant_name = variants["modulated"].variant
    every_problem = findings.compare_problems(scores["baseline"], scores["modulated"], data["thresholds"], noise)
    # Problems whose kind of verdict did not predict the judge's failures in validation are folded away.
    compared = [item for item in every_problem if not findings.folded(item.kind)]
    hidden = [item for item in every_problem if findings.folded(item.kind)]
    model = str(data["settings"].get("model", ""))
    return {
        "title": f"Diagnosis: {data['prompt']}",
        "prompt": data["prompt"],
        "folder": str(folder),
        "data": data,
        "roles": roles,
        "role_names": role_names,
        "images": images,
        "headline": findings.headline(compared, variant_name, noise),
        "findings": [_finding_row(item) for item in compared],
        "hidden_findings": [_finding_row(item) for item in hidden],
        "truth": _truth_context(data.get("truth"), roles),
        "noise": noise,
        "variant_name": variant_name,
        "random_weights": model in RANDOM_WEIGHT_MODELS,
        "spotlight": spotlight,
        "warnings": ([f"model: {data['information_flow']}"] if data.get("information_flow") else [])
        + [f"{role}: {w}" for role in roles for w in variants[role].warnings]
        + [f"{role}: {n}" for role in roles for n in scores[role].notes or []]
        + [f"{role}: no attention record in {variants[role].record!r}, overlays left out" for role in missing_records],
        "key_numbers": key_numbers,
        "figures": figure_list,
        "phase_rows": [row for role in roles for row in _phase_rows(role, scores[role])],
        "binding_rows": [row for role in roles for row in _binding_rows(role, scores[role], names)],
        "overlap_rows": [row for role in roles for row in _overlap_rows(role, scores[role], names)],
        "entity_rows": [
            {
                "variant": role,
                "entity": names[row.entity],
                "own_region": row.own_region,
                "full_region": row.full_region,
                "empty": row.empty,
            }
            for role in roles
            for row in scores[role].overall.entities
        ],
        "attribution_rows": attribution_rows,
        "attribution_notes": attributions.get("notes") or [],
        "summaries": {role: _counts_as_integers(variants[role].summary) for role in roles},
        "configs": {role: variants[role].config for role in roles},
        "seconds": {role: variants[role].seconds for role in roles},
        "versions": html.software_versions(),
    }


def _attention_figures(
    scores: dict[str, RecordScores], tree: PromptTree, roles, role_names, records, overlay_images
) -> list[dict]:
    """The prompt tree and, with records, each token's attention per phase over both images."""
    figure_list = [
        {
            "title": "Prompt tree",
            "caption": "Entities nested as parsed, each with its attributes; token positions in brackets.",
            "png": figures.to_png(figures.prompt_tree_figure(tree)),
        }
    ]

    labels = maps.token_labels(tree)
    phase_order: list[str] = []
    for role in roles:
        for name in scores[role].phases:
            if name not in phase_order:
                phase_order.append(name)
    overlay_maps = {}
    for role in roles:
        record = records[role]
        overlay_maps[role_names[role]] = (
            {phase: maps.label_maps(record, labels, phase) for phase in phase_order} if record is not None else {}
        )
    if labels and phase_order:
        figure_list.append(
            {
                "title": "Attention per token and phase",
                "caption": "Cross-attention of each entity and attribute over the image, per phase, baseline and "
                "modulated side by side (each map normalised to sum 1, resolutions combined as scored; light: more "
                "attention, one colour scale per row).",
                "png": figures.to_png(
                    figures.attention_overlay_figure(
                        overlay_images, overlay_maps, [label.label for label in labels], phase_order
                    )
                ),
            }
        )
    return figure_list


def _score_figures(data: dict, scores: dict[str, RecordScores], roles, role_names, names: dict) -> list[dict]:
    """The entity-overlap heat maps and the attribute-binding bars (both variants side by side)."""
    first_scores = scores[roles[0]]
    entity_order = [row.entity for row in first_scores.scored_entities]
    figure_list: list[dict] = []
    entity_labels = [names[e] for e in entity_order]
    if len(entity_order) >= 2:
        matrices = {
            role_names[role]: {name: overlap_matrix(phase, entity_order) for name, phase in scores[role].all_phases()}
            for role in roles
        }
        figure_list.append(
            {
                "title": "Entity overlap",
                "caption": "O_ef = sum over pixels of min(M_e, M_f): 0 for disjoint maps, 1 for identical ones. "
                f"The prompt's leakage is the largest value between entities that are not nested; the verdicts "
                f"flag pairs at or above {data['thresholds']['overlap']:.2f}.",
                "png": figures.to_png(figures.overlap_heatmap_figure(matrices, entity_labels)),
            }
        )

    attribute_keys = [(row.entity, row.attribute) for row in first_scores.attributes]
    if attribute_keys:
        attribute_labels = [f"{row.text} ({names.get(row.entity, row.entity)})" for row in first_scores.attributes]
        values, flags = {}, {}
        for role in roles:
            by_key = {(row.entity, row.attribute): row for row in scores[role].overall.bindings}
            found = [by_key.get(key) for key in attribute_keys]
            values[role_names[role]] = [row.value if row is not None else None for row in found]
            flags[role_names[role]] = [row is not None and row.misbound for row in found]
        lines = [(float(data["thresholds"]["binding"]), f"weak below {data['thresholds']['binding']:.2f}")]
        if len(entity_order) == 2:
            lines.append((0.5, "misbound below 0.50 (two entities)"))
        figure_list.append(
            {
                "title": "Attribute binding",
                "caption": "B_a: the share of an attribute's attention on entity regions that lies on its own entity "
                "(overall). Hatched: misbound, i.e. another entity's region holds more of it than its own.",
                "png": figures.to_png(figures.binding_bars_figure(attribute_labels, values, flags, lines)),
            }
        )
    return figure_list


def _attribution_section(attributions: dict) -> tuple[list[dict], list[dict]]:
    """The captum attributions' table rows and their figure (none without attributions)."""
    attribution_rows = []
    panels = []
    for key, item in (attributions.get("items") or {}).items():
        title = f"{key}: {item.get('method', '')} by {item.get('by', '')}, target {item.get('target', '')}"
        scores = item.get("scores") or []
        panels.append((title, [s.get("label", "") for s in scores], [s.get("score") or 0.0 for s in scores]))
        attribution_rows.append(
            {
                "key": key,
                "method": item.get("method"),
                "by": item.get("by"),
                "value": item.get("value"),
                "baseline_value": item.get("baseline_value"),
                "delta": item.get("delta"),
                "relative_delta": item.get("relative_delta"),
                "scores": ", ".join(f"{s.get('label')} {html.format_number(s.get('score'), 4)}" for s in scores),
            }
        )
    figure_list: list[dict] = []
    if panels:
        figure_list.append(
            {
                "title": "Token attributions (captum)",
                "caption": "How much each token (or entity group) drives the target score at one denoising step "
                "(baseline variant). Integrated Gradients report their convergence delta in the table below.",
                "png": figures.to_png(figures.attribution_figure(panels)),
            }
        )
    return attribution_rows, figure_list


def _spotlight(tree: PromptTree, roles, role_names, records, overlay_images) -> dict | None:
    """Each entity's attention over the whole generation laid over its image (None without records)."""
    spotlight = None
    entity_labels_only = maps.token_labels(tree, include_attributes=False)
    if entity_labels_only and any(records[role] is not None for role in roles):
        rows = [
            (
                role_names[role],
                overlay_images[role_names[role]],
                maps.label_maps(records[role], entity_labels_only) if records[role] is not None else {},
            )
            for role in roles
        ]
        spotlight = {
            "title": "Where each object's attention went",
            "caption": "Each entity's cross-attention over the whole generation laid over the image it made: bright "
            "where the word attended, dark where it did not, yellow around the half-maximum region (one scale per "
            "entity, shared by both images). Two entities lit in the same place is leakage.",
            "png": figures.to_png(figures.spotlight_figure(rows, [label.label for label in entity_labels_only])),
        }
    return spotlight


def write_diagnosis_report(
    diagnosis_dir: str | Path, formats: str | Sequence[str] = ("html", "pdf"), out_dir: str | Path | None = None
) -> list[Path]:
    """Write ``report.html`` and/or ``report.pdf`` next to ``diagnosis.json`` in ``diagnosis_dir`` (or into
    ``out_dir``); return the paths written (in ``formats`` order)."""
    import time

    formats = html.parse_formats(formats)
    started = time.perf_counter()
    context = build_diagnosis_context(diagnosis_dir)
    context["build_seconds"] = time.perf_counter() - started
    document = html.render("diagnosis.html", **context)
    return html.write_outputs(document, Path(out_dir or diagnosis_dir), "report", formats)
