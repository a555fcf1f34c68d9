"""analysis.statistics: the AUROC and the cluster bootstrap on planted data with answers counted by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from attnmod.analysis.statistics import auroc, bootstrap_ci_grouped, bootstrap_clusters, cluster_resamples


def test_auroc_counts_pairs_ranked_correctly_and_half_the_ties():
    # positives score 0.35 and 0.8, negatives 0.1 and 0.4: of the 4 (positive, negative) pairs 3 are ranked right
    assert auroc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    # a binary score: TPR 1/2, TNR 2/2 -> balanced accuracy 0.75
    assert auroc([1, 0, 0, 0], [True, True, False, False]) == pytest.approx(0.75)
    assert auroc([0.5, 0.5], [True, False]) == pytest.approx(0.5)
    assert math.isnan(auroc([0.1, 0.2], [True, True]))


def test_auroc_of_large_scores_keeps_their_order():
    # scores far outside [0, 1] (lifts, KL divergences): 60 > 50 must not become a tie (a sigmoid would merge them)
    assert auroc([50.0, 60.0, 70.0], [False, True, True]) == pytest.approx(1.0)
    assert auroc([-300.0, -200.0], [True, False]) == pytest.approx(0.0)


def test_cluster_resamples_draw_whole_clusters():
    clusters = np.array(["a", "a", "b", "c", "c", "c"])
    for picked in cluster_resamples(clusters, 50, seed=3):
        drawn = clusters[picked]
        for name, size in (("a", 2), ("b", 1), ("c", 3)):
            assert np.count_nonzero(drawn == name) % size == 0  # every draw of a cluster brings all its members
        assert len({*map(str, drawn)}) <= 3


def test_bootstrap_of_a_perfect_separation_stays_at_one_and_a_mean_matches_the_grouped_bootstrap():
    scores = np.array([0.9, 0.8, 0.1, 0.2] * 5)
    labels = np.array([True, True, False, False] * 5)
    clusters = np.array([f"p{i // 2}" for i in range(20)])
    low, high = bootstrap_clusters(lambda picked: auroc(scores[picked], labels[picked]), clusters, 200)
    assert (low, high) == pytest.approx((1.0, 1.0))
    # two prompts, four seeds each, every seed of a prompt alike: prompt means 1 and 0, interval [0, 1]
    values = np.array([1.0] * 4 + [0.0] * 4)
    groups = np.array(["a"] * 4 + ["b"] * 4)
    assert bootstrap_clusters(lambda picked: float(values[picked].mean()), groups, 1000) == (0.0, 1.0)
    assert bootstrap_ci_grouped(values, groups)[1:] == (0.0, 1.0)


def test_a_statistic_undefined_on_too_many_resamples_gives_nan():
    labels = np.array([True, False, False, False])
    clusters = np.array(["a", "b", "c", "d"])
    # the one positive is missing from about a third of the resamples: asking for all of them defined fails
    low, high = bootstrap_clusters(
        lambda picked: auroc(np.arange(4.0)[picked], labels[picked]), clusters, 100, min_defined=100
    )
    assert math.isnan(low) and math.isnan(high)
