"""``modulate`` and ``trace``: attnmod's processors and capture around the user's own ``pipe(...)`` call.

The pipeline is the user's (their weights, LoRA, scheduler, img2img or inpainting); attnmod only swaps the UNet's
attention processors by module name, from each call's prompt encoding to the next call or the block's end (see
:func:`attnmod.toolkit.modulation.install.modulated_attention`) and observes two things the pipeline does anyway:

* its ``encode_prompt`` call, where a run starts: the prompt text and ``num_images_per_prompt`` give one
  :class:`~attnmod.toolkit.modulation.plan.SamplePlan` per image, the capture is created and the processors are
  installed (the previous run's come off first). The wrapper is set on the pipeline object for the block only;
* each UNet call (a forward pre-hook, run before the processors' own): the first of a run sets the latent size
  and the image size, and every call is counted.

Progress through denoising comes from the timestep the UNet receives (the processors' own hook), so img2img's
shortened schedules and second-order schedulers need nothing special here. The stock processors
(``AttnProcessor2_0``) are replaced only where a part of the modulation or the capture needs them.
Everything is put back on exit, also when the block raises. Nothing is patched on a class.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..toolkit.errors import AttnmodError

if TYPE_CHECKING:
    from ..toolkit.modulation.config import ModulationConfig
    from ..toolkit.modulation.record import AttentionRecord
    from ..toolkit.prompt.tree import PromptTree
    from .heat_maps import HeatMaps

SUPPORTED = (
    "Stable Diffusion 1.x/2.x and SDXL pipelines with a UNet2DConditionModel: text-to-image, img2img and "
    "inpainting (StableDiffusionPipeline, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline, "
    "StableDiffusionXLPipeline, StableDiffusionXLImg2ImgPipeline, StableDiffusionXLInpaintPipeline and pipelines "
    "built like them)"
)
# Processors that compute plain scaled dot-product attention: replacing them for the block changes nothing but
# what attnmod adds. Others (IP-Adapter, custom diffusion, ...) carry their own weights and would be lost.
PLAIN_PROCESSORS = frozenset(
    {"AttnProcessor", "AttnProcessor2_0", "AttnProcessorNPU", "XFormersAttnProcessor", "SlicedAttnProcessor"}
)


def _is_own(processor) -> bool:
    from ..toolkit.modulation.processors import _AttnProcessorBase

    return isinstance(processor, _AttnProcessorBase)


def check_pipeline(pipe) -> None:
    """Raise :class:`AttnmodError` unless ``pipe`` is a pipeline attnmod can modulate and capture (see SUPPORTED)."""
    name = type(pipe).__name__
    denoiser = getattr(pipe, "transformer", None)
    if denoiser is not None and getattr(pipe, "unet", None) is None:
        raise AttnmodError(
            f"{name} denoises with a {type(denoiser).__name__} (joint text-image attention), which attnmod does not "
            f"support; supported: {SUPPORTED}"
        )
    unet = getattr(pipe, "unet", None)
    if unet is None or type(unet).__name__ != "UNet2DConditionModel":
        found = "no unet" if unet is None else f"a {type(unet).__name__}"
        raise AttnmodError(f"{name} has {found}; supported: {SUPPORTED}")
    if not callable(getattr(pipe, "encode_prompt", None)) or getattr(pipe, "tokenizer", None) is None:
        raise AttnmodError(f"{name} has no CLIP tokenizer and encode_prompt; supported: {SUPPORTED}")
    foreign = sorted(
        {
            type(processor).__name__
            for processor in unet.attn_processors.values()
            if type(processor).__name__ not in PLAIN_PROCESSORS and not _is_own(processor)
        }
    )
    if foreign:
        raise AttnmodError(
            f"the UNet of {name} uses attention processors attnmod would have to replace ({', '.join(foreign)}); "
            "attnmod works on pipelines with the stock processors (set them back with "
            "pipe.unet.set_attn_processor(AttnProcessor2_0()) or load the adapter after attnmod's block)"
        )
    if getattr(getattr(pipe, "encode_prompt", None), "_attnmod_block", False) or any(
        _is_own(processor) for processor in unet.attn_processors.values()
    ):
        raise AttnmodError("this pipeline is already inside a modulate() or trace() block: blocks do not nest")


@dataclasses.dataclass
class Run:
    """One ``pipe(...)`` call inside a block: its prompts (one per image), trees and captured attention.

    ``prompts[i]`` and ``trees[i]`` belong to image ``i`` of the pipeline's output (prompt-major, as diffusers orders
    ``num_images_per_prompt`` copies). ``steps`` counts the UNet calls of the run; ``height`` and ``width`` are the
    image size in pixels.
    """

    prompts: list[str]
    trees: list[PromptTree]
    images_per_prompt: int
    height: int
    width: int
    steps: int = 0
    _capture: Any = dataclasses.field(default=None, repr=False)
    _token_ids: list = dataclasses.field(default_factory=list, repr=False)
    _token_texts: list = dataclasses.field(default_factory=list, repr=False)
    _metadata: list = dataclasses.field(default_factory=list, repr=False)
    _records: list | None = dataclasses.field(default=None, repr=False)

    @property
    def records(self) -> list[AttentionRecord]:
        """One AttentionRecord per image (empty without capture); tensors on the CPU."""
        if self._capture is None:
            return []
        if self._records is None:
            metadata = [dict(entry, steps=self.steps) for entry in self._metadata]
            self._records = self._capture.records(self._token_ids, self._token_texts, self.trees, metadata)
        return self._records


class Session:
    """What a :func:`modulate` or :func:`trace` block saw: one :class:`Run` per ``pipe(...)`` call.

    The shortcuts (``records``, ``record``, ``trees``, ``heat_maps``) read the last run. Records are complete once
    the ``pipe(...)`` call has returned.
    """

    def __init__(self, pipe, config: ModulationConfig, capture: bool):
        self.pipe = pipe
        self.config = config
        self.capture = capture
        self.runs: list[Run] = []

    @property
    def last(self) -> Run:
        if not self.runs:
            raise AttnmodError("nothing ran yet: call pipe(...) inside the with block first")
        return self.runs[-1]

    @property
    def records(self) -> list[AttentionRecord]:
        """The last call's AttentionRecords, one per image in the pipeline's output order."""
        if not self.capture:
            raise AttnmodError("attention was not captured: use modulate(..., capture=True)")
        return self.last.records

    @property
    def record(self) -> AttentionRecord:
        """The last call's first AttentionRecord (the one image of a single-prompt call)."""
        return self.records[0]

    @property
    def trees(self) -> list[PromptTree]:
        """The last call's prompt trees, one per image."""
        return self.last.trees

    def heat_maps(self, index: int = 0, image=None) -> HeatMaps:
        """Per-word heat maps of image ``index`` of the last call, at the image's size (see :class:`HeatMaps`).

        ``image``: the generated image (PIL or array), drawn under the maps by ``plot()`` and in a notebook.
        """
        from .heat_maps import HeatMaps

        records = self.records
        if not 0 <= index < len(records):
            raise AttnmodError(f"image {index} does not exist: the last call made {len(records)} image(s)")
        run = self.last
        return HeatMaps.from_record(
            records[index], size=(run.height, run.width), tokenizer=self.pipe.tokenizer, image=image
        )

    def __repr__(self) -> str:
        return f"Session(variant={self.config.variant!r}, capture={self.capture}, runs={len(self.runs)})"


