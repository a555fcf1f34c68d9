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
  a feature network from a local file (see :func:`load_feature_model`) instead of the Inception weights it would
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
import os
import warnings
import zipfile
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
    values: Sequence[float], resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> dict:
    """Mean of ``values`` with a percentile-bootstrap confidence interval.

    Draws ``resamples`` samples of ``n`` values with replacement, takes each sample's mean, and returns the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of those means as ``low`` and ``high``.
    Returns ``{"mean", "low", "high", "n"}``; with no values every number is None. NaN values are dropped.
    (:func:`attnmod.analysis.statistics.bootstrap_ci` in the form evaluation.json stores.)
    """
    from .statistics import bootstrap_ci, finite_values

    count = int(finite_values(values).size)
    mean, low, high = bootstrap_ci(values, resamples, confidence, seed)
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


def load_clip(name_or_path: str, device: str = "cpu", role: str = "CLIP model") -> ClipModelBundle:
    """Load a transformers CLIPModel and its CLIPProcessor from a local folder or the local hub cache.

    ``role`` names the model in error messages ("CLIP model", "reward model"). Never downloads.
    """
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
        source, hint = str(path), _CLIP_FOLDER_HINT
    elif _looks_like_path(name_or_path):
        raise AttnmodError(f"{role} path {name_or_path!r} does not exist. {_CLIP_FOLDER_HINT}")
    else:
        source, hint = name_or_path, _obtain_hint(name_or_path)

    from transformers import CLIPModel, CLIPProcessor

    try:
        with _no_transformers_progress_bars():
            model = CLIPModel.from_pretrained(source, local_files_only=True)
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
    """The CLIP-compatible object torchmetrics' CLIPScore expects: ``get_image_features`` and
    ``get_text_features`` returning tensors (transformers 5 returns ModelOutputs, which torchmetrics 1.9 cannot
    normalise), and ``config`` for its context-length check."""

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
    """Batched CLIP cosine similarities through torchmetrics' CLIPScore update function, with explicit truncation.

    torchmetrics' ``CLIPScore`` object itself is not built: its constructor resolves a model name (1.9 takes one of
    its known hub names or a callable, not a folder path), while the update function
    takes any CLIP-compatible model and processor, which is what a local folder gives.
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
        from torchmetrics.functional.multimodal.clip_score import _clip_score_update

        if len(images) != len(captions):
            raise AttnmodError(f"{len(images)} images but {len(captions)} captions")
        counts = [self.token_count(c) for c in captions]
        device = torch.device(self.bundle.device)
        with torch.inference_mode():
            # Returns 100 * cos per pair (before the clamp at 0, which CLIPScore applies to the mean only).
            raw, _ = _clip_score_update(
                [image.to(device) for image in images], list(captions), self.model, self.processor
            )
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


def load_reward_model(path: str, device: str = "cpu") -> PreferenceScorer:
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
    return PreferenceScorer(load_clip(str(location), device=device, role="reward model"))


# ------------------------------------------------------------------------------------------------- FID


_FEATURE_MODEL_HINT = (
    "The FID feature network must be a local TorchScript file (.pt/.pth/.ts, from torch.jit.save) or a torch.export "
    "program (.pt2) whose forward maps uint8 images [N, 3, H, W] (0..255) to features [N, D]; a forward argument "
    "named return_features is set to True (the convention of the TorchScript FID Inception published with "
    "StyleGAN2-ADA, inception-2015-12-05.pt). Nothing is downloaded: obtain the file once and pass its path."
)


def load_feature_model(path: str | Path, device: str = "cpu", image_size: int = 299):
    """Load an FID feature network from a local file and wrap it for torchmetrics' FrechetInceptionDistance.

    Accepted formats: TorchScript (``torch.jit.save``; any suffix, recognised by its archive layout) and
    ``torch.export`` programs (``.pt2``). The network takes ``uint8 [N, 3, H, W]`` images and returns
    ``[N, D]`` features. Pickled modules and bare state dicts are not accepted (a state dict needs an
    architecture, and pickles can run code). The module is probed once with a black ``image_size`` batch to learn D.
    """
    location = Path(path).expanduser()
    if not location.is_file():
        raise AttnmodError(f"FID feature model {str(path)!r} does not exist. {_FEATURE_MODEL_HINT}")
    suffix = location.suffix.lower()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load is deprecated, TorchScript is not gone
            if suffix in EXPORT_SUFFIXES:
                network = torch.export.load(str(location)).module()
                accepts_flag = False
            elif zipfile.is_zipfile(location) and _is_torchscript_archive(location):
                network = torch.jit.load(str(location), map_location=device).eval()
                accepts_flag = "return_features" in [a.name for a in network.forward.schema.arguments]
            else:
                raise AttnmodError(
                    f"FID feature model {str(path)!r} is neither a TorchScript archive nor a torch.export program "
                    f"(.pt2). {_FEATURE_MODEL_HINT}"
                )
    except AttnmodError:
        raise
    except Exception as error:  # noqa: BLE001 - torch raises RuntimeError, ValueError and more for a bad archive
        raise AttnmodError(f"could not load FID feature model {str(path)!r}: {_first_line(error)}") from error
    extractor = _FeatureExtractor(network, accepts_flag).to(device)
    extractor.eval()
    extractor.device = str(device)
    extractor.source = str(path)
    probe = torch.zeros((1, 3, image_size or 299, image_size or 299), dtype=torch.uint8, device=device)
    try:
        with torch.inference_mode():
            features = extractor(probe)
    except Exception as error:  # noqa: BLE001 - a user network can fail in any way on our input
        raise AttnmodError(
            f"FID feature model {str(path)!r} failed on a uint8 batch [1, 3, {probe.shape[-1]}, {probe.shape[-1]}]: "
            f"{_first_line(error)}. {_FEATURE_MODEL_HINT}"
        ) from error
    if features.dim() != 2 or features.shape[0] != 1:
        raise AttnmodError(
            f"FID feature model {str(path)!r} returned shape {tuple(features.shape)} for one image; expected [1, D]"
        )
    extractor.num_features = int(features.shape[1])
    return extractor


def _is_torchscript_archive(location: Path) -> bool:
    with zipfile.ZipFile(location) as archive:
        return any("/code/" in name or name.startswith("code/") for name in archive.namelist())


class _FeatureExtractor(torch.nn.Module):
    """Calls the user's network with ``return_features=True`` where it takes that flag; output ``[N, D]``."""

    def __init__(self, network, accepts_flag: bool):
        super().__init__()
        self.network = network
        self.accepts_flag = accepts_flag
        self.device = "cpu"  # where the network and its inputs live, set by load_feature_model
        self.source = ""  # the file it came from
        self.num_features = 0  # set after the probe; torchmetrics reads it instead of running a 299 px dummy image

    def train(self, mode: bool = True):
        # The network stays in inference mode whatever a caller asks (batch norm must keep its running statistics);
        # torch.export programs refuse train() altogether.
        self.training = mode
        return self

    def forward(self, images):
        output = self.network(images, return_features=True) if self.accepts_flag else self.network(images)
        return output.reshape(output.shape[0], -1) if output.dim() > 2 else output


