"""Image-level scores: CLIP score, FID and a learned preference score, all from local weights.

Nothing here downloads anything. Every model comes from a local path or the local Hugging Face cache
(``local_files_only=True``); when it is missing the error names the file or model and how to obtain it.

* **CLIP score** (Hessel et al. 2021, as torchmetrics' ``CLIPScore``): per image-caption pair
  ``100 * max(cos(E_image, E_caption), 0)``, with E the projected CLIP embeddings. Units: 0..100, higher is better.
  The per-item values come from torchmetrics' CLIPScore update function, handed the locally loaded model, so no
  model name is ever resolved on the hub.
* **Captions past the CLIP context** (77 tokens for CLIP) are truncated explicitly: the tokenizer keeps the start
  token, the first 75 caption tokens and the end token (CLIP pools the end token's state, so cutting it off would
  pool the wrong position silently). Each truncated caption is reported.
* **FID** (Heusel et al. 2017): ``||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))`` between Gaussian fits of
  feature vectors of reference (r) and generated (g) images, computed by torchmetrics' FrechetInceptionDistance with
  a feature network from a local file (see :func:`attnmod.analysis.fid.load_feature_model`) instead of the Inception weights it would
  otherwise download. Units: squared feature units; lower is better; only comparable between runs that use the same
  feature network, image size and reference set.
* **Preference score**: a CLIP-form preference model (PickScore-style: a transformers CLIPModel folder trained on
  human preferences), reward ``= exp(logit_scale) * cos(E_image, E_caption)``; higher is better.
* **Bootstrap confidence intervals** of a mean: percentile bootstrap over items.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from ..toolkit.errors import AttnmodError

DEFAULT_CLIP_MODEL = "openai/clip-vit-large-patch14"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".ts", ".jit", ".torchscript")
EXPORT_SUFFIXES = (".pt2",)
STATISTICS_SUFFIXES = (".npz", ".safetensors")

# ViT (width, depth) -> the names CLIP releases use, so that an output says "ViT-L/14" rather than a path.
_VIT_SIZES = {(768, 12): "B", (1024, 24): "L", (1280, 32): "H", (1408, 40): "g", (1664, 48): "bigG"}

_CLIP_FOLDER_HINT = (
    "A CLIP folder is what `CLIPModel.save_pretrained(folder)` and `CLIPProcessor.save_pretrained(folder)` write "
    "(config.json, model.safetensors, preprocessor_config.json or processor_config.json, tokenizer files)."
)


def _obtain_hint(name: str) -> str:
    return (
        f"Nothing is downloaded at evaluation time: fetch {name!r} once on a machine with internet access "
        f"(`hf download {name}` or `huggingface-cli download {name}` fills the local cache; copy the cache or the "
        "folder here), or pass a local folder."
    )


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _looks_like_path(spec: str) -> bool:
    """Hub ids are ``name`` or ``owner/name``; anything else that is not on disk is a mistyped path."""
    return spec.startswith((".", "/", "~")) or spec.count("/") > 1 or "\\" in spec


# ---------------------------------------------------------------------------------------------- images


def read_image_tensor(path: str | Path):
    """Read an image file as a ``uint8`` tensor ``[3, H, W]`` (RGB)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError) as error:
        raise AttnmodError(f"could not read image {str(path)!r}: {_first_line(error)}") from error
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def read_fid_batch(paths: Sequence[str | Path], image_size: int):
    """Read images as one ``uint8`` batch ``[N, 3, S, S]`` for a feature network.

    Every image is resized to ``image_size`` x ``image_size`` with PIL's bicubic filter (the reference and the
    generated images go through the same resize, so FID compares like with like). ``image_size=0`` keeps the
    original sizes, which must then agree.
    """
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    arrays = []
    for path in paths:
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
                if image_size and rgb.size != (image_size, image_size):
                    rgb = rgb.resize((image_size, image_size), Image.Resampling.BICUBIC)
                arrays.append(np.asarray(rgb, dtype=np.uint8))
        except (OSError, UnidentifiedImageError) as error:
            raise AttnmodError(f"could not read image {str(path)!r}: {_first_line(error)}") from error
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise AttnmodError(
            f"images of different sizes in one FID batch ({sorted(shapes)}): set an FID image size (e.g. 299)"
        )
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def list_images(folder: str | Path) -> list[Path]:
    """Image files under ``folder`` (recursively), sorted by path."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _batches(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ------------------------------------------------------------------------------------------- bootstrap


def bootstrap_mean_interval(
    values: Sequence[float],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    groups: Sequence | None = None,
) -> dict:
    """Mean of ``values`` with a percentile-bootstrap confidence interval.

    Draws ``resamples`` samples of ``n`` values with replacement, takes each sample's mean, and returns the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of those means as ``low`` and ``high``.
    With ``groups`` (a label per value, such as its prompt) whole groups are drawn instead
    (:func:`attnmod.analysis.statistics.bootstrap_ci_grouped`): the seeds of one prompt are not independent.
    Returns ``{"mean", "low", "high", "n"}``; with no values every number is None. NaN values are dropped.
    (:func:`attnmod.analysis.statistics.bootstrap_ci` in the form evaluation.json stores.)
    """
    from .statistics import bootstrap_ci, bootstrap_ci_grouped, finite_values

    count = int(finite_values(values).size)
    if groups is None:
        mean, low, high = bootstrap_ci(values, resamples, confidence, seed)
    else:
        mean, low, high = bootstrap_ci_grouped(values, groups, resamples, confidence, seed)
    if count == 0:
        return {"mean": None, "low": None, "high": None, "n": 0}
    return {"mean": mean, "low": low, "high": high, "n": count}


# ------------------------------------------------------------------------------------------------ CLIP


@dataclasses.dataclass
class ClipModelBundle:
    """A CLIP model and processor loaded from local files, with what an output must say about them."""

    model: object  # transformers CLIPModel, in eval mode on ``device``
    processor: object  # transformers CLIPProcessor
    name: str  # what the user passed: a folder or a hub id
    backbone: str  # e.g. "ViT-L/14"
    context_length: int  # text positions, 77 for CLIP
    device: str


def clip_backbone_name(config) -> str:
    """Name a CLIP vision tower the way CLIP releases do (``ViT-B/32``, ``ViT-L/14``, ``ViT-L/14@336px``)."""
    vision = config.vision_config
    size = _VIT_SIZES.get((vision.hidden_size, vision.num_hidden_layers))
    name = (
        f"ViT-{size}/{vision.patch_size}"
        if size
        else f"ViT(width={vision.hidden_size}, layers={vision.num_hidden_layers})/{vision.patch_size}"
    )
    if vision.image_size != 224:
        name += f"@{vision.image_size}px"
    return name


def load_clip(
    name_or_path: str, device: str = "cpu", role: str = "CLIP model", allow_pickle: bool = False
) -> ClipModelBundle:
    """Load a transformers CLIPModel and its CLIPProcessor from a local folder or the local hub cache.

    ``role`` names the model in error messages ("CLIP model", "reward model"). Never downloads. Weights are read
    from safetensors only unless ``allow_pickle`` (the package's one pickle policy:
    :func:`attnmod.toolkit.models.loading.check_pickle_policy`).
    """
    from ..toolkit.models.loading import check_pickle_policy

    path = Path(name_or_path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise AttnmodError(f"{role} {name_or_path!r} is a file; pass its folder. {_CLIP_FOLDER_HINT}")
        config_file = path / "config.json"
        if not config_file.is_file():
            raise AttnmodError(f"{role} folder {name_or_path!r} has no config.json. {_CLIP_FOLDER_HINT}")
        try:
            model_type = json.loads(config_file.read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError) as error:
            raise AttnmodError(f"could not read {str(config_file)!r}: {_first_line(error)}") from error
        if model_type != "clip":
            found = f"a {model_type!r} model" if model_type else "a config.json without a model_type"
            raise AttnmodError(f"{role} folder {name_or_path!r} holds {found}, not a CLIP model. {_CLIP_FOLDER_HINT}")
        check_pickle_policy(path, allow_pickle, f"the {role}'s weights")
        source, hint = str(path), _CLIP_FOLDER_HINT
    elif _looks_like_path(name_or_path):
        raise AttnmodError(f"{role} path {name_or_path!r} does not exist. {_CLIP_FOLDER_HINT}")
    else:
        source, hint = name_or_path, _obtain_hint(name_or_path)

    from transformers import CLIPModel, CLIPProcessor

    try:
        with _no_transformers_progress_bars():
            model = CLIPModel.from_pretrained(source, local_files_only=True, use_safetensors=not allow_pickle or None)
    except (OSError, ValueError) as error:
        where = "in the local Hugging Face cache" if source == name_or_path and not path.exists() else "loadable"
        raise AttnmodError(f"{role} {name_or_path!r} is not {where} ({_first_line(error)}). {hint}") from error
    try:
        processor = CLIPProcessor.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError, TypeError) as error:
        raise AttnmodError(
            f"{role} {name_or_path!r} has weights but no usable processor ({_first_line(error)}): it needs "
            "preprocessor_config.json (or processor_config.json) and the tokenizer files of its CLIP. " + hint
        ) from error
    model = model.eval().to(device)
    return ClipModelBundle(
        model=model,
        processor=processor,
        name=name_or_path,
        backbone=clip_backbone_name(model.config),
        context_length=int(model.config.text_config.max_position_embeddings),
        device=str(device),
    )


@contextlib.contextmanager
def _no_transformers_progress_bars():
    """transformers 5 draws a "Loading weights" bar on stderr for every load; a tiny evaluator load is not news."""
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


def _projected(output):
    """transformers 5 returns a ModelOutput from ``get_*_features`` (projection in ``pooler_output``); 4.x a tensor."""
    return output if hasattr(output, "norm") else output.pooler_output


class _ClipFeatures(torch.nn.Module):
    """``get_image_features`` and ``get_text_features`` returning tensors (transformers 5 returns ModelOutputs)."""

    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    @property
    def config(self):
        return self.clip.config

    def get_image_features(self, pixel_values):
        return _projected(self.clip.get_image_features(pixel_values=pixel_values))

    def get_text_features(self, input_ids, attention_mask=None):
        return _projected(self.clip.get_text_features(input_ids=input_ids, attention_mask=attention_mask))


class _TruncatingProcessor:
    """Wraps a CLIPProcessor so that text is always cut to the context explicitly.

    The tokenizer's own truncation keeps the special tokens: start, the first ``context - 2`` caption tokens, end.
    """

    def __init__(self, processor, context_length: int):
        self.processor = processor
        self.context_length = context_length

    def __call__(self, *args, **kwargs):
        if kwargs.get("text") is not None:
            kwargs["truncation"] = True
            kwargs["max_length"] = self.context_length
        return self.processor(*args, **kwargs)


@dataclasses.dataclass
class ClipScores:
    """Scores of one batch of image-caption pairs, in input order."""

    cosine: list[float]  # cos(E_image, E_caption), -1..1
    truncated: list[bool]  # caption longer than the context and cut to it
    token_counts: list[int]  # caption tokens with start and end, before truncation

    @property
    def clip_score(self) -> list[float]:
        """``100 * max(cos, 0)`` per pair."""
        return [100.0 * max(c, 0.0) for c in self.cosine]


class ClipScorer:
    """Batched CLIP cosine similarities, with explicit truncation: ``cos(E_image, E_caption)`` per pair, the quantity
    torchmetrics' ``CLIPScore`` averages (``100 * max(mean cos, 0)``).

    torchmetrics' public ``clip_score``/``CLIPScore`` are not used: they resolve a model name (1.9 takes one of its
    known hub names or a callable, not a folder path) and average over the batch, while a run needs each pair's
    value from a locally loaded model. The features are computed as torchmetrics computes them (the processor's
    pixels and padded tokens, L2-normalised projections); benchmarks/evaluate_clip_batching.py compares the two.
    """

    def __init__(self, bundle: ClipModelBundle):
        self.bundle = bundle
        self.tokenizer = bundle.processor.tokenizer
        self.model = _ClipFeatures(bundle.model)
        self.processor = _TruncatingProcessor(bundle.processor, bundle.context_length)

    def token_count(self, caption: str) -> int:
        """Tokens of ``caption`` with the start and end tokens, before any truncation."""
        # verbose=False: the "sequence longer than the maximum" notice is what we report ourselves.
        return len(self.tokenizer(caption, truncation=False, verbose=False)["input_ids"])

    def score(self, images: Sequence, captions: Sequence[str]) -> ClipScores:
        """Cosine similarities of ``images`` (``uint8 [3, H, W]`` tensors) with ``captions``, pair by pair."""
        if len(images) != len(captions):
            raise AttnmodError(f"{len(images)} images but {len(captions)} captions")
        counts = [self.token_count(c) for c in captions]
        device = torch.device(self.bundle.device)
        with torch.inference_mode():
            pixels = self.processor(images=[image.cpu() for image in images], return_tensors="pt", padding=True)
            text = self.processor(text=list(captions), return_tensors="pt", padding=True)
            model = self.model.to(device)
            image_features = model.get_image_features(pixels["pixel_values"].to(device))
            text_features = model.get_text_features(text["input_ids"].to(device), text["attention_mask"].to(device))
            image_features = image_features / image_features.norm(p=2, dim=-1, keepdim=True)
            text_features = text_features / text_features.norm(p=2, dim=-1, keepdim=True)
            # 100 * cos per pair (before the clamp at 0, which CLIPScore applies to the mean only)
            raw = 100 * (image_features * text_features).sum(dim=-1)
        return ClipScores(
            cosine=[float(v) / 100.0 for v in raw.detach().float().cpu()],
            truncated=[n > self.bundle.context_length for n in counts],
            token_counts=counts,
        )


class PreferenceScorer:
    """A CLIP-form learned preference model (PickScore-style): reward = ``exp(logit_scale) * cos``."""

    kind = "clip-preference"

    def __init__(self, bundle: ClipModelBundle):
        self.bundle = bundle
        self.clip = ClipScorer(bundle)
        self.scale = float(bundle.model.logit_scale.detach().exp())

    def score(self, images: Sequence, captions: Sequence[str]) -> list[float]:
        return [self.scale * c for c in self.clip.score(images, captions).cosine]


def load_reward_model(path: str, device: str = "cpu", allow_pickle: bool = False) -> PreferenceScorer:
    """Load a local learned preference model.

    Accepted: a transformers CLIPModel folder trained as a preference model (PickScore's release has this form;
    put its CLIP processor files in the same folder). ImageReward's own BLIP checkpoint (``ImageReward.pt`` with
    ``med_config.json``) is recognised and refused with a message, because its architecture is not implemented here.
    """
    location = Path(path).expanduser()
    if not location.exists():
        raise AttnmodError(
            f"reward model {path!r} does not exist. Pass a local folder holding a CLIP-form preference model "
            "(PickScore-style CLIPModel weights + processor files); nothing is downloaded."
        )
    blip_markers = ("ImageReward.pt", "med_config.json")
    if (location.is_file() and location.name.lower().startswith("imagereward")) or any(
        (location / marker).exists() for marker in blip_markers
    ):
        raise AttnmodError(
            f"reward model {path!r} looks like ImageReward's BLIP checkpoint, which attnmod cannot run yet: "
            "pass a CLIP-form preference model folder (PickScore-style) instead."
        )
    if location.is_file():
        raise AttnmodError(
            f"reward model {path!r} is a file: pass the folder of a CLIP-form preference model "
            "(config.json, weights and processor files)."
        )
    return PreferenceScorer(load_clip(str(location), device=device, role="reward model", allow_pickle=allow_pickle))
