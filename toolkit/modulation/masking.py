"""The pure math of masking and reweighting, and the layout maps per-step masking assigns from.

Functions of tensors only (no module state): score each patch per entity group, assign patches, smooth and resample
the scores, mask and reweight post-softmax cross-attention and renormalise, and the reweighting curves per token
class. :class:`LayoutMaps` keeps the previous UNet call's coarsest cross-attention for the per-step assignment.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from .config import ModulationConfig
from .plan import ModulationPlan


def group_scores(
    mean_probabilities: torch.Tensor, selection: torch.Tensor, valid: torch.Tensor, reduce: str = "sum"
) -> torch.Tensor:
    """Each patch's score per entity: ``[B, N, G]`` from ``mean_probabilities [B, N, T]`` (head-averaged).

    ``selection [B, G, T]`` marks the tokens that speak for group g (its nouns, or its whole group).
    ``reduce="sum"``: ``m_g = sum_{t in g} p_t``; ``"mean"``: ``m_g = sum_{t in g} p_t / |g|``. Invalid groups get 0.
    """
    selection = selection.float()
    scores = torch.matmul(mean_probabilities.float(), selection.transpose(1, 2))
    if reduce == "mean":
        scores = scores / selection.sum(-1).clamp_min(1.0)[:, None, :]
    return scores.masked_fill(~valid[:, None, :], 0.0)


def assign_from_scores(scores: torch.Tensor, valid: torch.Tensor, margin: float) -> torch.Tensor:
    """Assign each patch to its best entity: ``scores [B, N, G]`` -> ``[B, N]`` long, -1 for unassigned.

    Share ``s_g = m_g / sum_g m_g``. A patch is assigned to ``argmax_g s_g`` when ``s_best - s_second > margin`` (so
    exact ties stay unassigned); otherwise, or when no group has any score, it gets -1.
    """
    scores = scores.masked_fill(~valid[:, None, :], 0.0)
    total = scores.sum(-1)
    shares = (scores / total.clamp_min(torch.finfo(scores.dtype).tiny)[..., None]).masked_fill(~valid[:, None, :], -1.0)
    if shares.shape[-1] >= 2:
        top = shares.topk(2, dim=-1)
        best, second, index = top.values[..., 0], top.values[..., 1].clamp_min(0.0), top.indices[..., 0]
    else:
        best, second, index = (
            shares[..., 0],
            torch.zeros_like(shares[..., 0]),
            torch.zeros_like(total, dtype=torch.long),
        )
    confident = (best - second > margin) & (total > 0) & valid.any(-1)[:, None]
    return torch.where(confident, index, torch.full_like(index, -1))


def assign_patches(
    mean_probabilities: torch.Tensor,
    membership: torch.Tensor,
    valid: torch.Tensor,
    margin: float,
    reduce: str = "sum",
) -> torch.Tensor:
    """Assign each patch of one layer's maps to an entity group (:func:`group_scores` then
    :func:`assign_from_scores`). ``membership`` may be the groups or the nouns. Returns ``[B, N]`` long."""
    return assign_from_scores(group_scores(mean_probabilities, membership, valid, reduce), valid, margin)


def smooth_scores(scores: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of ``scores [B, G, H, W]`` with standard deviation ``sigma`` patches (edges replicated)."""
    if sigma <= 0:
        return scores
    batch, groups, height, width = scores.shape
    radius = max(1, min(int(math.ceil(3.0 * sigma)), max(height, width)))
    kernel = _gaussian_kernel(float(sigma), radius, scores.dtype, scores.device)
    flat = scores.reshape(batch * groups, 1, height, width)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))
    return flat.reshape(batch, groups, height, width)