def resolve_variant(variant) -> ModulationConfig:
    from ..toolkit.modulation.config import ModulationConfig

    if isinstance(variant, ModulationConfig):
        return variant
    if isinstance(variant, str):
        return ModulationConfig.from_variant(variant)
    raise AttnmodError(f"variant must be a name such as 'full' or a ModulationConfig, not {type(variant).__name__}")


def _as_prompt_list(value) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(p, str) for p in value):
        return list(value)
    raise AttnmodError("pipe(prompt=...) must be a string or a list of strings for attnmod to read it")


def _given_prompts(prompts) -> tuple[list[str] | None, list[PromptTree] | None]:
    """Split modulate()'s ``prompts`` argument into texts and (when trees were given) trees."""
    from ..toolkit.prompt.tree import PromptTree

    if prompts is None:
        return None, None
    if isinstance(prompts, (str, PromptTree)):
        items = [prompts]
    elif isinstance(prompts, (list, tuple)):
        items = list(prompts)
    else:
        raise AttnmodError(
            f"prompts must be a string, a PromptTree (from attnmod.parse) or a list of them, not "
            f"{type(prompts).__name__}"
            + (": decode bytes first (prompt.decode())" if isinstance(prompts, (bytes, bytearray)) else "")
        )
    if not items:
        raise AttnmodError("no prompt given")
    if all(isinstance(item, PromptTree) for item in items):
        return [tree.prompt for tree in items], items
    if all(isinstance(item, str) for item in items):
        return items, None
    kinds = sorted({type(item).__name__ for item in items})
    raise AttnmodError(
        f"prompts must all be strings or all PromptTree objects (from attnmod.parse), got {', '.join(kinds)}"
    )


