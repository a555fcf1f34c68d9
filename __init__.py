"""attnmod: understand, fix and explain multi-object prompts in Stable Diffusion XL.

The Python API (docs/api.md) for your own diffusers pipeline::

    import attnmod

    with attnmod.modulate(pipe, "full", prompts="a red car and a white sheep") as session:
        image = pipe("a red car and a white sheep").images[0]
    scores = attnmod.score(session.record)

Names are imported on first use, so ``import attnmod`` stays fast and loads no torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it (relative to this package)
_EXPORTS = {
    "parse": ".api",
    "modulate": ".api",
    "trace": ".api",
    "score": ".api",
    "diagnose": ".api",
    "probe": ".api",
    "Probe": ".api.probing",
    "Session": ".api.session",
    "HeatMaps": ".api.heat_maps",
    "Scores": ".api.scores",
    "Diagnosis": ".api.diagnosis",
    "PromptTree": ".toolkit.prompt.tree",
    "AttentionRecord": ".toolkit.modulation.record",
    "ModulationConfig": ".toolkit.modulation.config",
    "Thresholds": ".analysis.thresholds",
    "AttnmodError": ".toolkit.errors",
}

__all__ = [
    "AttentionRecord",
    "AttnmodError",
    "Diagnosis",
    "HeatMaps",
    "ModulationConfig",
    "Probe",
    "PromptTree",
    "Scores",
    "Session",
    "Thresholds",
    "__version__",
    "diagnose",
    "modulate",
    "parse",
    "probe",
    "score",
    "trace",
]

if TYPE_CHECKING:
    from .analysis.thresholds import Thresholds
    from .api import diagnose, modulate, parse, probe, score, trace
    from .api.diagnosis import Diagnosis
    from .api.heat_maps import HeatMaps
    from .api.probing import Probe
    from .api.scores import Scores
    from .api.session import Session
    from .toolkit.errors import AttnmodError
    from .toolkit.modulation.config import ModulationConfig
    from .toolkit.modulation.record import AttentionRecord
    from .toolkit.prompt.tree import PromptTree


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'attnmod' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
