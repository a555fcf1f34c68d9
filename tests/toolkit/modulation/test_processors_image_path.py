"""The processors on the path that makes the image: their outputs, on a small diffusers ``Attention`` module.

Each test plants the projections (identity query/key maps, a seeded value map, an identity output map) and hidden
states, calls a processor, and compares the rows it returns with plain torch math written out here:
``softmax(q k^T / (tau sqrt(d))) v`` for the temperature, ``used @ v`` with the masked or reweighted ``used`` for
cross-attention, and diffusers' own ``AttnProcessor2_0`` for the rows the modulation leaves alone.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest
import torch
from attnmod.toolkit.modulation.config import (
    Curve,
    MaskingConfig,
    ModulationConfig,
    ReweightingConfig,
    TemperatureConfig,
    Window,
)
from attnmod.toolkit.modulation.masking import LayoutMaps
from attnmod.toolkit.modulation.processors import MaskedReweightedCrossAttnProcessor, TemperedSelfAttnProcessor
from diffusers.models.attention_processor import AttnProcessor2_0
from planted import CAT_DOG
from planted.attention import (
    CAT_GROUP,
    DOG_GROUP,
    TAIL,
    WIDTH,
    heads,
    make_context,
    merge,
    patches_and_tokens,
    planted_attention,
    softmax_rows,
    stock,
    values,
)

# ---- temperature ----


@pytest.mark.parametrize("halves", ["cond", "both"])
def test_tempered_rows_equal_softmax_over_tau_sqrt_d_times_v(halves):
    attn = planted_attention(cross=False)
    hidden = torch.randn(2, 5, WIDTH, generator=torch.Generator().manual_seed(3))  # [uncond, cond], 5 patches
    tau = 0.5
    config = ModulationConfig(temperature=TemperatureConfig(enabled=True, tau=tau, window=Window(0.0, 0.5),
                                                            halves=halves))  # fmt: skip
    processor = TemperedSelfAttnProcessor("m.attn1", 0, make_context(config))
    with torch.no_grad():
        output = processor(attn, hidden)
        q = heads(hidden.double())
        tempered = merge(softmax_rows(q, q, tau) @ values(attn, hidden))
        plain = merge(softmax_rows(q, q) @ values(attn, hidden))
        reference = stock(attn, hidden)
    assert torch.allclose(output[1].double(), tempered[1], atol=1e-5)
    assert not torch.allclose(tempered[1], plain[1], atol=1e-3)  # the planted case is sensitive to tau
    if halves == "cond":
        assert torch.equal(output[0], reference[0])  # the unconditional row is diffusers' own result
        assert torch.allclose(reference[0].double(), plain[0], atol=1e-5)
    else:
        assert torch.allclose(output[0].double(), tempered[0], atol=1e-5)


def test_outside_the_window_self_attention_is_the_stock_processor_bit_for_bit():
    attn = planted_attention(cross=False)
    hidden = torch.randn(2, 5, WIDTH, generator=torch.Generator().manual_seed(4))
    config = ModulationConfig(temperature=TemperatureConfig(enabled=True, tau=0.5, window=Window(0.0, 0.5)))
    processor = TemperedSelfAttnProcessor("m.attn1", 0, make_context(config, progress_step=2))  # progress 0.5
    with torch.no_grad():
        assert torch.equal(processor(attn, hidden), stock(attn, hidden))


# ---- masking and reweighting ----


def masked_expectation(attn, hidden, context, assignment, tail: str = "keep", tail_weight: float = 0.5):
    """Conditional rows: p with the other entity's group zeroed per assigned patch, renormalised, times v."""
    p = softmax_rows(heads(hidden[1:].double()), heads(context[1:].double()))  # [1, heads, 4, 77]
    kept = p.clone()
    for patch, group in enumerate(assignment):
        if group is None:
            continue
        kept[..., patch, DOG_GROUP if group == 0 else CAT_GROUP] = 0.0
        if tail == "downweight":
            kept[..., patch, TAIL] *= tail_weight
    used = kept / kept.sum(-1, keepdim=True)
    if tail == "substitute":
        for patch, group in enumerate(assignment):
            if group is not None:
                used[..., patch, 0] += used[..., patch, TAIL].sum(-1)
                used[..., patch, TAIL] = 0.0
    return merge(used @ values(attn, context[1:])), p


