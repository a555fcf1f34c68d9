"""Pipelines: the embedded random-weight models and real weights from a folder, a file or the hub.

Embedded models (no download, seeded so their weights are the same on every machine):

* ``shapes``: a small SDXL-architecture pipeline *trained* on the shapes world (:mod:`attnmod.toolkit.shapes_world`),
  shipped as safetensors inside the package: it draws the coloured shapes its prompt names (64x64), and sometimes
  fails the way SDXL does. Loads in about a second.
* ``tiny``: the SDXL architecture at toy size: two CLIP text encoders (the second with a projection),
  ``text_time`` added conditioning, cross-attention UNet blocks, a VAE and the Euler scheduler, with the real
  CLIP tokenizers. Builds in well under a second. The default of every command.
* ``tiny-sd``: an SD 1.x-shaped pipeline at toy size (one text encoder, no added conditioning), to show that
  the modulation does not depend on SDXL.
* ``sdxl-shaped``: SDXL base 1.0's full UNet, text encoder and VAE configuration with random weights, for
  performance work (about 3.5 billion parameters: ~14 GB in fp32).

Images from the random-weight models are noise; the attention mechanics, numbers and reports are real.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from ..devices import resolve_device, resolve_dtype
from ..errors import ModelLoadError
from ..prompt.tokenizer import CLIP_CONTEXT_LENGTH, CLIP_VOCAB_SIZE, build_clip_tokenizer
from ..threads import ensure_thread_policy
from .schedulers import euler_scheduler

EMBEDDED_MODELS = ("shapes", "tiny", "tiny-sd", "sdxl-shaped")
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")
_SEED = 0


@dataclasses.dataclass
class LoadedModel:
    """A diffusers pipeline with what the rest of the toolkit needs to know about it."""

    pipeline: object
    name: str  # what the user asked for: "tiny", a path or a hub id
    family: str  # "sdxl" or "sd"
    device: str
    dtype: str

    @property
    def tokenizers(self) -> list:
        pipe = self.pipeline
        return [t for t in (getattr(pipe, "tokenizer", None), getattr(pipe, "tokenizer_2", None)) if t]


def _text_config(hidden: int, layers: int, heads: int, intermediate: int, act: str, projection: int):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=CLIP_VOCAB_SIZE,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=CLIP_CONTEXT_LENGTH,
        hidden_act=act,
        projection_dim=projection,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
        layer_norm_eps=1e-5,
    )


def _seeded(build):
    import torch

    torch.manual_seed(_SEED)
    return build()


def build_tiny_sdxl():
    """The SDXL architecture at toy size (cross-attention dim 64 = 32 + 32 from the two encoders)."""
    from diffusers import (
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    unet = _seeded(
        lambda: UNet2DConditionModel(
            **TINY_UNET,
            use_linear_projection=True,
            addition_embed_type="text_time",
            addition_time_embed_dim=8,
            transformer_layers_per_block=(1, 2),
            projection_class_embeddings_input_dim=80,  # 6 time ids x 8 + pooled text (32)
            cross_attention_dim=64,
        )
    )
    vae = _seeded(lambda: _tiny_vae())
    text_config = _text_config(32, 5, 4, 37, "gelu", 32)
    text_encoder = _seeded(lambda: CLIPTextModel(text_config))
    text_encoder_2 = _seeded(lambda: CLIPTextModelWithProjection(text_config))
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=build_clip_tokenizer(),
        tokenizer_2=build_clip_tokenizer(pad_token="!"),
        unet=unet,
        scheduler=euler_scheduler(),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


# The UNet shape both toy pipelines share (tiny: SDXL's text_time conditioning on top; tiny-sd: SD 1.x's).
TINY_UNET = {
    "block_out_channels": (32, 64),
    "layers_per_block": 2,
    "sample_size": 16,
    "in_channels": 4,
    "out_channels": 4,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
    "attention_head_dim": (2, 4),
    "norm_num_groups": 1,
}


def _tiny_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=1,
        sample_size=128,
    )


def build_tiny_sd():
    """An SD 1.x-shaped pipeline at toy size: one CLIP text encoder, cross-attention dim 32."""
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    unet = _seeded(lambda: UNet2DConditionModel(**TINY_UNET, cross_attention_dim=32))
    vae = _seeded(_tiny_vae)
    text_encoder = _seeded(lambda: CLIPTextModel(_text_config(32, 5, 4, 37, "gelu", 32)))
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=build_clip_tokenizer(),
        unet=unet,
        scheduler=euler_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def sdxl_shaped_parts(reduced: bool = False) -> dict:
    """Factories of the ``sdxl-shaped`` components: SDXL base 1.0's UNet (2.6B), VAE, CLIP ViT-L and OpenCLIP bigG.

    ``reduced``: the same block structure at toy widths and depths (for tests of the build, in seconds).
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    if reduced:
        channels, heads, depth, cross, time_dim, groups = (32, 64, 64), (2, 4, 4), (1, 2, 3), 64, 8, 8
        vae_channels, text, text_2 = (16, 32, 32, 32), (32, 2, 4, 37), (32, 3, 4, 37)
    else:
        channels, heads, depth, cross, time_dim, groups = (320, 640, 1280), (5, 10, 20), (1, 2, 10), 2048, 256, 32
        vae_channels, text, text_2 = (128, 256, 512, 512), (768, 12, 12, 3072), (1280, 32, 20, 5120)
    return {
        "unet": lambda: UNet2DConditionModel(
            sample_size=128,
            in_channels=4,
            out_channels=4,
            layers_per_block=2,
            block_out_channels=channels,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            attention_head_dim=heads,
            transformer_layers_per_block=depth,
            cross_attention_dim=cross,
            use_linear_projection=True,
            addition_embed_type="text_time",
            addition_time_embed_dim=time_dim,
            projection_class_embeddings_input_dim=6 * time_dim + text_2[0],  # time ids + pooled bigG text
            norm_num_groups=groups,
        ),
        "vae": lambda: AutoencoderKL(
            block_out_channels=vae_channels,
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            latent_channels=4,
            layers_per_block=2,
            sample_size=1024,
            scaling_factor=0.13025,
            norm_num_groups=groups,
        ),
        "text_encoder": lambda: CLIPTextModel(_text_config(*text, "quick_gelu", text[0])),
        "text_encoder_2": lambda: CLIPTextModelWithProjection(_text_config(*text_2, "gelu", text_2[0])),
    }