class _Block:
    """The machinery of one block: the encode_prompt wrapper, the UNet hook and the run bookkeeping.

    A run starts when the pipeline encodes its prompt: the batch's plan and capture are built and the processors
    installed for that run (what they do is resolved at install); the previous run's processors come off first.
    """

    def __init__(self, session: Session, prompts, parser: str):
        self.session = session
        self.pipe = session.pipe
        self.parser = parser
        self.given_prompts, self.given_trees = _given_prompts(prompts)
        self._parsed: dict[str, PromptTree] = {}
        if self.given_trees is not None:
            self._parsed.update({tree.prompt: tree for tree in self.given_trees})
        self.installed = contextlib.ExitStack()
        self.context = None

    def tree_for(self, prompt: str) -> PromptTree:
        if prompt not in self._parsed:
            from ..toolkit.prompt.parse import parse_prompt

            tokenizers = [t for t in (self.pipe.tokenizer, getattr(self.pipe, "tokenizer_2", None)) if t]
            self._parsed[prompt] = parse_prompt(prompt, tokenizers=tokenizers, parser=self.parser)
        return self._parsed[prompt]

    # ---- the pipeline encodes its prompt: a run starts ----

    def wrap_encode_prompt(self, original):
        signature = inspect.signature(original)

        def encode_prompt(*args, **kwargs):
            try:
                bound = signature.bind_partial(*args, **kwargs).arguments
            except TypeError:
                bound = kwargs
            prompts = self._call_prompts(_as_prompt_list(bound.get("prompt")))
            second = bound.get("prompt_2")
            if second is not None and _as_prompt_list(second) != prompts:
                warnings.warn(
                    "prompt_2 differs from prompt: attnmod parses and scores prompt only, while the second text "
                    "encoder reads prompt_2, so its tokens at the same positions are other words",
                    stacklevel=3,
                )
            self.start_run(prompts, int(bound.get("num_images_per_prompt") or 1))
            return original(*args, **kwargs)

        encode_prompt.__wrapped__ = original
        encode_prompt._attnmod_block = True
        return encode_prompt

    def _call_prompts(self, called: list[str] | None) -> list[str]:
        if called is not None and self.given_prompts is not None and called != self.given_prompts:
            raise AttnmodError(
                f"the block was opened for {self.given_prompts!r} but pipe() was called with {called!r}: "
                "pass the same prompt(s), or open the block without prompts to take them from the call"
            )
        if called is not None:
            return called
        if self.given_prompts is not None:
            return self.given_prompts
        runs = self.session.runs
        if runs and runs[-1].steps == 0:
            # encode_prompt called by hand for the text, then pipe(prompt_embeds=...): the same prompts
            return runs[-1].prompts[:: max(runs[-1].images_per_prompt, 1)]
        raise AttnmodError(
            "attnmod needs the prompt text to align attention to words: pipe() was called with prompt_embeds, "
            "so pass the prompt(s) to modulate(pipe, variant, prompts=...) or trace(pipe, prompts)"
        )

    def start_run(self, prompts: list[str], per_prompt: int) -> None:
        from ..toolkit.generation import prepare_run
        from ..toolkit.modulation.install import modulated_attention

        self.installed.close()  # the previous run's processors come off before this run's go on
        pipe, config = self.pipe, self.session.config
        expanded = [prompt for prompt in prompts for _ in range(per_prompt)]
        trees = [self.tree_for(prompt) for prompt in expanded]
        prepared = prepare_run(pipe, expanded, trees, config, capture=self.session.capture)
        run = Run(prompts=expanded, trees=trees, images_per_prompt=per_prompt, height=0, width=0)
        if prepared.capture is not None:
            run._capture = prepared.capture
            run._token_ids = prepared.token_ids
            run._token_texts = prepared.token_texts
            run._metadata = [
                {
                    "prompt": prompt,
                    "variant": config.variant,
                    "modulated": config.modulates and plan.active,
                    "pipeline": type(pipe).__name__,
                    "scheduler": type(pipe.scheduler).__name__,
                    "dtype": str(pipe.unet.dtype).removeprefix("torch."),
                    "device": str(pipe.unet.device),
                }
                for prompt, plan in zip(expanded, prepared.samples, strict=True)
            ]
        self.context = prepared.context  # progress from the timestep the UNet receives (the pipeline's scheduler)
        self.session.runs.append(run)
        self.installed.enter_context(modulated_attention(pipe.unet, self.context))

    # ---- each UNet call (this hook runs before the processors' own) ----

    def on_unet_call(self, module, args, kwargs) -> None:
        if not self.session.runs or self.context is None:
            raise AttnmodError(
                f"the UNet of the {type(self.pipe).__name__} this block was opened on ran, but that pipeline encoded "
                "no prompt: was another pipeline sharing its UNet (made with from_pipe, or from the same "
                "components) called inside the block? Open the block on the pipeline you call"
            )
        run = self.session.runs[-1]
        if run.steps == 0:
            sample = args[0] if args else kwargs.get("sample")
            plan = self.context.plan
            if plan.membership.device != sample.device:
                # model offloading moves the UNet to its device only when it runs: follow it
                from ..toolkit.modulation.plan import ModulationPlan

                self.context.plan = ModulationPlan.build(plan.samples, device=sample.device)
            latent_height, latent_width = int(sample.shape[-2]), int(sample.shape[-1])
            self.context.latent_size = (latent_height, latent_width)
            scale = int(getattr(self.pipe, "vae_scale_factor", 8))
            run.height, run.width = latent_height * scale, latent_width * scale
            # the fallback when the timestep is not in the schedule: count UNet calls over the loop's length
            steps = getattr(self.pipe, "_num_timesteps", None) or len(getattr(self.pipe.scheduler, "timesteps", ()))
            self.context.progress.steps = max(int(steps or 1), 1)
            for entry in run._metadata:
                entry.update(height=run.height, width=run.width)
        run.steps += 1


