"""The Python API on pipelines the user built: modulate, trace, score, parse, diagnose, and the public surface.

Every pipeline here is built from the embedded tiny models' components (SDXL text-to-image, img2img and
inpainting, SD 1.x, a LoRA made on the fly, first- and second-order schedulers). Known answers come from plain
``pipe(...)`` calls without attnmod, from the CLI's own generation path (``toolkit.generation.generate``) and from
planted attention records.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys

import attnmod
import numpy as np
import pytest
import torch
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.modulation.record import AttentionRecord
from places import DOCS

PROMPT = "a red car and a white sheep"
SMALL = {"num_inference_steps": 3, "height": 64, "width": 64, "output_type": "np"}

pytestmark = pytest.mark.slow


def seeded(*seeds: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(seed) for seed in seeds]


def plain_call(pipe, prompt=PROMPT, seeds=(0,), **kwargs):
    return pipe(prompt, generator=seeded(*seeds), **{**SMALL, **kwargs}).images


def cross_modules(pipe) -> int:
    return sum(1 for key in pipe.unet.attn_processors if key.endswith("attn2.processor"))


def total_cross_count(record: AttentionRecord) -> int:
    return sum(count for key, count in record.counts.items() if key.startswith("cross/"))


def state_of(pipe) -> tuple:
    """What a block must leave as it found it: processors (by identity), hooks, and no instance encode_prompt."""
    processors = tuple((key, id(value)) for key, value in pipe.unet.attn_processors.items())
    return processors, tuple(pipe.unet._forward_pre_hooks), "encode_prompt" in vars(pipe)


@pytest.fixture(scope="module")
def sdxl(tiny_model):
    return tiny_model.pipeline


@pytest.fixture(scope="module")
def sdxl_parts(sdxl):
    """The tiny SDXL's components, for img2img, inpainting and other schedulers (modules shared, read-only)."""
    return dict(sdxl.components)


# ---- the public surface ----


def test_public_surface_is_locked():
    expected = {
        "AttentionRecord",
        "AttnmodError",
        "Diagnosis",
        "HeatMaps",
        "ModulationConfig",
        "Probe",
        "PromptTree",
        "Scores",
        "Session",
        "Thresholds",
        "__version__",
        "diagnose",
        "modulate",
        "parse",
        "probe",
        "score",
        "trace",
    }
    assert set(attnmod.__all__) == expected
    for name in expected:
        assert getattr(attnmod, name) is not None, name
    assert attnmod.AttnmodError is AttnmodError
    assert attnmod.AttentionRecord is AttentionRecord
    # a function and a class of the API stay what they are whichever is looked up first
    assert isinstance(attnmod.Probe, type) and callable(attnmod.probe) and callable(attnmod.api.probe)
    with pytest.raises(AttributeError):
        attnmod.not_a_name  # noqa: B018


