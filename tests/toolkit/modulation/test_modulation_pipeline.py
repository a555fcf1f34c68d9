"""The modulation inside the real (tiny, random-weight) SDXL and SD 1.x pipelines, measured with probe observers.

Every acceptance check runs on both embedded toy pipelines: ``tiny`` (SDXL-shaped) and ``tiny-sd`` (SD 1.x-shaped).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.generation import generate
from attnmod.toolkit.modulation.config import (
    LEGACY_SETTINGS,
    Curve,
    MaskingConfig,
    ModulationConfig,
    ReweightingConfig,
    TemperatureConfig,
    Window,
)
from attnmod.toolkit.modulation.context import DenoisingProgress, ModulationContext
from attnmod.toolkit.modulation.install import modulated_attention
from attnmod.toolkit.modulation.plan import ModulationPlan, plan_sample
from attnmod.toolkit.prompt.tree import PromptTree
from planted import CAT_DOG, MAN_HAT

MODELS = ["tiny_model", "tiny_sd_model"]
SIZE = {"height": 64, "width": 64}
PROBED_SELF = "down_blocks.1.attentions.0.transformer_blocks.0.attn1"  # the first self-attention of the UNet

# token positions: 0 <start>, 1 a, 2 red, 3 cat, 4 and, 5 a, 6 blue, 7 dog, 8 <end>
# 0 <start>, 1 a, 2 man, 3 with, 4 a, 5 red, 6 hat, 7 <end>; the hat is nested in the man


class Probe:
    """Keeps every event of one attention kind (optionally one module), with the tensors it carried."""

    def __init__(self, kind: str, module: str | None = None, reference: bool = False):
        self.kind, self.module, self.reference = kind, module, reference
        self.events: list[dict] = []

    def wants(self, kind, module, level):
        return kind == self.kind and (self.module is None or module == self.module)

    def observe(self, event):
        self.events.append(
            {
                "module": event.module,
                "step": event.step,
                "progress": event.progress,
                "probabilities": event.probabilities.clone(),
                "reference": event.reference().clone() if self.reference else None,
                "assignment": None if event.assignment is None else event.assignment.clone(),
            }
        )


def entropy(probabilities: torch.Tensor) -> float:
    """Mean Shannon entropy (nats) of the rows."""
    return float(-(probabilities * probabilities.clamp_min(1e-30).log()).sum(-1).mean())


def snapshot(unet) -> dict:
    return dict(unet.attn_processors)


@pytest.mark.parametrize("fixture", MODELS)
def test_none_reproduces_the_stock_pipeline_with_and_without_capture(fixture, request):
    model = request.getfixturevalue(fixture)
    pipe = model.pipeline
    before = snapshot(pipe.unet)
    stock = pipe(
        prompt=CAT_DOG.prompt,
        num_inference_steps=3,
        guidance_scale=5.0,
        generator=torch.Generator().manual_seed(7),
        output_type="np",
        **SIZE,
    ).images[0]
    for capture in (False, True):
        result = generate(
            model, CAT_DOG.prompt, ModulationConfig.from_variant("none"), 7, 3, capture=capture, trees=[CAT_DOG], **SIZE
        )[0]
        assert abs(result.pixels - stock).max() <= 1e-6
        assert (result.record is not None) == capture
    after = snapshot(pipe.unet)
    assert after.keys() == before.keys() and all(after[k] is before[k] for k in before)


@pytest.mark.parametrize("fixture", MODELS)
def test_original_processors_come_back_after_a_run_that_raised(fixture, request):
    model = request.getfixturevalue(fixture)
    unet = model.pipeline.unet
    before, hooks = snapshot(unet), len(unet._forward_pre_hooks)

    class Explodes:
        def wants(self, kind, module, level):
            return True

        def observe(self, event):
            if event.step == 1:
                raise RuntimeError("planted failure in the middle of denoising")

    with pytest.raises(RuntimeError, match="planted failure"):
        generate(model, CAT_DOG.prompt, ModulationConfig.from_variant("full"), 0, 3, trees=[CAT_DOG],
                 observers=[Explodes()], **SIZE)  # fmt: skip
    after = snapshot(unet)
    assert all(after[k] is before[k] for k in before) and len(unet._forward_pre_hooks) == hooks

    context = ModulationContext(ModulationConfig.from_variant("full"), ModulationPlan.build([plan_sample(CAT_DOG, 9)]))
    with pytest.raises(ValueError), modulated_attention(unet, context):
        assert type(unet.attn_processors[f"{PROBED_SELF}.processor"]).__name__ == "TemperedSelfAttnProcessor"
        raise ValueError("raised inside the block")
    after = snapshot(unet)
    assert all(after[k] is before[k] for k in before) and len(unet._forward_pre_hooks) == hooks


@pytest.mark.parametrize("fixture", MODELS)
def test_temperature_sharpens_inside_its_window_and_is_identity_outside(fixture, request):
    model = request.getfixturevalue(fixture)
    config = ModulationConfig(temperature=TemperatureConfig(enabled=True, tau=0.5, window=Window(0.5, 1.0)))
    runs = {}
    for name, chosen in (("vanilla", ModulationConfig()), ("tempered", config)):
        probe = Probe("self", PROBED_SELF, reference=True)
        generate(model, CAT_DOG.prompt, chosen, 3, 4, capture=False, trees=[CAT_DOG], observers=[probe], **SIZE)
        runs[name] = {event["step"]: event for event in probe.events}
    assert sorted(runs["tempered"]) == [0, 1, 2, 3]
    for step in (0, 1):  # progress 0 and 0.25: outside the window
        tempered, vanilla = runs["tempered"][step], runs["vanilla"][step]
        assert torch.equal(tempered["probabilities"], tempered["reference"])
        assert torch.allclose(tempered["probabilities"], vanilla["probabilities"], atol=1e-6)
    for step in (2, 3):  # progress 0.5 and 0.75: inside
        tempered = runs["tempered"][step]
        assert entropy(tempered["probabilities"]) < entropy(tempered["reference"]) - 1e-3
    # step 2 is the first tempered step, so the probed (first) layer sees exactly the vanilla input
    assert torch.allclose(runs["tempered"][2]["reference"], runs["vanilla"][2]["probabilities"], atol=1e-6)
    assert entropy(runs["tempered"][2]["probabilities"]) < entropy(runs["vanilla"][2]["probabilities"]) - 1e-3


@pytest.mark.parametrize(
    "fixture, guidance, legacy",
    [
        ("tiny_model", 5.0, False),
        ("tiny_model", 1.0, False),
        ("tiny_model", 5.0, True),
        ("tiny_sd_model", 5.0, False),
        ("tiny_sd_model", 1.0, True),
    ],
)
def test_masking_zeroes_other_groups_per_patch_in_a_batch_of_different_prompts(fixture, guidance, legacy, request):
    model = request.getfixturevalue(fixture)
    config = ModulationConfig(masking=MaskingConfig(enabled=True, window=Window(0.0, 0.5), margin=0.0))
    if legacy:  # the first design: per-layer assignment by summed group mass, ancestors rule
        config = config.with_overrides(LEGACY_SETTINGS)
    trees = [CAT_DOG, MAN_HAT]
    counts = [len(tree.prompt.split()) + 2 for tree in trees]
    plan = ModulationPlan.build(
        [plan_sample(tree, n, config.masking.nested) for tree, n in zip(trees, counts, strict=True)]
    )
    probe = Probe("cross")
    generate(model, [t.prompt for t in trees], config, [0, 1], 4, guidance, trees=trees, observers=[probe], **SIZE)
    inside = [e for e in probe.events if e["progress"] < 0.5]
    outside = [e for e in probe.events if e["progress"] >= 0.5]
    assert inside and outside and all(e["assignment"] is None for e in outside)
    # per-step assignment comes from the previous UNet call's maps: the first call has none and is not masked
    first = [e for e in inside if e["step"] == 0]
    assert all((e["assignment"] is None) != legacy for e in first)
    assigned = 0
    for event in inside:
        if event["assignment"] is None:
            continue
        probabilities, assignment = event["probabilities"], event["assignment"]  # [2, heads, N, 77], [2, N]
        assert torch.isfinite(probabilities).all()
        assert torch.allclose(probabilities.sum(-1), torch.ones_like(probabilities[..., 0]), atol=1e-5)
        for sample in range(2):
            for group in range(int(plan.valid[sample].sum())):
                patches = assignment[sample] == group
                hidden = plan.hidden[sample, group]
                assigned += int(patches.sum())
                assert torch.all(probabilities[sample][:, patches][..., hidden] == 0)
    assert assigned > 0
    # the nested rules: patches of the hat (group 1 of MAN_HAT) keep the man's token; the man's patches hide the
    # hat only under the old ancestors rule
    assert not plan.hidden[1, 1, 2] and bool(plan.hidden[1, 0, 6]) == legacy


@pytest.mark.parametrize("fixture", MODELS)
def test_reweighting_moves_entity_versus_attribute_mass_by_the_curve_ratio(fixture, request):
    model = request.getfixturevalue(fixture)
    section = ReweightingConfig(
        enabled=True,
        window=Window(0.0, 1.0),
        entity=Curve("linear", 2.0, 1.0),
        attribute=Curve("exponential", 1.0, 3.0),
        other=Curve("constant", 1.0, 1.0),
    )
    probe = Probe("cross", reference=True)
    generate(model, CAT_DOG.prompt, ModulationConfig(reweighting=section), 0, 4, trees=[CAT_DOG], observers=[probe],
             **SIZE)  # fmt: skip
    seen = set()
    for event in probe.events:
        used, vanilla = event["probabilities"][0], event["reference"][0]  # [heads, N, 77]
        measured = (used[..., [3, 7]].sum(-1) / used[..., [2, 6]].sum(-1)) / (
            vanilla[..., [3, 7]].sum(-1) / vanilla[..., [2, 6]].sum(-1)
        )
        expected = section.entity.value(event["progress"]) / section.attribute.value(event["progress"])
        assert torch.allclose(measured, torch.full_like(measured, expected), rtol=1e-4)
        seen.add(event["step"])
    assert seen == {0, 1, 2, 3}


@pytest.mark.parametrize("fixture", MODELS)
def test_a_prompt_without_entities_runs_unmodulated_with_a_warning(fixture, request):
    model = request.getfixturevalue(fixture)
    empty = PromptTree("very beautiful")
    kwargs = dict(seeds=2, steps=2, capture=False, trees=[empty], **SIZE)
    full = generate(model, empty.prompt, ModulationConfig.from_variant("full"), **kwargs)[0]
    none = generate(model, empty.prompt, ModulationConfig.from_variant("none"), **kwargs)[0]
    assert any("no entities" in w for w in full.warnings) and not none.warnings
    assert abs(full.pixels - none.pixels).max() == 0.0
    assert full.settings["modulated"] is False


def test_truncated_entities_are_reported(tiny_model):
    truncated = dataclasses.replace(
        CAT_DOG,
        truncated=True,
        entities=(CAT_DOG.entities[0], dataclasses.replace(CAT_DOG.entities[1], tokens=(), truncated=True)),
    )
    result = generate(tiny_model, CAT_DOG.prompt, ModulationConfig.from_variant("masking"), 0, 1, capture=False,
                      trees=[truncated], **SIZE)[0]  # fmt: skip
    assert any("'dog'" in w and "77-token" in w for w in result.warnings)
    assert any("longer than" in w for w in result.warnings)


def test_progress_follows_unet_calls():
    progress = DenoisingProgress(steps=4)
    seen = []
    for _ in range(5):
        progress.on_unet_call(None, ())
        seen.append(progress.progress)
    assert seen == [0.0, 0.25, 0.5, 0.75, 0.75]


def test_progress_counts_from_the_first_timestep_of_a_shortened_schedule():
    """img2img at strength 0.3 of 10 steps evaluates the scheduler's last 3 timesteps: its progress is 0, 1/3, 2/3."""
    import types

    schedule = torch.linspace(999, 0, 10)
    progress = DenoisingProgress(steps=10, scheduler=types.SimpleNamespace(timesteps=schedule))
    seen = []
    for timestep in schedule[7:]:
        progress.on_unet_call(None, (None, timestep))
        seen.append(progress.progress)
    assert seen == pytest.approx([0.0, 1 / 3, 2 / 3])
    full = DenoisingProgress(steps=10, scheduler=types.SimpleNamespace(timesteps=schedule))
    for timestep in schedule[:3]:
        full.on_unet_call(None, (None, timestep))
    assert full.progress == pytest.approx(0.2)  # a full schedule is unchanged: step 2 of 10