@contextlib.contextmanager
def _session(pipe, prompts, config: ModulationConfig, capture: bool, parser: str) -> Iterator[Session]:
    check_pipeline(pipe)
    session = Session(pipe, config, capture)
    block = _Block(session, prompts, parser)
    if block.given_prompts is not None and block.given_trees is None:
        for prompt in block.given_prompts:
            block.tree_for(prompt)  # parse before the block, so a bad prompt fails before any generation
    had_own = "encode_prompt" in vars(pipe)
    previous = vars(pipe).get("encode_prompt")
    pipe.__dict__["encode_prompt"] = block.wrap_encode_prompt(pipe.encode_prompt)
    handle = pipe.unet.register_forward_pre_hook(block.on_unet_call, with_kwargs=True)
    try:
        yield session
    finally:
        handle.remove()
        try:
            block.installed.close()
        finally:
            if had_own:
                pipe.__dict__["encode_prompt"] = previous
            else:
                pipe.__dict__.pop("encode_prompt", None)


class _OneUse(contextlib.AbstractContextManager):
    """A block's context manager, which one ``with`` statement uses: a second one gets a clear error instead of
    contextlib's internals."""

    def __init__(self, manager, name: str):
        self._manager = manager
        self._name = name
        self._used = False

    def __enter__(self) -> Session:
        if self._used:
            raise AttnmodError(
                f"this attnmod.{self._name}(...) block was already used by a with statement: call "
                f"attnmod.{self._name}(pipe, ...) again for each block"
            )
        self._used = True
        return self._manager.__enter__()

    def __exit__(self, *exc):
        return self._manager.__exit__(*exc)


