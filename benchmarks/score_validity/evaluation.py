"""Units and evaluation: every predictor's AUROC on the test half, definitions and thresholds chosen on the tune half."""

from __future__ import annotations

import math

import numpy as np

from .intervals import auroc, bootstrap_auroc, bootstrap_mean, youden_threshold
from .predictors import Predictor, predictors
from .settings import FAILURES, REGION_RULES, VERDICT_GRID

# ---- units and evaluation ----


def units(rows: list[dict], failure: str, variant: str, source: str = "model") -> list[tuple[dict, bool, str]]:
    """``(unit, label, cluster)`` for every judged unit of ``failure`` in ``rows`` of ``variant``."""
    found = []
    for row in rows:
        scores = row["scores"].get(source)
        if row["variant"] != variant or not scores:
            continue
        labels = row["labels"]
        views = scores.get("views") or {}
        if failure == "wrong_colour":
            for index, attribute in enumerate(scores["attributes"]):
                label = labels["wrong_colour"][attribute["entity"]]
                if label is not None:
                    seen = {name: view["attributes"][index] for name, view in views.items()}
                    found.append(({**attribute, "views": seen}, bool(label), row["caption"]))
        elif failure == "missing":
            for index, entity in enumerate(scores["entities"]):
                label = labels["missing"][index]
                if label is not None:
                    seen = {name: view["entities"][index] for name, view in views.items()}
                    found.append(({**entity, "views": seen}, bool(label), row["caption"]))
        elif labels.get(failure) is not None and scores["pairs"]:
            # merged objects and colour leakage: unit = the image, read through its entity pairs (labels cached before
            # the judge had a leakage verdict carry no "leaked" and give no unit)
            unit = {"pairs": scores["pairs"], "entities": scores["entities"]}
            found.append((unit, bool(labels[failure]), row["caption"]))
    return found