def test_progress_follows_the_timestep_of_a_second_order_scheduler(tiny_model):
    """Heun calls the UNet twice per step; progress must follow the noise level, not the number of calls."""
    from diffusers import HeunDiscreteScheduler

    pipe = tiny_model.pipeline
    original = pipe.scheduler
    pipe.scheduler = HeunDiscreteScheduler.from_config(original.config)
    config = ModulationConfig(temperature=TemperatureConfig(enabled=True, tau=0.5, window=Window(0.5, 1.0)))
    probe = Probe("self", PROBED_SELF, reference=True)
    try:
        generate(tiny_model, CAT_DOG.prompt, config, 0, 4, capture=False, trees=[CAT_DOG], observers=[probe], **SIZE)
        calls = len(pipe.scheduler.timesteps)
    finally:
        pipe.scheduler = original
    # Heun with 4 steps: t0, then (t1, t1), (t2, t2), (t3, t3): the second call of a step evaluates the next level
    assert calls == 7 and len(probe.events) == 7
    assert [event["progress"] for event in probe.events] == [0.0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75]
    for event in probe.events:  # the temperature window [0.5, 1) holds exactly the last four calls
        tempered = not torch.equal(event["probabilities"], event["reference"])
        assert tempered == (event["progress"] >= 0.5)
        if tempered:
            assert entropy(event["probabilities"]) < entropy(event["reference"]) - 1e-3