def build_sdxl_shaped(dtype=None, device="cpu", deferred: bool = True, reduced: bool = False):
    """SDXL base 1.0's configuration with seeded random weights, built once in ``dtype`` on ``device``.

    Each component gets the weights of ``torch.manual_seed(0); Component(config)`` (the build of earlier
    versions). ``deferred`` (the default) constructs on the meta device and fills each weight once, in its final
    dtype (see :mod:`attnmod.toolkit.models.deferred_init`): one copy of the weights at the peak instead of a float32
    build plus a converted copy, and no time spent on initialisations that a later one overwrites.
    ``deferred=False`` builds eagerly in float32 on the CPU (the caller converts).
    """
    from diffusers import StableDiffusionXLPipeline

    from .deferred_init import DeferredInitError, build_deferred

    parts = sdxl_shaped_parts(reduced)
    built = None
    if deferred:
        try:
            built = {name: build_deferred(factory, _SEED, dtype, device) for name, factory in parts.items()}
        except DeferredInitError:
            built = None  # a library version whose construction cannot be replayed: build the plain way
    if built is None:
        built = {name: _seeded(factory) for name, factory in parts.items()}
    pipe = StableDiffusionXLPipeline(
        **built,
        tokenizer=build_clip_tokenizer(),
        tokenizer_2=build_clip_tokenizer(pad_token="!"),
        scheduler=euler_scheduler(),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def build_shapes():
    """The trained ``shapes`` model shipped with the package (see :mod:`attnmod.toolkit.models.shapes`)."""
    from .shapes import load_shapes_pipeline

    return load_shapes_pipeline()


_BUILDERS = {
    "shapes": build_shapes,
    "tiny": build_tiny_sdxl,
    "tiny-sd": build_tiny_sd,
    "sdxl-shaped": build_sdxl_shaped,
}


def _family(pipe) -> str:
    return "sdxl" if getattr(pipe, "text_encoder_2", None) is not None else "sd"


def _hint() -> str:
    return (
        "To use real weights, download them once on a machine with internet access (for example "
        "`huggingface-cli download stabilityai/stable-diffusion-xl-base-1.0`, which fills the local cache), or "
        "pass --model with a local diffusers folder or a .safetensors checkpoint. "
        "The embedded models (tiny, tiny-sd, sdxl-shaped) need no download."
    )


def pickle_refusal(path: str | Path, what: str = "weights") -> str:
    """The one message of attnmod's pickle policy: pickle weights are refused unless ``--allow-pickle``."""
    return (
        f"refusing to load {what} {str(path)!r}: they are Python pickles that can run code when loaded. Convert them "
        "to .safetensors, or pass --allow-pickle if you trust their source."
    )


def check_pickle_policy(folder: str | Path, allow_pickle: bool, what: str = "weights") -> None:
    """The pickle policy for a model folder loaded through ``from_pretrained``: without ``allow_pickle``, a folder
    whose weights exist only as pickles (``pytorch_model.bin``, ``*.ckpt``, ...) is refused in one line before
    anything is read (the library would otherwise reach ``torch.load``)."""
    if allow_pickle:
        return
    folder = Path(folder)
    if not folder.is_dir() or any(folder.rglob("*.safetensors")):
        return
    pickles = sorted(p.name for p in folder.rglob("*") if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise ModelLoadError(pickle_refusal(folder, f"{what} ({', '.join(pickles[:3])})"))


def _load_folder(path: Path, allow_pickle: bool):
    from diffusers import DiffusionPipeline

    if not (path / "model_index.json").is_file():
        raise ModelLoadError(
            f"model folder {str(path)!r} has no model_index.json, so it is not a diffusers pipeline folder. " + _hint()
        )
    try:
        return DiffusionPipeline.from_pretrained(str(path), use_safetensors=not allow_pickle)
    except (OSError, ValueError) as error:
        raise ModelLoadError(
            f"could not load the diffusers folder {str(path)!r}: {_first_line(error)}. "
            "Weights are loaded from .safetensors files only; pass --allow-pickle to accept .bin/.ckpt files "
            "from a source you trust. " + _hint()
        ) from error


def _load_single_file(path: Path, allow_pickle: bool):
    from diffusers import StableDiffusionXLPipeline

    if path.suffix.lower() in PICKLE_SUFFIXES and not allow_pickle:
        raise ModelLoadError(pickle_refusal(path, f"the {path.suffix} checkpoint"))
    try:
        return StableDiffusionXLPipeline.from_single_file(str(path))
    except Exception as error:  # noqa: BLE001 - diffusers raises many types for a bad or unreachable config
        raise ModelLoadError(
            f"could not load the checkpoint {str(path)!r} as an SDXL pipeline: {_first_line(error)}. "
            "Single-file loading needs the SDXL configuration from the local cache. " + _hint()
        ) from error


def _load_hub_id(repo_id: str, allow_pickle: bool):
    from diffusers import DiffusionPipeline

    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    attempts = [True] if offline else [True, False]
    last_error: Exception | None = None
    for local_only in attempts:
        try:
            return DiffusionPipeline.from_pretrained(
                repo_id, use_safetensors=not allow_pickle, local_files_only=local_only
            )
        except Exception as error:  # noqa: BLE001 - network, missing cache and config errors all mean "not here"
            last_error = error
    tried = "the local cache" + ("" if offline else " and the hub")
    raise ModelLoadError(
        f"could not load model {repo_id!r}: it is not one of the embedded models ({', '.join(EMBEDDED_MODELS)}), "
        f"not an existing local path, and {tried} did not provide it ({_first_line(last_error)}). " + _hint()
    ) from last_error


def _first_line(error: Exception | None) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    # Hub errors point at a stack trace the command line never shows and at a Python argument a user cannot pass.
    line = re.sub(
        r"\.?\s*please check (out )?(the root cause in )?the stack ?trace above\.?", ".", line, flags=re.IGNORECASE
    )
    line = re.sub(r"\s*To enable repo look-ups[^.)]*local_files_only=False'? as input\.?", "", line)
    return line.rstrip(" .") or type(error).__name__


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith((".", "/", "~"))
        or os.sep in spec.rstrip(os.sep)
        and spec.count("/") != 1
        or Path(spec).suffix.lower() in (".safetensors",) + PICKLE_SUFFIXES
    )


def build_pipeline(spec: str = "shapes", allow_pickle: bool = False, dtype=None, device="cpu"):
    """Return a diffusers pipeline for ``spec`` (embedded name, local folder or file, or hub id), on the CPU.

    ``dtype``/``device``: where ``sdxl-shaped`` is built directly (the others are built on the CPU in float32).
    """
    if spec == "sdxl-shaped":
        return build_sdxl_shaped(dtype=dtype, device=device)
    if spec in _BUILDERS:
        return _BUILDERS[spec]()
    path = Path(spec).expanduser()
    if path.is_dir():
        from .shapes import is_shapes_folder, load_shapes_pipeline

        if is_shapes_folder(path):  # weights written by `attnmod world train`
            return load_shapes_pipeline(path)
        return _load_folder(path, allow_pickle)
    if path.is_file():
        return _load_single_file(path, allow_pickle)
    if _looks_like_path(spec):
        raise ModelLoadError(f"model path {spec!r} does not exist. " + _hint())
    if "/" not in spec:
        # Not an embedded name, a path or a hub id (owner/name): a typo, said at once rather than after asking the
        # hub for it.
        import difflib

        close = difflib.get_close_matches(spec, EMBEDDED_MODELS, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise ModelLoadError(
            f"unknown model {spec!r}: {guess}the embedded models are {', '.join(EMBEDDED_MODELS)}; otherwise give a "
            "local diffusers folder, a .safetensors checkpoint or a hub id (owner/name)"
        )
    return _load_hub_id(spec, allow_pickle)


def load_model(
    spec: str = "shapes", device: str = "auto", dtype: str = "auto", allow_pickle: bool = False
) -> LoadedModel:
    """Build or load a pipeline and move it to the chosen device and dtype."""
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    ensure_thread_policy(cpu_float32=torch_device.type == "cpu" and str(torch_dtype) == "torch.float32")
    pipe = build_pipeline(spec, allow_pickle=allow_pickle, dtype=torch_dtype, device=torch_device)
    if torch_dtype != pipe.unet.dtype or torch_device.type != "cpu":
        pipe.to(torch_device, torch_dtype)
    return LoadedModel(
        pipeline=pipe,
        name=spec,
        family=_family(pipe),
        device=str(torch_device),
        dtype=str(torch_dtype).removeprefix("torch."),
    )


def describe_model(model: LoadedModel) -> dict:
    """A JSON-friendly summary: family, device, dtype, tokenizers and attention modules with their kind."""
    unet = model.pipeline.unet
    modules = {}
    for name in unet.attn_processors:
        module_name = name.removesuffix(".processor")
        modules[module_name] = "cross" if module_name.endswith("attn2") else "self"
    return {
        "model": model.name,
        "family": model.family,
        "device": model.device,
        "dtype": model.dtype,
        "tokenizers": len(model.tokenizers),
        "attention_modules": modules,
    }