def test_import_attnmod_loads_no_torch():
    code = (
        "import sys, attnmod; heavy = ('torch', 'diffusers', 'transformers', 'numpy', 'spacy', 'matplotlib'); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_package_is_typed():
    from pathlib import Path

    assert (Path(attnmod.__file__).parent / "py.typed").is_file()


# ---- parse ----


def test_parse_finds_entities_at_their_token_positions(sdxl):
    tree = attnmod.parse(PROMPT, sdxl)
    # CLIP: [start] a red car and a white sheep -> positions 1..7, each word one token
    assert [(e.noun, e.tokens, [a.text for a in e.attributes]) for e in tree.entities] == [
        ("car", (3,), ["red"]),
        ("sheep", (7,), ["white"]),
    ]
    assert tree.entities[0].attributes[0].tokens == (2,)


def test_prompt_tree_html_escapes_user_text():
    tree = attnmod.parse('a <script>alert(1)</script> "red" car')
    page = tree._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>car</b>" in page


# ---- modulate on SDXL and SD 1.x text-to-image ----


@pytest.mark.parametrize("capture", [True, False])
def test_variant_none_leaves_the_output_identical(sdxl, capture):
    plain = plain_call(sdxl)
    with attnmod.modulate(sdxl, variant="none", capture=capture) as session:
        inside = plain_call(sdxl)
    np.testing.assert_array_equal(inside, plain)
    if capture:
        assert total_cross_count(session.record) == SMALL["num_inference_steps"] * cross_modules(sdxl)


@pytest.mark.parametrize("fixture", ["tiny_model", "tiny_sd_model"])
def test_modulate_matches_the_cli_generation_path(request, fixture):
    """The user's own call inside modulate() gives the image and record that the CLI's generate() gives."""
    from attnmod.toolkit.generation import generate
    from attnmod.toolkit.modulation.config import ModulationConfig

    model = request.getfixturevalue(fixture)
    pipe = model.pipeline
    config = ModulationConfig.from_variant("full")
    expected = generate(model, PROMPT, config, seeds=7, steps=3, guidance=5.0, height=64, width=64)[0]
    with attnmod.modulate(pipe, "full", prompts=PROMPT) as session:
        image = plain_call(pipe, seeds=(7,), guidance_scale=5.0)[0]
    np.testing.assert_allclose(image, expected.pixels, atol=1e-6)
    record = session.record
    assert set(record.sums) == set(expected.record.sums)
    for key, value in expected.record.sums.items():
        torch.testing.assert_close(record.sums[key], value, atol=1e-6, rtol=1e-5)
        assert record.counts[key] == expected.record.counts[key]
    assert session.trees[0].prompt == PROMPT and record.metadata["modulated"] is True
    assert not np.array_equal(image, plain_call(pipe, seeds=(7,), guidance_scale=5.0)[0])


def test_processors_restored_after_an_exception_in_the_block(sdxl):
    before = state_of(sdxl)
    with pytest.raises(RuntimeError, match="user code failed"), attnmod.modulate(sdxl, variant="full"):
        plain_call(sdxl)
        raise RuntimeError("user code failed")
    assert state_of(sdxl) == before


def test_processors_restored_after_an_exception_inside_the_call(sdxl):
    before = state_of(sdxl)
    with pytest.raises(AttnmodError, match="was called with"), attnmod.modulate(sdxl, "full", prompts="a cat"):
        plain_call(sdxl, prompt="a dog")
    assert state_of(sdxl) == before
    np.testing.assert_array_equal(plain_call(sdxl), plain_call(sdxl))


def test_two_blocks_in_sequence_do_not_interfere(sdxl):
    plain = plain_call(sdxl)
    with attnmod.modulate(sdxl, variant="full") as first:
        modulated = plain_call(sdxl)
    with attnmod.modulate(sdxl, variant="none") as second:
        unmodulated = plain_call(sdxl)
    with attnmod.modulate(sdxl, variant="full") as third:
        again = plain_call(sdxl)
    np.testing.assert_array_equal(unmodulated, plain)
    np.testing.assert_array_equal(again, modulated)
    assert not np.array_equal(modulated, plain)
    for session in (first, second, third):
        assert len(session.runs) == 1
        assert total_cross_count(session.record) == 3 * cross_modules(sdxl)
    for key in first.record.sums:
        torch.testing.assert_close(first.record.sums[key], third.record.sums[key])


def test_each_call_in_a_block_is_its_own_run(sdxl):
    with attnmod.modulate(sdxl, variant="full") as session:
        plain_call(sdxl)
        plain_call(sdxl, prompt="a blue cat", seeds=(1,))
    assert [run.prompts for run in session.runs] == [[PROMPT], ["a blue cat"]]
    assert session.trees[0].prompt == "a blue cat"
    assert all(total_cross_count(run.records[0]) == 3 * cross_modules(sdxl) for run in session.runs)


def test_batches_and_images_per_prompt_match_single_calls(sdxl):
    prompts = [PROMPT, "a blue cat on a green mat"]
    with attnmod.modulate(sdxl, variant="full") as session:
        batch = sdxl(prompts, num_images_per_prompt=2, generator=seeded(0, 1, 2, 3), **SMALL).images
    assert [r.tree.prompt for r in session.records] == [prompts[0], prompts[0], prompts[1], prompts[1]]
    assert session.last.images_per_prompt == 2
    for index, (prompt, seed) in enumerate([(prompts[0], 0), (prompts[0], 1), (prompts[1], 2), (prompts[1], 3)]):
        with attnmod.modulate(sdxl, variant="full") as single:
            alone = plain_call(sdxl, prompt=prompt, seeds=(seed,))
        # batched arithmetic differs from single calls by ~1e-6; the modulation itself moves pixels by ~1e-3
        np.testing.assert_allclose(batch[index], alone[0], atol=2e-5)
        key = next(iter(single.record.sums))
        torch.testing.assert_close(session.records[index].sums[key], single.record.sums[key], atol=1e-4, rtol=1e-3)


def test_prompt_embeds_with_the_prompt_given_to_the_block(sdxl):
    embeds = sdxl.encode_prompt(PROMPT, device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=True)
    names = ("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")
    arguments = dict(zip(names, embeds, strict=True))
    with attnmod.modulate(sdxl, "full", prompts=PROMPT) as session:
        from_embeds = sdxl(generator=seeded(0), **arguments, **SMALL).images
    with attnmod.modulate(sdxl, "full", prompts=PROMPT):
        from_text = plain_call(sdxl)
    np.testing.assert_allclose(from_embeds, from_text, atol=1e-6)
    assert session.trees[0].prompt == PROMPT
    with pytest.raises(AttnmodError, match="prompt_embeds"), attnmod.modulate(sdxl, variant="full"):
        sdxl(generator=seeded(0), **arguments, **SMALL)


def test_a_modulation_config_object_is_accepted(sdxl):
    config = attnmod.ModulationConfig.from_variant("masking")
    with attnmod.modulate(sdxl, variant=config) as session:
        masked = plain_call(sdxl)
    assert session.record.metadata["variant"] == "masking"
    assert not np.array_equal(masked, plain_call(sdxl))
    with pytest.raises(AttnmodError, match="unknown|variant"):
        attnmod.modulate(sdxl, variant="sharpen")


def test_the_variant_comes_second_and_the_old_prompts_second_form_says_what_to_write(sdxl):
    before = state_of(sdxl)
    with attnmod.modulate(sdxl, "masking") as session:  # the variant second, positionally
        plain_call(sdxl)
    assert session.record.metadata["variant"] == "masking"
    for call in (
        lambda: attnmod.modulate(sdxl, PROMPT, variant="full"),
        lambda: attnmod.modulate(sdxl, PROMPT),
        lambda: attnmod.modulate(sdxl, [PROMPT, "a cat"]),
    ):
        with pytest.raises(AttnmodError) as caught:
            call()
        message = str(caught.value)
        assert "\n" not in message and "write modulate(pipe, 'full', prompts=" in message
    with pytest.raises(AttnmodError, match="one variant"):
        attnmod.modulate(sdxl, "full", "masking")
    assert state_of(sdxl) == before  # nothing was installed


# ---- img2img, inpainting, LoRA, schedulers, dtype ----


def test_sdxl_img2img_from_the_tiny_components(sdxl_parts):
    from diffusers import StableDiffusionXLImg2ImgPipeline
    from PIL import Image

    pipe = StableDiffusionXLImg2ImgPipeline(**sdxl_parts)
    pipe.set_progress_bar_config(disable=True)
    start = Image.fromarray(np.random.default_rng(0).integers(0, 256, (96, 64, 3), dtype=np.uint8))
    call = {"image": start, "strength": 0.5, "num_inference_steps": 4, "output_type": "np"}
    plain = pipe(PROMPT, generator=seeded(0), **call).images
    with attnmod.modulate(pipe, variant="none"):
        unchanged = pipe(PROMPT, generator=seeded(0), **call).images
    np.testing.assert_array_equal(unchanged, plain)
    with attnmod.trace(pipe) as session:
        pipe(PROMPT, generator=seeded(0), **call)
    # strength 0.5 of 4 steps runs the last 2 steps
    assert session.last.steps == 2
    assert total_cross_count(session.record) == 2 * cross_modules(pipe)
    maps = session.heat_maps()
    assert maps.size == (96, 64) and maps["sheep"].map.shape == (96, 64)
    with attnmod.modulate(pipe, variant="full") as session:
        modulated = pipe(PROMPT, generator=seeded(0), **call).images
    assert not np.array_equal(modulated, plain)


def test_img2img_windows_are_read_against_the_calls_own_schedule(sdxl_parts):
    """Strength 0.3 of 10 steps runs the scheduler's last 3 timesteps; temperature [0, 0.3] and masking [0, 0.5]
    cover the first of those (were read against the full schedule, where they never fire: the image was the plain
    one while the record said modulated)."""
    from attnmod.toolkit.modulation.config import ModulationConfig
    from diffusers import StableDiffusionXLImg2ImgPipeline
    from PIL import Image

    pipe = StableDiffusionXLImg2ImgPipeline(**sdxl_parts)
    pipe.set_progress_bar_config(disable=True)
    start = Image.fromarray(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    call = {"image": start, "strength": 0.3, "num_inference_steps": 10, "output_type": "np"}
    plain = pipe(PROMPT, generator=seeded(0), **call).images
    config = ModulationConfig.from_variant("temperature+masking")
    assert config.temperature.window.end <= 0.3 and config.masking.window.end <= 0.5
    with attnmod.modulate(pipe, variant=config) as session:
        modulated = pipe(PROMPT, generator=seeded(0), **call).images
    assert session.last.steps == 3 and session.record.metadata["modulated"]
    assert not np.array_equal(modulated, plain)


def test_sdxl_inpainting_from_the_tiny_components(sdxl_parts):
    from diffusers import StableDiffusionXLInpaintPipeline
    from PIL import Image

    pipe = StableDiffusionXLInpaintPipeline(**sdxl_parts)
    pipe.set_progress_bar_config(disable=True)
    start = Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[:, 32:] = 255
    call = {"image": start, "mask_image": Image.fromarray(mask), "num_inference_steps": 3, "output_type": "np"}
    plain = pipe(PROMPT, generator=seeded(0), **call).images
    with attnmod.modulate(pipe, variant="none"):
        unchanged = pipe(PROMPT, generator=seeded(0), **call).images
    np.testing.assert_array_equal(unchanged, plain)
    with attnmod.modulate(pipe, variant="full") as session:
        modulated = pipe(PROMPT, generator=seeded(0), **call).images
    assert not np.array_equal(modulated, plain)
    assert total_cross_count(session.record) == session.last.steps * cross_modules(pipe)
    # the inpainting pipeline works at its default size (not the input's): the record follows the output
    assert (session.last.height, session.last.width) == modulated.shape[1:3]


def test_a_lora_loaded_through_diffusers_peft_integration(tmp_path):
    pytest.importorskip("peft")
    from attnmod.toolkit.models.loading import build_tiny_sdxl
    from diffusers import StableDiffusionXLPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    # make a LoRA on the fly (random, non-zero B so it changes the output) and save it the way users get one
    donor = build_tiny_sdxl()
    torch.manual_seed(3)
    donor.unet.add_adapter(
        LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False)
    )
    StableDiffusionXLPipeline.save_lora_weights(tmp_path, unet_lora_layers=get_peft_model_state_dict(donor.unet))
    base = build_tiny_sdxl()
    base_image = plain_call(base)
    pipe = build_tiny_sdxl()
    pipe.load_lora_weights(tmp_path, adapter_name="planted")
    with_lora = plain_call(pipe)
    assert np.abs(with_lora - base_image).max() > 1e-3  # the LoRA is active
    with attnmod.modulate(pipe, variant="none"):
        unchanged = plain_call(pipe)
    np.testing.assert_array_equal(unchanged, with_lora)
    with attnmod.modulate(pipe, variant="full") as session:
        modulated = plain_call(pipe)
    assert not np.array_equal(modulated, with_lora)
    assert total_cross_count(session.record) == 3 * cross_modules(pipe)
    np.testing.assert_array_equal(plain_call(pipe), with_lora)  # still the LoRA pipeline afterwards


@pytest.mark.parametrize("scheduler_name", ["HeunDiscreteScheduler", "DPMSolverMultistepScheduler"])
def test_first_and_second_order_schedulers(sdxl_parts, scheduler_name):
    import diffusers
    from diffusers import StableDiffusionXLPipeline

    scheduler = getattr(diffusers, scheduler_name).from_config(sdxl_parts["scheduler"].config)
    pipe = StableDiffusionXLPipeline(**{**sdxl_parts, "scheduler": scheduler})
    pipe.set_progress_bar_config(disable=True)
    calls = []
    handle = pipe.unet.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:
        plain = plain_call(pipe, num_inference_steps=4)
    finally:
        handle.remove()
    # Heun evaluates the UNet twice per step except the last: 2 x 4 - 1 = 7 calls; DPM-Solver once per step
    assert len(calls) == (7 if scheduler_name == "HeunDiscreteScheduler" else 4)
    with attnmod.modulate(pipe, variant="none"):
        unchanged = plain_call(pipe, num_inference_steps=4)
    np.testing.assert_array_equal(unchanged, plain)
    with attnmod.modulate(pipe, variant="full") as session:
        plain_call(pipe, num_inference_steps=4)
    record = session.record
    assert session.last.steps == len(calls)
    assert total_cross_count(record) == len(calls) * cross_modules(pipe)
    # 4 steps at progress 0, 0.25, 0.5, 0.75: every phase (early < 0.3 <= middle < 0.7 <= late) is reached
    assert {key.rsplit("/", 1)[1] for key in record.counts} == {"early", "middle", "late"}


def test_bfloat16_pipeline_records_float32_maps(sdxl_parts):
    """The half-precision code path on the CPU (a GPU run uses the same processors with float16)."""
    import copy

    from diffusers import StableDiffusionXLPipeline

    pipe = StableDiffusionXLPipeline(**copy.deepcopy(sdxl_parts)).to(torch.bfloat16)
    pipe.set_progress_bar_config(disable=True)
    with attnmod.modulate(pipe, variant="full") as session:
        image = plain_call(pipe)
    assert np.isfinite(image).all()
    record = session.record
    assert record.metadata["dtype"] == "bfloat16"
    assert all(value.dtype == torch.float32 and torch.isfinite(value).all() for value in record.sums.values())


def test_unsupported_pipelines_get_a_clear_error():
    class SD3Transformer2DModel:
        pass

    class StableDiffusion3Pipeline:
        transformer = SD3Transformer2DModel()

    with pytest.raises(AttnmodError, match=r"SD3Transformer2DModel.*supported: .*StableDiffusionXLPipeline"):
        attnmod.modulate(StableDiffusion3Pipeline())
    with pytest.raises(AttnmodError, match="supported"):
        attnmod.trace(object())


def test_blocks_do_not_nest(sdxl):
    before = state_of(sdxl)
    with attnmod.modulate(sdxl, variant="full"), pytest.raises(AttnmodError, match="nest"):
        attnmod.trace(sdxl)
    assert state_of(sdxl) == before


def test_attnmods_own_processors_left_on_a_unet_count_as_an_open_block(sdxl):
    # Processors installed by the toolkit directly (no api block around them) are recognised as attnmod's own:
    # refused as a nested block, not as a foreign adapter.
    from attnmod.toolkit.modulation.config import ModulationConfig
    from attnmod.toolkit.modulation.context import ModulationContext
    from attnmod.toolkit.modulation.install import modulated_attention
    from attnmod.toolkit.modulation.plan import ModulationPlan, plan_sample

    class EveryCall:
        def wants(self, kind, module, level):
            return True

        def observe(self, event):
            pass

    context = ModulationContext(
        ModulationConfig.from_variant("none"), ModulationPlan.build([plan_sample(None, 5)]), observers=[EveryCall()]
    )
    with modulated_attention(sdxl.unet, context), pytest.raises(AttnmodError, match="nest"):
        attnmod.trace(sdxl)


# ---- trace and heat maps ----


def test_trace_gives_one_map_per_word_at_the_image_size(sdxl):
    prompt = "a red car, and a white sheep!"
    plain = sdxl(prompt, generator=seeded(0), num_inference_steps=3, height=64, width=96, output_type="np").images
    with attnmod.trace(sdxl) as session:
        traced = sdxl(prompt, generator=seeded(0), num_inference_steps=3, height=64, width=96, output_type="np").images
    np.testing.assert_array_equal(traced, plain)
    maps = session.heat_maps()
    words = [w.strip(",!") for w in prompt.split()]
    assert [entry.word for entry in maps] == words
    assert all(entry.map.shape == (64, 96) == plain.shape[1:3] for entry in maps)
    assert maps["car"].tokens == (3,) and maps[4].word == "a" and maps[4].tokens == (6,)
    assert all(float(entry.map.min()) >= 0 for entry in maps)
    figure = maps.plot(image=traced[0])
    assert len([axis for axis in figure.axes if axis.images]) == len(words)


def planted_record(prompt: str, maps: dict[str, torch.Tensor]) -> AttentionRecord:
    record = AttentionRecord(metadata={"prompt": prompt})
    for resolution, value in maps.items():
        record.add("cross", resolution, "early", value, count=1)
    return record


def test_heat_maps_of_a_planted_record():
    # 77 tokens on a 2x2 grid: "car" (position 3) attends only to the top-left cell
    single = torch.zeros(77, 2, 2)
    single[3, 0, 0] = 1.0
    maps = attnmod.HeatMaps.from_record(planted_record("a red car", {"2x2": single}), size=(8, 8))
    car = maps["car"].map
    assert [w.word for w in maps] == ["a", "red", "car"] and car.shape == (8, 8)
    assert float(maps["red"].map.abs().max()) == 0.0
    assert float(car[:4, :4].mean()) > float(car[4:, 4:].mean()) and float(car[0, 0]) == float(car.max())
    # two resolutions with constant maps average to the mean of the constants (bilinear keeps a constant)
    constant = {"2x2": torch.full((77, 2, 2), 0.2), "4x4": torch.full((77, 4, 4), 0.6)}
    maps = attnmod.HeatMaps.from_record(planted_record("a car", constant), size=(8, 8))
    torch.testing.assert_close(maps["car"].map, torch.full((8, 8), 0.4))


def test_heat_maps_html_escapes_the_prompt():
    record = planted_record("a <b>car</b>", {"2x2": torch.rand(77, 2, 2)})
    page = attnmod.HeatMaps.from_record(record, size=(4, 4))._repr_html_()
    assert "<b>car" not in page and "&lt;b&gt;car&lt;/b&gt;" in page
    assert page.count("<img") == 4  # the words are "a", "b", "car", "b"


# ---- score ----


def test_score_returns_typed_scores_that_match_the_analysis(sdxl):
    from attnmod.analysis.scoring import score_record

    with attnmod.trace(sdxl, PROMPT) as session:
        plain_call(sdxl)
    scores = attnmod.score(session.record)
    analysed = score_record(session.record)
    assert isinstance(scores, attnmod.Scores)
    assert scores.leakage == analysed.overall.leakage and scores.binding == analysed.overall.binding_mean
    assert set(scores.phases) == set(analysed.phases) and scores.data == analysed.to_json()
    assert scores.entities == {0: "car", 1: "sheep"}
    assert [(b.entity, b.text) for b in scores.overall.bindings] == [(0, "red"), (1, "white")]
    assert scores.verdicts and all(isinstance(line, str) for line in scores.verdicts)
    assert "<table>" in scores._repr_html_() and scores.plot().axes


def test_score_refuses_what_is_not_a_record_a_tree_of_another_prompt_and_bad_thresholds(sdxl):
    with attnmod.trace(sdxl, PROMPT) as session:
        plain_call(sdxl)
    record = session.record
    assert len(repr(record)) < 300 and repr(record).startswith(f"AttentionRecord(prompt={PROMPT!r}")
    for mistake, words in ((None, "takes an AttentionRecord"), ("record", "not str")):
        with pytest.raises(AttnmodError, match=words):
            attnmod.score(mistake)
    other = attnmod.parse("a blue dog and a green cat", sdxl)
    with pytest.raises(AttnmodError, match="the tree is of 'a blue dog and a green cat' but the record is of"):
        attnmod.score(record, other)
    assert attnmod.score(record, attnmod.parse(PROMPT, sdxl)).entities == {0: "car", 1: "sheep"}
    with pytest.raises(AttnmodError, match=r"unknown threshold\(s\) overlapp"):
        attnmod.score(record, thresholds={"overlapp": 0.5})
    with pytest.raises(AttnmodError, match="Thresholds or a dict"):
        attnmod.score(record, thresholds=0.5)
    strict, loose = attnmod.score(record, thresholds={"binding": 100.0}), attnmod.score(record, thresholds={})
    weak = [line for line in strict.verdicts if "weakly bound" in line]
    assert len(weak) >= len([line for line in loose.verdicts if "weakly bound" in line])


def test_modulate_mistakes_are_one_line_errors(sdxl):
    before = state_of(sdxl)
    for prompts, words in (
        (123, "prompts must be a string, a PromptTree .* or a list of them, not int"),
        (b"a red car", "not bytes: decode bytes first"),
        (["a red car", 3], "all be strings or all PromptTree objects .*got int, str"),
    ):
        with pytest.raises(AttnmodError, match=words):
            attnmod.modulate(sdxl, prompts=prompts)
        with pytest.raises(AttnmodError, match=words):
            attnmod.trace(sdxl, prompts)
    block = attnmod.modulate(sdxl, "none", prompts=PROMPT)
    with block:
        pass
    with pytest.raises(AttnmodError, match=r"already used by a with statement: call attnmod.modulate\(pipe"), block:
        pass
    assert state_of(sdxl) == before


def test_a_pipeline_sharing_the_unet_says_what_happened(sdxl, sdxl_parts):
    from diffusers import StableDiffusionXLPipeline

    other = StableDiffusionXLPipeline(**sdxl_parts)  # what from_pipe builds: the same modules
    other.set_progress_bar_config(disable=True)
    assert other.unet is sdxl.unet
    before = state_of(sdxl)
    sharing = "another pipeline sharing its UNet .* Open the block on the pipeline"
    with pytest.raises(AttnmodError, match=sharing), attnmod.modulate(sdxl, prompts=PROMPT):
        plain_call(other)
    assert state_of(sdxl) == before


def test_a_different_prompt_2_is_named_in_a_warning(sdxl):
    with attnmod.trace(sdxl) as session, pytest.warns(UserWarning, match="prompt_2 differs from prompt"):
        plain_call(sdxl, prompt_2="a blue dog")
    assert session.last.steps == SMALL["num_inference_steps"]


def test_diagnose_refuses_unknown_options_before_any_work(sdxl, tmp_path):
    with pytest.raises(AttnmodError, match=r"unknown option\(s\) foo \(known: attribute, attribution_steps"):
        attnmod.diagnose(sdxl, PROMPT, out=tmp_path / "d", foo=1)
    assert not (tmp_path / "d").exists()


# ---- diagnose ----


def test_diagnose_a_user_pipeline(sdxl, tmp_path):
    diagnosis = attnmod.diagnose(sdxl, "a red <b>car</b> and a white sheep", steps=2, height=64, width=64)
    assert isinstance(diagnosis, attnmod.Diagnosis)
    data = diagnosis.data
    assert data["variants"]["baseline"]["variant"] == "none" and diagnosis.variant == "full"
    written = diagnosis.save(tmp_path / "saved")
    import json

    assert json.loads(written.read_text(encoding="utf-8")) == data
    report = diagnosis.report(tmp_path / "report.html")
    assert report.is_file() and "&lt;b&gt;car" in report.read_text(encoding="utf-8")
    page = diagnosis._repr_html_()
    assert "<b>car" not in page and "&lt;b&gt;car&lt;/b&gt;" in page and page.count("<img") >= 4
    assert diagnosis.headline and diagnosis.plot().axes
    assert set(diagnosis.scores) == {"baseline", "modulated"}
    for role, scores in diagnosis.scores.items():  # the API's scores over the file's own numbers
        assert isinstance(scores, attnmod.Scores) and scores.data == data["variants"][role]["scores"]
    assert diagnosis.typed().prompt == data["prompt"]  # the analysis' typed diagnosis.json model
    assert diagnosis.findings and all(item["text"] in html.unescape(page) for item in diagnosis.findings)


def test_diagnose_refuses_image_to_image_pipelines(sdxl_parts):
    from diffusers import StableDiffusionXLImg2ImgPipeline

    with pytest.raises(AttnmodError, match="text-to-image"):
        attnmod.diagnose(StableDiffusionXLImg2ImgPipeline(**sdxl_parts), PROMPT)


# ---- docs/api.md ----


def test_docs_api_examples_run(monkeypatch, tmp_path):

    text = (DOCS / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)  # noqa: S102 - the documentation's own examples
