"""Installing the modulation's processors on a UNet by module name, and always restoring the originals.

Nothing here patches diffusers classes: :func:`modulated_attention` swaps the processors of one UNet by module name
and always puts the saved originals back, also when the run raises. Processors go only on the modules where a part of
the modulation or an observer needs them (:func:`build_processors`); every other module keeps its stock processor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch

from ..errors import AttnmodError
from .config import ModulationConfig, layer_selected
from .context import ModulationContext
from .guidance import guidance_parts
from .masking import LayoutMaps
from .optimisation import LatentGuidance
from .processors import MaskedReweightedCrossAttnProcessor, TemperedSelfAttnProcessor, _AttnProcessorBase


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
    context.progress.start = None

    guidance = latent_guidance(unet, context, modules)

    def before_unet_call(module, args, kwargs):
        timestep = args[1] if len(args) > 1 else kwargs.get("timestep")
        context.begin_call(module, (args[0] if args else kwargs.get("sample"), timestep))
        if guidance is not None:  # after the progress has advanced: the guidance reads its step
            return guidance.before_unet_call(module, args, kwargs)
        return None

    handle = unet.register_forward_pre_hook(before_unet_call, with_kwargs=True)
    try:
        with guidance.installed(hook=False) if guidance is not None else contextlib.nullcontext():
            for name, processor in processors.items():
                modules[name].set_processor(processor)
            yield context
    finally:
        handle.remove()
        for name, original in originals.items():
            modules[name].set_processor(original)


def latent_guidance(unet, context: ModulationContext, modules: dict | None = None) -> LatentGuidance | None:
    """The latent optimisation of the config's excite and syngen parts for this run (None when neither is enabled
    or no sample has what they act on). Needs the scheduler on ``context.progress`` (its ``step`` is wrapped)."""
    modules = attention_modules(unet) if modules is None else modules
    parts = guidance_parts(context.config)
    samples = context.plan.samples
    if not parts or not any(part.wants(sample.targets) for part in parts for sample in samples):
        return None
    scheduler = getattr(context.progress, "scheduler", None)
    if scheduler is None:
        raise AttnmodError(f"{' and '.join(p.name for p in parts)} need the pipeline's scheduler on the progress")
    return LatentGuidance(
        unet,
        scheduler,
        parts,
        [sample.targets for sample in samples],
        context.progress,
        context.condition_rows,
        modules=modules,
        levels=attention_levels(unet, modules),
    )