@dataclasses.dataclass
class FeatureStatistics:
    """Gaussian fit of feature vectors: ``mean`` [D] and unbiased ``covariance`` [D, D] (float64), over ``count``."""

    mean: object  # torch.Tensor
    covariance: object  # torch.Tensor
    count: int
    # How the features were made ("feature_model", "image_size"); kept in .safetensors metadata, not in .npz.
    provenance: dict = dataclasses.field(default_factory=dict)

    @property
    def dimension(self) -> int:
        return int(self.mean.shape[0])

    def save(self, path: str | Path) -> Path:
        """Write ``mu``, ``sigma`` (and ``count``) as ``.safetensors`` or ``.npz`` (the pytorch-fid key names)."""
        import numpy as np

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix == ".npz":
            np.savez(target, mu=self.mean.numpy(), sigma=self.covariance.numpy(), count=np.int64(self.count))
        elif target.suffix == ".safetensors":
            from safetensors.torch import save_file

            tensors = {"mu": self.mean.contiguous(), "sigma": self.covariance.contiguous()}
            tensors["count"] = torch.tensor([self.count], dtype=torch.int64)
            save_file(tensors, str(target), metadata={k: str(v) for k, v in self.provenance.items()} or None)
        else:
            raise AttnmodError(f"statistics file {str(path)!r}: use a .npz or .safetensors name")
        return target

    @classmethod
    def load(cls, path: str | Path) -> FeatureStatistics:
        """Read ``mu`` [D] and ``sigma`` [D, D] from ``.npz`` (no pickles) or ``.safetensors``; ``count`` optional."""
        import numpy as np

        source = Path(path).expanduser()
        if not source.is_file():
            raise AttnmodError(f"FID statistics file {str(path)!r} does not exist")
        provenance: dict = {}
        try:
            if source.suffix == ".npz":
                with np.load(source, allow_pickle=False) as data:
                    arrays = {key: data[key] for key in data.files}
                arrays = {key: torch.from_numpy(np.asarray(value)) for key, value in arrays.items()}
            elif source.suffix == ".safetensors":
                from safetensors import safe_open
                from safetensors.torch import load_file

                arrays = load_file(str(source))
                with safe_open(str(source), framework="pt") as handle:
                    provenance = dict(handle.metadata() or {})
            else:
                raise AttnmodError(f"FID statistics {str(path)!r}: expected a .npz or .safetensors file")
        except AttnmodError:
            raise
        except Exception as error:  # noqa: BLE001 - numpy and safetensors raise several types for a bad file
            raise AttnmodError(f"could not read FID statistics {str(path)!r}: {_first_line(error)}") from error
        missing = [key for key in ("mu", "sigma") if key not in arrays]
        if missing:
            raise AttnmodError(
                f"FID statistics {str(path)!r} lacks {', '.join(missing)}: it needs mu [D] and sigma [D, D] "
                f"(found {', '.join(sorted(arrays)) or 'nothing'})"
            )
        mean = arrays["mu"].to(torch.float64).reshape(-1)
        covariance = arrays["sigma"].to(torch.float64)
        if covariance.shape != (mean.shape[0], mean.shape[0]):
            raise AttnmodError(
                f"FID statistics {str(path)!r}: sigma has shape {tuple(covariance.shape)}, expected "
                f"({mean.shape[0]}, {mean.shape[0]}) for mu of length {mean.shape[0]}"
            )
        count = int(arrays["count"].reshape(-1)[0]) if "count" in arrays else 0
        return cls(mean=mean, covariance=covariance, count=count, provenance=provenance)


