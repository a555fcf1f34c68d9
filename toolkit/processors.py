"""Attention processors that run the modulation inside a diffusers UNet, and the context manager that installs them.

Nothing here patches diffusers classes: :func:`modulated_attention` swaps the processors of one UNet by module name
with ``unet.set_attn_processor`` and always puts the saved originals back, also when the run raises.

Batch layout: diffusers' SD and SDXL pipelines run classifier-free guidance as one UNet batch
``[uncond x B, cond x B]``; with ``guidance <= 1`` there is no unconditional half and the batch is ``[cond x B]``.
Only the conditional rows are modulated or observed; the unconditional rows go through the same fused
``scaled_dot_product_attention`` call as the stock ``AttnProcessor2_0``. Each of the B samples has its own token
groups and weights (a :class:`ModulationPlan`), so a batch of different prompts runs in one call.

Where nothing is active at a layer and step, both processors compute exactly what ``AttnProcessor2_0`` computes, with
the same operations in the same order (so the ``none`` variant, with or without capture, reproduces the stock
images). Self-attention always stays on the fused kernel; inside the temperature window the conditional rows get
``scale = 1 / (tau sqrt(d))``. Cross-attention probabilities (77 keys: small) are computed explicitly only where
masking, reweighting or an observer (the capture, a test probe) needs them.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import torch
import torch.nn.functional as F

from .errors import AttnmodError
from .modulation_config import ModulationConfig, layer_selected
from .prompt_tree import PromptTree

SEQUENCE_LENGTH = 77
SPECIAL, ENTITY, ATTRIBUTE, OTHER = 0, 1, 2, 3  # token classes for reweighting


# ---- denoising progress ----


@dataclasses.dataclass
class DenoisingProgress:
    """Which denoising step the UNet is on: ``progress = step / steps`` in [0, 1).

    Inside :func:`modulated_attention` a forward pre-hook on the UNet advances it: the pipelines call the UNet once
    per step (both guidance halves in one batch), so the n-th call is step n. Tests may set ``step`` directly.
    """

    steps: int = 1
    step: int = 0
    calls: int = 0

    @property
    def progress(self) -> float:
        return self.step / max(self.steps, 1)

    def on_unet_call(self, module, args) -> None:
        self.step = min(self.calls, max(self.steps - 1, 0))
        self.calls += 1


# ---- per-sample plan: which tokens form which group, and their classes ----


@dataclasses.dataclass(frozen=True)
class SamplePlan:
    """One prompt's token groups (positions < 77) resolved for the modulation.

    ``groups[g]`` are the token positions of entity ``entities[g]`` (noun + attributes); ``hidden[g]`` the positions
    masked for a patch assigned to group g (every other group's tokens, minus those the nested rule keeps visible).
    ``token_class[t]`` is SPECIAL (start, end, padding), ENTITY, ATTRIBUTE or OTHER (remaining prompt words).
    """

    groups: tuple[tuple[int, ...], ...]
    entities: tuple[int, ...]
    hidden: tuple[tuple[int, ...], ...]
    token_class: tuple[int, ...]

    @property
    def active(self) -> bool:
        return bool(self.groups)


def plan_sample(tree: PromptTree | None, token_count: int, nested: str = "ancestors") -> SamplePlan:
    """Resolve a prompt tree against its tokenisation.

    ``token_count``: real positions including start and end token (the first padding position). Entities whose tokens
    were all truncated away are left out. With ``nested="ancestors"`` a group's ancestors stay visible to its patches.
    """
    classes = [SPECIAL] * SEQUENCE_LENGTH
    for position in range(1, max(min(token_count, SEQUENCE_LENGTH) - 1, 1)):
        classes[position] = OTHER
    if tree is None:
        return SamplePlan((), (), (), tuple(classes))
    groups, entities = [], []
    for index, entity in enumerate(tree.entities):
        tokens = tuple(t for t in entity.group_tokens if 0 <= t < SEQUENCE_LENGTH)
        if tokens:
            groups.append(tokens)
            entities.append(index)
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
        visible = set(groups[g])
        if nested == "ancestors":
            for ancestor in tree.ancestors(entity_index):
                if ancestor in entities:
                    visible.update(groups[entities.index(ancestor)])
        hidden.append(tuple(sorted(all_group_tokens - visible)))
    return SamplePlan(tuple(groups), tuple(entities), tuple(hidden), tuple(classes))


@dataclasses.dataclass
class ModulationPlan:
    """The per-sample plans of a batch as padded tensors (G = the largest group count, at least 1).

    membership ``[B, G, T]`` float (1 where token t is in group g), valid ``[B, G]`` bool, hidden ``[B, G, T]`` bool,
    token_class ``[B, T]`` long, active ``[B]`` bool.
    """

    samples: tuple[SamplePlan, ...]
    membership: torch.Tensor
    valid: torch.Tensor
    hidden: torch.Tensor
    token_class: torch.Tensor
    active: torch.Tensor

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
        valid = torch.zeros(count, groups, dtype=torch.bool)
        hidden = torch.zeros(count, groups, SEQUENCE_LENGTH, dtype=torch.bool)
        for b, sample in enumerate(samples):
            for g, tokens in enumerate(sample.groups):
                membership[b, g, list(tokens)] = 1.0
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
        )


# ---- the pure math of masking and reweighting ----


def assign_patches(
    mean_probabilities: torch.Tensor, membership: torch.Tensor, valid: torch.Tensor, margin: float
) -> torch.Tensor:
    """Assign each patch to the entity group with the largest attention mass.

    ``mean_probabilities [B, N, T]`` (head-averaged), ``membership [B, G, T]``, ``valid [B, G]``. Group mass
    ``m_g = sum_{t in g} p_t``; share ``s_g = m_g / sum_g m_g``. A patch is assigned to ``argmax_g s_g`` when
    ``s_best - s_second > margin`` (so exact ties stay unassigned); otherwise, or when no group has mass, it gets -1.
    Returns ``[B, N]`` long.
    """
    mass = torch.matmul(mean_probabilities.float(), membership.float().transpose(1, 2))  # [B, N, G]
    mass = mass.masked_fill(~valid[:, None, :], 0.0)
    total = mass.sum(-1)
    shares = (mass / total.clamp_min(torch.finfo(mass.dtype).tiny)[..., None]).masked_fill(~valid[:, None, :], -1.0)
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


def visible_tokens(assignment: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """``[B, N, T]`` bool: False where token t is hidden from patch n by its assigned group (-1: all visible)."""
    tokens = hidden.shape[-1]
    gathered = torch.gather(hidden, 1, assignment.clamp_min(0)[..., None].expand(-1, -1, tokens))
    return ~(gathered & (assignment >= 0)[..., None])


def modulate_probabilities(
    probabilities: torch.Tensor, visible: torch.Tensor | None = None, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Mask and reweight post-softmax cross-attention, then renormalise each row.

    ``probabilities [B, heads, N, T]``, ``visible [B, N, T]`` bool, ``weights [B, T]`` positive.
    ``p'_t = p_t v_t w_t / sum_s p_s v_s w_s``. A row whose kept mass is 0 (every visible token at probability 0)
    is returned unchanged instead of dividing by zero, so the result never holds NaN or inf.
    """
    modified = probabilities
    if visible is not None:
        modified = modified * visible[:, None].to(modified.dtype)
    if weights is not None:
        modified = modified * weights[:, None, None, :].to(modified.dtype)
    total = modified.sum(-1, keepdim=True)
    usable = total > 0
    return torch.where(usable, modified / torch.where(usable, total, torch.ones_like(total)), probabilities)


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

    ``probabilities [B, heads, N, T]``: the probabilities actually used (after modulation), float32. ``reference()``
    returns the unmodulated probabilities for the same queries and keys (computed on demand). ``assignment [B, N]``
    (masking; -1 = unmasked) and ``weights [B, T]`` (reweighting) are None when the part was not active.
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


@dataclasses.dataclass
class ModulationContext:
    """Everything the processors of one run share: config, plan, progress, observers and the latent size."""

    config: ModulationConfig
    plan: ModulationPlan
    progress: DenoisingProgress = dataclasses.field(default_factory=DenoisingProgress)
    observers: list = dataclasses.field(default_factory=list)
    latent_size: tuple[int, int] | None = None  # latent (height, width), to name resolutions of flattened maps

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


def attention_levels(unet) -> dict[str, int]:
    """Module name -> resolution level (0 = the latent size, each level halves it) for every attention module."""
    downs = len(getattr(unet, "down_blocks", ()))
    ups = len(getattr(unet, "up_blocks", ()))
    levels = {}
    for key in unet.attn_processors:
        name = key.removesuffix(".processor")
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
    mask: torch.Tensor | None
    residual: torch.Tensor
    input_shape: tuple | None  # (B, C, H, W) for 4-D input
    batch: int


class _ModulatedAttnProcessor:
    """Shared input and output projections, written as in diffusers' ``AttnProcessor2_0`` so results match it."""

    kind = ""

    def __init__(self, module: str, level: int, context: ModulationContext, levels: tuple[int, int]):
        self.module = module
        self.level = level
        self.context = context
        config = context.config
        self.selected = {
            part: layer_selected(getattr(config, part).layers, module, level, levels)
            for part in ("temperature", "masking", "reweighting")
        }

    def _project(self, attn, hidden_states, encoder_hidden_states, attention_mask, temb) -> _Projected:
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_shape = None
        if hidden_states.ndim == 4:
            input_shape = tuple(hidden_states.shape)
            batch, channel, height, width = input_shape
            hidden_states = hidden_states.view(batch, channel, height * width).transpose(1, 2)
        batch, sequence_length, _ = (
            hidden_states.shape if encoder_hidden_states is None else encoder_hidden_states.shape
        )
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch)
            attention_mask = attention_mask.view(batch, attn.heads, -1, attention_mask.shape[-1])
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        query = attn.to_q(hidden_states)
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        elif attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
        key = attn.to_k(encoder_hidden_states)
        value = attn.to_v(encoder_hidden_states)
        head_dim = key.shape[-1] // attn.heads
        query = query.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
        key = key.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
        value = value.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        return _Projected(query, key, value, attention_mask, residual, input_shape, batch)

    @staticmethod
    def _finish(attn, hidden_states: torch.Tensor, projected: _Projected) -> torch.Tensor:
        batch, heads, _, head_dim = hidden_states.shape
        hidden_states = hidden_states.transpose(1, 2).reshape(batch, -1, heads * head_dim)
        hidden_states = hidden_states.to(projected.query.dtype)
        hidden_states = attn.to_out[0](hidden_states)
        hidden_states = attn.to_out[1](hidden_states)
        if projected.input_shape is not None:
            hidden_states = hidden_states.transpose(-1, -2).reshape(*projected.input_shape)
        if attn.residual_connection:
            hidden_states = hidden_states + projected.residual
        return hidden_states / attn.rescale_output_factor

    def _active(self, part: str, progress: float) -> bool:
        section = getattr(self.context.config, part)
        return (
            section.enabled
            and self.selected[part]
            and section.window.contains(progress)
            and self.context.plan.any_active
        )

    def _observers(self) -> list:
        return [o for o in self.context.observers if o.wants(self.kind, self.module, self.level)]

    def _resolution(self, projected: _Projected) -> tuple[int, int]:
        if projected.input_shape is not None:
            return projected.input_shape[2], projected.input_shape[3]
        return self.context.grid(projected.query.shape[2])

    @staticmethod
    def _probabilities(query, key, scale, mask=None) -> torch.Tensor:
        """Explicit softmax(q k^T scale + mask) in float32, ``[B, heads, N, L]``."""
        scores = torch.matmul(query.float(), key.float().transpose(-1, -2))
        scores = scores * (scale if not torch.is_tensor(scale) else scale.float().view(-1, 1, 1, 1))
        if mask is not None:
            scores = scores + mask.float()
        return scores.softmax(dim=-1)

    def _emit(self, observers, projected, probabilities, reference, assignment=None, weights=None) -> None:
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
        for observer in observers:
            observer.observe(event)


