"""The validity benchmark's statistics and evaluation on planted results with known answers (no model, no judge)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from places import BENCHMARKS, load_benchmark

BENCHMARK = BENCHMARKS / "score_validity"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("score_validity")


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


def test_verdict_wording_follows_the_interval(bench, tmp_path):
    def row(name, auroc, low, high):
        return {"predictor": name, "auroc": auroc, "ci": [low, high], "units": 100, "failures": 30}

    result = {
        "failures": {
            "none/wrong_colour": [row("misbound (lift), spread 0.4", 0.8, 0.7, 0.9)],
            "none/missing": [row("neglected (presence peak < 0.2, as shipped)", 0.55, 0.45, 0.65)],
            "none/merged": [row("self-attention lift, spread 0.4", 0.3, 0.2, 0.4)],
        }
    }
    evidence = bench.verdict_evidence(result)
    assert evidence["misbound"]["reading"] == "predicts" and evidence["misbound"]["auroc"] == 0.8
    assert evidence["neglected"]["reading"] == "nothing"  # its interval includes chance
    assert evidence["self_leakage"]["reading"] == "opposite"
    assert evidence["overlap"] is None  # not measured
    from attnmod.analysis import registry

    assert set(evidence) == set(registry.VALIDATED_VERDICTS)
    # the file the benchmark writes is the one the verdicts read, and their wording follows it
    path = tmp_path / "validation.json"
    meta = {"model": "shapes", "steps": 25, "size": 64, "seeds": [0, 1], "prompts_per_half": {}, "images": 4}
    bench.write_validation(path, result, meta)
    loaded = registry.load_validation(path)
    assert loaded["overlap"] is None
    assert registry.validity_note(loaded["neglected"]) == (
        " [not validated: on the shapes world this predicted the judge's missing objects no better than chance, "
        "AUROC 0.55 (95% CI 0.45-0.65); see docs/validity.md]"
    )
    assert registry.validity_note(loaded["self_leakage"]).startswith(
        " [not validated: on the shapes world this pointed away from the judge's merged objects, AUROC 0.30"
    )


def test_every_verdict_is_measured_by_a_row_the_evaluation_makes(bench):
    from attnmod.analysis.thresholds import Thresholds

    names = {(p.failure, p.name) for p in bench.predictors()}
    for failure, name in bench.VERDICT_EVIDENCE.values():
        assert (failure, name) in names
    shipped = Thresholds()
    assert (shipped.presence, shipped.overlap) == (bench.SHIPPED_PRESENCE, bench.SHIPPED_OVERLAP)
    assert (shipped.region_rule, shipped.background, shipped.min_contrast) == ("spread", 0.4, 0.25)  # "spread 0.4"


def test_shards_deal_out_whole_prompts_and_cover_the_run_once(bench):
    items = bench.plan_items({"tune": 2, "test": 3}, [0, 1], ["none", "full"])
    assert len(items) == 4 * (2 + 3) * 2 * 2
    shards = [bench.shard_of(items, k, 2) for k in range(2)]
    assert sorted(i.id for shard in shards for i in shard) == sorted(i.id for i in items)
    assert abs(len(shards[0]) - len(shards[1])) <= 4  # at most one prompt (2 seeds x 2 variants) apart
    for shard in shards:
        prompts = {(i.set, i.half, i.scene.caption) for i in shard}
        assert len(shard) == 4 * len(prompts)  # every seed and variant of a prompt in the same shard
    assert bench.parse_shard("2/3") == (1, 3)
    for bad in ("0/2", "3/2", "a/b", "1"):
        with pytest.raises(ValueError):
            bench.parse_shard(bad)


def test_the_cache_resumes_per_image_and_reads_an_older_items_file(bench, tmp_path):
    older = [{"id": "a", "half": "test"}, {"id": "b", "half": "tune"}]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in older) + '{"id": "c", "ha', "utf-8")
    bench.write_cached(tmp_path, {"id": "b", "half": "tune", "new": True})
    bench.write_cached(tmp_path, {"id": "d", "half": "test"})
    assert bench.cached_ids(tmp_path) == {"a", "b", "d"}  # the torn line "c" is made again
    rows = bench.read_cached(tmp_path, {"b", "d"})
    assert [r["id"] for r in rows] == ["b", "d"] and rows[0]["new"]  # the per-image file wins
    assert not list((tmp_path / "items").glob(".*"))  # no temporary file left behind


def test_region_free_scores_of_planted_maps(bench):
    import torch

    # tokens: 0 start, 1 "red", 2 "cross", 3 "blue", 4 "circle"; a 4x4 image, cross on the left, circle on the right
    raw = torch.zeros(5, 4, 4)
    raw[2, :, :2], raw[4, :, 2:] = 0.6, 0.6
    raw[1] = 0.2  # "red" spread evenly: lift 1 on every entity, soft margin 0
    raw[3, :, :2], raw[3, :, 2:] = 0.3, 0.1  # "blue" lies on the cross
    raw[0] = 1 - raw[1:].sum(0)
    found = bench.view_scores(raw, [(2,), (4,)], [(1,), (3,)], [1, 2, 3, 4], [1, 2, 3, 4], ["red", "blue"])
    red, blue = found["attributes"]
    assert red["soft_lift"] == pytest.approx(1.0) and red["soft_margin"] == pytest.approx(0.0, abs=1e-6)
    # blue's map: 0.75 of its mass on the cross half (8 pixels): density 0.75 / 8 there, 0.25 / 8 on the circle
    assert blue["soft_lift"] == pytest.approx(16 * 0.25 / 8) and blue["soft_margin"] == pytest.approx(-1.0)
    # at the cross's pixels red holds 0.2 / 1.1 of the word attention and blue 0.3 / 1.1: the rival colour wins
    assert red["competition"] == pytest.approx((0.2 - 0.3) / 1.1)
    # presence peaks: the cross holds 0.6 / 1.1 of its pixels' word attention, the circle 0.6 / 0.9
    assert found["entities"][0]["relative"] == pytest.approx(0.9 / 1.1)
    assert found["entities"][1]["relative"] == pytest.approx(1.0)


def test_specificity_sets_presence_of_found_and_missing_objects_against_the_uniform_share(bench):
    def row(missing, presences, words):
        entities = [{"presence": value, "contrast": 0.5} for value in presences]
        return {"labels": {"missing": missing}, "scores": {"model": {"entities": entities, "word_count": words}}}

    rows = [row([False, True], [0.8, 0.2], 5), row([False, None], [0.6, 0.9], 4)]
    found = bench.specificity(rows)
    # found: 0.8 and 0.6; missing: 0.2; the unjudged object is left out; uniform: 1/5, 1/5, 1/4
    assert found["objects"] == 3
    assert found["presence_found"] == pytest.approx(0.7) and found["presence_missing"] == pytest.approx(0.2)
    assert found["uniform_share"] == pytest.approx((0.2 + 0.2 + 0.25) / 3, abs=1e-3)
    assert bench.specificity([{"labels": {"missing": [True]}, "scores": {}}])["objects"] == 0


def test_the_recorded_command_holds_no_path_of_this_machine(bench):
    root = BENCHMARK.parent.parent
    arguments = ["--merge", "--out", "/somewhere/else/run", f"--docs={root / 'docs' / 'validity.md'}", "--seeds", "0"]
    assert bench.portable(arguments) == ["--merge", "--out", "OUT", "--docs=docs/validity.md", "--seeds", "0"]


def test_a_cache_of_another_model_or_setting_is_refused(bench, tmp_path):
    settings = {"model": "shapes", "weights_sha256": "aaaa", "steps": 25, "size": 64}
    bench.check_same_settings(tmp_path, settings)  # no cache yet
    (tmp_path / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    bench.check_same_settings(tmp_path, dict(settings))  # the same run, resumed
    with pytest.raises(OSError, match="weights_sha256 'aaaa', not 'bbbb'"):
        bench.check_same_settings(tmp_path, {**settings, "weights_sha256": "bbbb"})


def test_judge_labels_carry_the_leakage_verdict_and_none_without_one(bench):
    objects = [{"found": True, "colour_correct": True}, {"found": True, "colour_correct": True}]
    assert bench.judge_labels({"objects": objects, "merged": False, "leaked": True}, 2)["leaked"] is True
    assert bench.judge_labels({"objects": objects, "merged": False}, 2)["leaked"] is None  # an older judge


def leaked_row(half: str, index: int, leaked: bool | None, overlap: float) -> dict:
    """An image of two found objects whose entity pair has a planted overlap; the judge saw a leak or not."""
    levels = {str(level): overlap for level in (0.0, 0.25, 0.5)}
    pair = {"entities": [0, 1], "overlap": overlap, "self_share": {}, "floor": levels,
            "daam": {"0.3": overlap, "0.4": overlap, "0.5": overlap}, "self_lift": {}}  # fmt: skip
    entity = {"contrast": 1.0, "iou": {}, "iou_chance": {}, "presence": None}
    return {
        "id": f"{half}-{index}",
        "half": half,
        "caption": f"{half} prompt {index}",
        "variant": "none",
        "labels": {"missing": [None, None], "wrong_colour": [None, None], "merged": None, "leaked": leaked},
        "scores": {"model": {"entities": [entity, entity], "attributes": [], "pairs": [pair]}},
    }


def test_colour_leakage_is_a_failure_kind_predicted_by_the_overlap_scores(bench):
    # leaked images (every fourth) have the larger overlaps: AUROC 1 for every overlap score; merged is never
    # labelled here, so no merged table is made; a row from an older cache (no leakage label) gives no unit
    rows = [leaked_row(half, index, index % 4 == 0, 0.6 if index % 4 == 0 else 0.1 + 0.01 * index)
            for half in ("tune", "test") for index in range(12)]  # fmt: skip
    rows.append(leaked_row("test", 99, None, 0.9))
    assert "leaked" in bench.FAILURES
    result = bench.evaluate(rows, resamples=50)
    table = {row["predictor"]: row for row in result["failures"]["none/leaked"]}
    assert table["leakage O (sum of minima)"]["auroc"] == pytest.approx(1.0)
    assert table["floor-removed overlap, floor q0.5"]["auroc"] == pytest.approx(1.0)
    counts = result["counts"]["none/leaked"]
    assert counts["test_units"] == 12 and counts["test_failures"] == 3
    merged = result["failures"].get("none/merged", [])
    assert all(row["auroc"] is None or math.isnan(row["auroc"]) for row in merged)
