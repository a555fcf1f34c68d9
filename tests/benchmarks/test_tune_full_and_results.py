"""The evidence scripts of issue 14: benchmarks/tune_full.py (the sweep that picks full's settings on the /tune
prompts) and benchmarks/results.py (the claim on the /test prompts). Statistics on planted rows with answers worked
out by hand; resuming, sharding and fingerprints with a fake generator; one end-to-end run of each on the tiny model.
"""

from __future__ import annotations

import json

import pytest
from places import load_benchmark

results = load_benchmark("results")
tune_full = load_benchmark("tune_full")


def row(variant, caption, seed=0, set_name="seen-2/test", seconds=1.0, **metrics):
    values = {"object_accuracy": 1.0, "colour_binding": 1.0, "all_correct": 1.0}
    values.update(metrics)
    return {"set": set_name, "caption": caption, "seed": seed, "variant": variant, "seconds": seconds, **values}


# ---------------------------------------------------------------------------------------------- statistics


def test_paired_differences_and_time_ratio_on_planted_rows():
    # 4 prompts x 2 seeds. none binds colours on prompts p0, p1 only; full on all four -> full's binding 100%,
    # none's 50%, paired difference +50 points. Object accuracy equal -> difference exactly 0.
    rows = []
    for index in range(4):
        for seed in (0, 1):
            rows.append(row("none", f"p{index}", seed, colour_binding=float(index < 2), seconds=2.0))
            rows.append(row("full", f"p{index}", seed, colour_binding=1.0, seconds=3.0))
    summary = results.summarise(rows, ["none", "full"], ["seen-2/test"])["seen-2/test"]
    assert summary["none"]["colour_binding"]["mean"] == pytest.approx(0.5)
    assert summary["full"]["colour_binding"]["mean"] == pytest.approx(1.0)
    difference = summary["full"]["colour_binding_vs_none"]
    assert difference["mean"] == pytest.approx(0.5)
    assert difference["n"] == 8 and difference["groups"] == 4  # resampled by prompt, both seeds together
    # per prompt the difference is 0 (p0, p1) or 1 (p2, p3): every resample mean lies in [0, 1]
    assert 0.0 <= difference["low"] <= 0.5 <= difference["high"] <= 1.0
    assert summary["full"]["object_accuracy_vs_none"]["mean"] == 0.0
    assert summary["full"]["object_accuracy_vs_none"]["low"] == summary["full"]["object_accuracy_vs_none"]["high"]
    assert summary["full"]["time_ratio"] == pytest.approx(1.5)
    assert summary["none"]["colour_binding_vs_none"] is None


def test_pooled_groups_join_the_2_object_sets_and_a_none_verdict_is_left_out():
    rows = [
        row("none", "a", set_name="seen-2/test", colour_binding=0.0),
        row("full", "a", set_name="seen-2/test", colour_binding=1.0),
        row("none", "b", set_name="heldout-2/test", colour_binding=None),  # no shape drawn: binding undefined
        row("full", "b", set_name="heldout-2/test", colour_binding=1.0),
    ]
    sets = ["seen-2/test", "heldout-2/test"]
    summary = results.summarise(rows, ["none", "full"], sets)
    assert list(summary) == ["2 objects (pooled)", "seen-2/test", "heldout-2/test"]
    pooled = summary["2 objects (pooled)"]
    assert pooled["full"]["colour_binding"]["n"] == 2 and pooled["none"]["colour_binding"]["n"] == 1
    assert pooled["full"]["colour_binding_vs_none"]["n"] == 1  # only prompt a has both verdicts
    assert pooled["full"]["colour_binding_vs_none"]["mean"] == 1.0


def test_goal_verdict_needs_the_binding_interval_above_zero_and_objects_not_below():
    def entry(binding, objects):
        return {
            "colour_binding_vs_none": {"mean": binding[0], "low": binding[0], "high": binding[1], "n": 10},
            "object_accuracy_vs_none": {"mean": objects[0], "low": objects[0], "high": objects[1], "n": 10},
        }

    met = {"seen-2/test": {"none": {}, "full-tuned": entry((0.05, 0.2), (-0.1, 0.05))}}
    worse_objects = {"seen-2/test": {"none": {}, "full-tuned": entry((0.05, 0.2), (-0.2, -0.01))}}
    touching_zero = {"seen-2/test": {"none": {}, "full-tuned": entry((0.0, 0.2), (0.0, 0.1))}}
    assert "goal met" in results.verdict(met)[0]
    assert "goal not met" in results.verdict(worse_objects)[0]
    assert "goal not met" in results.verdict(touching_zero)[0]


