"""The latent optimisation of the excite and syngen parts inside a diffusers denoising loop.

:class:`LatentGuidance` runs, at the steps a part's schedule names, the UNet on the conditional latent with gradients,
reads the part's loss (:mod:`~attnmod.toolkit.modulation.guidance`: the losses, their formulas and the papers'
constants) from the cross-attention maps that :class:`AttentionMapsProcessor` hands to a :class:`MapsSink`, and
steps the latent. :func:`~attnmod.toolkit.modulation.install.modulated_attention` installs it next to the paper's
processors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterator, Sequence

import torch

from ..errors import AttnmodError
from .config import map_sides, select_map_level
from .guidance import GuidancePart, GuidanceTargets
from .processors import _AttnProcessorBase

# ---- reading the maps inside the UNet ----


class MapsSink:
    """Head-averaged cross-attention probabilities of the selected layers of one UNet call, summed (with their
    gradients): :meth:`maps` gives their mean over layers as ``[B, H, W, T]``."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.total: torch.Tensor | None = None
        self.count = 0
        self.grid: tuple[int, int] | None = None

    def add(self, mean_probabilities: torch.Tensor, grid: tuple[int, int]) -> None:
        self.total = mean_probabilities if self.total is None else self.total + mean_probabilities
        self.count += 1
        self.grid = grid

    def maps(self) -> torch.Tensor:
        if self.total is None or self.grid is None:
            raise AttnmodError("the guidance pass saw no cross-attention at the chosen resolution")
        mean = self.total / self.count
        return mean.reshape(mean.shape[0], *self.grid, mean.shape[-1])


# ---- the optimisation inside the denoising loop ----


def _batch_rows(value, rows: slice, batch: int):
    """``value`` with every tensor whose first axis is the UNet batch cut to ``rows`` (dicts, lists and tuples
    walked); everything else as it is."""
    if torch.is_tensor(value):
        return value[rows] if value.ndim > 0 and value.shape[0] == batch else value
    if isinstance(value, dict):
        return {key: _batch_rows(item, rows, batch) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_batch_rows(item, rows, batch) for item in value)
    return value


@contextlib.contextmanager
def frozen_parameters(*modules) -> Iterator[None]:
    """Every parameter of ``modules`` with ``requires_grad=False`` for the block; the flags are put back on exit."""
    saved = [(parameter, parameter.requires_grad) for module in modules for parameter in module.parameters()]
    try:
        for parameter, _ in saved:
            parameter.requires_grad_(False)
        yield
    finally:
        for parameter, flag in saved:
            parameter.requires_grad_(flag)


@dataclasses.dataclass
class GuidanceStep:
    """What one guided denoising step did for one sample and part (kept in :attr:`LatentGuidance.log`)."""

    part: str
    sample: int
    step: int
    losses: list[
        float
    ]  # the loss of every latent evaluated, in order (the last is the one the final step started from)
    step_size: float
    refined: bool


