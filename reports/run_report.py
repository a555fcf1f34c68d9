"""The failure-analysis report of an ablation run: ``write_run_report(RUN)`` -> ``RUN/report.html`` and ``.pdf``.

Reads what ``attnmod ablate`` (and optionally ``attnmod evaluate``) wrote: ``RUN/results.jsonl`` (while a run is
still going, also the ``results-rank*.jsonl`` files its ranks append to), ``RUN/run.json``, the item folders
``RUN/items/{id}/`` (image.png, attention.safetensors/.json, metrics.json) and ``RUN/evaluation.json``.
Nothing is regenerated and no metric is recomputed: the report summarises the rows (means with bootstrap
confidence intervals, paired differences against the ``none`` variant) and draws the saved maps. Intervals
resample prompts, each with all its seeds (:func:`attnmod.analysis.statistics.bootstrap_ci_grouped`): images of
one prompt are not independent, and resampling them one by one would give too narrow an interval.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..analysis.registry import ATTENTION_METRICS, IMAGE_ITEM_METRICS, METRICS
from ..analysis.statistics import bootstrap_ci_grouped
from ..toolkit.errors import AttnmodError
from ..toolkit.run_files import EVALUATION_FILE, NO_VARIANT, RESULTS_FILE, RUN_FILE, read_jsonl, run_item_folder
from . import figures, html, maps
from .judge_section import judge_section
from .sweep_ranking import sweep_ranking

REFERENCE_VARIANT = "none"
# Row metrics summarised per variant; direction (from the metric registry) says which way is better.
ROW_METRICS = {name: METRICS[name].better for name in ATTENTION_METRICS}
PAIRED_METRICS = ("leakage", "binding", "misbound")
DISTRIBUTION_METRICS = ("leakage", "binding")
IMAGE_METRICS = {name: METRICS[name].better for name in IMAGE_ITEM_METRICS}
ITEM_TABLE_LIMIT = 1000
GALLERY_LABELS = 6


# ---------------------------------------------------------------------------------------------- statistics


def _interval(values: Sequence[float], groups: Sequence[str], seed: int = 0) -> dict:
    """Mean [CI] of the finite values, resampling whole groups (prompts: all seeds of a prompt together)."""
    mean, low, high = bootstrap_ci_grouped(list(values), list(groups), seed=seed)
    finite = sum(1 for v in values if v is not None and math.isfinite(float(v)))
    return {"mean": mean, "low": low, "high": high, "n": finite}


# ---------------------------------------------------------------------------------------------- reading a run


@dataclasses.dataclass
class RunData:
    """What a run folder holds, as read for a report."""

    folder: Path
    rows: list[dict]
    info: dict | None  # run.json
    evaluation: dict | None  # evaluation.json
    in_progress_files: list[str]  # results-rank*.jsonl still present
    unreadable: list[str] = dataclasses.field(default_factory=list)  # one note per file with skipped lines


def read_run(run_dir: str | Path) -> RunData:
    """Rows of ``results.jsonl`` plus, for a run still going, the rows its ranks appended so far (a newer row
    of the same id replaces the older one); ``run.json`` and ``evaluation.json`` when present."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise AttnmodError(f"run folder {str(folder)!r} does not exist")
    results = folder / RESULTS_FILE
    rank_files = sorted(folder.glob("results-rank*.jsonl"))
    if not results.is_file() and not rank_files:
        raise AttnmodError(
            f"{str(folder)!r} has no {RESULTS_FILE} (nor rows of a run in progress): pass the folder of a run "
            "written by `attnmod ablate`"
        )
    by_id: dict[str, dict] = {}
    unreadable = []
    # The same reader as `attnmod ablate` and `attnmod evaluate`: damaged or cut-short lines are skipped and counted.
    for path in ([results] if results.is_file() else []) + rank_files:
        read = read_jsonl(path)
        for row in read.rows:
            by_id[str(row["id"])] = row
        if read.skipped:
            unreadable.append(read.skipped_note())
    info = maps.read_json(folder / RUN_FILE)
    evaluation = maps.read_json(folder / EVALUATION_FILE)
    return RunData(folder, list(by_id.values()), info, evaluation, [p.name for p in rank_files], unreadable)


