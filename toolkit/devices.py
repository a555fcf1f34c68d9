"""Device and dtype choice: ``auto`` means the GPU in half precision when there is one, else fp32 CPU."""

from __future__ import annotations

from .errors import AttnmodError

DTYPE_NAMES = ("auto", "float32", "float16", "bfloat16")


def resolve_device(name: str = "auto"):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise AttnmodError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AttnmodError(f"device {name!r} asked for, but no CUDA GPU is available: use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise AttnmodError(f"unsupported device {name!r}: use auto, cpu, cuda or cuda:N")
    return device


def resolve_dtype(name: str, device) -> object:
    """fp32 on CPU for ``auto``; on GPU bf16 where supported, else fp16."""
    import torch

    if name not in DTYPE_NAMES:
        raise AttnmodError(f"unknown dtype {name!r}: use one of {', '.join(DTYPE_NAMES)}")
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return getattr(torch, name)