def _new_fid_metric(extractor, device):
    from torchmetrics.image.fid import FrechetInceptionDistance

    # A custom nn.Module: torchmetrics then never builds (or downloads) its Inception network.
    return FrechetInceptionDistance(feature=extractor, normalize=False).to(device)


def feature_statistics(
    extractor,
    image_paths: Sequence[str | Path],
    image_size: int = 299,
    batch_size: int = 16,
    progress: bool = False,
    description: str = "FID features",
) -> FeatureStatistics:
    """Gaussian fit of ``extractor`` features over ``image_paths``.

    The sums are accumulated by torchmetrics' FrechetInceptionDistance (sum of features and of outer products, in
    float64), so memory stays ``O(D^2)`` whatever the number of images. Needs at least two images.
    """
    from tqdm.auto import tqdm

    if len(image_paths) < 2:
        raise AttnmodError(f"{description}: FID needs at least two images, got {len(image_paths)}")
    device = extractor.device
    metric = _new_fid_metric(extractor, device)
    batches = list(_batches(list(image_paths), batch_size))
    with torch.inference_mode():
        for batch in tqdm(batches, desc=description, disable=not progress, unit="batch"):
            metric.update(read_fid_batch(batch, image_size).to(device), real=True)
    count = int(metric.real_features_num_samples)
    mean = (metric.real_features_sum / count).cpu()
    covariance = ((metric.real_features_cov_sum.cpu() - count * torch.outer(mean, mean)) / (count - 1)).cpu()
    provenance = {"image_size": image_size, "feature_model": getattr(extractor, "source", "")}
    return FeatureStatistics(mean=mean, covariance=covariance, count=count, provenance=provenance)


def frechet_distance(reference: FeatureStatistics, generated: FeatureStatistics) -> float:
    """FID between two Gaussian fits: ``||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))`` (torchmetrics' formula,
    trace of the matrix square root from the eigenvalues of ``S_r S_g``)."""
    from torchmetrics.image.fid import _compute_fid

    if reference.dimension != generated.dimension:
        raise AttnmodError(
            f"FID reference has {reference.dimension} features per image but the feature model gives "
            f"{generated.dimension}: the reference statistics must come from the same feature model"
        )
    value = _compute_fid(reference.mean, reference.covariance, generated.mean, generated.covariance)
    return float(value)


def environment_fid_model() -> str | None:
    """The FID feature model named by ``ATTNMOD_FID_MODEL``, if set (a local path)."""
    return os.environ.get("ATTNMOD_FID_MODEL") or None
