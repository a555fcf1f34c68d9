"""Presence from absolute attention: each pixel's attention renormalised over the prompt's word tokens (start,
end and padding tokens left out), an entity's peak and mass of it, and whether the entity is neglected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .attention_maps import ZERO_MASS

#: CLIP's start and end token ids (the end id also pads the first SDXL tokenizer's sequence).
CLIP_START_ID, CLIP_END_ID = 49406, 49407


def word_attention_shares(token_maps: torch.Tensor, word_positions: Sequence[int]) -> torch.Tensor:
    """``P_j(p) = A_j(p) / sum_{k in words} A_k(p)`` for every token j, ``[..., T, H, W]``, from raw (unnormalised)
    cross-attention maps: each pixel's attention renormalised over the prompt's word tokens, so the start, end and
    padding tokens (which take most of the raw mass in CLIP-conditioned UNets) do not count. Pixels with no
    attention on any word token get 0. This is the quantity Attend-and-Excite maximises."""
    words = list(word_positions)
    raw = token_maps.clamp_min(0)
    if not words:
        return torch.zeros_like(raw)
    total = raw[..., words, :, :].sum(dim=-3, keepdim=True)
    return torch.where(total > ZERO_MASS, raw / total.clamp_min(ZERO_MASS), torch.zeros_like(raw))


def word_positions(token_ids: Sequence[int], start_id: int = CLIP_START_ID, end_id: int = CLIP_END_ID) -> list[int]:
    """The positions of the prompt's word tokens: after the start token and before the first end token (so the
    start, end and padding positions are left out, whatever the padding token is)."""
    ids = list(token_ids)
    stop = ids.index(end_id) if end_id in ids else len(ids)
    return [position for position in range(stop) if ids[position] not in (start_id, end_id)]


def _gaussian_smooth(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """3 x 3 Gaussian smoothing with reflected borders over the last two dimensions (Attend-and-Excite's kernel)."""
    if sigma <= 0:
        return maps
    coordinates = torch.tensor([-1.0, 0.0, 1.0], dtype=maps.dtype, device=maps.device)
    kernel_1d = torch.exp(-(coordinates**2) / (2 * sigma**2))
    kernel = kernel_1d[:, None] * kernel_1d[None, :]
    kernel = (kernel / kernel.sum())[None, None]
    leading = maps.shape[:-2]
    flat = maps.reshape(-1, 1, *maps.shape[-2:])
    if min(maps.shape[-2:]) >= 2:
        padded = F.pad(flat, (1, 1, 1, 1), mode="reflect")
    else:
        padded = F.pad(flat, (1, 1, 1, 1), mode="replicate")
    return F.conv2d(padded, kernel).reshape(*leading, *maps.shape[-2:])


def presence(
    token_maps: torch.Tensor,
    positions: Sequence[int],
    word_positions: Sequence[int],
    sigma: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Presence of an entity from absolute attention: ``(peak, mass)`` (each ``[...]``) for the tokens ``positions``.

    With ``P_e(p) = sum_{j in e} P_j(p)`` the entity's share of each pixel's word-token attention
    (:func:`word_attention_shares`):

    * ``peak = max_p G_sigma * P_e(p)``: the largest share at any (3 x 3 Gaussian-smoothed) pixel, the quantity
      Attend-and-Excite raises for neglected subjects. An object the model draws has some patch where its token
      dominates (peak near 1); a neglected object has none.
    * ``mass = mean_p P_e(p)``: the entity's share of the word-token attention over the whole image.

    Unlike the per-token maps of the other scores, nothing is renormalised per token, so an entity the model
    ignores keeps a small value instead of a full-looking map. 0 when no word token receives attention.
    """
    shares = word_attention_shares(token_maps, word_positions)
    if not positions:
        zero = torch.zeros(token_maps.shape[:-3], dtype=token_maps.dtype, device=token_maps.device)
        return zero, zero
    entity = shares[..., list(positions), :, :].sum(dim=-3)
    peak = _gaussian_smooth(entity, sigma).flatten(-2).max(dim=-1).values
    return peak, entity.mean(dim=(-2, -1))


def is_neglected(peak: float, threshold: float) -> bool:
    """An entity is neglected when its presence peak is below ``threshold``: no patch of the image attends to it
    as a clear share of the prompt's words."""
    return not math.isnan(peak) and peak < threshold