def run_status(data: RunData) -> dict:
    """Counts and a sentence on the run's state: finished, partly failed, in progress or unknown.

    ``expected``: the number of items in the run according to run.json (``counts.items`` once finished, or
    ``items`` when recorded at the start), None when run.json does not say.
    """
    info = data.info or {}
    done = sum(1 for row in data.rows if row.get("status") == "done")
    failed = sum(1 for row in data.rows if row.get("status") != "done")
    counts = info.get("counts") if isinstance(info.get("counts"), dict) else {}
    expected = counts.get("items", info.get("items"))
    expected = int(expected) if isinstance(expected, (int, float)) else None
    recorded = len(data.rows)
    missing = max(expected - recorded, 0) if expected is not None else None
    state = info.get("status") if data.info else None
    if data.in_progress_files or state == "running":
        state = "running"
    elif state not in ("finished", "interrupted", "failed"):
        state = "unknown"
    of_total = f" of {expected}" if expected is not None else ""
    if state == "running":
        message = (
            f"Run in progress (or stopped before it finished): {recorded}{of_total} items recorded so far, "
            f"{done} done, {failed} failed. The numbers below cover the recorded items only."
        )
    elif state == "finished":
        message = f"Finished: {done}{of_total} items done"
        message += f", {failed} failed (listed under Failed items)." if failed else "."
        if missing:
            message += f" {missing} items have no row in {RESULTS_FILE}."
    elif state in ("interrupted", "failed"):
        how = "was stopped on request (SIGINT/SIGTERM)" if state == "interrupted" else "failed"
        message = (
            f"The run {how}: {recorded}{of_total} items recorded, {done} done, {failed} failed; running the same "
            "command again goes on. The numbers below cover the recorded items only."
        )
    else:
        message = f"{RUN_FILE} is missing or has no status: {recorded} items recorded, {done} done, {failed} failed."
    if data.unreadable:
        message += " " + " ".join(note[0].upper() + note[1:] + "." for note in data.unreadable)
    problems = row_problems(data)
    if problems:
        message += " " + " ".join(problem[0].upper() + problem[1:] + "." for problem in problems)
    level = (
        "ok" if state == "finished" and not failed and not missing and not data.unreadable and not problems else "warn"
    )
    return {
        "state": state,
        "expected": expected,
        "recorded": recorded,
        "done": done,
        "failed": failed,
        "missing": missing,
        "message": message,
        "level": level,
        "unreadable": list(data.unreadable),
    }


def _variant(row: dict) -> str:
    variant = row.get("variant")
    return NO_VARIANT if variant is None or variant == "" else str(variant)


def row_problems(data: RunData) -> list[str]:
    """Notes on rows the report reads but cannot take at face value, each counted: rows without a variant, and
    rows whose metric values are not finite numbers (text, NaN, infinity; null is an undefined score and fine),
    which the summaries leave out."""
    notes = []
    without_variant = sum(1 for row in data.rows if _variant(row) == NO_VARIANT)
    if without_variant:
        notes.append(f"{without_variant} row(s) record no variant; they are shown as {NO_VARIANT!r}")
    fields: dict[str, int] = {}
    for row in data.rows:
        for metric in (*ROW_METRICS, "entities", "attributes", *IMAGE_METRICS, "seconds"):
            value = row.get(metric)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                fields[metric] = fields.get(metric, 0) + 1
    if fields:
        listed = ", ".join(f"{name} ({count})" for name, count in fields.items())
        notes.append(f"some rows hold values that are not finite numbers, left out of the summaries: {listed}")
    return notes


def variant_order(data: RunData) -> list[str]:
    """The run's variants: run.json's order if it lists them, then any others in row order; ``none`` first."""
    names: list[str] = []
    configured = (data.info or {}).get("variants")
    if isinstance(configured, (dict, list)):
        names.extend(str(v) for v in configured)
    for row in data.rows:
        variant = _variant(row)
        if variant not in names:
            names.append(variant)
    if REFERENCE_VARIANT in names:
        names.remove(REFERENCE_VARIANT)
        names.insert(0, REFERENCE_VARIANT)
    return names