def _rows(tensor: torch.Tensor | None, rows: slice) -> torch.Tensor | None:
    return None if tensor is None else tensor[rows]


class ModulatedSelfAttnProcessor(_ModulatedAttnProcessor):
    """Self-attention with a temperature on the conditional rows inside its window; fused SDPA throughout."""

    kind = "self"

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        projected = self._project(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        query, key, value, mask = projected.query, projected.key, projected.value, projected.mask
        context = self.context
        rows = context.condition_rows(projected.batch)
        base_scale = query.shape[-1] ** -0.5  # what SDPA uses by default
        tau = context.config.temperature.tau
        sample_scales = None
        if self._active("temperature", context.progress.progress):
            sample_scales = base_scale + context.plan.active.float() * (base_scale / tau - base_scale)
            output = self._tempered(query, key, value, mask, rows, context.plan.active_flags, base_scale / tau)
        else:
            output = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=0.0, is_causal=False)
        observers = self._observers()
        if observers:
            q, k, m = query[rows], key[rows], _rows(mask, rows)
            scale = base_scale if sample_scales is None else sample_scales
            used = self._probabilities(q, k, scale, m)
            reference = (lambda: used) if sample_scales is None else (lambda: self._probabilities(q, k, base_scale, m))
            self._emit(observers, projected, used, reference)
        return self._finish(attn, output, projected)

    @staticmethod
    def _tempered(query, key, value, mask, rows: slice, active: Sequence[bool], scale: float) -> torch.Tensor:
        """SDPA per run of rows sharing one scale: stock rows (uncond, inactive samples) and tempered cond rows."""
        batch = query.shape[0]
        row_scales: list[float | None] = [None] * batch
        for offset, is_active in enumerate(active):
            if is_active:
                row_scales[rows.start + offset] = scale
        outputs, start = [], 0
        while start < batch:
            end = start
            while end < batch and row_scales[end] == row_scales[start]:
                end += 1
            part = slice(start, end)
            outputs.append(
                F.scaled_dot_product_attention(
                    query[part],
                    key[part],
                    value[part],
                    attn_mask=_rows(mask, part),
                    dropout_p=0.0,
                    is_causal=False,
                    scale=row_scales[start],
                )
            )
            start = end
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=0)


