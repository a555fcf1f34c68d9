"""A planted diffusers ``Attention`` module and "a red cat and a blue dog" laid out for it: identity query/key maps,
a seeded value map, an identity output map, 2 heads of 4 dimensions, 4 patches and 77 tokens; the helpers that write
out plain torch math for the processors' tests (tests/toolkit/modulation)."""

from __future__ import annotations

import torch
from attnmod.toolkit.modulation.config import ModulationConfig
from attnmod.toolkit.modulation.context import ModulationContext
from attnmod.toolkit.modulation.plan import ModulationPlan, plan_sample
from diffusers.models.attention_processor import Attention, AttnProcessor2_0

from planted import CAT_DOG

HEADS, HEAD_DIM = 2, 4
WIDTH = HEADS * HEAD_DIM
# token positions: 0 <start>, 1 a, 2 red, 3 cat, 4 and, 5 a, 6 blue, 7 dog, 8 <end>, 9.. padding
CAT_GROUP, DOG_GROUP, TAIL = [2, 3], [6, 7], list(range(8, 77))


def planted_attention(cross: bool, dtype=torch.float32) -> Attention:
    """q = x and k = context (identity maps), v = a seeded map, output = the heads concatenated (identity)."""
    attn = Attention(query_dim=WIDTH, cross_attention_dim=WIDTH if cross else None, heads=HEADS, dim_head=HEAD_DIM)
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():
        attn.to_q.weight.copy_(torch.eye(WIDTH))
        attn.to_k.weight.copy_(torch.eye(WIDTH))
        attn.to_v.weight.copy_(torch.randn(WIDTH, WIDTH, generator=generator))
        attn.to_out[0].weight.copy_(torch.eye(WIDTH))
        attn.to_out[0].bias.zero_()
    return attn.to(dtype).eval()


def heads(x: torch.Tensor) -> torch.Tensor:
    """[B, L, heads*d] -> [B, heads, L, d]"""
    return x.view(x.shape[0], x.shape[1], HEADS, HEAD_DIM).transpose(1, 2)


def merge(x: torch.Tensor) -> torch.Tensor:
    """[B, heads, L, d] -> [B, L, heads*d]"""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], WIDTH)


def softmax_rows(q: torch.Tensor, k: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """softmax(q k^T / (tau sqrt(d))) per head, float64."""
    return torch.softmax(q.double() @ k.double().transpose(-1, -2) / (tau * HEAD_DIM**0.5), dim=-1)


def values(attn: Attention, context: torch.Tensor) -> torch.Tensor:
    return heads(context.double() @ attn.to_v.weight.double().T)


def patches_and_tokens(batch_halves: int = 2, dtype=torch.float32):
    """4 patches (a 2x2 grid) and 77 tokens. Patches 0, 1 look like "cat" (token 3), patches 2, 3 like "dog" (7);
    "red" (2) and the end token (8) get some of every patch's attention. Rows: [uncond, cond] when batch_halves=2."""
    generator = torch.Generator().manual_seed(5)
    cat, dog = torch.zeros(WIDTH), torch.zeros(WIDTH)
    cat[[0, 4]], dog[[1, 5]] = 3.0, 3.0  # one direction per head, so both heads agree
    tokens = 0.3 * torch.randn(77, WIDTH, generator=generator)
    tokens[3], tokens[7], tokens[2], tokens[8] = cat, dog, 0.5 * (cat + dog), 0.4 * (cat + dog)
    x = torch.stack([cat, cat * 0.8, dog, dog * 0.8]) + 0.1 * torch.randn(4, WIDTH, generator=generator)
    hidden = x[None].repeat(batch_halves, 1, 1)
    context = tokens[None].repeat(batch_halves, 1, 1)
    if batch_halves == 2:  # the unconditional half attends to another (empty prompt) context
        context[0] = 0.3 * torch.randn(77, WIDTH, generator=generator)
    return hidden.to(dtype), context.to(dtype)


def make_context(config: ModulationConfig, progress_step: int = 0, steps: int = 4) -> ModulationContext:
    context = ModulationContext(config, ModulationPlan.build([plan_sample(CAT_DOG, 9, config.masking.nested)]))
    context.progress.steps, context.progress.step = steps, progress_step
    context.latent_size = (2, 2)
    return context


def stock(attn: Attention, hidden: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
    return AttnProcessor2_0()(attn, hidden, context)