def _number(value) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def results_frame(data: RunData):
    """The rows as a pandas DataFrame with numeric metric columns (NaN where a row has no value)."""
    import pandas as pd

    records = []
    for row in data.rows:
        record = {
            "id": str(row["id"]),
            "prompt": str(row.get("prompt", "")),
            "seed": row.get("seed"),
            "variant": _variant(row),
            "status": str(row.get("status", "done")),
            "folder": row.get("folder"),
            "error": row.get("error"),
            "category": str(row.get("category") or "uncategorised"),
            "pair": json.dumps([row.get("source"), row.get("index"), row.get("prompt"), row.get("seed")]),
            "group": json.dumps([row.get("source"), row.get("index"), row.get("prompt")]),
            "seconds": _number(row.get("seconds")),
        }
        for metric in (*ROW_METRICS, "entities", "attributes", *IMAGE_METRICS):
            record[metric] = _number(row.get(metric))
        records.append(record)
    columns = ["id", "prompt", "seed", "variant", "status", "folder", "error", "category", "pair", "group", "seconds"]
    return pd.DataFrame.from_records(
        records, columns=columns + [*ROW_METRICS, "entities", "attributes", *IMAGE_METRICS]
    )


# ---------------------------------------------------------------------------------------------- summaries


def variant_summary(frame, variants: Sequence[str], evaluation: dict | None) -> list[dict]:
    """One row per variant: counts, mean [CI] of the row metrics and image-level scores, mean seconds.

    Image-level scores come from evaluation.json when present (its FID and intervals), else from the rows'
    ``clip_score``/``reward`` columns."""
    evaluated = (evaluation or {}).get("variants") or {}
    summary = []
    for index, variant in enumerate(variants):
        rows = frame[frame["variant"] == variant]
        done = rows[rows["status"] == "done"]
        entry = {
            "variant": variant,
            "done": len(done),
            "failed": int((rows["status"] != "done").sum()),
            "seconds": float(done["seconds"].mean()) if done["seconds"].notna().any() else math.nan,
        }
        for metric in ROW_METRICS:
            entry[metric] = _interval(done[metric].tolist(), done["group"].tolist(), seed=index)
        scores = evaluated.get(variant) or {}
        for metric in IMAGE_METRICS:
            if isinstance(scores.get(metric), dict):
                entry[metric] = scores[metric]
            elif done[metric].notna().any():
                entry[metric] = _interval(done[metric].tolist(), done["group"].tolist(), seed=index)
            else:
                entry[metric] = None
        entry["fid"] = scores.get("fid")
        summary.append(entry)
    return summary


def paired_differences(frame, metrics: Sequence[str], reference: str = REFERENCE_VARIANT, seed: int = 0):
    """Per (metric, variant): the mean of ``value(variant) - value(reference)`` over items sharing source, line,
    prompt and seed, with a bootstrap CI that resamples prompts. DataFrame ``metric, variant, mean, low, high, n``;
    empty when the run has no ``reference`` variant."""
    import pandas as pd

    done = frame[frame["status"] == "done"]
    base = done[done["variant"] == reference].drop_duplicates("pair").set_index("pair")
    records = []
    if not base.empty:
        for variant in [v for v in dict.fromkeys(done["variant"]) if v != reference]:
            rows = done[done["variant"] == variant].drop_duplicates("pair").set_index("pair")
            shared = rows.index.intersection(base.index)
            for metric in metrics:
                deltas = (rows.loc[shared, metric] - base.loc[shared, metric]).tolist()
                mean, low, high = bootstrap_ci_grouped(deltas, rows.loc[shared, "group"].tolist(), seed=seed)
                count = int(np.isfinite(np.asarray(deltas, dtype=float)).sum()) if deltas else 0
                records.append(
                    {"metric": metric, "variant": variant, "mean": mean, "low": low, "high": high, "n": count}
                )
    return pd.DataFrame.from_records(records, columns=["metric", "variant", "mean", "low", "high", "n"])