def modulate(
    pipe,
    *variant_given,
    variant: str | ModulationConfig | None = None,
    prompts: str | PromptTree | Sequence[str] | Sequence[PromptTree] | None = None,
    capture: bool = True,
    parser: str = "auto",
) -> contextlib.AbstractContextManager[Session]:
    """``modulate(pipe, variant="full", *, prompts=None, capture=True, parser="auto")``: run attnmod's attention
    modulation (and capture) inside your own ``pipe(...)`` calls.

    ``pipe``: a diffusers SD 1.x/2.x or SDXL pipeline (text-to-image, img2img, inpainting; LoRAs, any scheduler,
    batches, ``num_images_per_prompt``, any dtype and device). ``variant`` (second, or by keyword): ``"none"``,
    ``"temperature"``, ``"masking"``, ``"reweighting"``, ``"full"`` (default), the peers ``"excite"``
    (Attend-and-Excite) and ``"syngen"`` (SynGen), a ``+`` combination such as ``"full+excite"``, or a
    :class:`ModulationConfig`. ``prompts`` (keyword only): the prompt text(s) or parsed trees
    (:func:`attnmod.parse`) of the call; ``None`` takes the text from the call itself. ``capture``: keep an
    :class:`AttentionRecord` per image. The old form with the prompts second (``modulate(pipe, "a red car",
    variant="full")``) is refused with a message that says what to write.

    Use it as a context manager; the :class:`Session` it yields holds, after each ``pipe(...)`` call, the records
    and trees of that call (``session.records``, ``session.trees``; ``session.runs`` for every call). The
    pipeline's processors are restored on exit, also when the block raises. Raises :class:`AttnmodError` for an
    unsupported pipeline (SD3, FLUX and other joint-attention transformers).
    """
    check_pipeline(pipe)  # here too, so an unsupported pipeline fails where modulate() is called
    config = _variant_argument(variant_given, variant)
    _given_prompts(prompts)  # and a prompt of the wrong type
    return _OneUse(_session(pipe, prompts, config, bool(capture), parser), "modulate")


def _variant_argument(given: tuple, variant) -> ModulationConfig:
    """The variant of ``modulate(pipe, VARIANT)`` or ``modulate(pipe, variant=VARIANT)``; anything else in the
    second place (the prompts of the old ``modulate(pipe, prompts, variant)`` form) is refused in one line."""
    from ..toolkit.modulation.config import ModulationConfig, variant_parts

    if not given:
        return resolve_variant("full" if variant is None else variant)
    first = given[0]
    is_variant = isinstance(first, ModulationConfig)
    if isinstance(first, str):
        try:
            variant_parts(first)
            is_variant = True
        except AttnmodError:
            is_variant = False
    if len(given) > 1 or variant is not None or not is_variant:
        shown = repr(first) if isinstance(first, str) and len(first) <= 60 else "..."
        raise AttnmodError(
            "modulate() takes the variant second and the prompts by keyword: write "
            f"modulate(pipe, {variant if isinstance(variant, str) else 'full'!r}, prompts={shown})"
            if not is_variant
            else "modulate() takes one variant: write modulate(pipe, 'full') or modulate(pipe, variant='full')"
        )
    return resolve_variant(first)


def trace(
    pipe,
    prompts: str | PromptTree | Sequence[str] | Sequence[PromptTree] | None = None,
    self_attention: bool = False,
    parser: str = "auto",
) -> contextlib.AbstractContextManager[Session]:
    """Capture attention of your own ``pipe(...)`` calls without changing them (the ``none`` variant).

    The images are exactly those of the same call without attnmod. After the call, ``session.heat_maps()`` gives
    one heat map per word of the prompt at the image's size, with an overlay plot; ``session.records`` the raw
    :class:`AttentionRecord` per image. ``self_attention`` also keeps self-attention at the coarsest resolution.
    """
    check_pipeline(pipe)
    _given_prompts(prompts)
    config = resolve_variant("none")
    if self_attention:
        config = dataclasses.replace(config, capture=dataclasses.replace(config.capture, self_attention=True))
    return _OneUse(_session(pipe, prompts, config, True, parser), "trace")
