"""The fused cross-attention path: masking and reweighting as one SDPA call with an additive bias.

Masking and reweighting multiply each post-softmax row by ``m_t`` and renormalise, which is ``softmax(s + log m)``:
without an observer (and with per-step masking) the processor passes ``log m`` as ``attn_mask`` to one
``scaled_dot_product_attention`` call over the whole batch. These tests plant the projections and a layout (as
tests/toolkit/modulation/test_processors_image_path.py does), and compare the fused output with two things: the same processor forced
onto its explicit path (an observer attached), and plain float64 torch math written out here.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from attnmod.toolkit.modulation.config import Curve, MaskingConfig, ModulationConfig, ReweightingConfig, Window
from attnmod.toolkit.modulation.context import ModulationContext
from attnmod.toolkit.modulation.masking import LayoutMaps
from attnmod.toolkit.modulation.plan import ModulationPlan, plan_sample
from attnmod.toolkit.modulation.processors import MaskedReweightedCrossAttnProcessor
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from planted import CAT_DOG

# The planted module and token layout are those of the image-path tests (token positions: 0 <start>, 1 a, 2 red,
# 3 cat, 4 and, 5 a, 6 blue, 7 dog, 8 <end>, 9.. padding).
from planted.attention import CAT_GROUP, DOG_GROUP, HEAD_DIM, TAIL, WIDTH, heads, merge
from planted.attention import planted_attention as _planted_attention

PATCH_GROUPS = [0, 0, 1, 1]  # the planted layout: patches 0, 1 show the cat, 2, 3 the dog
WEIGHTS = {3: 3.0, 7: 3.0, 2: 0.5, 6: 0.5, 1: 2.0, 4: 2.0, 5: 2.0}  # nouns, attributes, other words (below)
REWEIGHTING = ReweightingConfig(
    enabled=True,
    window=Window(0.0, 1.0),
    entity=Curve("constant", 3.0, 3.0),
    attribute=Curve("constant", 0.5, 0.5),
    other=Curve("constant", 2.0, 2.0),
)


class Silent:
    """An observer that wants every call and keeps nothing: its presence puts the processor on the explicit path."""

    def wants(self, kind, module, level):
        return True

    def observe(self, event):
        pass


def planted_attention(dtype=torch.float32) -> Attention:
    """A planted cross-attention module (q = x, k = context, v = a seeded map, identity output)."""
    return _planted_attention(True, dtype)


def planted_inputs(samples: int, halves: int, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """4 patches (a 2x2 grid) and 77 tokens per row; rows ``[uncond x samples, cond x samples]`` for halves=2.

    Patches 0, 1 look like "cat" (token 3), 2, 3 like "dog" (7); "red" (2) and the end token (8) get some of every
    patch's attention. Each sample gets its own small perturbation; the unconditional rows attend to another context.
    """
    generator = torch.Generator().manual_seed(5)
    cat, dog = torch.zeros(WIDTH), torch.zeros(WIDTH)
    cat[[0, 4]], dog[[1, 5]] = 3.0, 3.0  # one direction per head, so both heads agree
    tokens = 0.3 * torch.randn(77, WIDTH, generator=generator)
    tokens[3], tokens[7], tokens[2], tokens[8] = cat, dog, 0.5 * (cat + dog), 0.4 * (cat + dog)
    patches = torch.stack([cat, cat * 0.8, dog, dog * 0.8])
    hidden = torch.stack([patches + 0.1 * torch.randn(4, WIDTH, generator=generator) for _ in range(samples)])
    context = tokens[None].repeat(samples, 1, 1) + 0.05 * torch.randn(samples, 77, WIDTH, generator=generator)
    if halves == 2:
        hidden = torch.cat([hidden, hidden])
        context = torch.cat([0.3 * torch.randn(samples, 77, WIDTH, generator=generator), context])
    return hidden.to(dtype), context.to(dtype)


def make_context(config: ModulationConfig, active: list[bool]) -> ModulationContext:
    """One CAT_DOG plan per active sample, an entity-less plan per inactive one; the planted layout installed."""
    plans = [plan_sample(CAT_DOG if is_active else None, 9, config.masking.nested) for is_active in active]
    context = ModulationContext(config, ModulationPlan.build(plans))
    context.progress.steps, context.progress.step = 4, 1
    context.latent_size = (2, 2)
    context.layout = LayoutMaps(level=0)
    maps = torch.full((len(active), 4, 77), 0.001)
    for patch, group in enumerate(PATCH_GROUPS):
        maps[:, patch, 3 if group == 0 else 7] = 0.9
    context.layout.add(maps, (2, 2))
    context.layout.advance()  # the maps become the previous call's: this call assigns from them
    return context


def masking_config(special: str = "keep", **overrides) -> MaskingConfig:
    fields = dict(enabled=True, window=Window(0.0, 1.0), margin=0.0, assignment="per_step", smoothing=0.0,
                  assign_by="nouns", score="mean", special=special, special_weight=0.25)  # fmt: skip
    return MaskingConfig(**{**fields, **overrides})


def expected_rows(attn, hidden, context, rows: slice, active, masking, reweighting, tail_weight=None, all_hidden=()):
    """float64: ``renormalise(p * m) @ v`` per conditional row with m written out by hand (unchanged where the kept
    mass is 0); ``all_hidden``: (sample, patch) pairs whose every token is hidden."""
    q, k = heads(hidden[rows].double()), heads(context[rows].double())
    p = torch.softmax(q @ k.transpose(-1, -2) / HEAD_DIM**0.5, dim=-1)  # [B, heads, 4, 77]
    multiplier = torch.ones(p.shape[0], 4, 77, dtype=torch.float64)
    for sample, is_active in enumerate(active):
        if not is_active:
            continue
        for patch, group in enumerate(PATCH_GROUPS):
            if masking:
                multiplier[sample, patch, DOG_GROUP if group == 0 else CAT_GROUP] = 0.0
                if tail_weight is not None:
                    multiplier[sample, patch, TAIL] *= tail_weight
            if (sample, patch) in all_hidden:
                multiplier[sample, patch] = 0.0
        if reweighting:
            for token, weight in WEIGHTS.items():
                multiplier[sample, :, token] *= weight
    kept = p * multiplier[:, None]
    total = kept.sum(-1, keepdim=True)
    used = torch.where(total > 0, kept / total.clamp_min(1e-300), p)
    value = heads(context[rows].double() @ attn.to_v.weight.double().T)
    return merge(used @ value), merge(p @ value)


def run_both(config, active, halves, masking, reweighting, dtype=torch.float32, edit=None, layout=False, maps=None):
    """The fused and the explicit (observer-attached) outputs of the same processor settings and inputs.

    ``layout``: the processor also gathers the layout maps; ``maps`` (a list) then receives each run's gathered sum.
    """
    attn = planted_attention(dtype)
    hidden, context = planted_inputs(len(active), halves, dtype)
    outputs = []
    for observers in ((), (Silent(),)):
        modulation = make_context(config, active)
        if edit is not None:
            edit(modulation)
        processor = MaskedReweightedCrossAttnProcessor(
            "m.attn2", 0, modulation, masking=masking, reweighting=reweighting, layout=layout, observers=observers
        )
        with torch.no_grad():
            outputs.append(processor(attn, hidden, context))
        if maps is not None:
            maps.append(modulation.layout.running)
    return attn, hidden, context, outputs


CASES = {
    "masking": (ModulationConfig(masking=masking_config()), True, False, None),
    "reweighting": (ModulationConfig(reweighting=REWEIGHTING), False, True, None),
    "both": (ModulationConfig(masking=masking_config(), reweighting=REWEIGHTING), True, True, None),
    "downweight": (ModulationConfig(masking=masking_config("downweight")), True, False, 0.25),
    "downweight and weights": (
        ModulationConfig(masking=masking_config("downweight"), reweighting=REWEIGHTING),
        True,
        True,
        0.25,
    ),
}


@pytest.mark.parametrize("halves", [2, 1], ids=["both CFG halves", "conditional only"])
@pytest.mark.parametrize(
    "active", [[True], [True, False], [False, True]], ids=["one", "active+inactive", "inactive+active"]
)
@pytest.mark.parametrize("case", list(CASES))
def test_fused_output_equals_the_explicit_path_and_the_written_out_math(case, active, halves):
    config, masking, reweighting, tail_weight = CASES[case]
    attn, hidden, context, (fused, explicit) = run_both(config, active, halves, masking, reweighting)
    rows = slice(len(active) * (halves - 1), len(active) * halves)
    expected, unmodulated = expected_rows(attn, hidden, context, rows, active, masking, reweighting, tail_weight)
    assert torch.allclose(fused, explicit, atol=1e-5)
    assert torch.allclose(fused[rows].double(), expected, atol=1e-5)
    for sample in (sample for sample, is_active in enumerate(active) if is_active):
        assert not torch.allclose(expected[sample], unmodulated[sample], atol=1e-3)  # the planted case is sensitive
    if halves == 2:  # the unconditional rows are diffusers' own result
        with torch.no_grad():
            stock = AttnProcessor2_0()(attn, hidden, context)
        assert torch.allclose(fused[: len(active)], stock[: len(active)], atol=1e-6)
    inactive = [sample for sample, is_active in enumerate(active) if not is_active]
    for sample in inactive:  # a sample without entities is left alone
        assert torch.allclose(fused[rows][sample].double(), unmodulated[sample], atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
@pytest.mark.parametrize("case", ["masking", "reweighting", "both", "downweight and weights"])
def test_a_layout_layer_gathers_the_same_maps_and_output_from_one_score_matmul(case, dtype):
    # On the CPU a layout layer computes its output and the maps for the next call's assignment from one float32
    # score matmul; the explicit (observer) path computes them separately. Both must agree with each other, and the
    # maps with the head-averaged unmodified softmax of the conditional rows written out here.
    config, masking, reweighting, tail_weight = CASES[case]
    maps = []
    attn, hidden, context, (fused, explicit) = run_both(
        config, [True, False], 2, masking, reweighting, dtype, layout=True, maps=maps
    )
    tolerance = dict(atol=1e-5) if dtype == torch.float32 else dict(atol=0.05, rtol=0.02)
    assert fused.dtype == dtype and torch.allclose(fused.double(), explicit.double(), **tolerance)
    expected, _ = expected_rows(attn, hidden.float(), context.float(), slice(2, 4), [True, False], masking,
                                reweighting, tail_weight)  # fmt: skip
    assert torch.allclose(fused[2:].double(), expected, **tolerance)
    q, k = heads(hidden[2:].double()), heads(context[2:].double())
    written = torch.softmax(q @ k.transpose(-1, -2) / HEAD_DIM**0.5, dim=-1).mean(dim=1)  # [B, 4 patches, 77]
    map_tolerance = dict(atol=1e-6) if dtype == torch.float32 else dict(atol=0.02)
    assert torch.allclose(maps[0].double(), written, **map_tolerance)
    assert torch.allclose(maps[0], maps[1], **map_tolerance)


@pytest.mark.parametrize("reweighting", [False, True], ids=["masking", "masking and weights"])
def test_a_row_whose_every_token_is_hidden_comes_out_unchanged_and_finite(reweighting):
    config = ModulationConfig(masking=masking_config(), reweighting=REWEIGHTING)

    def hide_all_from_the_cat_group(modulation):
        modulation.plan.hidden[0, 0, :] = True  # every patch assigned to the cat (0 and 1) hides every token

    attn, hidden, context, (fused, explicit) = run_both(
        config, [True], 2, True, reweighting, edit=hide_all_from_the_cat_group
    )
    expected, unmodulated = expected_rows(attn, hidden, context, slice(1, 2), [True], True, reweighting,
                                          all_hidden={(0, 0), (0, 1)})  # fmt: skip
    assert torch.isfinite(fused).all()
    assert torch.allclose(fused, explicit, atol=1e-5)
    assert torch.allclose(fused[1:].double(), expected, atol=1e-5)
    # the cat's patches (0, 1) keep the model's own attention; the dog's (2, 3) are masked
    assert torch.allclose(fused[1, :2].double(), unmodulated[0, :2], atol=1e-5)
    assert not torch.allclose(fused[1, 2:].double(), unmodulated[0, 2:], atol=1e-3)


def test_without_an_observer_the_processor_makes_one_sdpa_call_with_the_log_multipliers(monkeypatch):
    calls = []
    original = F.scaled_dot_product_attention

    def counting(query, key, value, attn_mask=None, **kwargs):
        calls.append((query.shape, None if attn_mask is None else attn_mask.clone()))
        return original(query, key, value, attn_mask=attn_mask, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", counting)
    config, masking, reweighting, _ = CASES["both"]
    run_both(config, [True, False], 2, masking, reweighting)
    fused_calls, explicit_calls = calls[:1], calls[1:]
    assert len(fused_calls) == 1 and fused_calls[0][0][0] == 4  # the fused call: all 4 rows at once
    bias = fused_calls[0][1]
    assert bias.shape == (4, 1, 4, 77) and bias.dtype == torch.float32
    assert torch.equal(bias[:2], torch.zeros_like(bias[:2]))  # unconditional rows; the inactive sample (row 3)...
    assert torch.equal(bias[3], torch.zeros_like(bias[3]))  # ...keeps its attention
    cat_patch, dog_patch = bias[2, 0, 0], bias[2, 0, 3]
    assert torch.isinf(cat_patch[DOG_GROUP]).all() and torch.isinf(dog_patch[CAT_GROUP]).all()
    assert cat_patch[3].item() == pytest.approx(torch.log(torch.tensor(3.0)).item())  # the noun's weight
    assert cat_patch[2].item() == pytest.approx(torch.log(torch.tensor(0.5)).item())  # the attribute's
    assert cat_patch[0].item() == 0.0 and cat_patch[8].item() == 0.0  # start and end tokens: weight 1
    # with the observer attached: the stock call on the unconditional rows only, the rest computed explicitly
    assert len(explicit_calls) == 1 and explicit_calls[0][0][0] == 2 and explicit_calls[0][1] is None


def test_the_bias_is_built_once_per_unet_call_and_follows_the_progress():
    rising = ReweightingConfig(enabled=True, window=Window(0.0, 1.0), entity=Curve("linear", 1.0, 4.0),
                               attribute=Curve("constant", 1.0, 1.0), other=Curve("constant", 1.0, 1.0))  # fmt: skip
    modulation = make_context(ModulationConfig(reweighting=rising), [True])
    processor = MaskedReweightedCrossAttnProcessor("m.attn2", 0, modulation, masking=False)
    attn = planted_attention()
    hidden, context = planted_inputs(1, 2)
    noun_bias = []
    with torch.no_grad():
        for step in range(4):
            modulation.begin_call(None, (None, None))  # a UNet call: the n-th call counts as step n
            first = modulation.modulation_bias(None, 2, False, True, torch.float32, "cpu")
            output = processor(attn, hidden, context)
            assert modulation.modulation_bias(None, 2, False, True, torch.float32, "cpu") is first  # reused
            assert modulation.progress.step == step
            noun_bias.append(first[1, 0, 0, 3].item())
            p = torch.softmax(heads(hidden[1:].double()) @ heads(context[1:].double()).transpose(-1, -2) / 2.0, -1)
            weights = torch.ones(77, dtype=torch.float64)
            weights[[3, 7]] = 1.0 + 3.0 * step / 4  # the linear curve at progress step / 4
            used = p * weights / (p * weights).sum(-1, keepdim=True)
            expected = merge(used @ heads(context[1:].double() @ attn.to_v.weight.double().T))
            assert torch.allclose(output[1:].double(), expected, atol=1e-5)
    assert noun_bias == pytest.approx([torch.log(torch.tensor(1.0 + 3.0 * s / 4)).item() for s in range(4)])
    modulation.progress.step = 0  # setting the step by hand (as tests do) also refreshes the cache
    assert modulation.modulation_bias(None, 2, False, True, torch.float32, "cpu")[1, 0, 0, 3].item() == 0.0


def test_the_explicit_path_stays_for_substitution_caller_masks_and_per_layer_assignment(monkeypatch):
    fused = []
    original = MaskedReweightedCrossAttnProcessor._fused

    def spy(self, *args, **kwargs):
        fused.append(self.module)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MaskedReweightedCrossAttnProcessor, "_fused", spy)
    attn = planted_attention()
    hidden, context = planted_inputs(1, 2)
    settings = {
        "fused": (masking_config(), None),
        "substitute": (masking_config("substitute"), None),
        "per_layer": (masking_config(assignment="per_layer"), None),
        "caller mask": (masking_config(), torch.zeros(2, 1, 77)),
    }
    for name, (section, mask) in settings.items():
        modulation = make_context(ModulationConfig(masking=section), [True])
        processor = MaskedReweightedCrossAttnProcessor(name, 0, modulation, reweighting=False)
        with torch.no_grad():
            processor(attn, hidden, context, attention_mask=mask)
    assert fused == ["fused"]


def test_bfloat16_fused_path_uses_a_bfloat16_bias_and_matches_the_explicit_path():
    config, masking, reweighting, _ = CASES["both"]
    attn, hidden, context, (fused, explicit) = run_both(config, [True], 2, masking, reweighting, torch.bfloat16)
    assert fused.dtype == torch.bfloat16 and torch.isfinite(fused).all()
    modulation = make_context(config, [True])
    bias = modulation.modulation_bias((2, 2), 2, True, True, torch.bfloat16, "cpu")
    assert bias.dtype == torch.bfloat16
    assert torch.allclose(fused.double(), explicit.double(), atol=0.05, rtol=0.02)
    expected, _ = expected_rows(planted_attention(), hidden.float(), context.float(), slice(1, 2), [True], True, True)
    assert torch.allclose(fused[1:].double(), expected, atol=0.05, rtol=0.02)


def test_a_generation_without_observers_matches_one_forced_onto_the_explicit_path(tiny_model):
    from attnmod.toolkit.generation import generate

    config = ModulationConfig.from_variant("full")
    kwargs = dict(seeds=[0, 1], steps=3, capture=False, trees=[CAT_DOG, CAT_DOG], height=64, width=64)
    fused = generate(tiny_model, [CAT_DOG.prompt] * 2, config, **kwargs)
    explicit = generate(tiny_model, [CAT_DOG.prompt] * 2, config, observers=[Silent()], **kwargs)
    none = generate(tiny_model, [CAT_DOG.prompt] * 2, ModulationConfig.from_variant("none"), **kwargs)
    for mine, theirs, plain in zip(fused, explicit, none, strict=True):
        assert abs(mine.pixels - theirs.pixels).max() < 1e-4
        assert abs(mine.pixels - plain.pixels).max() > 1e-3  # the modulation changes this image