def category_summary(frame, metrics: Sequence[str], variants: Sequence[str]):
    """Mean [CI] per (category, variant, metric) over done items: DataFrame ``category, variant, metric, mean,
    low, high, n``."""
    import pandas as pd

    done = frame[frame["status"] == "done"]
    records = []
    for category in dict.fromkeys(done["category"]):
        for variant in variants:
            rows = done[(done["category"] == category) & (done["variant"] == variant)]
            if rows.empty:
                continue
            for metric in metrics:
                interval = _interval(rows[metric].tolist(), rows["group"].tolist())
                records.append({"category": category, "variant": variant, "metric": metric, **interval})
    return pd.DataFrame.from_records(records, columns=["category", "variant", "metric", "mean", "low", "high", "n"])


def _severity(row) -> tuple[float, float]:
    misbound = row["misbound"] if math.isfinite(row["misbound"]) else -1.0
    leakage = row["leakage"] if math.isfinite(row["leakage"]) else -1.0
    return (misbound, leakage)


def worst_items(frame, count: int, reference: str = REFERENCE_VARIANT) -> list[str]:
    """Ids of the ``count`` worst done items of the modulated variants (all variants if the run has only the
    reference): most misbound attributes first, then highest leakage."""
    done = frame[frame["status"] == "done"]
    candidates = done[done["variant"] != reference]
    if candidates.empty:
        candidates = done
    ranked = sorted(candidates.itertuples(index=False), key=lambda r: _severity(r._asdict()), reverse=True)
    return [r.id for r in ranked[: max(count, 0)]]


def made_worse(frame, count: int, reference: str = REFERENCE_VARIANT, exclude: Sequence[str] = ()) -> list[dict]:
    """Items whose modulated variant has more misbound attributes, or as many and more leakage, than the
    reference variant of the same prompt and seed; the ``count`` largest changes, as ``{"id", "reference_id",
    "misbound_change", "leakage_change"}``."""
    done = frame[frame["status"] == "done"]
    base = done[done["variant"] == reference].drop_duplicates("pair").set_index("pair")
    found = []
    for row in done[done["variant"] != reference].itertuples(index=False):
        if row.id in exclude or row.pair not in base.index:
            continue
        other = base.loc[row.pair]
        misbound_change = row.misbound - other["misbound"]
        leakage_change = row.leakage - other["leakage"]
        misbound_change = misbound_change if math.isfinite(misbound_change) else 0.0
        leakage_change = leakage_change if math.isfinite(leakage_change) else 0.0
        if misbound_change > 0 or (misbound_change == 0 and leakage_change > 1e-9):
            found.append(
                {
                    "id": row.id,
                    "reference_id": other["id"],
                    "misbound_change": misbound_change,
                    "leakage_change": leakage_change,
                }
            )
    found.sort(key=lambda f: (f["misbound_change"], f["leakage_change"]), reverse=True)
    return found[: max(count, 0)]


# ---------------------------------------------------------------------------------------------- gallery


def _item_folder(data: RunData, row) -> Path:
    """``RUN/items/ID`` only (see :func:`~attnmod.toolkit.run_files.run_item_folder`); a row whose id is not a plain
    name or whose folder leads out of the run gets a path that holds nothing, so its card shows no files."""
    try:
        return run_item_folder(data.folder, row["id"])
    except AttnmodError:
        return data.folder / "items" / ".unreadable-item"


def item_verdicts(metrics: dict | None) -> list[str]:
    """The item's verdicts: those stored in metrics.json, else ``analysis.verdicts.verdicts`` of its scores."""
    if not metrics:
        return []
    stored = metrics.get("verdicts") or (metrics.get("summary") or {}).get("verdicts")
    if isinstance(stored, list):
        return [str(v) for v in stored]
    scores = metrics.get("scores")
    if not isinstance(scores, dict):
        return []
    try:
        from ..analysis.verdicts import verdicts
    except ImportError:
        return []
    try:
        return [str(v) for v in verdicts(scores, None)]
    except Exception:  # noqa: BLE001 - a report shows what it can; verdicts of an odd score dict are optional
        return []


