"""ModulationConfig: presets, variant names, curves, layer selectors, JSON/YAML round trips and clear errors."""

from __future__ import annotations

import json
import math

import pytest
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.modulation.config import (
    Curve,
    ModulationConfig,
    Window,
    layer_selected,
    variant_parts,
)


@pytest.mark.parametrize(
    "name, parts, canonical",
    [
        ("none", (), "none"),
        ("temperature", ("temperature",), "temperature"),
        ("masking", ("masking",), "masking"),
        ("reweighting", ("reweighting",), "reweighting"),
        ("full", ("temperature", "masking", "reweighting"), "full"),
        ("masking+temperature", ("temperature", "masking"), "temperature+masking"),
        ("reweighting + masking", ("masking", "reweighting"), "masking+reweighting"),
        ("temperature+masking+reweighting", ("temperature", "masking", "reweighting"), "full"),
    ],
)
def test_presets_enable_exactly_their_parts(name, parts, canonical):
    config = ModulationConfig.from_variant(name)
    assert config.enabled_parts == parts
    assert config.variant == canonical
    assert variant_parts(name) == parts


def test_unknown_variant_is_a_user_error():
    with pytest.raises(AttnmodError, match="unknown variant 'sharpen'"):
        ModulationConfig.from_variant("sharpen")


@pytest.mark.parametrize(
    "curve, samples",
    [
        (Curve("constant", 2.0, 5.0), {0.0: 2.0, 0.5: 2.0, 1.0: 2.0}),
        (Curve("linear", 1.0, 3.0), {0.0: 1.0, 0.25: 1.5, 1.0: 3.0}),
        (Curve("cosine", 2.0, 1.0), {0.0: 2.0, 0.5: 1.5, 1.0: 1.0}),
        (Curve("exponential", 1.0, 4.0), {0.0: 1.0, 0.5: 2.0, 1.0: 4.0}),
        (Curve("step", 1.5, 0.5, at=0.4), {0.0: 1.5, 0.39: 1.5, 0.4: 0.5, 0.9: 0.5}),
    ],
)
def test_curves_follow_their_formulas(curve, samples):
    for t, expected in samples.items():
        assert math.isclose(curve.value(t), expected, rel_tol=1e-12), (curve.kind, t)


def test_window_contains_is_half_open_and_local_progress_spans_it():
    window = Window(0.25, 0.75)
    assert not window.contains(0.2) and window.contains(0.25) and window.contains(0.7) and not window.contains(0.75)
    assert window.local(0.25) == 0.0 and window.local(0.5) == 0.5 and window.local(0.9) == 1.0


def test_json_round_trip_keeps_every_field():
    config = ModulationConfig.from_variant("full").with_overrides(
        ["temperature.tau=0.6", "masking.margin=0.2", "masking.nested=strict", "reweighting.entity.kind=step"]
    )
    again = ModulationConfig.from_json(json.loads(json.dumps(config.to_json())))
    assert again == config
    assert again.temperature.tau == 0.6 and again.masking.nested == "strict" and again.reweighting.entity.kind == "step"


def test_partial_json_starts_from_the_variant_and_yaml_file_loads(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "variant: temperature+masking\n"
        "temperature:\n  tau: 0.5\n  window: [0.0, 0.4]\n  layers: [down_blocks.1, mid]\n"
        "capture:\n  self_attention: true\n  phases:\n    - {name: first, start: 0.0, end: 0.5}\n"
        "    - {name: second, start: 0.5, end: 1.0}\n",
        encoding="utf-8",
    )
    config = ModulationConfig.load(path)
    assert config.variant == "temperature+masking"
    assert config.temperature.tau == 0.5 and config.temperature.window == Window(0.0, 0.4)
    assert config.temperature.layers == ("down_blocks.1", "mid")
    assert [p.name for p in config.capture.phases] == ["first", "second"] and config.capture.self_attention
    json_path = tmp_path / "config.json"
    config.save(json_path)
    assert ModulationConfig.load(json_path) == config


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"temperature": {"tau": -1}}, "tau: input should be greater than 0"),
        ({"temperature": {"tua": 0.5}}, "unknown key"),
        ({"masking": {"window": [0.8, 0.2]}}, "start <= end"),
        ({"masking": {"nested": "parents"}}, "nested: input should be 'family', 'ancestors' or 'strict'"),
        ({"reweighting": {"entity": {"kind": "sigmoid"}}}, "kind: input should be 'constant'"),
        ({"reweighting": {"attribute": {"kind": "linear", "start": 0.0, "end": 1.0}}}, "positive"),
        ({"capture": {"phases": [{"name": "a", "start": 0, "end": 1}, {"name": "a", "start": 0, "end": 1}]}}, "unique"),
        ([1, 2], "input should be a dictionary"),
    ],
)
def test_bad_configs_name_the_problem(payload, message):
    with pytest.raises(AttnmodError, match=message):
        ModulationConfig.from_json(payload)


