"""The shapes judge: reads a generated image back against its scene's truth.

:mod:`.pixels` (colour names and connected components), :mod:`.shapes` (the shape classifier), :mod:`.objects`
(objects from pixels), :mod:`.image` (the per-object and per-image verdicts), :mod:`.training` (training the shape
classifier), :mod:`.evaluation` (judging a run's images). ``judge_image``, ``JudgeResult`` and ``ObjectVerdict`` are
importable from here; they are looked up on first use.
"""

from __future__ import annotations

import importlib

_IMAGE = ("JudgeResult", "ObjectVerdict", "judge_image")

__all__ = list(_IMAGE)


def __getattr__(name: str):
    if name in _IMAGE:
        return getattr(importlib.import_module(".image", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