def _load_record(folder: Path, problems: list[str] | None = None):
    """The item's attention record, or None; why it could not be read (a damaged file, a checksum that does not
    match) goes to ``problems``, which the card shows instead of maps drawn from bad numbers."""
    from ..toolkit.modulation.record import AttentionRecord

    if not (folder / "attention.json").is_file():
        return None
    try:
        return AttentionRecord.load(folder)
    except AttnmodError as error:
        if problems is not None:
            problems.append(f"attention maps of item {folder.name} not shown: {error}")
        return None


def gallery_card(data: RunData, frame, item_id: str, reference_id: str | None, note: str = "") -> dict:
    """A gallery entry: the item (and its reference pair) as image + per-label overlay figure, numbers, verdicts."""
    rows = frame.set_index("id")
    ids = [item_id] + ([reference_id] if reference_id else [])
    panels, labels, numbers = [], None, []
    verdicts: list[str] = []
    problems: list[str] = []
    for position, current in enumerate(ids):
        row = rows.loc[current]
        folder = _item_folder(data, {"id": current, "folder": row["folder"]})
        record = _load_record(folder, problems)
        image_path = folder / "image.png"
        if image_path.exists() and not image_path.resolve().is_relative_to(folder.resolve()):
            problems.append(f"image of item {folder.name} not shown: it links outside its item folder")
            image = None
        else:
            image = maps.load_image(image_path)
        if labels is None:
            tree = record.tree if record is not None else None
            labels = maps.token_labels(tree)[:GALLERY_LABELS] if tree is not None else []
        drawn = maps.label_maps(record, labels) if record is not None else {}
        panels.append((str(row["variant"]), image, drawn))
        numbers.append(
            {
                "variant": row["variant"],
                "id": current,
                **{m: row[m] for m in (*ROW_METRICS, "seconds")},
            }
        )
        if position == 0:
            verdicts = item_verdicts(maps.read_json(folder / "metrics.json"))
    figure = figures.item_maps_figure(panels, [label.label for label in labels or []])
    png = figures.to_png(figure)
    first = rows.loc[item_id]
    return {
        "id": item_id,
        "prompt": first["prompt"],
        "seed": first["seed"],
        "variant": first["variant"],
        "category": first["category"],
        "png": png,
        "numbers": numbers,
        "verdicts": verdicts,
        "note": note,
        "problems": problems,
    }


# ---------------------------------------------------------------------------------------------- the report


def _pair_of(frame, item_id: str, reference: str) -> str | None:
    row = frame[frame["id"] == item_id].iloc[0]
    if row["variant"] == reference:
        return None
    match = frame[(frame["pair"] == row["pair"]) & (frame["variant"] == reference) & (frame["status"] == "done")]
    return str(match.iloc[0]["id"]) if not match.empty else None


def _headline(differences, reference: str) -> list[dict]:
    lines = []
    for row in differences.itertuples(index=False):
        if not math.isfinite(row.mean):
            continue
        better = ROW_METRICS.get(row.metric, "lower")
        improved = (row.high < 0) if better == "lower" else (row.low > 0)
        worsened = (row.low > 0) if better == "lower" else (row.high < 0)
        verdict = "improved" if improved else "worse" if worsened else "no clear change"
        lines.append(
            {
                "text": f"{row.variant} vs {reference}: {row.metric} {row.mean:+.3f} "
                f"[{row.low:+.3f}, {row.high:+.3f}] over {row.n} pairs ({better} is better)",
                "verdict": verdict,
            }
        )
    return lines


