"""The ``shapes`` model: SDXL's architecture at small size, trained from scratch on the shapes world.

Same kind of pipeline as real SDXL, so every modulation and analysis path runs on it unchanged: a
``StableDiffusionXLPipeline`` with two CLIP text encoders (the second with a projection for the pooled embedding)
behind the real CLIP tokenizers, ``text_time`` added conditioning, a UNet with cross-attention at two resolutions
(16x16 and 8x8 for 64x64 images), a VAE (64x64x3 <-> 16x16x4) trained on the world, and the Euler scheduler.

The trained weights ship with the package as one safetensors file (``data/shapes/shapes.safetensors``, float16,
keys prefixed by component) beside ``config.json`` (the component configurations and the VAE scaling factor) and
a model card (``MODEL_CARD.md``). :func:`build_shapes_pipeline` builds the architecture; :func:`load_shapes_pipeline`
fills it with the shipped (or any saved) weights.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..errors import ModelLoadError
from ..prompt.tokenizer import CLIP_CONTEXT_LENGTH, CLIP_VOCAB_SIZE, build_clip_tokenizer
from .schedulers import SDXL_SCHEDULE, euler_scheduler

WEIGHTS_FILE = "shapes.safetensors"
CONFIG_FILE = "config.json"
COMPONENTS = ("unet", "vae", "text_encoder", "text_encoder_2")
IMAGE_SIZE = 64
DEFAULT_STEPS = 25
DEFAULT_GUIDANCE = 5.0
WORLD = "shapes"  # the world these models are trained on (the tag a loaded pipeline carries)

# Architecture presets: "default" is the shipped model; "wide" the same with a UNet 1.5 times as wide (2.2 times
# the parameters, about twice the CPU time per training step; the same VAE, so ``--vae-from`` applies); "smoke"
# is a toy size for tests of the training loop.
# Both end the noise schedule at beta 0.02 with trailing spacing (why: :func:`.schedulers.euler_scheduler`).
PRESETS = {
    "default": {
        "unet_channels": (32, 64),
        "unet_heads": (2, 4),
        "layers_per_block": 2,
        "text_width": 64,
        "text_layers": 2,
        "text_heads": 4,
        "vae_channels": (16, 32, 64),
        "beta_end": 0.02,
        "prediction_type": "v_prediction",
    },
    "smoke": {
        "unet_channels": (16, 32),
        "unet_heads": (2, 2),
        "layers_per_block": 1,
        "text_width": 16,
        "text_layers": 1,
        "text_heads": 2,
        "vae_channels": (8, 16, 16),
        "beta_end": 0.02,
        # epsilon: a 20-step run of the toy size shows its loss falling clearly (v falls too slowly to test)
        "prediction_type": "epsilon",
    },
}
PRESETS["wide"] = {**PRESETS["default"], "unet_channels": (48, 96), "unet_heads": (3, 6)}


def component_configs(preset: str = "default") -> dict:
    """The configuration of every component for a preset, as JSON-friendly dicts."""
    if preset not in PRESETS:
        raise ValueError(f"unknown shapes preset {preset!r}; presets: {', '.join(PRESETS)}")
    p = PRESETS[preset]
    width = p["text_width"]
    text = {
        "vocab_size": CLIP_VOCAB_SIZE,
        "hidden_size": width,
        "intermediate_size": 2 * width,
        "num_hidden_layers": p["text_layers"],
        "num_attention_heads": p["text_heads"],
        "max_position_embeddings": CLIP_CONTEXT_LENGTH,
        "hidden_act": "gelu",
        "projection_dim": width,
        "bos_token_id": 49406,
        "eos_token_id": 49407,
        "pad_token_id": 49407,
        "layer_norm_eps": 1e-5,
    }
    time_dim = 8
    unet = {
        "sample_size": IMAGE_SIZE // 4,
        "in_channels": 4,
        "out_channels": 4,
        "block_out_channels": list(p["unet_channels"]),
        "layers_per_block": p["layers_per_block"],
        "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        "attention_head_dim": list(p["unet_heads"]),
        "transformer_layers_per_block": [1, 1],
        "use_linear_projection": True,
        "cross_attention_dim": 2 * width,
        "addition_embed_type": "text_time",
        "addition_time_embed_dim": time_dim,
        "projection_class_embeddings_input_dim": 6 * time_dim + width,
        "norm_num_groups": 8,
    }
    vae = {
        "in_channels": 3,
        "out_channels": 3,
        "block_out_channels": list(p["vae_channels"]),
        "down_block_types": ["DownEncoderBlock2D"] * len(p["vae_channels"]),
        "up_block_types": ["UpDecoderBlock2D"] * len(p["vae_channels"]),
        "latent_channels": 4,
        "layers_per_block": 1,
        "norm_num_groups": 8,
        "sample_size": IMAGE_SIZE,
        "scaling_factor": 1.0,
    }
    scheduler = {
        **SDXL_SCHEDULE,
        "beta_end": p["beta_end"],
        "timestep_spacing": "trailing",
        "steps_offset": 0,
        "prediction_type": p["prediction_type"],
    }
    return {
        "preset": preset,
        "unet": unet,
        "vae": vae,
        "text_encoder": text,
        "text_encoder_2": text,
        "scheduler": scheduler,
    }


def build_components(configs: dict) -> dict:
    """Fresh (untrained) modules for the given component configurations."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    return {
        "unet": UNet2DConditionModel(**configs["unet"]),
        "vae": AutoencoderKL(**configs["vae"]),
        "text_encoder": CLIPTextModel(CLIPTextConfig(**configs["text_encoder"])),
        "text_encoder_2": CLIPTextModelWithProjection(CLIPTextConfig(**configs["text_encoder_2"])),
    }


