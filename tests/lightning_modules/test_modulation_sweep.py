"""Parameter sweeps: `attnmod ablate --sweep` grids over config fields, named points, resuming, and their ranking."""

from __future__ import annotations

import json

import pytest
from attnmod.lightning_modules.data import expand_sweep, load_sweep_file, parse_sweep, sweep_point_settings
from attnmod.reports.sweep_ranking import sweep_ranking
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.modulation.config import Window


def test_a_grid_gives_one_named_variant_per_point_and_none_stays_the_reference():
    axes = [parse_sweep("temperature.tau=0.5,0.70,0.9"), parse_sweep("masking.start=0,0.1")]
    configs = expand_sweep(["none", "full"], axes)
    assert len(configs) == 1 + 3 * 2 and configs["none"].variant == "none"
    point = configs["full~masking.start=0.1,temperature.tau=0.7"]  # keys sorted, values in one spelling
    assert point.temperature.tau == 0.7 and point.masking.window == Window(0.1, 0.5) and point.variant == "full"
    assert sweep_point_settings("full~masking.start=0.1,temperature.tau=0.7") == {
        "masking.start": "0.1",
        "temperature.tau": "0.7",
    }
    assert list(expand_sweep(["full"], [parse_sweep("temperature.tau=0.5")])) == ["full~temperature.tau=0.5"]
    lists = expand_sweep(["temperature"], [parse_sweep("temperature.layers=[up],[down, mid]")])
    assert [c.temperature.layers for c in lists.values()] == [("up",), ("down", "mid")]


def test_a_sweep_file_gives_the_same_points_as_the_options(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text("temperature.tau: [0.5, 0.9]\nmasking.special: [keep, substitute]\n", encoding="utf-8")
    from_file = expand_sweep(["masking+temperature"], load_sweep_file(path))
    from_options = expand_sweep(
        ["masking+temperature"],
        [parse_sweep("masking.special=keep,substitute"), parse_sweep("temperature.tau=0.5,0.9")],
    )
    assert from_file == from_options and len(from_file) == 4


@pytest.mark.parametrize(
    "spec, message",
    [
        ("temperature.tau", "write SECTION.KEY=V1,V2"),
        ("temperature.tua=0.5", "unknown key 'tua'"),
        ("temperature.tau=-1", "tau: input should be greater than 0"),
        ("masking.special=drop", "special: input should be 'keep'"),
    ],
)
def test_bad_sweeps_are_user_errors(spec, message):
    with pytest.raises(AttnmodError, match=message):
        expand_sweep(["full"], [parse_sweep(spec)])


def test_ranking_orders_points_by_the_judge_when_present_else_by_binding():
    rows = []
    for seed in range(6):
        base = {"source": "p.txt", "index": 1, "prompt": "a red cat and a blue dog", "seed": seed, "status": "done"}
        rows.append({**base, "variant": "none", "binding": 0.5, "metrics": {"judge_all_correct": 0}})
        rows.append({**base, "variant": "full~temperature.tau=0.5", "binding": 0.9, "judge_all_correct": seed % 2})
        rows.append({**base, "variant": "full~temperature.tau=0.9", "binding": 0.6, "judge_all_correct": 1})
    ranking = sweep_ranking(rows)
    assert ranking["score"] == "judge_all_correct"
    assert [p["variant"] for p in ranking["points"]] == ["full~temperature.tau=0.9", "full~temperature.tau=0.5"]
    best = ranking["points"][0]
    assert best["mean"] == 1.0 and best["n"] == 6 and best["paired"]["mean"] == 1.0
    assert ranking["points"][1]["mean"] == 0.5 and ranking["points"][1]["low"] < 0.5 < ranking["points"][1]["high"]
    by_binding = sweep_ranking([{k: v for k, v in r.items() if k != "judge_all_correct"} for r in rows])
    assert by_binding["score"] == "binding"
    assert [p["variant"] for p in by_binding["points"]] == ["full~temperature.tau=0.5", "full~temperature.tau=0.9"]
    assert by_binding["points"][0]["paired"]["mean"] == pytest.approx(0.4)
    assert sweep_ranking([r for r in rows if r["variant"] == "none"]) is None


def test_ranking_intervals_resample_prompts_with_all_their_seeds():
    # Two prompts x 5 seeds; the point gets every seed of the first prompt right and none of the second, `none` never.
    rows = []
    for index, prompt in enumerate(["a red cat and a blue dog", "a green cup and a yellow book"]):
        for seed in range(5):
            base = {"source": "p.txt", "index": index, "prompt": prompt, "seed": seed, "status": "done"}
            rows.append({**base, "variant": "none", "judge_all_correct": 0})
            rows.append({**base, "variant": "full~temperature.tau=0.5", "judge_all_correct": 1 - index})
    point = sweep_ranking(rows)["points"][0]
    # two independent prompts: resampled means 0, 0.5 or 1, so the interval spans [0, 1] (ten images one by one
    # would give about [0.2, 0.8])
    assert (point["mean"], point["low"], point["high"]) == (0.5, 0.0, 1.0) and point["n"] == 10
    assert (point["paired"]["mean"], point["paired"]["low"], point["paired"]["high"]) == (0.5, 0.0, 1.0)


@pytest.mark.slow
def test_ablate_sweep_runs_each_point_resumes_and_the_report_ranks_them(run_cli, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red cat and a blue dog\n", encoding="utf-8")
    out = tmp_path / "run"
    arguments = ["ablate", "--model", "tiny", str(prompts), "--out", str(out), "--variants", "none,temperature", "--sweep",
                 "temperature.tau=0.5,0.9", "--seeds", "0", "--steps", "1", "--height", "64", "--width", "64",
                 "--accelerator", "cpu", "--no-progress", "--json"]  # fmt: skip
    first = run_cli(*arguments)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout[first.stdout.index("{") :])
    assert summary["done"] == 3 and summary["skipped"] == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["variant"] for r in rows) == ["none", "temperature~temperature.tau=0.5",
                                                  "temperature~temperature.tau=0.9"]  # fmt: skip
    recorded = json.loads((out / "run.json").read_text(encoding="utf-8"))["variants"]
    assert recorded["temperature~temperature.tau=0.5"]["temperature"]["tau"] == 0.5
    again = run_cli(*arguments)
    assert json.loads(again.stdout[again.stdout.index("{") :])["skipped"] == 3
    report = run_cli("report", str(out), "--format", "html")
    assert report.exit_code == 0, report.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Sweep points ranked by binding" in page and "temperature.tau=0.9" in page
