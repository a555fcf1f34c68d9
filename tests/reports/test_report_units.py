"""Report building blocks with planted inputs and known answers: statistics, run tables, maps, escaping, figures."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch
from attnmod.analysis.statistics import bootstrap_ci, bootstrap_ci_grouped
from attnmod.reports import figures, html, maps
from attnmod.reports.run_report import (
    RunData,
    category_summary,
    made_worse,
    paired_differences,
    read_run,
    results_frame,
    run_status,
    variant_order,
    variant_summary,
    worst_items,
)
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.modulation.record import AttentionRecord, Phase
from attnmod.toolkit.prompt.tree import Attribute, Entity, PromptTree
from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# ---------------------------------------------------------------------------------------------- bootstrap_ci


def test_grouped_bootstrap_resamples_whole_groups():
    # two prompts, four seeds each, every seed of a prompt alike: only two independent units. Resampling prompts gives
    # means 0, 0.5 or 1 (probabilities 1/4, 1/2, 1/4): the 95% interval is [0, 1]; resampling images, far narrower.
    values, groups = [1.0] * 4 + [0.0] * 4, ["a"] * 4 + ["b"] * 4
    assert bootstrap_ci_grouped(values, groups) == (0.5, 0.0, 1.0)
    _, low, high = bootstrap_ci(values)
    assert 0.0 < low < 0.5 < high < 1.0
    # a group of its own for every value: the image-level bootstrap, the same draws
    mixed = [0.2, 0.9, None, 0.4, 0.7, float("nan"), 0.1]
    assert bootstrap_ci_grouped(mixed, range(len(mixed)), seed=4) == pytest.approx(bootstrap_ci(mixed, seed=4))
    # unfinished values are left out; a single group falls back to resampling its values
    assert bootstrap_ci_grouped([0.0, 1.0, None, 1.0], ["p"] * 4, seed=1) == bootstrap_ci([0.0, 1.0, 1.0], seed=1)
    assert all(math.isnan(x) for x in bootstrap_ci_grouped([None, float("inf")], ["a", "b"]))
    with pytest.raises(AttnmodError, match="3 values but 2 group labels"):
        bootstrap_ci_grouped([1.0, 2.0, 3.0], ["a", "b"])


def test_bootstrap_ci_of_a_constant_is_the_constant():
    assert bootstrap_ci([2.5] * 10) == (2.5, 2.5, 2.5)


def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    values = np.random.default_rng(1).normal(10.0, 2.0, size=400)
    first = bootstrap_ci(values, resamples=2000, seed=7)
    assert first == bootstrap_ci(values, resamples=2000, seed=7)
    assert first != bootstrap_ci(values, resamples=2000, seed=8)
    mean, low, high = first
    assert mean == pytest.approx(values.mean())
    assert low < mean < high
    # The normal-theory 95% interval has half-width 1.96 * sd / sqrt(n); the bootstrap agrees closely at n = 400.
    expected = 1.96 * values.std(ddof=1) / math.sqrt(values.size)
    assert (high - low) / 2 == pytest.approx(expected, rel=0.15)


def test_bootstrap_ci_widens_with_confidence_and_drops_missing_values():
    values = [1.0, 2.0, None, 4.0, float("nan"), 8.0, 3.0]
    _, low90, high90 = bootstrap_ci(values, confidence=0.90)
    mean, low99, high99 = bootstrap_ci(values, confidence=0.99)
    assert mean == pytest.approx(np.mean([1.0, 2.0, 4.0, 8.0, 3.0]))
    assert low99 <= low90 and high99 >= high90
    assert high99 - low99 > high90 - low90


def test_bootstrap_ci_edge_cases():
    assert all(math.isnan(x) for x in bootstrap_ci([]))
    assert all(math.isnan(x) for x in bootstrap_ci([None, float("nan")]))
    assert bootstrap_ci([4.0]) == (4.0, 4.0, 4.0)
    median, low, high = bootstrap_ci([1.0, 2.0, 100.0], statistic=np.median)
    assert median == 2.0 and low >= 1.0 and high <= 100.0
    with pytest.raises(AttnmodError):
        bootstrap_ci([1.0, 2.0], confidence=1.5)
    with pytest.raises(AttnmodError):
        bootstrap_ci([1.0, 2.0], resamples=0)


# ---------------------------------------------------------------------------------------------- run tables


def _row(item_id, variant, index, leakage, misbound, binding=None, status="done", category="color", seed=0):
    return {
        "id": item_id,
        "prompt": f"prompt {index}",
        "seed": seed,
        "variant": variant,
        "status": status,
        "folder": f"items/{item_id}" if status == "done" else None,
        "error": None if status == "done" else "boom",
        "category": category,
        "source": "p.txt",
        "index": index,
        "seconds": 1.0,
        "leakage": leakage,
        "binding": binding,
        "misbound": misbound,
    }


PLANTED_ROWS = [
    _row("n1", "none", 1, 0.50, 0, 0.9),
    _row("f1", "full", 1, 0.30, 0, 0.8),  # leakage -0.2
    _row("n2", "none", 2, 0.40, 1, 0.5),
    _row("f2", "full", 2, 0.60, 1, 0.6),  # leakage +0.2: made worse (same misbound, more leakage)
    _row("n3", "none", 3, 0.20, 0),
    _row("f3", "full", 3, 0.10, 2),  # misbound +2: made worse, and the worst item
    _row("f4", "full", 4, None, None, status="failed"),
]


def _planted_frame():
    return results_frame(RunData(folder=None, rows=PLANTED_ROWS, info=None, evaluation=None, in_progress_files=[]))


def test_paired_differences_pair_items_by_prompt_and_seed():
    differences = paired_differences(_planted_frame(), ["leakage", "misbound", "binding"]).set_index("metric")
    assert differences.loc["leakage", "mean"] == pytest.approx((-0.2 + 0.2 - 0.1) / 3)
    assert differences.loc["leakage", "n"] == 3
    assert differences.loc["misbound", "mean"] == pytest.approx(2 / 3)
    # Binding exists for two pairs only: (0.8 - 0.9) and (0.6 - 0.5).
    assert differences.loc["binding", "mean"] == pytest.approx(0.0, abs=1e-12)
    assert differences.loc["binding", "n"] == 2
    low, high = differences.loc["leakage", "low"], differences.loc["leakage", "high"]
    assert -0.2 - 1e-9 <= low <= differences.loc["leakage", "mean"] <= high <= 0.2 + 1e-9


def test_report_intervals_resample_prompts_with_all_their_seeds():
    # Two prompts, four seeds each, every seed of a prompt alike: two independent units, so each interval is the
    # two-prompt one (resampled means at the two values and their midpoint), where resampling the eight images
    # would give a narrower one.
    rows = []
    for index, (base, modulated) in enumerate([(1.0, 2.0), (0.0, 0.0)], start=1):
        for seed in range(4):
            rows.append(_row(f"n{index}{seed}", "none", index, base, 0, seed=seed))
            rows.append(_row(f"f{index}{seed}", "full", index, modulated, 0, seed=seed))
    frame = results_frame(RunData(None, rows, None, None, []))
    summary = {entry["variant"]: entry for entry in variant_summary(frame, ["none", "full"], None)}
    assert summary["none"]["leakage"] == {"mean": 0.5, "low": 0.0, "high": 1.0, "n": 8}
    assert summary["full"]["leakage"] == {"mean": 1.0, "low": 0.0, "high": 2.0, "n": 8}
    differences = paired_differences(frame, ["leakage"]).set_index("metric")
    assert differences.loc["leakage", ["mean", "low", "high", "n"]].tolist() == [0.5, 0.0, 1.0, 8]
    categories = category_summary(frame, ["leakage"], ["none"]).iloc[0]
    assert categories[["mean", "low", "high"]].tolist() == [0.5, 0.0, 1.0]


def test_paired_differences_need_the_reference_variant():
    rows = [r for r in PLANTED_ROWS if r["variant"] != "none"]
    frame = results_frame(RunData(None, rows, None, None, []))
    assert paired_differences(frame, ["leakage"]).empty


def test_worst_and_made_worse_items():
    frame = _planted_frame()
    assert worst_items(frame, 2) == ["f3", "f2"]  # most misbound first, then leakage; none and failed excluded
    worse = made_worse(frame, 5)
    assert [w["id"] for w in worse] == ["f3", "f2"]
    assert worse[0]["reference_id"] == "n3" and worse[0]["misbound_change"] == 2
    assert worse[1]["leakage_change"] == pytest.approx(0.2)
    assert [w["id"] for w in made_worse(frame, 5, exclude=["f3"])] == ["f2"]


def _write_rows(path, rows, tail=""):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail, encoding="utf-8")


def test_run_status_of_a_finished_partly_failed_run(tmp_path):
    _write_rows(tmp_path / "results.jsonl", PLANTED_ROWS)
    (tmp_path / "run.json").write_text(json.dumps({"status": "finished", "counts": {"items": 8}}))
    status = run_status(read_run(tmp_path))
    assert (status["state"], status["recorded"], status["done"], status["failed"]) == ("finished", 7, 6, 1)
    assert status["expected"] == 8 and status["missing"] == 1
    assert "1 failed" in status["message"] and "1 items have no row" in status["message"]
    assert status["level"] == "warn"


def test_a_run_in_progress_is_read_from_its_rank_files(tmp_path):
    _write_rows(tmp_path / "results-rank0.jsonl", PLANTED_ROWS[:2], tail='{"id": "cut sh')
    _write_rows(tmp_path / "results-rank1.jsonl", PLANTED_ROWS[2:3])
    (tmp_path / "run.json").write_text(json.dumps({"status": "running", "variants": {"full": {}, "none": {}}}))
    data = read_run(tmp_path)
    assert sorted(r["id"] for r in data.rows) == ["f1", "n1", "n2"]
    status = run_status(data)
    assert status["state"] == "running" and status["recorded"] == 3
    assert status["message"].startswith("Run in progress")
    assert variant_order(data) == ["none", "full"]


def test_read_run_skips_damaged_lines_and_rejects_a_missing_run(tmp_path):
    with pytest.raises(AttnmodError, match="does not exist"):
        read_run(tmp_path / "missing")
    with pytest.raises(AttnmodError, match="no results.jsonl"):
        read_run(tmp_path)
    # One damaged line does not refuse the report (issue 15): it is skipped, counted and said.
    _write_rows(tmp_path / "results.jsonl", PLANTED_ROWS[:1], tail="{not json\n")
    data = read_run(tmp_path)
    assert len(data.rows) == 1
    assert data.unreadable == ["skipped 1 unreadable line(s) of results.jsonl (line 2; first: not JSON (Expecting "
                               "property name enclosed in double quotes))"]  # fmt: skip
    assert "Skipped 1 unreadable line(s) of results.jsonl" in run_status(data)["message"]


# ---------------------------------------------------------------------------------------------- maps


def _planted_record() -> AttentionRecord:
    record = AttentionRecord(phases=(Phase("early", 0.0, 0.5), Phase("late", 0.5, 1.0)))
    early = torch.zeros(5, 2, 2)
    early[1] = 2.0  # uniform: each pixel 1/4 once normalised
    early[2] = torch.tensor([[4.0, 0.0], [0.0, 0.0]])  # all on the top-left pixel
    late = torch.zeros(5, 2, 2)
    late[1] = torch.tensor([[0.0, 0.0], [0.0, 6.0]])  # all on the bottom-right pixel
    record.add("cross", "2x2", "early", early, count=2)
    record.add("cross", "2x2", "late", late, count=1)
    return record


def test_label_maps_are_the_normalised_group_maps_the_analysis_scores():
    labels = [
        maps.TokenLabel("car", "entity", (1,), 0),
        maps.TokenLabel("red (car)", "attribute", (1, 2), 0),
        maps.TokenLabel("gone", "entity", (), 1),
        maps.TokenLabel("past the end", "entity", (40,), 2),
    ]
    record = _planted_record()
    early = maps.label_maps(record, labels, phase="early")
    np.testing.assert_allclose(early["car"], np.full((2, 2), 0.25))
    # Each token normalised first: (uniform + all-top-left) / 2, whatever their raw masses (2 vs 4 per pixel).
    np.testing.assert_allclose(early["red (car)"], [[0.625, 0.125], [0.125, 0.125]])
    assert early["gone"] is None and early["past the end"] is None
    # Over all phases, contributions weigh by count: token 1 sums (2 everywhere) + (6 bottom-right) over 3.
    overall = maps.label_maps(record, labels)
    np.testing.assert_allclose(overall["car"], np.array([[2.0, 2.0], [2.0, 8.0]]) / 14.0, rtol=1e-6)
    by_phase = maps.phase_label_maps(record, labels)
    assert set(by_phase) == {"early", "late"}
    np.testing.assert_allclose(by_phase["late"]["car"], [[0.0, 0.0], [0.0, 1.0]])


def test_label_maps_combine_resolutions_at_the_coarsest():
    record = AttentionRecord(phases=(Phase("early", 0.0, 1.0),))
    coarse = torch.zeros(2, 2, 2)
    coarse[1, 0, 0] = 1.0  # top-left quarter
    fine = torch.zeros(2, 4, 4)
    fine[1, 2:, 2:] = 1.0  # bottom-right quarter
    record.add("cross", "2x2", "early", coarse)
    record.add("cross", "4x4", "early", fine)
    label = [maps.TokenLabel("cat", "entity", (1,), 0)]
    combined = maps.label_maps(record, label, phase="early")["cat"]
    np.testing.assert_allclose(combined, [[0.5, 0.0], [0.0, 0.5]], atol=1e-6)
    only_fine = maps.label_maps(record, label, phase="early", resolution="4x4")["cat"]
    assert only_fine.shape == (4, 4) and only_fine[3, 3] == pytest.approx(0.25)
    assert maps.label_maps(AttentionRecord(), label)["cat"] is None


def test_token_labels_keep_duplicate_words_apart():
    tree = PromptTree(
        "a red cat and a red cat",
        (
            Entity("cat", "cat", (6, 9), (Attribute("red", (2, 5), (2,)),), None, (3,)),
            Entity("cat", "cat", (20, 23), (Attribute("red", (16, 19), (6,)),), None, (7,)),
        ),
    )
    labels = maps.token_labels(tree)
    assert [label.label for label in labels] == ["cat", "red (cat)", "cat #2", "red (cat) #2"]
    assert [label.tokens for label in labels] == [(3,), (2,), (7,), (6,)]
    assert [label.label for label in maps.token_labels(tree, include_attributes=False)] == ["cat", "cat #2"]


# ---------------------------------------------------------------------------------------------- figures


def test_shared_scale():
    assert figures.shared_scale([np.array([[0.2, 0.5]]), None, np.array([[0.1, np.nan]])]) == (0.1, 0.5)
    assert figures.shared_scale([None]) == (0.0, 1.0)
    low, high = figures.shared_scale([np.full((2, 2), 0.3)])
    assert low == 0.3 and high > low


def test_prompt_tree_layout_puts_parents_over_their_children():
    tree = PromptTree(
        "a cat with a red hat and a dog",
        (
            Entity("cat", "cat", (2, 5), (), None, (2,)),
            Entity("hat", "hat", (17, 20), (Attribute("red", (13, 16), (5,)),), 0, (6,)),
            Entity("dog", "dog", (27, 30), (), None, (9,)),
        ),
    )
    nodes, edges = figures._tree_layout(tree)
    kinds = [node["kind"] for node in nodes]
    assert kinds == ["prompt", "entity", "entity", "attribute", "entity"]
    cat, hat, red, dog = nodes[1], nodes[2], nodes[3], nodes[4]
    assert (cat["depth"], hat["depth"], red["depth"], dog["depth"]) == (1, 2, 3, 1)
    assert cat["x"] == hat["x"] == red["x"] == 0 and dog["x"] == 1
    assert nodes[0]["x"] == 0.5
    assert sorted(edges) == [(0, 1), (0, 4), (1, 2), (2, 3)]


def test_figures_draw_dollar_signs_and_missing_maps():
    tree = PromptTree("a $5 bill and a $10 coin", (Entity("bill", "$5 bill", (2, 9), (), None, (2, 3)),))
    image = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    drawn = [
        figures.prompt_tree_figure(tree),
        figures.prompt_tree_figure(PromptTree("nothing here")),
        figures.attention_overlay_figure(
            {"baseline": image, "modulated": None},
            {"baseline": {"early": {"$5 bill": np.eye(4)}}, "modulated": {}},
            ["$5 bill"],
            ["early", "late"],
        ),
        figures.overlap_heatmap_figure(
            {"baseline": {"early": np.array([[np.nan, 0.4], [0.4, np.nan]]), "late": None}}, ["$a", "b"]
        ),
        figures.binding_bars_figure(
            ["red $"], {"baseline": [0.2], "modulated": [None]}, {"baseline": [True]}, [(0.6, "weak")]
        ),
        figures.binding_bars_figure([], {"baseline": []}),
        figures.attribution_figure([("leakage: ig", ["a", "$5"], [0.1, -0.3])]),
        figures.attribution_figure([]),
    ]
    for figure in drawn:
        expected = tuple(int(side * figures.DPI) for side in figure.get_size_inches())  # as Agg sizes its canvas
        png = figures.to_png(figure)
        assert png.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(png)) as image:  # a whole PNG of the figure's size with something drawn on it
            image.load()
            assert image.size == expected
            colours = image.convert("RGB").getcolors(1 << 16) or []
            assert len(colours) > 2 and max(count for count, _ in colours) < image.size[0] * image.size[1]


# ---------------------------------------------------------------------------------------------- html


def test_numbers_and_intervals_format_for_tables():
    assert html.format_number(None) == "n/a"
    assert html.format_number(float("nan")) == "n/a"
    assert html.format_number(3) == "3"
    assert html.format_number(0.12345) == "0.123"
    assert html.format_number(2.0, 0) == "2"
    assert html.format_number(True) == "yes"
    assert html.format_interval({"mean": 0.5, "low": 0.25, "high": 0.75}) == "0.500 [0.250, 0.750]"
    assert html.format_interval((0.5, float("nan"), float("nan"))) == "0.500"
    assert html.format_interval(None) == "n/a"


def test_parse_formats():
    assert html.parse_formats("pdf, html,pdf") == ("pdf", "html")
    assert html.parse_formats(["html"]) == ("html",)
    with pytest.raises(AttnmodError, match="unknown report format 'docx'"):
        html.parse_formats("html,docx")
    with pytest.raises(AttnmodError, match="no report format"):
        html.parse_formats(" , ")


def test_templates_escape_user_text():
    hostile = '<script>alert(1)</script> & "quotes" <img src=x onerror=alert(2)>'
    page = html.render("base.html", title=hostile, versions={"attnmod": "0"})
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_write_outputs_writes_readable_files_and_a_pdf(tmp_path):
    page = html.render("base.html", title="t", versions={"attnmod": "0"})
    written = html.write_outputs(page, tmp_path / "out", "report", ("html", "pdf"))
    assert [p.name for p in written] == ["report.html", "report.pdf"]
    assert written[1].read_bytes().startswith(b"%PDF-")
    assert written[0].stat().st_mode & 0o044 == 0o044  # not private: readable like any written file
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_the_distribution_figure_is_the_same_each_time_and_leaves_numpys_random_state_alone():
    import pandas as pd

    table = pd.DataFrame({"variant": ["none"] * 6 + ["full"] * 6, "leakage": np.linspace(0.1, 0.9, 12)})
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)

    first = figures.to_png(figures.distribution_figure(table, ["leakage"], ["none", "full"]), colors=None)
    assert np.random.random() == expected_next  # the caller's stream goes on where it was
    np.random.seed(999)  # another global state must not move the points
    second = figures.to_png(figures.distribution_figure(table, ["leakage"], ["none", "full"]), colors=None)

    assert np.array_equal(np.asarray(Image.open(io.BytesIO(first))), np.asarray(Image.open(io.BytesIO(second))))
