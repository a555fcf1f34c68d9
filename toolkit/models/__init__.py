"""The models: building and loading pipelines (:mod:`.loading`), the Euler scheduler and noise schedules
(:mod:`.schedulers`), building large models without memory (:mod:`.deferred_init`) and the shapes model
(:mod:`.shapes`).

The loading functions are importable from here, as docs/api.md shows (``from attnmod.toolkit.models import
build_tiny_sdxl``); they are looked up on first use, so importing a submodule loads nothing else.
"""

from __future__ import annotations

import importlib

_LOADING = (
    "EMBEDDED_MODELS",
    "LoadedModel",
    "build_pipeline",
    "build_sdxl_shaped",
    "build_shapes",
    "build_tiny_sd",
    "build_tiny_sdxl",
    "describe_model",
    "load_model",
)

__all__ = list(_LOADING)


def __getattr__(name: str):
    if name in _LOADING:
        return getattr(importlib.import_module(".loading", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
