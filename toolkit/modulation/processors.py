"""Attention processors that run the modulation inside a diffusers UNet.

Processors are named by what they compute (as diffusers names its own): :class:`TemperedSelfAttnProcessor` and
:class:`MaskedReweightedCrossAttnProcessor`. :func:`~attnmod.toolkit.modulation.install.modulated_attention` installs
them by module name, only on the modules where a part of the modulation or an observer needs them, and always puts
the originals back; which parts a module runs and which observers it feeds are resolved once, at install. The
per-sample plan lives in :mod:`~attnmod.toolkit.modulation.plan`, the masking math in
:mod:`~attnmod.toolkit.modulation.masking`, the shared state in :mod:`~attnmod.toolkit.modulation.context`.

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

import dataclasses
import inspect
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .context import AttentionEvent, ModulationContext
from .masking import (
    assign_from_scores,
    group_scores,
    modulate_probabilities,
    smooth_scores,
    substitute_tail,
    visible_tokens,
)


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
        # scaled_dot_product_attention call, after the deprecation check); tests/toolkit/modulation/test_processors_image_path.py
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