class ModulatedCrossAttnProcessor(_ModulatedAttnProcessor):
    """Cross-attention with object-focused masking and phase-wise reweighting on the conditional rows."""

    kind = "cross"

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        projected = self._project(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        query, key, value, mask = projected.query, projected.key, projected.value, projected.mask
        context = self.context
        progress = context.progress.progress
        masking = self._active("masking", progress)
        reweighting = self._active("reweighting", progress)
        observers = self._observers()
        rows = context.condition_rows(projected.batch)
        scale = query.shape[-1] ** -0.5
        if not (masking or reweighting):
            output = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=0.0, is_causal=False)
            if observers:
                probabilities = self._probabilities(query[rows], key[rows], scale, _rows(mask, rows))
                self._emit(observers, projected, probabilities, lambda: probabilities)
            return self._finish(attn, output, projected)

        plan, config = context.plan, context.config
        raw = self._probabilities(query[rows], key[rows], scale, _rows(mask, rows))
        assignment = visible = weights = None
        if masking:
            assignment = assign_patches(raw.mean(dim=1), plan.membership, plan.valid, config.masking.margin)
            assignment = torch.where(plan.active[:, None], assignment, torch.full_like(assignment, -1))
            visible = visible_tokens(assignment, plan.hidden)
        if reweighting:
            weights = token_weights(plan, config, progress)
        used = modulate_probabilities(raw, visible, weights)
        conditional = torch.matmul(used.to(value.dtype), value[rows])
        if rows.start > 0:
            unconditional = slice(0, rows.start)
            stock = F.scaled_dot_product_attention(
                query[unconditional],
                key[unconditional],
                value[unconditional],
                attn_mask=_rows(mask, unconditional),
                dropout_p=0.0,
                is_causal=False,
            )
            output = torch.cat([stock, conditional], dim=0)
        else:
            output = conditional
        if observers:
            self._emit(observers, projected, used, lambda: raw, assignment, weights)
        return self._finish(attn, output, projected)


@contextlib.contextmanager
def modulated_attention(unet, context: ModulationContext) -> Iterator[ModulationContext]:
    """Install the modulated processors on every attention module of ``unet`` for the duration of the block.

    The original processors are saved by module name and put back on exit, whether the block returns or raises.
    A forward pre-hook on the UNet advances ``context.progress`` once per UNet call; it is removed on exit too.
    """
    originals = dict(unet.attn_processors)
    levels = attention_levels(unet)
    bounds = (min(levels.values(), default=0), max(levels.values(), default=0))
    modules = dict(unet.named_modules())
    processors = {}
    for key in originals:
        name = key.removesuffix(".processor")
        is_cross = bool(getattr(modules[name], "is_cross_attention", name.endswith("attn2")))
        processor_class = ModulatedCrossAttnProcessor if is_cross else ModulatedSelfAttnProcessor
        processors[key] = processor_class(name, levels[name], context, bounds)
    context.progress.calls = 0
    context.progress.step = 0
    handle = unet.register_forward_pre_hook(context.progress.on_unet_call)
    try:
        unet.set_attn_processor(dict(processors))
        yield context
    finally:
        handle.remove()
        unet.set_attn_processor(dict(originals))
