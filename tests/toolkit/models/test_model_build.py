"""The deferred (meta-device) build of ``sdxl-shaped`` gives the weights of the eager seeded build, in one copy.

The full model has 3.5 billion parameters; the tests build the same block structure at toy widths
(``sdxl_shaped_parts(reduced=True)``), eagerly (``torch.manual_seed(0); Component(config)``, the build of earlier
versions) and deferred, and compare every tensor bit for bit.
"""

from __future__ import annotations

import hashlib

import pytest
import torch
from attnmod.toolkit.models.deferred_init import DeferredInitError, build_deferred
from attnmod.toolkit.models.loading import _seeded, sdxl_shaped_parts

# A few tensors of each kind of initialisation: torch's defaults (kaiming/uniform), transformers' normal draws
# over the default ones (token and position embeddings, projections), norms set to ones and zeros.
SAMPLED = {
    "unet": (
        "conv_in.weight",
        "down_blocks.2.attentions.1.transformer_blocks.2.attn2.to_k.weight",
        "conv_norm_out.weight",
    ),
    "vae": ("encoder.conv_in.bias", "decoder.up_blocks.3.resnets.2.conv2.weight"),
    "text_encoder": ("embeddings.token_embedding.weight", "encoder.layers.1.mlp.fc2.bias"),
    "text_encoder_2": ("text_model.embeddings.position_embedding.weight", "text_projection.weight"),
}


def checksum(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes()).hexdigest()


def state(module) -> dict:
    return {**dict(module.named_parameters()), **dict(module.named_buffers())}


@pytest.fixture(scope="module")
def eager() -> dict:
    """Each reduced component as earlier versions built it: ``torch.manual_seed(0); Component(config)``."""
    return {name: _seeded(factory) for name, factory in sdxl_shaped_parts(reduced=True).items()}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_deferred_build_has_the_eager_builds_weights_bit_for_bit(eager, dtype):
    for component, factory in sdxl_shaped_parts(reduced=True).items():
        expected, found = state(eager[component]), state(build_deferred(factory, seed=0, dtype=dtype))
        assert sorted(expected) == sorted(found), component
        for name in SAMPLED[component]:
            assert found[name].dtype == dtype
            assert checksum(found[name]) == checksum(expected[name].to(dtype)), f"{component}.{name}"
        differing = [n for n, t in expected.items() if not torch.equal(t.to(found[n].dtype), found[n])]
        assert differing == [], f"{component}: {differing[:5]}"
        assert not any(t.is_meta for t in found.values())


def test_deferred_build_leaves_the_generator_where_the_eager_build_does():
    factory = torch.nn.Linear
    torch.manual_seed(5)
    torch.nn.Linear(300, 7)
    expected = torch.get_rng_state()
    build_deferred(lambda: factory(300, 7), seed=5)
    assert torch.equal(torch.get_rng_state(), expected)


def test_a_weight_overwritten_during_construction_costs_no_memory_but_keeps_the_draw_order():
    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = torch.nn.Linear(40, 30)  # kaiming + uniform draws, then overwritten below
            self.second = torch.nn.Embedding(50, 8)
            torch.nn.init.normal_(self.first.weight, std=0.02)
            with torch.no_grad():
                self.first.bias.zero_()
                self.second.weight[3].fill_(0.0)  # a partial write after the full one is replayed too

    torch.manual_seed(2)
    expected = Twice()
    found = build_deferred(Twice, seed=2)
    for name, tensor in expected.state_dict().items():
        assert torch.equal(tensor, found.state_dict()[name]), name
    assert float(found.second.weight[3].abs().sum()) == 0.0


def test_what_cannot_be_replayed_is_refused():
    class DrawsIntoABuffer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(4, 4)
            self.register_buffer("noise", torch.randn(3))

    class ParameterWithValues(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(4))  # its values would be lost on the meta device

    with pytest.raises(DeferredInitError, match="outside the parameters"):
        build_deferred(DrawsIntoABuffer, seed=0)
    with pytest.raises(DeferredInitError, match="never written in full: scale"):
        build_deferred(ParameterWithValues, seed=0)