@pytest.mark.parametrize("tail", ["keep", "downweight", "substitute"])
def test_masked_rows_equal_used_times_v_and_unconditional_rows_are_stock(tail):
    attn = planted_attention(cross=True)
    hidden, context = patches_and_tokens()
    config = ModulationConfig(masking=MaskingConfig(enabled=True, window=Window(0.0, 1.0), margin=0.0,
                                                    assignment="per_layer", smoothing=0.0, special=tail,
                                                    special_weight=0.25))  # fmt: skip
    processor = MaskedReweightedCrossAttnProcessor("m.attn2", 0, make_context(config), reweighting=False)
    with torch.no_grad():
        output = processor(attn, hidden, context)
        expected, p = masked_expectation(attn, hidden, context, [0, 0, 1, 1], tail, 0.25)
        reference = stock(attn, hidden, context)
    assert p[0, :, :2, 3].min() > p[0, :, :2, 7].max() and p[0, :, 2:, 7].min() > p[0, :, 2:, 3].max()
    assert torch.allclose(output[1:].double(), expected, atol=1e-5)
    unmasked = merge(p @ values(attn, context[1:]))
    assert not torch.allclose(expected, unmasked, atol=1e-3)  # the mask changes this planted output
    assert torch.equal(output[0], reference[0])


def test_per_step_masking_uses_the_previous_calls_layout_maps():
    attn = planted_attention(cross=True)
    hidden, context = patches_and_tokens()
    config = ModulationConfig(masking=MaskingConfig(enabled=True, window=Window(0.0, 1.0), margin=0.0,
                                                    assignment="per_step", smoothing=0.0))  # fmt: skip
    modulation = make_context(config)
    modulation.layout = LayoutMaps(level=0)
    processor = MaskedReweightedCrossAttnProcessor("m.attn2", 0, modulation, reweighting=False, layout=True)
    with torch.no_grad():
        first = processor(attn, hidden, context)  # no earlier call: nothing to assign from
        modulation.begin_call(None, (None, None))
        second = processor(attn, hidden, context)
        expected, _ = masked_expectation(attn, hidden, context, [0, 0, 1, 1])
        reference = stock(attn, hidden, context)
    assert torch.allclose(first, reference, atol=1e-6)
    assert torch.allclose(second[1:].double(), expected, atol=1e-5)
    # a layout layer on the CPU computes every row from one float32 score matmul: the unconditional row is the stock
    # result up to rounding
    assert torch.allclose(second[0], reference[0], atol=1e-6)


def test_reweighted_rows_equal_weighted_probabilities_times_v():
    attn = planted_attention(cross=True)
    hidden, context = patches_and_tokens()
    section = ReweightingConfig(enabled=True, window=Window(0.0, 1.0), entity=Curve("constant", 3.0, 3.0),
                                attribute=Curve("constant", 0.5, 0.5), other=Curve("constant", 2.0, 2.0))  # fmt: skip
    processor = MaskedReweightedCrossAttnProcessor("m.attn2", 0, make_context(ModulationConfig(reweighting=section)),
                                                   masking=False)  # fmt: skip
    weights = torch.ones(77, dtype=torch.float64)
    weights[[3, 7]], weights[[2, 6]], weights[[1, 4, 5]] = 3.0, 0.5, 2.0  # nouns, attributes, other words
    with torch.no_grad():
        output = processor(attn, hidden, context)
        p = softmax_rows(heads(hidden[1:].double()), heads(context[1:].double()))
        used = p * weights / (p * weights).sum(-1, keepdim=True)
        expected = merge(used @ values(attn, context[1:]))
        reference = stock(attn, hidden, context)
    assert torch.allclose(output[1:].double(), expected, atol=1e-5)
    assert not torch.allclose(expected, merge(p @ values(attn, context[1:])), atol=1e-3)
    assert torch.equal(output[0], reference[0])


