"""The metric registry: one direction per metric, used by the comparison and the run report."""

from __future__ import annotations

import math

from attnmod.analysis.registry import ATTENTION_METRICS, IMAGE_ITEM_METRICS, METRICS, Metric


def test_improved_follows_the_direction_and_ignores_no_change():
    lower = Metric("x", "lower", "x", "unit", "attention")
    higher = Metric("y", "higher", "y", "unit", "image")
    assert lower.improved(-0.2) is True and lower.improved(0.2) is False
    assert higher.improved(0.2) is True and higher.improved(-0.2) is False
    assert lower.improved(0.0) is None and lower.improved(1e-12) is None and lower.improved(math.nan) is None


def test_every_metric_says_its_formula_unit_and_direction():
    assert ATTENTION_METRICS == ("leakage", "binding", "misbound", "self_leakage")
    assert IMAGE_ITEM_METRICS == ("clip_score", "reward")
    directions = {name: metric.better for name, metric in METRICS.items()}
    assert directions == {
        "leakage": "lower",
        "binding": "higher",
        "misbound": "lower",
        "self_leakage": "lower",
        "clip_score": "higher",
        "reward": "higher",
        "fid": "lower",
    }
    assert all(metric.formula and metric.unit for metric in METRICS.values())


def test_the_comparison_and_the_run_report_take_their_directions_from_the_registry():
    from attnmod.analysis.verdicts import COMPARED
    from attnmod.reports.run_report import IMAGE_METRICS, ROW_METRICS

    assert COMPARED == ATTENTION_METRICS
    assert {name: METRICS[name].better for name in ATTENTION_METRICS} == ROW_METRICS
    assert IMAGE_METRICS == {"clip_score": "higher", "reward": "higher"}