def test_bad_files_and_overrides_are_user_errors(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(AttnmodError, match="not valid JSON"):
        ModulationConfig.load(broken)
    with pytest.raises(AttnmodError, match="cannot read"):
        ModulationConfig.load(tmp_path / "missing.yaml")
    with pytest.raises(AttnmodError, match="SECTION.KEY=VALUE"):
        ModulationConfig().with_overrides(["tau=0.5"])
    with pytest.raises(AttnmodError, match="unknown key 'tua'"):
        ModulationConfig().with_overrides(["temperature.tua=0.5"])


def test_layer_selectors():
    bounds = (1, 2)  # finest level 1, coarsest level 2
    name = "down_blocks.2.attentions.0.transformer_blocks.3.attn1"
    assert layer_selected(("all",), name, 2, bounds)
    assert layer_selected(("down",), name, 2, bounds) and not layer_selected(("up", "mid"), name, 2, bounds)
    assert layer_selected(("coarsest",), name, 2, bounds) and not layer_selected(("finest",), name, 2, bounds)
    assert layer_selected(("down_blocks.2",), name, 2, bounds)
    assert not layer_selected(("down_blocks.20",), name, 2, bounds)
    assert layer_selected(("mid",), "mid_block.attentions.0.transformer_blocks.0.attn2", 2, bounds)


def test_new_options_round_trip_and_the_first_design_stays_reachable():
    config = ModulationConfig.from_variant("full").with_overrides(
        ["temperature.halves=cond", "masking.assign_by=groups", "masking.special=substitute", "masking.smoothing=2.5"]
    )
    again = ModulationConfig.from_json(json.loads(json.dumps(config.to_json())))
    assert again == config and again.masking.special == "substitute" and again.masking.smoothing == 2.5
    defaults = ModulationConfig().masking
    assert (defaults.assign_by, defaults.score, defaults.assignment, defaults.nested) == (
        "nouns", "mean", "per_step", "family"
    )  # fmt: skip
    legacy = ModulationConfig.legacy("full")
    assert legacy.variant == "full" and legacy.temperature.halves == "cond"
    assert (legacy.masking.assign_by, legacy.masking.score, legacy.masking.assignment) == ("groups", "sum", "per_layer")
    assert (legacy.masking.smoothing, legacy.masking.nested, legacy.masking.special) == (0.0, "ancestors", "keep")


def test_window_shorthand_in_settings():
    config = ModulationConfig.from_variant("masking").with_overrides(["masking.start=0.1", "temperature.end=0.4"])
    assert config.masking.window == Window(0.1, 0.5) and config.temperature.window == Window(0.0, 0.4)
    with pytest.raises(AttnmodError, match="start <= end"):
        ModulationConfig().with_overrides(["masking.start=0.9"])


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"temperature": {"halves": "uncond"}}, "halves: input should be 'both' or 'cond'"),
        ({"masking": {"assign_by": "tokens"}}, "assign_by: input should be 'nouns' or 'groups'"),
        ({"masking": {"special": "drop"}}, "special: input should be 'keep', 'downweight' or 'substitute'"),
        ({"masking": {"smoothing": -1}}, "smoothing"),
        (
            {"masking": {"special_weight": 0}},
            r"special_weight: input should be greater than 0, got 0 \(a factor in \(0, 1\]\)",
        ),
    ],
)
def test_bad_new_options_name_the_problem(payload, message):
    with pytest.raises(AttnmodError, match=message):
        ModulationConfig.from_json(payload)