@functools.lru_cache(maxsize=64)
def _gaussian_kernel(sigma: float, radius: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The normalised 1-D Gaussian ``[2 radius + 1]`` of :func:`smooth_scores` (kept: every UNet call reuses it)."""
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return (kernel / kernel.sum()).to(dtype)


def resample_scores(scores: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``scores [B, G, H, W]`` bilinearly resampled to ``size`` (unchanged when the size is the same)."""
    if tuple(scores.shape[-2:]) == tuple(size):
        return scores
    return F.interpolate(scores, size=tuple(size), mode="bilinear", align_corners=False)


def visible_tokens(assignment: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """``[B, N, T]`` bool: False where token t is hidden from patch n by its assigned group (-1: all visible)."""
    tokens = hidden.shape[-1]
    gathered = torch.gather(hidden, 1, assignment.clamp_min(0)[..., None].expand(-1, -1, tokens))
    return ~(gathered & (assignment >= 0)[..., None])


def modulate_probabilities(
    probabilities: torch.Tensor,
    visible: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    factors: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mask and reweight post-softmax cross-attention, then renormalise each row.

    ``probabilities [B, heads, N, T]``, ``visible [B, N, T]`` bool, ``weights [B, T]`` positive, ``factors
    [B, N, T]`` positive per-patch column factors (down-weighted end tokens).
    ``p'_t = p_t v_t w_t f_t / sum_s p_s v_s w_s f_s``. A row whose kept mass is 0 (every visible token at probability
    0) is returned unchanged instead of dividing by zero, so the result never holds NaN or inf.
    """
    modified = probabilities
    if visible is not None:
        modified = modified * visible[:, None].to(modified.dtype)
    if factors is not None:
        modified = modified * factors[:, None].to(modified.dtype)
    if weights is not None:
        modified = modified * weights[:, None, None, :].to(modified.dtype)
    total = modified.sum(-1, keepdim=True)
    usable = total > 0
    return torch.where(usable, modified / torch.where(usable, total, torch.ones_like(total)), probabilities)


def substitute_tail(probabilities: torch.Tensor, moved: torch.Tensor) -> torch.Tensor:
    """Move the probability of the ``moved [B, N, T]`` columns onto column 0 (the start token), per row.

    ``p'_0 = p_0 + sum_{t moved} p_t``, ``p'_t = 0`` for moved t: the same output as giving those tokens the start
    token's value vector. Rows keep their sum.
    """
    moved = moved[:, None].to(probabilities.dtype)
    carried = (probabilities * moved).sum(-1)
    result = probabilities * (1.0 - moved)
    return torch.cat([result[..., :1] + carried[..., None], result[..., 1:]], dim=-1)


def token_weights(plan: ModulationPlan, config: ModulationConfig, progress: float) -> torch.Tensor:
    """``[B, T]`` reweighting weights at ``progress``: the class curves at the window-local progress; 1 elsewhere."""
    section = config.reweighting
    t = section.window.local(progress)
    table = torch.tensor(
        [1.0, section.entity.value(t), section.attribute.value(t), section.other.value(t)],
        device=plan.token_class.device,
    )
    weights = table[plan.token_class]
    return torch.where(plan.active[:, None], weights, torch.ones_like(weights))


class LayoutMaps:
    """Cross-attention at the layout level (the coarsest), averaged over that level's layers within one UNet call.

    Per-step masking assigns patches from the maps of the previous call: every layer of a call then uses one
    assignment, resampled to its resolution (cached per resolution until the next call).
    """

    def __init__(self, level: int):
        self.level = level
        self.running: torch.Tensor | None = None  # [B, N, T] sum of head-averaged unmodified probabilities
        self.count = 0
        self.grid: tuple[int, int] | None = None
        self.previous: torch.Tensor | None = None  # [B, T, H, W] mean of the previous call
        self.cache: dict[tuple[int, int], torch.Tensor] = {}
        self.smoothed: torch.Tensor | None = None  # [B, G, H, W] the previous call's smoothed entity scores
        self.sizes: list[tuple[int, int]] = []  # every size asked for so far: all are assigned in one pass

    def add(self, mean_probabilities: torch.Tensor, grid: tuple[int, int]) -> None:
        if self.running is None or self.running.shape != mean_probabilities.shape:
            self.running, self.count = mean_probabilities.float().clone(), 1
        else:
            self.running += mean_probabilities.float()
            self.count += 1
        self.grid = grid

    def advance(self) -> None:
        """A new UNet call begins: the maps gathered so far become the previous call's."""
        self.previous = None  # never older than the call just finished
        if self.count and self.running is not None and self.grid is not None:
            mean = self.running / self.count
            self.previous = mean.transpose(1, 2).reshape(mean.shape[0], mean.shape[2], *self.grid)
        self.running, self.count = None, 0
        self.cache = {}
        self.smoothed = None

    def assignment(self, size: tuple[int, int], plan: ModulationPlan, config: ModulationConfig) -> torch.Tensor | None:
        """``[B, H*W]`` at ``size`` from the previous call's maps, or None when there are none yet."""
        if self.previous is None or self.previous.shape[0] != plan.size:
            return None
        size = tuple(size)
        if size not in self.cache:
            if size not in self.sizes:
                self.sizes.append(size)
            section = config.masking
            if self.smoothed is None:  # the same for every size: once per call
                selection = plan.nouns if section.assign_by == "nouns" and plan.nouns is not None else plan.membership
                batch, tokens, height, width = self.previous.shape
                flat = self.previous.reshape(batch, tokens, height * width).transpose(1, 2)
                scores = group_scores(flat, selection, plan.valid, section.score)  # [B, N, G]
                scores = scores.transpose(1, 2).reshape(batch, -1, height, width)
                self.smoothed = smooth_scores(scores, section.smoothing)
            # Every size this run's layers asked for, in one assignment pass (a patch's assignment depends on its own
            # scores only, so patches of several sizes side by side get what each size alone would).
            sizes = [known for known in self.sizes if known not in self.cache]
            pieces = [resample_scores(self.smoothed, known).flatten(2) for known in sizes]  # [B, G, h*w] each
            scores = (pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=2)).transpose(1, 2)
            assigned = assign_from_scores(scores, plan.valid, section.margin)
            lengths = [known[0] * known[1] for known in sizes]
            for known, part in zip(sizes, assigned.split(lengths, dim=1), strict=True):
                self.cache[known] = part
        return self.cache[size]