def predictor_values(predictor: Predictor, chosen: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Oriented values (NaN imputed with the median: undefined reads as neutral), labels, clusters, undefined share."""
    raw = [predictor.value(unit) for unit, _, _ in chosen]
    values = np.array([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
    undefined = float(np.isnan(values).mean()) if len(values) else float("nan")
    if np.isnan(values).all():
        values = np.zeros_like(values)
    else:
        values = np.where(np.isnan(values), np.nanmedian(values), values)
    labels = np.array([label for _, label, _ in chosen], dtype=bool)
    clusters = np.array([cluster for _, _, cluster in chosen])
    return values, labels, clusters, undefined


def evaluate(rows: list[dict], resamples: int) -> dict:
    """Every predictor's AUROC on the test half (definitions and verdict thresholds chosen on the tune half)."""
    tune = [r for r in rows if r["half"] == "tune"]
    test = [r for r in rows if r["half"] == "test"]
    variants = sorted({r["variant"] for r in rows}, key=lambda v: (v != "none", v))
    result = {"failures": {}, "iou": {}, "counts": {}}
    for variant in variants:
        for failure in FAILURES:
            tune_units = units(tune, failure, variant)
            test_units = units(test, failure, variant)
            table = []
            for predictor in predictors():
                if predictor.failure != failure:
                    continue
                threshold = None
                if predictor.threshold is not None:
                    values, labels, _, _ = predictor_values(predictor, tune_units)
                    # the oriented value is -presence (below) or the overlap itself (at or above)
                    below = predictor.threshold in ("presence", "quantile")
                    raw_scores = -values if below else values
                    grid = VERDICT_GRID
                    if predictor.threshold == "quantile" and len(values):
                        # the tune half's own quantiles: these scores have no fixed range
                        grid = sorted({float(f"{q:.4g}") for q in np.quantile(raw_scores, np.linspace(0.05, 0.95, 19))})
                    threshold = youden_threshold(raw_scores, labels, grid, below) if len(values) else math.nan
                tune_auc = _predict_auc(predictor, tune_units, threshold)
                tune_undefined = predictor_values(predictor, tune_units)[3] if tune_units else math.nan
                test_values, test_labels, clusters, undefined = predictor_values(predictor, test_units)
                if threshold is not None:
                    test_values = _apply_threshold(predictor, test_values, threshold)
                auc = auroc(test_values, test_labels) if len(test_values) else math.nan
                low, high = (
                    bootstrap_auroc(test_values, test_labels, clusters, resamples)
                    if len(test_values)
                    else (math.nan, math.nan)
                )
                table.append(
                    {
                        "predictor": predictor.name,
                        "definition": predictor.definition,
                        "kind": predictor.kind,
                        "family": predictor.family,
                        "threshold": None if threshold is None or math.isnan(threshold) else threshold,
                        "tune_auroc": _round(tune_auc),
                        "auroc": _round(auc),
                        "ci": [_round(low), _round(high)],
                        "undefined": _round(undefined),
                        "tune_undefined": _round(tune_undefined),
                        "units": len(test_units),
                        "failures": int(test_labels.sum()) if len(test_labels) else 0,
                    }
                )
            _mark_chosen(table)
            result["failures"][f"{variant}/{failure}"] = table
            result["counts"][f"{variant}/{failure}"] = {
                "tune_units": len(tune_units),
                "tune_failures": sum(1 for _, label, _ in tune_units if label),
                "test_units": len(test_units),
                "test_failures": sum(1 for _, label, _ in test_units if label),
            }
        if variant != "none":
            result["failures"][f"{variant}/merged (applied maps)"] = _applied_rows(test, variant, resamples)
        result["iou"][variant] = iou_table([r for r in test if r["variant"] == variant], resamples)
        result.setdefault("specificity", {})[variant] = specificity([r for r in rows if r["variant"] == variant])
    return result


def specificity(rows: list[dict]) -> dict:
    """How token-specific the model's cross-attention is (both halves): the mean presence peak of objects the judge
    found and of those it did not, against ``1 / words``, the presence every entity gets when each pixel attends
    to the prompt's words uniformly; and the mean contrast of the entity maps. A presence near the uniform share
    for drawn and missing objects alike means the attention does not say which object is where, and no attention
    score can predict the judge's failures."""
    found, missing, uniform, contrast = [], [], [], []
    for row in rows:
        scores = row["scores"].get("model")
        if not scores or not scores.get("word_count"):
            continue
        for index, entity in enumerate(scores["entities"]):
            label = row["labels"]["missing"][index]
            if label is None or entity["presence"] is None:
                continue
            (missing if label else found).append(entity["presence"])
            uniform.append(1.0 / scores["word_count"])
            if entity["contrast"] is not None:
                contrast.append(entity["contrast"])

    def mean(values):
        return _round(float(np.mean(values))) if values else None

    return {
        "objects": len(found) + len(missing),
        "presence_found": mean(found),
        "presence_missing": mean(missing),
        "uniform_share": mean(uniform),
        "contrast": mean(contrast),
    }


def _apply_threshold(predictor: Predictor, values: np.ndarray, threshold: float) -> np.ndarray:
    if threshold is None or math.isnan(threshold):
        return np.zeros_like(values)
    if predictor.threshold in ("presence", "quantile"):
        return (-values < threshold).astype(np.float64)
    return (values >= threshold).astype(np.float64)


def _predict_auc(predictor: Predictor, chosen: list, threshold) -> float:
    if not chosen:
        return math.nan
    values, labels, _, _ = predictor_values(predictor, chosen)
    if threshold is not None:
        values = _apply_threshold(predictor, values, threshold)
    return auroc(values, labels)


def _mark_chosen(table: list[dict]) -> None:
    """Per (kind, family) among the corrected definitions: the best tune AUROC is the chosen definition."""
    best: dict[tuple[str, str], dict] = {}
    for row in table:
        row["chosen"] = False
        if row["definition"] != "corrected" or row["tune_auroc"] is None:
            continue
        key = (row["kind"], row["family"])
        if key not in best or row["tune_auroc"] > best[key]["tune_auroc"]:
            best[key] = row
    for row in best.values():
        row["chosen"] = True


def _applied_rows(test: list[dict], variant: str, resamples: int) -> list[dict]:
    """Leakage on the applied maps of a modulated run, next to the model's own maps (the circularity check)."""
    rows = []
    for source in ("model", "applied"):
        chosen = units(test, "merged", variant, source)
        for predictor in predictors():
            if predictor.failure != "merged" or predictor.kind != "score" or predictor.family != "overlap":
                continue
            values, labels, clusters, undefined = predictor_values(predictor, chosen)
            defined = [value for value in (predictor.value(u) for u, _, _ in chosen) if value is not None]
            mean = float(np.mean(defined)) if defined else math.nan  # a 0.0 overlap counts, an undefined one not
            rows.append(
                {
                    "predictor": f"{predictor.name} [{source} maps]",
                    "source": source,
                    "mean": _round(mean),
                    "auroc": _round(auroc(values, labels) if len(values) else math.nan),
                    "ci": [_round(v) for v in bootstrap_auroc(values, labels, clusters, resamples)]
                    if len(values)
                    else [None, None],
                    "undefined": _round(undefined),
                    "units": len(chosen),
                }
            )
    return rows


def iou_table(rows: list[dict], resamples: int) -> list[dict]:
    """Per region rule: mean IoU of attention regions with the judge's masks, and of same-area random regions."""
    table = []
    for rule in REGION_RULES:
        ious, chances, clusters = [], [], []
        for row in rows:
            scores = row["scores"].get("model")
            if not scores:
                continue
            for index, entity in enumerate(scores["entities"]):
                if row["labels"]["missing"][index]:
                    continue
                iou, chance = entity["iou"].get(rule), entity["iou_chance"].get(rule)
                if iou is None or chance is None:
                    continue
                ious.append(iou)
                chances.append(chance)
                clusters.append(row["caption"])
        ious_array, chances_array = np.array(ious), np.array(chances)
        difference = ious_array - chances_array
        low, high = bootstrap_mean(difference, np.array(clusters), resamples)
        table.append(
            {
                "rule": rule,
                "objects": len(ious),
                "iou": _round(float(ious_array.mean())) if len(ious) else None,
                "chance": _round(float(chances_array.mean())) if len(ious) else None,
                "difference": _round(float(difference.mean())) if len(ious) else None,
                "ci": [_round(low), _round(high)],
            }
        )
    return table


def _round(value) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 3)