def test_level_selector():
    name = "up_blocks.0.attentions.1.transformer_blocks.0.attn1"
    assert layer_selected(("level:2",), name, 2, (1, 2)) and not layer_selected(("level:1",), name, 2, (1, 2))


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"varient": "full"}, "modulation config: unknown key 'varient' (known: capture, excite, masking, "
         "reweighting, syngen, temperature, variant)"),
        ({"temperature": 5}, "temperature: input should be a dictionary or an instance of TemperatureConfig, got 5"),
        ({"temperature": {"enabled": 1}}, "temperature.enabled: input should be a valid boolean, got 1"),
        ({"temperature": {"window": [0.1]}}, "temperature.window: a window is a pair [start, end] of progress "
         "fractions, got [0.1]"),
        ({"temperature": {"window": [0, "a"]}}, "temperature.window.end: input should be a valid number, got 'a'"),
        ({"temperature": {"layers": []}}, "temperature.layers: value should have at least 1 item after validation, "
         "not 0, got [] (layer selectors such as ['all'] or ['down_blocks.2'])"),
        ({"temperature": {"layers": [""]}}, "temperature.layers[0]: string should have at least 1 character, got ''"),
        ({"masking": {"margin": 1}}, "masking.margin: input should be less than 1, got 1 (a share difference in "
         "[0, 1))"),
        ({"masking": {"smoothing": float("nan")}}, "masking.smoothing: input should be a finite number, got nan (a "
         "blur width in patches in [0, 16])"),
        ({"masking": {"smoothing": True}}, "masking.smoothing: input should be a valid number, got True (a blur "
         "width in patches in [0, 16])"),
        ({"reweighting": {"entity": {"start": "x"}}}, "reweighting.entity.start: input should be a valid number, got "
         "'x' (a weight, positive)"),
        ({"reweighting": {"other": {"kind": "step", "at": None}}}, "reweighting.other.at: input should be a valid "
         "number, got None"),
        ({"capture": {"phases": [{"name": "a", "start": 0, "end": 0.5}, {"name": "b/c", "start": 0.5, "end": 1}]}},
         "capture.phases[1].name: string should match pattern '^[^/]+$', got 'b/c' (a non-empty name without '/')"),
        ({"capture": {"phases": [{"name": "a", "start": 0.5}]}}, "capture.phases[0].end: missing"),
        ({"capture": {"phases": [{"name": "a", "start": 0.6, "end": 0.5}]}}, "capture.phases[0]: a window needs "
         "0 <= start <= end <= 1, got [0.6, 0.5]"),
        ({"capture": {"phases": [{"name": "a", "start": 0, "end": 1, "stop": 1}]}},
         "capture.phases[0]: unknown key 'stop' (known: end, name, start)"),
        ({"capture": {"phases": []}}, "capture.phases: value should have at least 1 item after validation, not 0, "
         "got [] (a non-empty list of {name, start, end})"),
        ({"capture": {"self_attention": "yes"}}, "capture.self_attention: input should be a valid boolean, got 'yes'"),
    ],
)  # fmt: skip
def test_every_problem_is_one_line_that_names_its_place(payload, message):
    with pytest.raises(AttnmodError) as caught:
        ModulationConfig.from_json(payload)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "weight, message",
    [
        (0, "reweighting.entity.start: input should be greater than 0, got 0 (a weight, positive)"),
        (-1, "reweighting.entity.start: input should be greater than 0, got -1 (a weight, positive)"),
        (float("inf"), "reweighting.entity.start: input should be a finite number, got inf (a weight, positive)"),
    ],
)
def test_a_constant_curve_given_as_a_number_is_checked_like_any_curve(weight, message):
    assert ModulationConfig.from_json({"reweighting": {"entity": 2}}).reweighting.entity == Curve("constant", 2.0, 2.0)
    with pytest.raises(AttnmodError) as caught:
        ModulationConfig.from_json({"reweighting": {"entity": weight}})
    assert str(caught.value) == message


def test_configs_built_in_python_pass_the_same_checks():
    import dataclasses

    from attnmod.toolkit.modulation.config import MaskingConfig, TemperatureConfig

    with pytest.raises(AttnmodError) as caught:
        TemperatureConfig(enabled=True, tau=-1)
    assert str(caught.value) == "temperature.tau: input should be greater than 0, got -1 (a temperature, positive)"
    with pytest.raises(AttnmodError) as caught:
        dataclasses.replace(MaskingConfig(), margin=1.5)
    assert str(caught.value) == "masking.margin: input should be less than 1, got 1.5 (a share difference in [0, 1))"
    with pytest.raises(AttnmodError, match=r"window: a window needs 0 <= start <= end <= 1, got \[0\.8, 0\.2\]"):
        Window(0.8, 0.2)
    with pytest.raises(AttnmodError) as caught:
        Curve("sigmoid")  # a positional argument is named by its field
    assert str(caught.value) == (
        "curve.kind: input should be 'constant', 'linear', 'cosine', 'exponential' or 'step', got 'sigmoid'"
    )
    # unknown keywords are refused, naming the known ones
    with pytest.raises(AttnmodError) as caught:
        TemperatureConfig(tua=0.5)
    assert str(caught.value) == "temperature: unknown key 'tua' (known: enabled, halves, layers, tau, window)"
    with pytest.raises(AttnmodError) as caught:
        ModulationConfig(temprature=TemperatureConfig())
    assert str(caught.value) == (
        "modulation config: unknown key 'temprature' (known: capture, excite, masking, reweighting, syngen, "
        "temperature)"
    )
    # the same values, given as JSON, build an equal config
    assert (
        TemperatureConfig(enabled=True, tau=0.5, window=Window(0.1, 0.4))
        == ModulationConfig.from_json({"temperature": {"enabled": True, "tau": 0.5, "window": [0.1, 0.4]}}).temperature
    )


def test_settings_errors_name_the_window_they_break():
    with pytest.raises(AttnmodError) as caught:
        ModulationConfig().with_overrides(["masking.start=0.9"])
    assert str(caught.value) == "masking.window: a window needs 0 <= start <= end <= 1, got [0.9, 0.5]"
    with pytest.raises(AttnmodError) as caught:
        ModulationConfig().with_overrides(["temperature.tau=0"])
    assert str(caught.value) == "temperature.tau: input should be greater than 0, got 0 (a temperature, positive)"