def test_bfloat16_processors_follow_the_same_math():
    attn = planted_attention(cross=True, dtype=torch.bfloat16)
    hidden, context = patches_and_tokens(dtype=torch.bfloat16)
    config = ModulationConfig(masking=MaskingConfig(enabled=True, window=Window(0.0, 1.0), margin=0.0,
                                                    assignment="per_layer", smoothing=0.0))  # fmt: skip
    processor = MaskedReweightedCrossAttnProcessor("m.attn2", 0, make_context(config), reweighting=False)
    with torch.no_grad():
        output = processor(attn, hidden, context)
        attn32 = planted_attention(cross=True)
        attn32.to_v.weight.copy_(attn.to_v.weight.float())
        expected, _ = masked_expectation(attn32, hidden.float(), context.float(), [0, 0, 1, 1])
    assert output.dtype == torch.bfloat16
    assert torch.allclose(output[1:].double(), expected, atol=0.05, rtol=0.02)


def test_a_bfloat16_generation_on_the_cpu(tiny_model):
    from attnmod.toolkit.generation import generate
    from attnmod.toolkit.models.loading import load_model

    model = load_model("tiny", device="cpu", dtype="bfloat16")
    assert model.pipeline.unet.dtype == torch.bfloat16
    kwargs = dict(seeds=0, steps=2, capture=True, trees=[CAT_DOG], height=64, width=64)
    full = generate(model, CAT_DOG.prompt, ModulationConfig.from_variant("full"), **kwargs)[0]
    none = generate(model, CAT_DOG.prompt, ModulationConfig.from_variant("none"), **kwargs)[0]
    assert full.settings["modulated"] and full.record is not None
    assert all(torch.isfinite(t).all() for t in full.record.sums.values())
    assert abs(full.pixels - none.pixels).max() > 0


# ---- the copied projections stay in step with diffusers ----


def _statements(function) -> list[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return [ast.dump(statement) for statement in tree.body[0].body]


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def test_projections_are_a_faithful_copy_of_the_installed_attn_processor_2_0():
    """Drift check for the "Copied from diffusers...AttnProcessor2_0.__call__" marker on _project and _finish."""
    from attnmod.toolkit.modulation.processors import _AttnProcessorBase

    theirs = _statements(AttnProcessor2_0.__call__)
    call = next(i for i, s in enumerate(theirs) if "scaled_dot_product_attention" in s)
    before = [s for s in theirs[:call] if "deprecat" not in s]  # the deprecation warning of a removed argument
    after = theirs[call + 1 : -1]  # up to the return
    assert len(before) > 10 and len(after) > 5
    assert _contains_run(_statements(_AttnProcessorBase._project), before)
    assert _contains_run(_statements(_AttnProcessorBase._finish), after)


def test_processors_carry_the_signature_of_their_call_method():
    # diffusers reads inspect.signature(processor.__call__) on every attention call; ours is stored once and must be
    # the very parameter list of the function (read here from its code object)
    for cls in (MaskedReweightedCrossAttnProcessor, TemperedSelfAttnProcessor):
        code = cls.__call__.__code__
        names = list(code.co_varnames[: code.co_argcount]) + (
            ["kwargs"] if code.co_flags & inspect.CO_VARKEYWORDS else []
        )
        assert "__signature__" in cls.__call__.__dict__
        assert list(cls.__call__.__signature__.parameters) == names
        bound = inspect.signature(object.__new__(cls).__call__)  # what diffusers sees: without self
        assert list(bound.parameters) == names[1:] == ["attn", "hidden_states", "encoder_hidden_states",
                                                       "attention_mask", "temb", "kwargs"]  # fmt: skip
