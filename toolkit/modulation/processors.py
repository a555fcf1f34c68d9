"""Attention processors that run the modulation inside a diffusers UNet, and the context manager that installs them.

Nothing here patches diffusers classes: :func:`modulated_attention` swaps the processors of one UNet by module name
with ``unet.set_attn_processor`` and always puts the saved originals back, also when the run raises. Processors are
named by what they compute (as diffusers names its own): :class:`TemperedSelfAttnProcessor` and
:class:`MaskedReweightedCrossAttnProcessor`. They are installed only on the modules where a part of the modulation
or an observer needs them; every other module keeps its stock processor. Which parts a module runs and which
observers it feeds are resolved once, at install.

Batch layout: diffusers' SD and SDXL pipelines run classifier-free guidance as one UNet batch
``[uncond x B, cond x B]``; with ``guidance <= 1`` there is no unconditional half and the batch is ``[cond x B]``.
Masking and reweighting change the conditional rows only; the temperature changes both halves or the conditional
one (``temperature.halves``). Observers see the conditional rows. Each of the B samples has its own token groups
and weights (a :class:`ModulationPlan`), so a batch of different prompts runs in one call.

Where nothing is active at a layer and step, both processors compute exactly what ``AttnProcessor2_0`` computes, with
the same operations in the same order (so the ``none`` variant, with or without capture, reproduces the stock
images). Self-attention always stays on one fused ``scaled_dot_product_attention`` call; inside the temperature
window it gets ``scale = 1 / (tau sqrt(d))`` when every row is tempered, or the tempered rows' queries are
multiplied by ``1 / tau`` (the same thing) when only some are. Masking and reweighting multiply each post-softmax
row by ``m_t`` and renormalise, which is ``softmax(s + log m)``: cross-attention also stays on one fused call, with
``log m`` as an additive ``attn_mask`` built once per UNet call (:meth:`ModulationContext.modulation_bias`).
Cross-attention probabilities (77 keys: small) are computed explicitly only where an observer reads them, where the
layout maps of per-step masking need the unmodified ones, or where no bias expresses the edit (per-layer assignment,
end-token substitution, a caller's attention mask).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import torch
import torch.nn.functional as F

from ..errors import AttnmodError
from ..prompt.tree import PromptTree
from .config import ModulationConfig, layer_selected

SEQUENCE_LENGTH = 77
SPECIAL, ENTITY, ATTRIBUTE, OTHER = 0, 1, 2, 3  # token classes for reweighting


# ---- denoising progress ----


@dataclasses.dataclass
class DenoisingProgress:
    """Which denoising step the UNet is on: ``progress = step / steps`` in [0, 1).

    Inside :func:`modulated_attention` a forward pre-hook on the UNet calls :meth:`on_unet_call` with the UNet's
    ``(sample, timestep)``. With a ``scheduler`` whose ``timesteps`` hold that timestep, ``step`` is its position
    among the schedule's distinct timesteps (in order) and ``steps`` their number, so a second-order scheduler (Heun
    calls the UNet twice per step) gets the progress of the noise level each call evaluates. Without a scheduler, or
    for a timestep not in the schedule, the n-th UNet call counts as step n (clamped to the last). Tests may set
    ``step`` directly.
    """

    steps: int = 1
    step: int = 0
    calls: int = 0
    scheduler: object = dataclasses.field(default=None, repr=False)
    _schedule: tuple = dataclasses.field(default=(), repr=False)
    _schedule_source: object = dataclasses.field(default=None, repr=False)

    @property
    def progress(self) -> float:
        return self.step / max(self.steps, 1)

    def on_unet_call(self, module, args) -> None:
        timestep = args[1] if len(args) > 1 else None
        position = self._position(timestep)
        if position is None:
            self.step = min(self.calls, max(self.steps - 1, 0))
        else:
            self.step, self.steps = position
        self.calls += 1

    def _position(self, timestep) -> tuple[int, int] | None:
        timesteps = getattr(self.scheduler, "timesteps", None)
        if timestep is None or timesteps is None or len(timesteps) == 0:
            return None
        if self._schedule_source is not timesteps:
            distinct: list[float] = []
            for value in torch.as_tensor(timesteps).flatten().tolist():
                if not distinct or abs(value - distinct[-1]) > 1e-6:  # a second-order step repeats its timestep
                    distinct.append(float(value))
            self._schedule, self._schedule_source = tuple(distinct), timesteps
        value = float(torch.as_tensor(timestep).flatten()[0]) if torch.is_tensor(timestep) else float(timestep)
        gaps = [abs(value - entry) for entry in self._schedule]
        index = min(range(len(gaps)), key=gaps.__getitem__)
        if gaps[index] > 1e-4 * max(1.0, abs(value)):
            return None
        return index, len(self._schedule)


# ---- per-sample plan: which tokens form which group, and their classes ----


@dataclasses.dataclass(frozen=True)
class SamplePlan:
    """One prompt's token groups (positions < 77) resolved for the modulation.

    ``groups[g]`` are the token positions of entity ``entities[g]`` (noun + attributes) and ``nouns[g]`` its head-noun
    positions (the group itself when the noun was truncated away); ``hidden[g]`` the positions masked for a patch
    assigned to group g (every other group's tokens, minus those the nested rule keeps visible).
    ``token_class[t]`` is SPECIAL (start, end, padding), ENTITY, ATTRIBUTE or OTHER (remaining prompt words);
    ``token_count`` the real positions including start and end (the end token sits at ``token_count - 1``).
    """

    groups: tuple[tuple[int, ...], ...]
    entities: tuple[int, ...]
    hidden: tuple[tuple[int, ...], ...]
    token_class: tuple[int, ...]
    nouns: tuple[tuple[int, ...], ...] = ()
    token_count: int = SEQUENCE_LENGTH

    @property
    def active(self) -> bool:
        return bool(self.groups)


def plan_sample(tree: PromptTree | None, token_count: int, nested: str = "family") -> SamplePlan:
    """Resolve a prompt tree against its tokenisation.

    ``token_count``: real positions including start and end token (the first padding position). Entities whose tokens
    were all truncated away are left out. ``nested`` (see :mod:`~attnmod.toolkit.modulation.config`): ``family``
    keeps a group's ancestors and descendants visible to its patches, ``ancestors`` its ancestors only, ``strict``
    nothing but the group itself.
    """
    count = max(min(token_count, SEQUENCE_LENGTH), 1)
    classes = [SPECIAL] * SEQUENCE_LENGTH
    for position in range(1, max(count - 1, 1)):
        classes[position] = OTHER
    if tree is None:
        return SamplePlan((), (), (), tuple(classes), (), count)
    groups, entities, nouns = [], [], []
    for index, entity in enumerate(tree.entities):
        tokens = tuple(t for t in entity.group_tokens if 0 <= t < SEQUENCE_LENGTH)
        if tokens:
            groups.append(tokens)
            entities.append(index)
            nouns.append(tuple(t for t in entity.tokens if 0 <= t < SEQUENCE_LENGTH) or tokens)
    for entity in tree.entities:
        for attribute in entity.attributes:
            for t in attribute.tokens:
                if 0 <= t < SEQUENCE_LENGTH:
                    classes[t] = ATTRIBUTE
    for entity in tree.entities:
        for t in entity.tokens:
            if 0 <= t < SEQUENCE_LENGTH:
                classes[t] = ENTITY  # a noun wins over an attribute role of the same token
    all_group_tokens = set().union(*groups) if groups else set()
    hidden = []
    for g, entity_index in enumerate(entities):
        related: set[int] = set()
        if nested in ("family", "ancestors"):
            related.update(tree.ancestors(entity_index))
        if nested == "family":
            related.update(other for other in entities if entity_index in tree.ancestors(other))
        visible = set(groups[g])
        for other in related:
            if other in entities:
                visible.update(groups[entities.index(other)])
        hidden.append(tuple(sorted(all_group_tokens - visible)))
    return SamplePlan(tuple(groups), tuple(entities), tuple(hidden), tuple(classes), tuple(nouns), count)


@dataclasses.dataclass
class ModulationPlan:
    """The per-sample plans of a batch as padded tensors (G = the largest group count, at least 1).

    membership ``[B, G, T]`` float (1 where token t is in group g), nouns ``[B, G, T]`` float (1 on g's head-noun
    tokens), valid ``[B, G]`` bool, hidden ``[B, G, T]`` bool, token_class ``[B, T]`` long, tail ``[B, T]`` bool (the
    end and padding positions), active ``[B]`` bool.
    """

    samples: tuple[SamplePlan, ...]
    membership: torch.Tensor
    valid: torch.Tensor
    hidden: torch.Tensor
    token_class: torch.Tensor
    active: torch.Tensor
    nouns: torch.Tensor | None = None
    tail: torch.Tensor | None = None

    @property
    def size(self) -> int:
        return len(self.samples)

    @property
    def active_flags(self) -> tuple[bool, ...]:
        """Per-sample activity as Python booleans: branching on these never waits for the GPU."""
        return tuple(sample.active for sample in self.samples)

    @property
    def any_active(self) -> bool:
        return any(self.active_flags)

    @classmethod
    def build(cls, samples: Sequence[SamplePlan], device="cpu") -> ModulationPlan:
        count = len(samples)
        groups = max([len(s.groups) for s in samples] + [1])
        membership = torch.zeros(count, groups, SEQUENCE_LENGTH)
        nouns = torch.zeros(count, groups, SEQUENCE_LENGTH)
        valid = torch.zeros(count, groups, dtype=torch.bool)
        hidden = torch.zeros(count, groups, SEQUENCE_LENGTH, dtype=torch.bool)
        tail = torch.zeros(count, SEQUENCE_LENGTH, dtype=torch.bool)
        for b, sample in enumerate(samples):
            tail[b, max(sample.token_count - 1, 1) :] = True
            for g, tokens in enumerate(sample.groups):
                membership[b, g, list(tokens)] = 1.0
                nouns[b, g, list(sample.nouns[g] if g < len(sample.nouns) else tokens)] = 1.0
                valid[b, g] = True
                if sample.hidden[g]:
                    hidden[b, g, list(sample.hidden[g])] = True
        token_class = torch.tensor([list(s.token_class) for s in samples], dtype=torch.long).reshape(count, -1)
        active = torch.tensor([s.active for s in samples], dtype=torch.bool)
        return cls(
            tuple(samples),
            membership.to(device),
            valid.to(device),
            hidden.to(device),
            token_class.to(device),
            active.to(device),
            nouns.to(device),
            tail.to(device),
        )


# ---- the pure math of masking and reweighting ----


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


# ---- observers: the capture and test probes see what the processors computed ----


@dataclasses.dataclass
class AttentionEvent:
    """What one attention call computed for the conditional rows.

    ``probabilities [B, heads, N, T]``: the probabilities actually applied (after modulation), float32.
    ``reference()`` returns the unmodified probabilities the model computed for the same queries and keys before any
    edit of this call (the same tensor when nothing was changed). ``assignment [B, N]`` (masking; -1 = unmasked) and
    ``weights [B, T]`` (reweighting) are None when the part was not active.
    """

    module: str
    kind: str  # "self" or "cross"
    level: int
    resolution: tuple[int, int]
    step: int
    progress: float
    probabilities: torch.Tensor
    reference: Callable[[], torch.Tensor]
    assignment: torch.Tensor | None = None
    weights: torch.Tensor | None = None


class AttentionObserver(Protocol):
    def wants(self, kind: str, module: str, level: int) -> bool: ...

    def observe(self, event: AttentionEvent) -> None: ...


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


@dataclasses.dataclass
class ModulationContext:
    """Everything the processors of one run share: config, plan, progress, observers and the latent size."""

    config: ModulationConfig
    plan: ModulationPlan
    progress: DenoisingProgress = dataclasses.field(default_factory=DenoisingProgress)
    observers: list = dataclasses.field(default_factory=list)
    latent_size: tuple[int, int] | None = None  # latent (height, width), to name resolutions of flattened maps
    layout: LayoutMaps | None = None  # set at install when masking assigns per step
    _row_scales: dict = dataclasses.field(default_factory=dict, repr=False)
    _call_cache: dict = dataclasses.field(default_factory=dict, repr=False)
    _call_state: tuple | None = dataclasses.field(default=None, repr=False)  # (progress key, owning objects)

    def condition_rows(self, batch: int) -> slice:
        samples = self.plan.size
        if batch == 2 * samples:
            return slice(samples, batch)
        if batch == samples:
            return slice(0, batch)
        raise AttnmodError(
            f"attention batch of {batch} rows does not match {samples} prompt(s): expected [uncond, cond] "
            "halves or a conditional batch only (num_images_per_prompt must be 1)"
        )

    def grid(self, pixels: int) -> tuple[int, int]:
        """The (height, width) of a flattened map with ``pixels`` positions at some UNet level."""
        if self.latent_size is not None:
            height, width = self.latent_size
            while height * width > pixels:
                height, width = (height + 1) // 2, (width + 1) // 2  # stride-2 convolutions round up
            if height * width == pixels:
                return height, width
        side = int(round(pixels**0.5))
        return (side, side) if side * side == pixels else (1, pixels)

    def per_call(self) -> dict:
        """A cache for what every layer of one UNet call shares (which parts are active, the attention bias).

        Emptied whenever the call's state changes: the progress (a new UNet call, or a test setting the step), the
        layout maps of the previous call, the plan or the config. The state is compared by identity and value, so
        the cache can never serve a value computed for another step.
        """
        progress, layout = self.progress, self.layout
        key = (progress.calls, progress.step, progress.steps)
        owners = (None if layout is None else layout.previous, self.plan, self.config)
        stale = self._call_state is None or self._call_state[0] != key
        if not stale:
            stale = any(mine is not theirs for mine, theirs in zip(self._call_state[1], owners, strict=True))
        if stale:
            self._call_cache = {}
            self._call_state = (key, owners)
        return self._call_cache

    def active(self, part: str) -> bool:
        """Whether ``part`` is enabled, inside its window now, and some sample of the batch has entities."""
        cache = self.per_call()
        key = ("active", part)
        if key not in cache:
            section = getattr(self.config, part)
            cache[key] = section.enabled and section.window.contains(self.progress.progress) and self.plan.any_active
        return cache[key]

    def begin_call(self, module, args) -> None:
        """The UNet pre-hook: advance the progress, and roll the layout maps over to the new call."""
        self.progress.on_unet_call(module, args)
        if self.layout is not None:
            self.layout.advance()

    def collects_layout(self) -> bool:
        """Whether this call's layout maps may drive a masked call: inside the masking window or one step before."""
        if self.layout is None or not self.plan.any_active:
            return False
        cache = self.per_call()
        if "collects_layout" not in cache:
            window, progress = self.config.masking.window, self.progress.progress
            lead = 1.0 / max(self.progress.steps, 1) + 1e-9
            cache["collects_layout"] = window.start - lead <= progress and (
                progress < window.end or window.contains(progress)
            )
        return cache["collects_layout"]

    def modulation_bias(
        self, size: tuple[int, int] | None, batch: int, masking: bool, reweighting: bool, dtype, device
    ) -> torch.Tensor | None:
        """The additive attention bias that masks and reweights the conditional rows: ``[batch, 1, N or 1, T]``.

        Masking and reweighting multiply each post-softmax row by ``m_t = visible_t factor_t weight_t`` and
        renormalise (:func:`modulate_probabilities`); that is ``softmax(s + log m)``, so the bias is ``log m``
        (``-inf`` on hidden tokens), 0 on the unconditional rows and on samples without entities, and 0 on a row
        whose every token is hidden (returned unchanged, as :func:`modulate_probabilities` does). Masking here is the
        per-step assignment of the layout maps (none before the first maps) at ``size`` (the layer's patch grid;
        unused without masking): each patch takes the row of :meth:`bias_table` of its group. Built once per UNet
        call per size and kind, in ``dtype`` on ``device``; None when there is nothing to change.
        """
        cache = self.per_call()
        size = tuple(size) if masking and size is not None else None
        key = ("bias", size, batch, masking, reweighting, dtype, str(device))
        if key in cache:
            return cache[key]
        assignment = None
        if size is not None and self.layout is not None:
            assignment = self.layout.assignment(size, self.plan, self.config)
        bias = None
        if assignment is not None or reweighting:
            table = self.bias_table(assignment is not None, reweighting)
            if assignment is None:
                rows_bias = table[:, -1:]  # [B, 1, T]: the same for every patch
            else:
                unassigned = table.shape[1] - 1
                assigned = (assignment >= 0) & self.plan.active[:, None]
                index = torch.where(assigned, assignment, unassigned)
                rows_bias = torch.gather(table, 1, index[..., None].expand(-1, -1, table.shape[-1]))  # [B, N, T]
            bias = torch.zeros(batch, 1, *rows_bias.shape[1:], dtype=dtype, device=device)
            bias[self.condition_rows(batch), 0] = rows_bias.to(device=device, dtype=dtype)
        cache[key] = bias
        return bias

    def bias_table(self, masking: bool, reweighting: bool) -> torch.Tensor:
        """``[B, G + 1, T]`` float32 ``log m`` for a patch assigned to group g (rows 0..G-1; only with masking) and
        for an unassigned patch (the last row): ``m = visible * factor * weight``, a row with no token left at 0.
        Once per UNet call."""
        cache = self.per_call()
        key = ("table", masking, reweighting)
        if key not in cache:
            plan, section = self.plan, self.config.masking
            samples, groups, tokens = plan.hidden.shape
            groups = groups if masking else 0
            multiplier = torch.ones(samples, groups + 1, tokens, device=plan.hidden.device)
            if masking:
                visible = (~plan.hidden).float()
                if section.special == "downweight" and plan.tail is not None:
                    factors = torch.where(plan.tail, float(section.special_weight), 1.0)  # [B, T]
                    visible = visible * factors[:, None, :]
                multiplier[:, :groups] = visible
            if reweighting:
                multiplier = multiplier * self.token_weights()[:, None, :]
            usable = (multiplier > 0).any(-1, keepdim=True)  # a row with every token hidden stays as it is
            cache[key] = torch.where(usable, multiplier.log(), torch.zeros_like(multiplier))
        return cache[key]

    def token_weights(self) -> torch.Tensor:
        """:func:`token_weights` at the current progress, computed once per UNet call. ``[B, T]`` float32."""
        cache = self.per_call()
        if "weights" not in cache:
            cache["weights"] = token_weights(self.plan, self.config, self.progress.progress)
        return cache["weights"]

    def temperature_rows(self, batch: int) -> tuple[bool, ...]:
        """Per attention row: whether the temperature applies (active samples; both halves or the conditional)."""
        rows = self.condition_rows(batch)
        flags = [False] * batch
        for offset, is_active in enumerate(self.plan.active_flags):
            if is_active:
                flags[rows.start + offset] = True
                if self.config.temperature.halves == "both" and rows.start > 0:
                    flags[offset] = True
        return tuple(flags)

    def row_scales(self, flags: tuple[bool, ...], factor: float, device, dtype) -> torch.Tensor:
        """``[batch, 1, 1, 1]`` query factors (``factor`` on tempered rows, 1 elsewhere), cached per layout."""
        key = (flags, factor, str(device), dtype)
        if key not in self._row_scales:
            values = torch.tensor([factor if flag else 1.0 for flag in flags], dtype=dtype)
            self._row_scales[key] = values.view(-1, 1, 1, 1).to(device)
        return self._row_scales[key]


def attention_modules(unet) -> dict[str, torch.nn.Module]:
    """Module name -> module for every attention module of ``unet`` (those ``unet.attn_processors`` lists, in its
    order), found in one walk of the module tree (``attn_processors`` and ``set_attn_processor`` walk it again on
    every access)."""
    return {name: module for name, module in unet.named_modules() if name and hasattr(module, "get_processor")}


def attention_levels(unet, modules: dict | None = None) -> dict[str, int]:
    """Module name -> resolution level (0 = the latent size, each level halves it) for every attention module
    (``modules``: :func:`attention_modules` of ``unet``, when the caller has it)."""
    downs = len(getattr(unet, "down_blocks", ()))
    ups = len(getattr(unet, "up_blocks", ()))
    levels = {}
    for name in attention_modules(unet) if modules is None else modules:
        parts = name.split(".")
        if parts[0] == "down_blocks":
            level = int(parts[1])
        elif parts[0] == "mid_block":
            level = max(downs - 1, 0)
        elif parts[0] == "up_blocks":
            level = ups - 1 - int(parts[1])
        else:
            level = 0
        levels[name] = level
    return levels


# ---- the processors ----


@dataclasses.dataclass
class _Projected:
    query: torch.Tensor  # [B, heads, N, d]
    key: torch.Tensor  # [B, heads, L, d]
    value: torch.Tensor
    attention_mask: torch.Tensor | None
    residual: torch.Tensor
    input_ndim: int
    shape: tuple  # (batch_size, channel, height, width); channel, height, width are None for 3-D input
    head_dim: int


class _AttnProcessorBase:
    """Input and output projections exactly as diffusers' ``AttnProcessor2_0``, around a replaceable attention call."""

    kind = ""

    def __init_subclass__(cls, **kwargs):
        # Diffusers' Attention.forward reads inspect.signature(processor.__call__) on every attention call, to sort
        # the keyword arguments it passes on; parsing a function's signature costs about 20 us each time. The
        # signature is stored on the function once, where inspect looks first (the stock processors pay it per call).
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("__call__")
        if call is not None:
            call.__signature__ = inspect.signature(call)

    def __init__(self, module: str, level: int, context: ModulationContext, observers: Sequence = ()):
        self.module = module
        self.level = level
        self.context = context
        self.observers = list(observers)

    @staticmethod
    def _project(attn, hidden_states, encoder_hidden_states, attention_mask, temb) -> _Projected:
        channel = height = width = None
        # Copied from diffusers.models.attention_processor.AttnProcessor2_0.__call__ (every statement before the
        # scaled_dot_product_attention call, after the deprecation check); tests/test_processors_image_path.py
        # compares these statements with the installed diffusers source.
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)

        input_ndim = hidden_states.ndim

        if input_ndim == 4:
            batch_size, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch_size, channel, height * width).transpose(1, 2)

        batch_size, sequence_length, _ = (
            hidden_states.shape if encoder_hidden_states is None else encoder_hidden_states.shape
        )

        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch_size)
            attention_mask = attention_mask.view(batch_size, attn.heads, -1, attention_mask.shape[-1])

        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)

        query = attn.to_q(hidden_states)

        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        elif attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)

        key = attn.to_k(encoder_hidden_states)
        value = attn.to_v(encoder_hidden_states)

        inner_dim = key.shape[-1]
        head_dim = inner_dim // attn.heads

        query = query.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)

        key = key.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        value = value.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)

        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        # end of the copy
        return _Projected(
            query, key, value, attention_mask, residual, input_ndim, (batch_size, channel, height, width), head_dim
        )

    @staticmethod
    def _finish(attn, hidden_states: torch.Tensor, projected: _Projected) -> torch.Tensor:
        batch_size, channel, height, width = projected.shape
        input_ndim, residual, query = projected.input_ndim, projected.residual, projected.query
        head_dim = projected.head_dim
        # Copied from diffusers.models.attention_processor.AttnProcessor2_0.__call__ (every statement after the
        # scaled_dot_product_attention call, before the return); checked like _project.
        hidden_states = hidden_states.transpose(1, 2).reshape(batch_size, -1, attn.heads * head_dim)
        hidden_states = hidden_states.to(query.dtype)

        hidden_states = attn.to_out[0](hidden_states)
        hidden_states = attn.to_out[1](hidden_states)

        if input_ndim == 4:
            hidden_states = hidden_states.transpose(-1, -2).reshape(batch_size, channel, height, width)

        if attn.residual_connection:
            hidden_states = hidden_states + residual

        hidden_states = hidden_states / attn.rescale_output_factor
        # end of the copy
        return hidden_states

    def _resolution(self, projected: _Projected) -> tuple[int, int]:
        if projected.input_ndim == 4:
            return projected.shape[2], projected.shape[3]
        return self.context.grid(projected.query.shape[2])

    @staticmethod
    def _probabilities(query, key, scale, mask=None) -> torch.Tensor:
        """Explicit softmax(q k^T scale + mask) in float32, ``[B, heads, N, L]``; ``scale`` a number or ``[B]``."""
        scores = torch.matmul(query.float(), key.float().transpose(-1, -2))
        scores = scores * (scale if not torch.is_tensor(scale) else scale.float().view(-1, 1, 1, 1))
        if mask is not None:
            scores = scores + mask.float()
        return scores.softmax(dim=-1)

    def _emit(self, projected, probabilities, reference, assignment=None, weights=None) -> None:
        progress = self.context.progress
        event = AttentionEvent(
            module=self.module,
            kind=self.kind,
            level=self.level,
            resolution=self._resolution(projected),
            step=progress.step,
            progress=progress.progress,
            probabilities=probabilities,
            reference=reference,
            assignment=assignment,
            weights=weights,
        )
        for observer in self.observers:
            observer.observe(event)