def test_main_effects_average_over_the_other_axes():
    # axis A changes all-correct from 0 to 1 on every prompt; axis B changes nothing
    axes = [("masking.special", ['"keep"', '"substitute"']), ("temperature.tau", ["0.8", "0.6"])]
    configs = tune_full.sweep_configs(axes)
    labels = list(configs)
    assert len(labels) == 5 and labels[0] == "none"
    rows = []
    for label in labels[1:]:
        substitute = tune_full.point_settings(label)["masking.special"] == '"substitute"'
        for prompt in ("p0", "p1", "p2"):
            rows.append(row(label, prompt, set_name="seen-2/tune", all_correct=float(substitute)))
    effects = {(e["key"], e["value"]): e for e in tune_full.main_effects(rows, axes, labels, "all_correct")}
    assert effects[("masking.special", '"substitute"')]["mean"] == 1.0
    assert effects[("temperature.tau", "0.6")]["mean"] == 0.0
    assert effects[("masking.special", '"substitute"')]["groups"] == 3


def test_points_rank_by_all_correct_then_colour_binding():
    axes = [("temperature.tau", ["0.8", "0.6", "0.4"])]
    labels = list(tune_full.sweep_configs(axes))
    by_tau = {tune_full.point_settings(label).get("temperature.tau"): label for label in labels}
    planted = {"0.8": (0.5, 0.2), "0.6": (0.5, 0.9), "0.4": (0.0, 1.0)}  # (all correct, colour binding)
    rows = [row("none", f"p{i}", set_name="seen-2/tune", all_correct=0.0) for i in range(2)]
    for tau, (correct, binding) in planted.items():
        rows += [row(by_tau[tau], f"p{i}", set_name="seen-2/tune", all_correct=correct, colour_binding=binding)
                 for i in range(2)]  # fmt: skip
    ranked = [point["settings"]["temperature.tau"] for point in tune_full.rank_points(rows, labels)]
    assert ranked == ["0.6", "0.8", "0.4"]


# ---------------------------------------------------------------------------------------------- configurations


def test_the_default_grid_holds_the_current_defaults_and_settings_round_trip():
    from attnmod.toolkit.modulation.config import ModulationConfig

    axes = tune_full.grid_axes([], None)
    configs = tune_full.sweep_configs(axes)
    assert len(configs) == 9  # none + 2 x 2 x 2 points
    defaults = tune_full.default_point(configs)
    assert configs[defaults].to_json() == ModulationConfig.from_variant("full").to_json()
    for label, config in configs.items():
        if label == "none":
            continue
        settings = tune_full.overrides(tune_full.point_settings(label))
        assert ModulationConfig.from_variant("full").with_overrides(settings) == config
        assert not any('"' in setting for setting in settings)  # bare words on a command line


def test_tuned_from_a_sweep_json_a_config_file_or_settings(tmp_path):
    from attnmod.toolkit.modulation.config import ModulationConfig

    tuned = ModulationConfig.from_variant("full").with_overrides(["masking.special=substitute", "masking.end=1.0"])
    sweep = tmp_path / "sweep.json"
    sweep.write_text(json.dumps({"best": {"config": tuned.to_json()}}), encoding="utf-8")
    assert results.load_tuned(str(sweep)) == tuned
    assert results.load_tuned(str(tuned.save(tmp_path / "full-tuned.json"))) == tuned
    assert results.load_tuned(None, ["masking.special=substitute", "masking.end=1.0"]) == tuned
    assert results.load_tuned(None) is None
    assert sorted(results.config_changes(tuned, ModulationConfig.from_variant("full"))) == [
        "masking.special=substitute",
        "masking.window=[0.0,1.0]",
    ]
    configs = results.variant_configs(tuned)
    assert list(configs) == ["none", "temperature", "masking", "reweighting", "full-old-defaults", "full-tuned"]
    assert configs["masking"].masking == tuned.masking and configs["masking"].enabled_parts == ("masking",)
    assert configs["full-old-defaults"] == ModulationConfig.legacy("full")
    with pytest.raises(results.UsageError, match="no such file"):
        results.load_tuned(str(tmp_path / "missing.json"))
    with pytest.raises(results.UsageError, match="masking"):
        results.load_tuned(None, ["masking.nope=1"])


# ---------------------------------------------------------------------------------------------- work, rows, resume


def test_shards_split_the_work_without_overlap():
    full = results.build_work(["seen-2/test", "seen-3/test"], 3, [0, 1], 0)
    assert len(full) == 12
    shards = [results.build_work(["seen-2/test", "seen-3/test"], 3, [0, 1], 0, (k, 2)) for k in (0, 1)]
    keys = [[(n, s.caption, seed) for n, s, seed in shard] for shard in shards]
    assert set(keys[0]).isdisjoint(keys[1])
    assert sorted(keys[0] + keys[1]) == sorted((n, s.caption, seed) for n, s, seed in full)
    with pytest.raises(results.UsageError):
        results.parse_shard("2/2")
    with pytest.raises(results.UsageError):
        results.parse_shard("a/b")


