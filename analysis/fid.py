"""FID (Heusel et al. 2017) from a local feature network: ``||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``
between Gaussian fits of feature vectors of reference (r) and generated (g) images.

torchmetrics' FrechetInceptionDistance does the statistics, with a feature network from a local file (see
:func:`load_feature_model`) instead of the Inception weights it would otherwise download. Units: squared feature
units; lower is better; only comparable between runs that use the same feature network, image size and reference set.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import torch

from ..toolkit.errors import AttnmodError
from .image_metrics import (
    EXPORT_SUFFIXES,
    _batches,
    _first_line,
    read_fid_batch,
)

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
            from ..toolkit.run_files import write_safetensors_atomic

            tensors = {"mu": self.mean.contiguous(), "sigma": self.covariance.contiguous()}
            tensors["count"] = torch.tensor([self.count], dtype=torch.int64)
            write_safetensors_atomic(target, tensors, metadata={k: str(v) for k, v in self.provenance.items()} or None)
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
    """FID between two Gaussian fits: ``||mu_r - mu_g||^2 + Tr(S_r) + Tr(S_g) - 2 Tr((S_r S_g)^(1/2))``, the trace of
    the matrix square root taken as the sum of the square roots of the eigenvalues of ``S_r S_g`` (real parts), as
    torchmetrics' FrechetInceptionDistance computes it."""
    if reference.dimension != generated.dimension:
        raise AttnmodError(
            f"FID reference has {reference.dimension} features per image but the feature model gives "
            f"{generated.dimension}: the reference statistics must come from the same feature model"
        )
    squared = (reference.mean - generated.mean).square().sum(dim=-1)
    traces = reference.covariance.trace() + generated.covariance.trace()
    root = torch.linalg.eigvals(reference.covariance @ generated.covariance).sqrt().real.sum(dim=-1)
    return float(squared + traces - 2 * root)


def environment_fid_model() -> str | None:
    """The FID feature model named by ``ATTNMOD_FID_MODEL``, if set (a local path)."""
    return os.environ.get("ATTNMOD_FID_MODEL") or None