def assemble_pipeline(components: dict, schedule: dict | None = None):
    """A StableDiffusionXLPipeline around the given modules, with the real CLIP tokenizers and Euler (``schedule``:
    the noise schedule of the configuration, SDXL's when None)."""
    from diffusers import StableDiffusionXLPipeline

    pipe = StableDiffusionXLPipeline(
        vae=components["vae"],
        text_encoder=components["text_encoder"],
        text_encoder_2=components["text_encoder_2"],
        tokenizer=build_clip_tokenizer(),
        tokenizer_2=build_clip_tokenizer(pad_token="!"),
        unet=components["unet"],
        scheduler=euler_scheduler(schedule),
        force_zeros_for_empty_prompt=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def build_shapes_pipeline(preset: str = "default", seed: int = 0):
    """The untrained architecture, seeded."""
    import torch

    torch.manual_seed(seed)
    configs = component_configs(preset)
    return assemble_pipeline(build_components(configs), configs["scheduler"])


def shipped_weights_folder() -> Path:
    return Path(str(resources.files("attnmod.toolkit") / "data" / "shapes"))


def save_shapes_weights(components: dict, configs: dict, folder: str | Path, dtype: str = "float16") -> Path:
    """Write ``config.json`` and one safetensors file with every component's weights (keys ``component.name``)."""
    import torch

    from ..run_files import write_atomic, write_safetensors_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    target = getattr(torch, dtype)
    for name in COMPONENTS:
        for key, value in components[name].state_dict().items():
            value = value.detach().cpu()
            if value.is_floating_point():
                value = value.to(target)
            tensors[f"{name}.{key}"] = value.contiguous()
    write_safetensors_atomic(
        folder / WEIGHTS_FILE, tensors, metadata={"format": "pt", "preset": configs.get("preset", "")}
    )
    write_atomic(folder / CONFIG_FILE, json.dumps(configs, indent=2) + "\n")
    return folder / WEIGHTS_FILE


def load_shapes_components(folder: str | Path | None = None) -> dict:
    """Modules filled with the weights saved in ``folder`` (the shipped ones by default), in float32."""
    import torch
    from safetensors.torch import load_file

    folder = Path(folder) if folder is not None else shipped_weights_folder()
    weights, config_path = folder / WEIGHTS_FILE, folder / CONFIG_FILE
    if not weights.is_file() or not config_path.is_file():
        raise ModelLoadError(
            f"the shapes model's weights are missing ({weights.name} and {config_path.name} in {str(folder)!r}). "
            "Train them with `attnmod world train --out DIR` and pass --model DIR, or reinstall attnmod."
        )
    configs = json.loads(config_path.read_text())
    with torch.device("meta"):
        components = build_components(configs)
    state = load_file(str(weights))
    for name in COMPONENTS:
        prefix = name + "."
        own = {
            k[len(prefix) :]: v.float() if v.is_floating_point() else v
            for k, v in state.items()
            if k.startswith(prefix)
        }
        module = components[name]
        missing, unexpected = module.load_state_dict(own, strict=False, assign=True)
        if unexpected or [m for m in missing if not m.endswith("position_ids")]:
            raise ModelLoadError(
                f"the weights in {str(weights)!r} do not match the {name} configuration "
                f"(missing {len(missing)}, unexpected {len(unexpected)} tensors)"
            )
        _materialise_buffers(module)
        module.eval()
    return components


def _materialise_buffers(module) -> None:
    """Recreate buffers left on the meta device (non-persistent ones such as CLIP's position ids)."""
    import torch

    for submodule in module.modules():
        for name, buffer in list(submodule._buffers.items()):
            if buffer is not None and buffer.is_meta:
                if name == "position_ids":
                    submodule._buffers[name] = torch.arange(buffer.shape[-1]).expand(buffer.shape)
                else:
                    submodule._buffers[name] = torch.zeros(buffer.shape, dtype=buffer.dtype)


def is_shapes_folder(path: Path) -> bool:
    return (path / WEIGHTS_FILE).is_file() and (path / CONFIG_FILE).is_file()


def load_shapes_pipeline(folder: str | Path | None = None):
    """The trained shapes pipeline (shipped weights unless ``folder`` names other saved weights)."""
    folder = Path(folder) if folder is not None else shipped_weights_folder()
    components = load_shapes_components(folder)
    pipe = assemble_pipeline(components, json.loads((folder / CONFIG_FILE).read_text()).get("scheduler"))
    pipe.attnmod_world = WORLD  # how the Python API knows a user's pipeline object was trained on the world
    return pipe


def trained_on_world(model) -> bool:
    """Whether ``model`` (a model name or path, a pipeline, or a ``LoadedModel``) is the shapes model or other
    weights trained on the shapes world (a folder written by ``attnmod world train``)."""
    if getattr(model, "attnmod_world", None) == WORLD:
        return True
    if hasattr(model, "pipeline"):
        return trained_on_world(model.pipeline) or trained_on_world(model.name)
    if not isinstance(model, (str, Path)):
        return False
    return str(model) == "shapes" or is_shapes_folder(Path(model).expanduser())


def vocabulary_warning(model, prompt: str) -> str | None:
    """One line naming the words of ``prompt`` that a model trained on the shapes world never saw (None when the
    model is another one or every word is known)."""
    from ..shapes_world import out_of_vocabulary

    words = out_of_vocabulary(prompt) if trained_on_world(model) else []
    if not words:
        return None
    listed = ", ".join(repr(word) for word in words)
    verb = "is" if len(words) == 1 else "are"
    return (
        f"{listed} {verb} outside the shapes model's vocabulary (it knows only the shapes world's shapes, colours, "
        "sizes and relations; see docs/shapes.md): for other prompts use real SDXL weights, --model PATH_OR_HUB_ID "
        "(load_model(PATH_OR_HUB_ID) in Python)"
    )