class Killed(Exception):
    pass


def test_rows_resume_after_a_kill_and_a_changed_config_is_redone(tmp_path):
    from attnmod.toolkit.modulation.config import ModulationConfig

    work = results.build_work(["seen-2/test"], 4, [0], 0)
    configs = {"none": ModulationConfig.from_variant("none"), "full": ModulationConfig.from_variant("full")}
    settings = {"model": "fake", "weights": "w", "steps": 1}
    calls = []

    def generate(prompts, config, seeds, scenes):
        if len(calls) == 3:
            raise Killed
        calls.append((config.variant, tuple(prompts)))
        return [None] * len(prompts)

    def judge(image, scene):
        return {"object_accuracy": 1.0, "colour_binding": 1.0, "all_correct": 1.0}

    rows_dir = tmp_path / "rows"
    with pytest.raises(Killed):
        results.generate_rows(None, settings, work, configs, rows_dir / "rows.jsonl", 2, (), generate, judge)
    assert len(results.read_rows(rows_dir)) == 6  # three calls of two images each were written before the kill
    calls.clear()
    calls.append("resumed")  # the fake would fail on its third call from here; only one is needed
    new = results.generate_rows(
        None, settings, work, configs, rows_dir / "rows.jsonl", 2, results.read_rows(rows_dir), generate, judge
    )
    assert len(new) == 2 and calls[1:] == [("full", tuple(s.caption for _, s, _ in work[2:]))]
    # another tuned configuration under the same label is made again; the old rows no longer count
    changed = dict(configs, full=configs["full"].with_overrides(["temperature.tau=0.6"]))
    calls.clear()
    new = results.generate_rows(
        None, settings, work, changed, rows_dir / "rows.jsonl", 4, results.read_rows(rows_dir), generate, judge
    )
    assert [row["variant"] for row in new] == ["full"] * 4
    prints = {label: results.fingerprint(config.to_json()) for label, config in changed.items()}
    kept = results.current_rows(results.read_rows(rows_dir), results.fingerprint(settings), prints)
    assert len(kept) == 8
    # other weights under the same model name: nothing counts
    assert (
        results.current_rows(results.read_rows(rows_dir), results.fingerprint({**settings, "weights": "x"}), prints)
        == []
    )