def build_run_context(run_dir: str | Path, worst: int = 8, progress: bool = False) -> dict:
    """Everything the run template shows: status, summary, figures (PNG bytes), gallery, tables, configuration."""
    from tqdm.auto import tqdm

    data = read_run(run_dir)
    status = run_status(data)
    variants = variant_order(data)
    frame = results_frame(data)
    summary = variant_summary(frame, variants, data.evaluation)
    differences = paired_differences(frame, PAIRED_METRICS)
    categories = category_summary(frame, DISTRIBUTION_METRICS, variants)
    done = frame[frame["status"] == "done"]

    figure_list = []
    if not done.empty:
        figure_list.append(
            {
                "title": "Distributions per variant",
                "caption": "Every done item as a point over a box (median, quartiles). Leakage: lower is better; "
                "binding: higher is better.",
                "png": figures.to_png(figures.distribution_figure(done, DISTRIBUTION_METRICS, variants)),
            }
        )
    if not differences.empty:
        figure_list.append(
            {
                "title": f"Paired differences against {REFERENCE_VARIANT}",
                "caption": f"Mean of (variant - {REFERENCE_VARIANT}) over items with the same prompt and seed, "
                "with 95% percentile-bootstrap intervals (1000 resamples of prompts, each with all its seeds).",
                "png": figures.to_png(figures.paired_difference_figure(differences, PAIRED_METRICS)),
            }
        )
    if not categories.empty:
        figure_list.append(
            {
                "title": "By prompt category",
                "caption": "Mean per category and variant with 95% bootstrap intervals (resampling prompts).",
                "png": figures.to_png(figures.category_figure(categories, DISTRIBUTION_METRICS, variants)),
            }
        )
    if not done.empty:
        figure_list.append(
            {
                "title": "Runtime per variant",
                "caption": "Wall time per item as recorded by the run (generation, capture and scoring).",
                "png": figures.to_png(figures.runtime_figure(done, variants)),
            }
        )

    worst_ids = worst_items(frame, worst)
    worse = made_worse(frame, worst, exclude=worst_ids)
    jobs = [("worst", item_id, _pair_of(frame, item_id, REFERENCE_VARIANT), "") for item_id in worst_ids]
    jobs += [
        (
            "worse",
            entry["id"],
            entry["reference_id"],
            f"misbound {entry['misbound_change']:+g}, leakage {entry['leakage_change']:+.3f} vs {REFERENCE_VARIANT}",
        )
        for entry in worse
    ]
    gallery = {"worst": [], "worse": []}
    for kind, item_id, reference_id, note in tqdm(jobs, desc="gallery", disable=not progress, unit="item"):
        gallery[kind].append(gallery_card(data, frame, item_id, reference_id, note))

    failed = frame[frame["status"] != "done"]
    table_rows = frame.head(ITEM_TABLE_LIMIT)
    return {
        "title": f"Run report: {data.folder.name}",
        "run_folder": str(data.folder),
        "status": status,
        "variants": variants,
        "summary": summary,
        "has_image_scores": any(entry.get(m) is not None for entry in summary for m in IMAGE_METRICS)
        or any(entry.get("fid") is not None for entry in summary),
        # Self-attention is captured only on request: leave the column out when no item has it.
        "has_self_leakage": any(entry["self_leakage"]["n"] for entry in summary),
        "headline": _headline(differences, REFERENCE_VARIANT),
        "differences": differences.to_dict("records"),
        "categories": categories.to_dict("records"),
        "figures": figure_list,
        "gallery": gallery,
        "worst": worst,
        "failed": failed.to_dict("records"),
        "items": table_rows.to_dict("records"),
        "items_total": len(frame),
        "item_table_limit": ITEM_TABLE_LIMIT,
        "run_info": data.info,
        "evaluation": data.evaluation,
        "versions": html.software_versions(),
        "reference": REFERENCE_VARIANT,
        "sweep": sweep_ranking(data.rows, reference=REFERENCE_VARIANT),
        "judge": judge_section(data.evaluation, variants),
    }


def write_run_report(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    formats: str | Sequence[str] = ("html", "pdf"),
    worst: int = 8,
    progress: bool = False,
    notes: list[str] | None = None,
) -> list[Path]:
    """Write ``report.html`` and/or ``report.pdf`` for the run in ``run_dir`` into ``out_dir`` (default: the run
    folder); return the written paths. ``worst``: how many items each failure gallery shows. ``notes``, when
    given, receives one line per results file with unreadable lines (they were skipped; the report says so too)."""
    formats = html.parse_formats(formats)
    if worst < 0:
        raise AttnmodError(f"--worst must be 0 or more, got {worst}")
    started = time.perf_counter()
    context = build_run_context(run_dir, worst=worst, progress=progress)
    context["build_seconds"] = time.perf_counter() - started
    if notes is not None:
        notes.extend(context["status"]["unreadable"])
    document = html.render("run.html", **context)
    return html.write_outputs(document, Path(out_dir) if out_dir else Path(run_dir), "report", formats)