def _rows(tensor: torch.Tensor | None, rows: slice) -> torch.Tensor | None:
    return None if tensor is None else tensor[rows]


def _stock_attention(query, key, value, mask) -> torch.Tensor:
    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=0.0, is_causal=False)


class TemperedSelfAttnProcessor(_AttnProcessorBase):
    """Self-attention ``softmax(Q K^T / (tau sqrt(d))) V`` inside the temperature window, in one fused SDPA call."""

    kind = "self"

    def __init__(
        self, module: str, level: int, context: ModulationContext, temperature: bool = True, observers: Sequence = ()
    ):
        super().__init__(module, level, context, observers)
        self.temperature = temperature

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        projected = self._project(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        query, key, value, mask = projected.query, projected.key, projected.value, projected.attention_mask
        context = self.context
        batch = query.shape[0]
        base_scale = query.shape[-1] ** -0.5  # what SDPA uses by default
        flags = None
        if self.temperature and context.active("temperature"):
            flags = context.temperature_rows(batch)
        tau = context.config.temperature.tau
        if flags is None or not any(flags):
            output = _stock_attention(query, key, value, mask)
        elif all(flags):
            output = F.scaled_dot_product_attention(
                query, key, value, attn_mask=mask, dropout_p=0.0, is_causal=False, scale=base_scale / tau
            )
        else:  # some rows stock, some tempered: q / tau on the tempered rows is the same as scale / tau
            tempered_query = query * context.row_scales(flags, 1.0 / tau, query.device, query.dtype)
            output = _stock_attention(tempered_query, key, value, mask)
        if self.observers:
            rows = context.condition_rows(batch)
            q, k, m = query[rows], key[rows], _rows(mask, rows)
            if flags is None or not any(flags[rows]):
                used = self._probabilities(q, k, base_scale, m)
                self._emit(projected, used, lambda: used)
            else:
                scales = torch.tensor([base_scale / tau if flag else base_scale for flag in flags[rows]])
                used = self._probabilities(q, k, scales.to(q.device), m)
                self._emit(projected, used, lambda: self._probabilities(q, k, base_scale, m))
        return self._finish(attn, output, projected)


class MaskedReweightedCrossAttnProcessor(_AttnProcessorBase):
    """Cross-attention with object-focused masking and phase-wise reweighting of the conditional rows.

    ``used = renormalise(p * visible * factors * weights)`` (then the end-token substitution), output ``used @ v``
    for the conditional rows and stock SDPA for the unconditional ones. Without observers (and without substitution,
    per-layer assignment or a caller's mask) the same output comes from one SDPA call over the whole batch with the
    bias ``log(visible * factors * weights)`` (:meth:`_fused`). ``layout``: this module's maps feed the per-step
    assignment (:class:`LayoutMaps`).
    """

    kind = "cross"

    def __init__(
        self,
        module: str,
        level: int,
        context: ModulationContext,
        masking: bool = True,
        reweighting: bool = True,
        layout: bool = False,
        observers: Sequence = (),
    ):
        super().__init__(module, level, context, observers)
        self.masking = masking
        self.reweighting = reweighting
        self.layout = layout

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        projected = self._project(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        query, key, value, mask = projected.query, projected.key, projected.value, projected.attention_mask
        context = self.context
        masking = self.masking and context.active("masking")
        reweighting = self.reweighting and context.active("reweighting")
        collect = self.layout and context.collects_layout()
        scale = query.shape[-1] ** -0.5
        if not (masking or reweighting):
            output = _stock_attention(query, key, value, mask)
            if self.observers or collect:
                rows = context.condition_rows(query.shape[0])
                probabilities = self._probabilities(query[rows], key[rows], scale, _rows(mask, rows))
                if collect:
                    context.layout.add(probabilities.mean(dim=1), self._resolution(projected))
                if self.observers:
                    self._emit(projected, probabilities, lambda: probabilities)
            return self._finish(attn, output, projected)

        if self._fusable(masking, mask):
            return self._fused(attn, projected, masking, reweighting, collect)
        plan, section = context.plan, context.config.masking
        rows = context.condition_rows(query.shape[0])
        raw = self._probabilities(query[rows], key[rows], scale, _rows(mask, rows))
        resolution = self._resolution(projected)
        if collect:
            context.layout.add(raw.mean(dim=1), resolution)
        assignment = visible = factors = moved = weights = None
        if masking:
            if section.assignment == "per_step":
                layout = context.layout
                assignment = None if layout is None else layout.assignment(resolution, plan, context.config)
            else:
                selection = plan.nouns if section.assign_by == "nouns" and plan.nouns is not None else plan.membership
                scores = group_scores(raw.mean(dim=1), selection, plan.valid, section.score)
                if section.smoothing > 0:
                    batch, patches, groups = scores.shape
                    grid = scores.transpose(1, 2).reshape(batch, groups, *resolution)
                    scores = smooth_scores(grid, section.smoothing).reshape(batch, groups, patches).transpose(1, 2)
                assignment = assign_from_scores(scores, plan.valid, section.margin)
        if assignment is not None:
            assignment = torch.where(plan.active[:, None], assignment, torch.full_like(assignment, -1))
            visible = visible_tokens(assignment, plan.hidden)
            if section.special != "keep" and plan.tail is not None:
                edited = (assignment >= 0)[..., None] & plan.tail[:, None, :]  # [B, N, T]
                if section.special == "downweight":
                    factors = torch.where(edited, section.special_weight, 1.0)
                else:
                    moved = edited
        if reweighting:
            weights = context.token_weights()
        used = modulate_probabilities(raw, visible, weights, factors)
        if moved is not None:
            used = substitute_tail(used, moved)
        conditional = torch.matmul(used.to(value.dtype), value[rows])
        if rows.start > 0:
            unconditional = slice(0, rows.start)
            stock = _stock_attention(
                query[unconditional], key[unconditional], value[unconditional], _rows(mask, unconditional)
            )
            output = torch.cat([stock, conditional], dim=0)
        else:
            output = conditional
        if self.observers:
            self._emit(projected, used, lambda: raw, assignment, weights)
        return self._finish(attn, output, projected)

    def _fusable(self, masking: bool, mask: torch.Tensor | None) -> bool:
        """Whether the modulation fits in one SDPA call with an additive bias (:meth:`ModulationContext.modulation_bias`).

        Not when an observer reads the probabilities, when the caller passed an attention mask, when masking assigns
        from this layer's own maps (``per_layer``: they are computed explicitly anyway), or when the end tokens are
        substituted (that moves mass onto column 0 per patch, which no bias expresses).
        """
        if self.observers or mask is not None:
            return False
        section = self.context.config.masking
        return not masking or (section.assignment == "per_step" and section.special != "substitute")

    def _fused(self, attn, projected: _Projected, masking: bool, reweighting: bool, collect: bool) -> torch.Tensor:
        """``softmax(q k^T / sqrt(d) + log m) v`` over the whole batch in one SDPA call (m = 1 off the modulated rows).

        Equal to the explicit ``renormalise(p * m) @ v`` up to float rounding. At the layout layers the conditional
        rows' unmodified probabilities are still computed, head-averaged, for the next call's assignment.
        """
        query, key, value = projected.query, projected.key, projected.value
        context = self.context
        batch = query.shape[0]
        resolution = self._resolution(projected) if (masking or collect) else None
        if collect and query.device.type == "cpu":
            # On the CPU the scores the layout maps need are computed anyway: one float32 matmul serves both the
            # maps and the output (cheaper there than the maps' own matmul plus a masked SDPA call).
            rows = context.condition_rows(batch)
            scores = torch.matmul(query.float(), key.float().transpose(-1, -2)) * query.shape[-1] ** -0.5
            context.layout.add(scores[rows].softmax(dim=-1).mean(dim=1), resolution)
            bias = context.modulation_bias(resolution, batch, masking, reweighting, torch.float32, query.device)
            if bias is not None:
                scores = scores + bias
            output = torch.matmul(scores.softmax(dim=-1), value.float()).to(value.dtype)
            return self._finish(attn, output, projected)
        if collect:
            rows = context.condition_rows(batch)
            raw = self._probabilities(query[rows], key[rows], query.shape[-1] ** -0.5)
            context.layout.add(raw.mean(dim=1), resolution)
        bias = context.modulation_bias(resolution, batch, masking, reweighting, query.dtype, query.device)
        return self._finish(attn, _stock_attention(query, key, value, bias), projected)


# ---- installing them ----


def _module_overview(names: Sequence[str]) -> str:
    """Attention module names shortened to their ``...attentions.N`` blocks, for error messages."""
    blocks: dict[str, None] = {}
    for name in names:
        parts = name.split(".")
        cut = parts.index("attentions") + 2 if "attentions" in parts else len(parts)
        blocks[".".join(parts[:cut])] = None
    return ", ".join(blocks)


def check_layer_selectors(config: ModulationConfig, levels: dict[str, int], cross: dict[str, bool]) -> None:
    """Raise AttnmodError when a selector of an enabled part matches no attention module of the part's kind."""
    bounds = (min(levels.values(), default=0), max(levels.values(), default=0))
    for part, wants_cross in (("temperature", False), ("masking", True), ("reweighting", True)):
        section = getattr(config, part)
        if not section.enabled:
            continue
        names = [name for name in levels if cross[name] == wants_cross]
        for selector in section.layers:
            if not any(layer_selected((selector,), name, levels[name], bounds) for name in names):
                kind = "cross" if wants_cross else "self"
                raise AttnmodError(
                    f"{part}.layers: {selector!r} matches no {kind}-attention module of this UNet; use all, down, "
                    f"mid, up, coarsest, finest, level:N (levels {bounds[0]}-{bounds[1]}) or a prefix of "
                    f"{_module_overview(names)} (each holds transformer_blocks.K.attn1/attn2)"
                )


def build_processors(unet, context: ModulationContext, modules: dict | None = None) -> dict[str, _AttnProcessorBase]:
    """The processors to install, by attention module name: only where a part or an observer needs one.

    Resolves, once, which parts each module runs, which observers want it, and which modules feed the layout maps;
    sets ``context.layout`` when masking assigns per step. ``modules``: :func:`attention_modules` of ``unet``.
    """
    config = context.config
    modules = attention_modules(unet) if modules is None else modules
    levels = attention_levels(unet, modules)
    bounds = (min(levels.values(), default=0), max(levels.values(), default=0))
    cross = {name: bool(getattr(modules[name], "is_cross_attention", name.endswith("attn2"))) for name in levels}
    check_layer_selectors(config, levels, cross)
    modulating = config.modulates and context.plan.any_active
    per_step = modulating and config.masking.enabled and config.masking.assignment == "per_step"
    context.layout = LayoutMaps(bounds[1]) if per_step else None

    def chosen(part: str, name: str) -> bool:
        section = getattr(config, part)
        return modulating and section.enabled and layer_selected(section.layers, name, levels[name], bounds)

    processors: dict[str, _AttnProcessorBase] = {}
    for name in modules:
        level = levels[name]
        kind = "cross" if cross[name] else "self"
        observers = [o for o in context.observers if o.wants(kind, name, level)]
        if cross[name]:
            masking, reweighting = chosen("masking", name), chosen("reweighting", name)
            layout = per_step and level == bounds[1]
            if masking or reweighting or layout or observers:
                processors[name] = MaskedReweightedCrossAttnProcessor(
                    name, level, context, masking, reweighting, layout, observers
                )
        else:
            temperature = chosen("temperature", name)
            if temperature or observers:
                processors[name] = TemperedSelfAttnProcessor(name, level, context, temperature, observers)
    return processors


@contextlib.contextmanager
def modulated_attention(unet, context: ModulationContext) -> Iterator[ModulationContext]:
    """Install the modulation's processors on ``unet`` (where needed) for the duration of the block.

    The original processors are saved by module name and put back on exit, whether the block returns or raises.
    A forward pre-hook on the UNet hands it the timestep of every UNet call (advancing ``context.progress``); it is
    removed on exit too. A layer selector that matches no module raises AttnmodError before anything is installed.
    The module tree is walked once (installing through ``unet.set_attn_processor`` would walk it twice more per
    install, a fixed cost of each ``generate`` call that a single image per call feels).
    """
    modules = attention_modules(unet)
    processors = build_processors(unet, context, modules)
    originals = {name: modules[name].get_processor() for name in processors}
    context.progress.calls = 0
    context.progress.step = 0

    def before_unet_call(module, args, kwargs):
        timestep = args[1] if len(args) > 1 else kwargs.get("timestep")
        context.begin_call(module, (args[0] if args else kwargs.get("sample"), timestep))

    handle = unet.register_forward_pre_hook(before_unet_call, with_kwargs=True)
    try:
        for name, processor in processors.items():
            modules[name].set_processor(processor)
        yield context
    finally:
        handle.remove()
        for name, original in originals.items():
            modules[name].set_processor(original)
