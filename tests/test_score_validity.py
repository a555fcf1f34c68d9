"""The validity benchmark's statistics and evaluation on planted results with known answers (no model, no judge)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "score_validity.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("score_validity", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_auroc_counts_pairs_ranked_correctly_and_half_the_ties(bench):
    # failures score 0.35 and 0.8, successes 0.1 and 0.4: of the 4 (failure, success) pairs 3 are ranked right
    assert bench.auroc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    # a binary verdict: TPR 1/2, TNR 2/2 -> balanced accuracy 0.75
    assert bench.auroc([1, 0, 0, 0], [True, True, False, False]) == pytest.approx(0.75)
    assert bench.auroc([0.5, 0.5], [True, False]) == pytest.approx(0.5)
    assert math.isnan(bench.auroc([0.1, 0.2], [True, True]))


def test_chance_iou_of_a_random_region_of_the_same_area(bench):
    # a region covering a quarter against a mask covering half: intersection 1/8, union 5/8
    assert bench.chance_iou(0.25, 0.5) == pytest.approx(0.2)
    assert bench.chance_iou(1.0, 0.3) == pytest.approx(0.3)
    assert math.isnan(bench.chance_iou(0.0, 0.0))


def test_bootstrap_interval_holds_a_perfect_score_at_one(bench):
    scores = np.array([0.9, 0.8, 0.1, 0.2] * 5)
    labels = np.array([True, True, False, False] * 5)
    clusters = np.array([f"p{i // 2}" for i in range(20)])
    low, high = bench.bootstrap_auroc(scores, labels, clusters, 200)
    assert low == pytest.approx(1.0) and high == pytest.approx(1.0)


def test_judge_labels_read_objects_by_field_name(bench):
    verdict = {
        "objects": [
            {"found": True, "colour_correct": False, "mask": [[True]]},
            {"found": False, "colour_correct": True},
        ],
        "merged": False,
    }
    labels = bench.judge_labels(verdict, 3)
    assert labels["missing"] == [False, True, None]
    assert labels["wrong_colour"] == [True, None, None]  # a missing object's colour is not judged
    assert labels["merged"] is False
    assert labels["masks"][0].tolist() == [[True]] and labels["masks"][1] is None


def planted_row(half: str, index: int, missing: bool, presence: float, seed: int = 0) -> dict:
    """An image of two objects whose second object is missing or not, with a planted presence score."""
    entity = {
        "presence": presence,
        "presence_unsmoothed": presence,
        "presence_mass": 0.5,  # carries no information
        "contrast": 1.0,
        "area": dict.fromkeys(
            ["peak 0.2", "spread 0.3", "spread 0.4", "spread 0.5", "spread 0.4 c0", "spread 0.4 c0.5", "otsu"], 0.2
        ),
        "iou": {},
        "iou_chance": {},
    }
    present = dict(entity, presence=0.9, presence_unsmoothed=0.9)
    return {
        "id": f"{half}-{index}-{seed}",
        "half": half,
        "caption": f"{half} prompt {index}",
        "variant": "none",
        "labels": {"missing": [False, missing], "wrong_colour": [None, None], "merged": None},
        "scores": {"model": {"entities": [present, entity], "attributes": [], "pairs": []}},
    }


def test_evaluation_reports_the_test_half_with_a_threshold_chosen_on_the_tune_half(bench):
    rows = []
    for half in ("tune", "test"):
        for index in range(12):
            missing = index % 3 == 0
            presence = 0.05 + 0.01 * index if missing else 0.5 + 0.01 * index  # missing objects score low
            rows.append(planted_row(half, index, missing, presence))
    result = bench.evaluate(rows, resamples=50)
    table = {row["predictor"]: row for row in result["failures"]["none/missing"]}
    assert table["presence peak (smoothed)"]["auroc"] == pytest.approx(1.0)
    assert table["presence mass"]["auroc"] == pytest.approx(0.5)  # constant: predicts nothing
    neglected = table["neglected (presence peak < t)"]
    assert 0.15 <= neglected["threshold"] <= 0.5  # separates 0.05-0.14 from 0.5+ on the tune half
    assert neglected["auroc"] == pytest.approx(1.0)
    assert bench.reading(table["presence mass"]) == "predicts nothing (interval includes 0.5)"
    counts = result["counts"]["none/missing"]
    assert counts["test_units"] == 24 and counts["test_failures"] == 4


def test_verdict_wording_follows_the_interval(bench):
    def row(name, auroc, low, high):
        return {"predictor": name, "auroc": auroc, "ci": [low, high]}

    result = {
        "failures": {
            "none/wrong_colour": [row("misbound (lift), spread 0.4", 0.8, 0.7, 0.9)],
            "none/missing": [row("neglected (presence peak < t)", 0.55, 0.45, 0.65)],
        }
    }
    evidence = bench.verdict_evidence(result)
    assert evidence["misbound"] == "predicts"
    assert evidence["neglected"] == "nothing"  # its interval includes chance
    assert evidence["overlap"] is None  # not measured
    from attnmod.analysis import verdicts

    assert set(evidence) == set(verdicts.VALIDATION)