def test_processors_go_only_where_a_part_or_an_observer_needs_them(tiny_model):
    from diffusers.models.attention_processor import AttnProcessor2_0

    unet = tiny_model.pipeline.unet
    selected = "up_blocks.0.attentions.1"
    config = ModulationConfig(temperature=TemperatureConfig(enabled=True, layers=(selected,)))
    context = ModulationContext(config, ModulationPlan.build([plan_sample(CAT_DOG, 9)]))
    with modulated_attention(unet, context):
        kinds = {key.removesuffix(".processor"): type(p).__name__ for key, p in unet.attn_processors.items()}
    tempered = {name for name, kind in kinds.items() if kind == "TemperedSelfAttnProcessor"}
    assert tempered == {n for n in kinds if n.startswith(selected + ".") and n.endswith("attn1")} and tempered
    assert all(kind == AttnProcessor2_0.__name__ for name, kind in kinds.items() if name not in tempered)


def test_a_selected_layer_is_tempered_inside_a_real_run_and_the_others_are_not(tiny_model):
    selected = "up_blocks.0.attentions.1"
    config = ModulationConfig(temperature=TemperatureConfig(enabled=True, tau=0.5, window=Window(0.0, 1.0),
                                                            layers=(selected,)))  # fmt: skip
    probe = Probe("self", reference=True)
    generate(tiny_model, CAT_DOG.prompt, config, 0, 2, capture=False, trees=[CAT_DOG], observers=[probe], **SIZE)
    modules = {event["module"] for event in probe.events}
    assert len(modules) > 2 and any(m.startswith(selected + ".") for m in modules)
    for event in probe.events:
        tempered = not torch.equal(event["probabilities"], event["reference"])
        assert tempered == event["module"].startswith(selected + "."), event["module"]


def test_a_layer_selector_that_matches_nothing_is_an_error_listing_the_layers(tiny_model, run_cli, tmp_path):
    config = ModulationConfig.from_variant("temperature").with_overrides(['temperature.layers=["nope.block"]'])
    with pytest.raises(AttnmodError, match="'nope.block' matches no self-attention module.*down_blocks.1.attentions.0"):
        generate(tiny_model, CAT_DOG.prompt, config, 0, 1, capture=False, trees=[CAT_DOG], **SIZE)
    result = run_cli("generate", "--model", "tiny", CAT_DOG.prompt, "--variant", "masking", "--set", "masking.layers=[level:7]",
                     "--steps", "1", "--height", "64", "--width", "64", "--no-progress", "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.exit_code == 1
    assert "'level:7' matches no cross-attention module" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