def test_bad_input_is_one_line_and_exit_1(capsys):
    assert results.main(["--shard", "3/2"]) == 1
    assert tune_full.main(["--sweep", "temperature.tau"]) == 1
    assert tune_full.main(["--merge", "--shard", "0/2"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)


# ---------------------------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_tune_then_report_end_to_end_on_the_tiny_model(tmp_path):
    """The sweep writes its table and the best point; results.py reads that point and writes the report; a second
    run of results.py makes no image (every row is there)."""
    from attnmod.toolkit.modulation.config import ModulationConfig

    sweep_dir, report_dir = tmp_path / "sweep", tmp_path / "report"
    common = ["--model", "tiny", "--steps", "1", "--prompts", "1", "--seeds", "0", "--batch", "4"]
    assert tune_full.main([*common, "--sweep", "temperature.tau=0.8,0.6", "--out-dir", str(sweep_dir)]) == 0
    sweep = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
    assert len(sweep["points"]) == 2 and sweep["best"]["variant"] in [p["variant"] for p in sweep["points"]]
    tuned = ModulationConfig.load(sweep_dir / "full-tuned.json")
    assert tuned.to_json() == sweep["best"]["config"]
    assert "## Main effects" in (sweep_dir / "sweep.md").read_text(encoding="utf-8")

    args = [*common, "--sets", "seen-2/test", "--tuned", str(sweep_dir / "sweep.json"), "--out-dir", str(report_dir)]
    assert results.main(args) == 0
    text = (report_dir / "results.md").read_text(encoding="utf-8")
    assert "| full-tuned | 1 |" in text and "| full-old-defaults | 1 |" in text
    assert (report_dir / "results.png").stat().st_size > 0
    rows_file = report_dir / "results-rows" / "rows.jsonl"
    lines = rows_file.read_text(encoding="utf-8").count("\n")
    assert lines == 6
    assert results.main(args) == 0
    assert rows_file.read_text(encoding="utf-8").count("\n") == lines


# ---------------------------------------------------------------------------------------------- the peers (issue 26)

results_peers = load_benchmark("results_peers")


def test_peers_step_size_is_chosen_by_each_methods_own_metric_ties_to_the_papers():
    from attnmod.toolkit.modulation.config import ModulationConfig

    sizes = [10.0, 20.0, 40.0]
    rows = [row("none", c, object_accuracy=0.5, colour_binding=0.5) for c in ("a", "b")]
    # excite: object accuracy best at 40 (binding best at 10, which must not matter); syngen: binding tied 10 and 20
    planted = {
        "excite step 10": (0.5, 1.0), "excite step 20": (0.75, 0.5), "excite step 40": (1.0, 0.0),
        "syngen step 10": (0.0, 1.0), "syngen step 20": (0.0, 1.0), "syngen step 40": (1.0, 0.5),
    }  # fmt: skip
    for label, (objects, binding) in planted.items():
        rows += [row(label, c, object_accuracy=objects, colour_binding=binding) for c in ("a", "b")]
    configs = results_peers.tune_configs(sizes)
    assert list(configs) == ["none", *planted]
    assert configs["syngen step 40"] == ModulationConfig.from_variant("syngen").with_overrides(["syngen.step_size=40"])
    summary = results.summarise(rows, list(configs), ["seen-2/test"])
    assert results_peers.choose_step_sizes(summary, sizes) == {"excite": 40.0, "syngen": 20.0}


def test_peers_report_variants_carry_the_tuned_full_and_the_chosen_step_sizes(tmp_path):
    from attnmod.toolkit.modulation.config import ModulationConfig

    full = ModulationConfig.from_variant("full").with_overrides(["temperature.tau=0.6"])
    configs = results_peers.report_configs(full, {"excite": 40.0, "syngen": 10.0})
    assert list(configs) == [
        "none", "temperature", "masking", "reweighting", "full", "excite", "syngen", "full+excite", "full+syngen",
    ]  # fmt: skip
    assert [config.variant for config in configs.values()] == list(configs)
    assert configs["full+excite"].temperature.tau == 0.6 and configs["full+excite"].excite.step_size == 40.0
    assert configs["syngen"].syngen.step_size == 10.0 and configs["none"] == ModulationConfig()
    # results.py rewriting results.md keeps the peers' section
    document = tmp_path / "results.md"
    document.write_text("# Results\nold table\n\n## The peers: Attend-and-Excite and SynGen here\nkept\n")
    assert results.kept_sections(document) == "\n## The peers: Attend-and-Excite and SynGen here\nkept\n"
    assert results.kept_sections(tmp_path / "none.md") == ""


def test_peers_head_to_head_is_the_paired_difference_to_full_per_prompt():
    rows = [
        row("full", "a", object_accuracy=0.5), row("excite", "a", object_accuracy=1.0),  # +0.5
        row("full", "b", object_accuracy=1.0), row("excite", "b", object_accuracy=0.5),  # -0.5
        row("full", "c", object_accuracy=0.0), row("excite", "c", object_accuracy=1.0),  # +1.0
        row("syngen", "a", object_accuracy=0.5),  # paired with full on prompt a only: 0
    ]  # fmt: skip
    comparison = results_peers.head_to_head(rows, ["seen-2/test"])
    assert comparison["excite"]["object_accuracy"]["mean"] == pytest.approx((0.5 - 0.5 + 1.0) / 3)
    assert comparison["excite"]["object_accuracy"]["groups"] == 3
    assert comparison["syngen"]["object_accuracy"]["mean"] == pytest.approx(0.0)
    assert "| excite - full | +33.3 [" in "\n".join(results_peers.head_to_head_lines(comparison))


def test_colour_leakage_is_a_column_with_its_paired_difference():
    # none leaks on p0 and p1 (both seeds), full on p0 only: rates 50% and 25%, paired difference -25 points
    rows = []
    for index in range(4):
        for seed in (0, 1):
            rows.append(row("none", f"p{index}", seed, leaked=float(index < 2)))
            rows.append(row("full", f"p{index}", seed, leaked=float(index < 1)))
    summary = results.summarise(rows, ["none", "full"], ["seen-2/test"])
    assert summary["seen-2/test"]["none"]["leaked"]["mean"] == pytest.approx(0.5)
    assert summary["seen-2/test"]["full"]["leaked"]["mean"] == pytest.approx(0.25)
    assert summary["seen-2/test"]["full"]["leaked_vs_none"]["mean"] == pytest.approx(-0.25)
    # rows from before the judge had a leakage verdict carry none: the column reads n/a, the others are unchanged
    old = [{k: v for k, v in r.items() if k != "leaked"} for r in rows]
    summary_old = results.summarise(old, ["none", "full"], ["seen-2/test"])
    assert results.percent(summary_old["seen-2/test"]["full"]["leaked"]) == "n/a"
    assert summary_old["seen-2/test"]["full"]["colour_binding"]["mean"] == pytest.approx(1.0)
