"""What the processors of one run share: the modulation context, the denoising progress and the observer events.

:class:`ModulationContext` holds the config, the plan, the :class:`DenoisingProgress` and the observers, and caches
per UNet call what every layer of that call shares (which parts are active, the attention bias). Observers (the
capture, test probes) receive an :class:`AttentionEvent` for every attention call they asked for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

import torch

from ..errors import AttnmodError
from .config import ModulationConfig
from .masking import LayoutMaps, token_weights
from .plan import ModulationPlan


@dataclasses.dataclass
class DenoisingProgress:
    """Which denoising step the UNet is on: ``progress = step / steps`` in [0, 1), over the call's own schedule.

    Inside :func:`modulated_attention` a forward pre-hook on the UNet calls :meth:`on_unet_call` with the UNet's
    ``(sample, timestep)``. With a ``scheduler`` whose ``timesteps`` hold that timestep, ``step`` is its position
    among the schedule's distinct timesteps (in order) and ``steps`` their number, so a second-order scheduler (Heun
    calls the UNet twice per step) gets the progress of the noise level each call evaluates. Both count from the
    position of the first timestep the call evaluates (``start``): img2img and inpainting at ``strength`` s run only
    the last ``s`` of the scheduler's timesteps, and their windows are read against those (progress 0 at the
    call's first step), so that ``temperature.window=[0, 0.3]`` covers the first 30% of what the call denoises
    rather than a part of the schedule the call skips. Without a scheduler, or for a timestep not in the schedule,
    the n-th UNet call counts as step n (clamped to the last). Tests may set ``step`` directly.
    """

    steps: int = 1
    step: int = 0
    calls: int = 0
    start: int | None = None  # position of the call's first timestep in the scheduler's schedule
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
            index, count = position
            if self.start is None:
                self.start = index
            self.step, self.steps = max(index - self.start, 0), max(count - self.start, 1)
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