class LatentGuidance:
    """Attend-and-Excite and SynGen inside a diffusers denoising loop, through two extension points:

    * a UNet forward pre-hook (:meth:`before_unet_call`, installed by :meth:`installed`): at the first UNet call of a
      guided step it takes the conditional rows of the UNet input, optimises the samples' latents with UNet calls
      of its own (``unet.forward``, bypassing the hooks: one call at a time for the guided samples together, their
      losses summed, each sample's gradient its own; gradients on the latent only, every parameter frozen), and
      returns the input with the changed latent (in both halves of classifier-free guidance);
    * a wrapper of the scheduler instance's ``step`` (the same signature, so pipelines inspect it as before): the
      step that follows adds the same change, divided by the scheduler's input scale, to the latent it is given, so
      the pipeline carries the optimised latent on.

    ``callback_on_step_end`` would not do: it sees the latent only after the step, and the first step's latent never.
    A second-order scheduler (Heun, KDPM2) is guided on its first-order calls only (``state_in_first_order``).
    ``progress``: an object with ``step`` and ``steps`` (the denoising step of the current UNet call), advanced by a
    hook that runs before this one. ``condition_rows(batch)``: the slice of conditional rows in a UNet batch.
    ``processors_for(maps_level)``: the attention processors to hold during the guidance's own UNet calls, by module
    name (see :meth:`default_processors`); every module's processor is put back afterwards, also on an exception.
    """

    def __init__(
        self,
        unet,
        scheduler,
        parts: Sequence[GuidancePart],
        targets: Sequence[GuidanceTargets],
        progress,
        condition_rows: Callable[[int], slice],
        modules: dict,
        levels: dict,
    ):
        self.unet = unet
        self.scheduler = scheduler
        self.parts = list(parts)
        self.targets = list(targets)
        self.progress = progress
        self.condition_rows = condition_rows
        self.modules = modules
        self.levels = levels
        self.cross = {
            name: bool(getattr(m, "is_cross_attention", name.endswith("attn2"))) for name, m in self.modules.items()
        }
        self.latent_channels = int(getattr(unet.config, "out_channels", 4))
        self.log: list[GuidanceStep] = []
        self._pending: torch.Tensor | None = None
        self._guided_steps: set[int] = set()

    # -- installation --

    @contextlib.contextmanager
    def installed(self, hook: bool = True) -> Iterator[LatentGuidance]:
        """Wrap ``scheduler.step`` and (``hook``) register :meth:`before_unet_call` as a UNet forward pre-hook for the
        block; both are removed on exit. Without ``hook`` the caller's own pre-hook calls :meth:`before_unet_call`
        (after it has advanced the progress) and returns what it returns."""
        scheduler = self.scheduler
        had_own = "step" in vars(scheduler)
        previous = vars(scheduler).get("step")
        original = scheduler.step

        @functools.wraps(original)
        def step(*args, **kwargs):
            args, kwargs = self._carried(args, kwargs, original)
            return original(*args, **kwargs)

        handle = self.unet.register_forward_pre_hook(self.before_unet_call, with_kwargs=True) if hook else None
        scheduler.__dict__["step"] = step
        self._pending, self._guided_steps = None, set()
        try:
            yield self
        finally:
            if handle is not None:
                handle.remove()
            if had_own:
                scheduler.__dict__["step"] = previous
            else:
                scheduler.__dict__.pop("step", None)
            self._pending = None

    def _carried(self, args, kwargs, original) -> tuple[tuple, dict]:
        """The scheduler step's arguments with the pending latent change added to ``sample``."""
        pending, self._pending = self._pending, None
        if pending is None:
            return args, kwargs
        bound = inspect.signature(original).bind(*args, **kwargs)
        sample = bound.arguments["sample"]
        if sample.shape[0] != pending.shape[0]:
            return args, kwargs  # not the loop's latent (a pipeline stepping something else): leave it alone
        changed = sample.clone()
        changed[:, : pending.shape[1]] += pending.to(sample.dtype)
        bound.arguments["sample"] = changed
        return bound.args, bound.kwargs

    # -- the hook --

    def before_unet_call(self, module, args, kwargs):
        """Optimise the latent when this UNet call starts a guided step; returns the new ``(args, kwargs)`` or None."""
        step, steps = int(self.progress.step), int(self.progress.steps)
        if step in self._guided_steps or not getattr(self.scheduler, "state_in_first_order", True):
            return None
        parts = [part for part in self.parts if part.active(step, steps)]
        if not parts:
            return None
        bound = inspect.signature(self.unet.forward).bind(*args, **kwargs)
        sample = bound.arguments["sample"]
        timestep = bound.arguments["timestep"]
        batch = sample.shape[0]
        rows = self.condition_rows(batch)
        if not any(part.wants(targets) for part in parts for targets in self.targets):
            return None
        self._guided_steps.add(step)
        channels = self.latent_channels
        start = sample[rows, :channels].detach()
        latent = start.clone()
        with frozen_parameters(self.unet), self.guidance_processors(latent.shape[-2:]) as sink:
            for part in parts:
                members = [index for index, targets in enumerate(self.targets) if part.wants(targets)]
                if not members:
                    continue

                def call_for(chosen, part_members=members):
                    """The UNet's other arguments for the conditional rows of samples ``chosen`` (part positions)."""
                    picked = torch.tensor([rows.start + part_members[i] for i in chosen], device=sample.device)
                    return {
                        name: _batch_rows(value, picked, batch)
                        for name, value in bound.arguments.items()
                        if name not in ("self", "sample")
                    }, sample[picked, channels:]

                latent[members] = self._optimise(part, latent[members], members, call_for, sink, step, steps)
        change = latent - start
        if not bool(change.any()):
            return None
        scale = self.scheduler.scale_model_input(torch.ones(1, device=sample.device, dtype=torch.float32), timestep)
        self._pending = change.float() / scale.float()
        copies = batch // change.shape[0]
        new_sample = sample.clone()
        new_sample[:, :channels] += change.repeat(copies, 1, 1, 1).to(sample.dtype)
        bound.arguments["sample"] = new_sample
        return bound.args, bound.kwargs

    def _optimise(self, part, latent, members, call_for, sink, step, steps) -> torch.Tensor:
        """One guided step of the samples ``members`` (rows of ``latent``): ``x <- x - alpha grad_x L`` per sample,
        after refinement at a threshold step (repeat the step while that sample's loss is above the target).

        The samples share each UNet call (their losses are summed: a sample's gradient is its own loss's, since the
        UNet never mixes samples); a sample that has reached its target drops out of the refinement's calls.
        """
        alpha = part.step_size_at(step, steps)
        records = [GuidanceStep(part.name, index, step, [], alpha, False) for index in members]
        self.log.extend(records)
        losses = [0.0] * len(members)
        gradients: list[torch.Tensor | None] = [None] * len(members)

        def evaluate(chosen: list[int]) -> None:
            call, extra = call_for(chosen)
            with torch.enable_grad():
                x = latent[chosen].detach().requires_grad_(True)
                sink.reset()
                self.unet.forward(torch.cat([x, extra], dim=1) if extra.shape[1] else x, **call)
                maps = sink.maps()
                values = [part.loss(maps[j], self.targets[members[i]]) for j, i in enumerate(chosen)]
                sink.reset()
                total = torch.stack(values).sum()
                grad = torch.autograd.grad(total, [x])[0] if total.requires_grad else None
            for j, i in enumerate(chosen):
                losses[i] = float(values[j].detach())
                records[i].losses.append(losses[i])
                gradients[i] = grad[j : j + 1] if grad is not None and losses[i] != 0.0 else None

        def stepped(chosen: list[int]) -> None:
            for i in chosen:
                if gradients[i] is not None:
                    latent[i : i + 1] = (latent[i : i + 1] - alpha * gradients[i]).detach()

        evaluate(list(range(len(members))))
        target = part.refinement_target(step, steps)
        if target is not None:
            refining = [i for i in range(len(members)) if losses[i] > target and gradients[i] is not None]
            for i in refining:
                records[i].refined = True
            for _ in range(part.max_refinement):
                if not refining:
                    break
                stepped(refining)
                evaluate(refining)
                refining = [i for i in refining if losses[i] > target and gradients[i] is not None]
        stepped(list(range(len(members))))
        return latent

    @contextlib.contextmanager
    def guidance_processors(self, latent_size) -> Iterator[MapsSink]:
        """Every attention module holds a plain processor, the chosen cross-attention level :class:`AttentionMapsProcessor`,
        for the block; the processors found on entry are put back on exit."""
        from diffusers.models.attention_processor import AttnProcessor2_0

        sink = MapsSink()
        cross_levels = [self.levels[name] for name in self.modules if self.cross[name]]
        chosen = {select_map_level(part.resolution, cross_levels, tuple(latent_size), part.name) for part in self.parts}
        if len(chosen) > 1:
            raise AttnmodError("excite and syngen read maps of different resolutions: give both the same resolution")
        level = chosen.pop()
        grid = map_sides(tuple(latent_size), [level])[level]
        saved = {name: module.get_processor() for name, module in self.modules.items()}
        stock = AttnProcessor2_0()
        try:
            for name, module in self.modules.items():
                if self.cross[name] and self.levels[name] == level:
                    module.set_processor(AttentionMapsProcessor(sink, grid))
                else:
                    module.set_processor(stock)
            yield sink
        finally:
            for name, processor in saved.items():
                self.modules[name].set_processor(processor)


class AttentionMapsProcessor:
    """Cross-attention computed explicitly, ``softmax(q k^T / sqrt(d) + mask) v``, handing the head-averaged
    probabilities ``[B, N, T]`` (float32, with their gradient) to a :class:`MapsSink`. Used only during the
    guidance's own UNet calls."""

    def __init__(self, sink: MapsSink, grid: tuple[int, int]):
        self.sink = sink
        self.grid = grid  # (height, width) of this level's maps: the hidden states arrive flattened

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        projected = _AttnProcessorBase._project(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        query, key, value = projected.query, projected.key, projected.value
        scores = torch.matmul(query.float(), key.float().transpose(-1, -2)) * query.shape[-1] ** -0.5
        if projected.attention_mask is not None:
            scores = scores + projected.attention_mask.float()
        probabilities = scores.softmax(dim=-1)
        grid = (projected.shape[2], projected.shape[3]) if projected.input_ndim == 4 else self.grid
        self.sink.add(probabilities.mean(dim=1), grid)
        output = torch.matmul(probabilities.to(value.dtype), value)
        return _AttnProcessorBase._finish(attn, output, projected)
