"""The excite and syngen parts inside the real (tiny, random-weight) SDXL and SD 1.x pipelines.

What the latent optimisation may and may not touch: with its window empty the images are the stock ones bit for
bit; only the latent changes (every parameter and its ``requires_grad`` as before); processors and the scheduler come
back after an exception inside the optimisation; classifier-free guidance off and a batch of two different trees
work, each item as it would alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.generation import generate
from attnmod.toolkit.modulation import guidance as guidance_module
from attnmod.toolkit.modulation import optimisation
from attnmod.toolkit.modulation.config import ModulationConfig
from planted import CAT_DOG, MAN_HAT

MODELS = ["tiny_model", "tiny_sd_model"]
SIZE = {"height": 64, "width": 64}


def run(model, config, trees=(CAT_DOG,), guidance=5.0, steps=2):
    results = generate(
        model, [t.prompt for t in trees], config, seeds=0, steps=steps, guidance=guidance, capture=False,
        trees=list(trees), **SIZE,
    )  # fmt: skip
    return np.stack([r.pixels for r in results])


def parameters_of(pipe) -> dict:
    return {
        f"{part}.{name}": tensor.detach().clone()
        for part in ("unet", "text_encoder", "text_encoder_2", "vae")
        if getattr(pipe, part, None) is not None
        for name, tensor in getattr(pipe, part).state_dict().items()
    }


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("part", ["excite", "syngen"])
def test_an_empty_window_gives_the_stock_images_bit_for_bit(model_name, part, request):
    model = request.getfixturevalue(model_name)
    stock = run(model, ModulationConfig.from_variant("none"))
    empty = ModulationConfig.from_variant(part).with_overrides([f"{part}.window=[0.0, 0.0]"])
    assert np.array_equal(run(model, empty), stock)
    assert not np.array_equal(run(model, ModulationConfig.from_variant(part)), stock)  # the part does act


@pytest.mark.parametrize("model_name", MODELS)
def test_only_the_latent_changes_and_requires_grad_is_restored(model_name, request):
    model = request.getfixturevalue(model_name)
    pipe = model.pipeline
    before = parameters_of(pipe)
    # a mixed planted state: the guidance must put back exactly these flags, not "all True" or "all False"
    flags = {name: index % 3 == 0 for index, (name, _) in enumerate(pipe.unet.named_parameters())}
    for name, parameter in pipe.unet.named_parameters():
        parameter.requires_grad_(flags[name])
    try:
        run(model, ModulationConfig.from_variant("excite+syngen"), trees=(CAT_DOG, MAN_HAT))
        assert {name: p.requires_grad for name, p in pipe.unet.named_parameters()} == flags
        assert all(p.grad is None for p in pipe.unet.parameters())
    finally:
        for parameter in pipe.unet.parameters():
            parameter.requires_grad_(True)
    after = parameters_of(pipe)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[name], after[name]) for name in before)


@pytest.mark.parametrize("model_name", MODELS)
def test_processors_scheduler_and_flags_come_back_after_an_exception_in_the_optimisation(
    model_name, request, monkeypatch
):
    model = request.getfixturevalue(model_name)
    pipe = model.pipeline
    processors = dict(pipe.unet.attn_processors)
    flags = [p.requires_grad for p in pipe.unet.parameters()]
    original_step = pipe.scheduler.step

    def broken(self, maps, targets):
        raise RuntimeError("planted failure inside the loss")

    monkeypatch.setattr(guidance_module.GuidancePart, "loss", broken)
    with pytest.raises(RuntimeError, match="planted failure"):
        run(model, ModulationConfig.from_variant("full+excite"))
    assert dict(pipe.unet.attn_processors) == processors  # the same objects, by module name
    assert "step" not in vars(pipe.scheduler) and pipe.scheduler.step == original_step
    assert [p.requires_grad for p in pipe.unet.parameters()] == flags
    assert not pipe.unet._forward_pre_hooks


@pytest.mark.parametrize("model_name, guidance", [("tiny_model", 5.0), ("tiny_sd_model", 1.0)])
def test_a_batch_of_two_different_trees_gives_each_item_its_own_image(model_name, guidance, request):
    model = request.getfixturevalue(model_name)
    config = ModulationConfig.from_variant("excite+syngen")
    batch = run(model, config, trees=(CAT_DOG, MAN_HAT), guidance=guidance)
    alone = np.concatenate([run(model, config, trees=(tree,), guidance=guidance) for tree in (CAT_DOG, MAN_HAT)])
    stock = run(model, ModulationConfig.from_variant("none"), trees=(CAT_DOG, MAN_HAT), guidance=guidance)
    assert np.allclose(batch, alone, atol=2e-4)  # per-sample optimisation: the other prompt does not matter
    assert all(not np.array_equal(batch[i], stock[i]) for i in range(2))


def test_the_guided_step_lowers_its_own_loss(tiny_sd_model, monkeypatch):
    """Refinement forced at the first step (threshold 1: target loss 0) with a small step: the losses it logs fall."""
    logs = []
    real = optimisation.LatentGuidance.__init__

    def keep(self, *args, **kwargs):
        real(self, *args, **kwargs)
        logs.append(self.log)

    monkeypatch.setattr(optimisation.LatentGuidance, "__init__", keep)
    config = ModulationConfig.from_variant("excite").with_overrides(
        ["excite.thresholds=[[0.0, 1.0]]", "excite.max_refinement=3", "excite.step_size=0.5", "excite.window=[0, 0.3]"]
    )
    run(tiny_sd_model, config)
    first = [entry for entry in logs[-1] if entry.step == 0][0]
    assert first.refined and len(first.losses) == 4  # the first evaluation and three refinements
    assert first.losses[-1] < first.losses[0]


def test_a_resolution_the_model_lacks_is_one_line_naming_what_it_has(tiny_model):
    config = ModulationConfig.from_variant("syngen").with_overrides(["syngen.resolution=5"])
    with pytest.raises(AttnmodError, match=r"^syngen.resolution: this model has no 5x5 .* \(it has 16x16\)"):
        run(tiny_model, config)


def test_the_embedded_models_known_up_front_are_the_loaded_ones(tiny_model, tiny_sd_model):
    from attnmod.lightning_modules.validation import EMBEDDED_CROSS_ATTENTION
    from attnmod.toolkit.modulation.install import attention_levels, attention_modules
    from attnmod.toolkit.run_files import default_generation_settings

    for model in (tiny_model, tiny_sd_model):
        pipe = model.pipeline
        modules = attention_modules(pipe.unet)
        levels = attention_levels(pipe.unet, modules)
        cross = tuple(sorted({levels[name] for name, m in modules.items() if m.is_cross_attention}))
        side = default_generation_settings(model)["height"]
        assert EMBEDDED_CROSS_ATTENTION[model.name] == (pipe.vae_scale_factor, cross, side)


# ---- the Python API on the user's own pipeline, and the commands ----


@pytest.mark.slow
@pytest.mark.parametrize("model_name", MODELS)
def test_modulate_on_a_users_pipeline_matches_the_generation_path(model_name, request):
    import attnmod

    model = request.getfixturevalue(model_name)
    pipe = model.pipeline
    prompt = "a red cat and a blue dog"
    config = ModulationConfig.from_variant("full+excite")
    expected = generate(model, prompt, config, seeds=3, steps=3, guidance=5.0, capture=False, **SIZE)[0]
    processors = dict(pipe.unet.attn_processors)
    with attnmod.modulate(pipe, "full+excite", prompts=prompt, capture=False):
        image = pipe(prompt, generator=[torch.Generator().manual_seed(3)], num_inference_steps=3, guidance_scale=5.0,
                     output_type="np", **SIZE).images[0]  # fmt: skip
    np.testing.assert_allclose(image, expected.pixels, atol=1e-5)
    with attnmod.modulate(pipe, "excite", prompts=prompt, capture=False):
        excited = pipe(prompt, generator=[torch.Generator().manual_seed(3)], num_inference_steps=3, guidance_scale=5.0,
                       output_type="np", **SIZE).images[0]  # fmt: skip
    plain = pipe(prompt, generator=[torch.Generator().manual_seed(3)], num_inference_steps=3, guidance_scale=5.0,
                 output_type="np", **SIZE).images[0]  # fmt: skip
    assert not np.array_equal(excited, plain)
    assert dict(pipe.unet.attn_processors) == processors and "step" not in vars(pipe.scheduler)


def test_cli_generate_writes_the_parts_settings_and_takes_them_back(run_cli, tmp_path):
    import json

    out = tmp_path / "out"
    result = run_cli(
        "generate", "a red cat and a blue dog", "--variant", "full+syngen", "--set", "syngen.step_size=7",
        "--steps", "2", "--height", "64", "--width", "64", "--no-progress", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    written = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert written["variant"] == "full+syngen"
    assert written["config"]["syngen"]["step_size"] == 7.0 and written["config"]["syngen"]["enabled"] is True
    assert written["config"]["excite"]["thresholds"] == [[0.0, 0.05], [0.2, 0.5], [0.4, 0.8]]
    again = tmp_path / "again"
    run_cli("generate", "a red cat and a blue dog", "--config", str(out / "config.json"), "--steps", "2",
            "--height", "64", "--width", "64", "--no-progress", "--out", str(again))  # fmt: skip
    assert (again / "image.png").read_bytes() == (out / "image.png").read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--variant", "excite", "--set", "excite.step_size=-1"], "excite.step_size: input should be greater than 0"),
        (["--variant", "syngen", "--set", "syngen.window=[0.2, 1.5]"], "syngen.window: a window needs"),
        (["--variant", "excite", "--set", "excite.resolution=4"], "excite.resolution: this model has no 4x4"),
        (["--variant", "excitation"], "unknown variant"),
    ],
)
def test_bad_settings_stop_in_one_line_before_the_model_loads(run_cli, tmp_path, monkeypatch, args, message):
    from attnmod.toolkit.models import loading

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(loading, "load_model", refuse)
    result = run_cli("generate", "a red circle", "--model", "shapes", "--no-progress", "--out", str(tmp_path / "o"),
                     *args)  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
