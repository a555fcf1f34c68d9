"""The shapes-world judge's labels of one image: which objects are missing or wrongly coloured, and whether objects
merged or a colour leaked into another object."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# ---- the judge ----


def _field(thing, *names, default=None):
    for name in names:
        if isinstance(thing, dict) and name in thing:
            return thing[name]
        if not isinstance(thing, dict) and hasattr(thing, name):
            return getattr(thing, name)
    return default


def judge_labels(verdict, objects: int) -> dict:
    """The judge's verdict as labels: ``{"missing": [bool|None], "wrong_colour": [bool|None], "merged": bool|None,
    "leaked": bool|None, "masks": [array|None]}`` per object in caption order (``leaked``: the judge's image-level
    leakage verdict, None for a judge without one). Reads the judge's fields by name (``objects`` rows with
    ``found``/``present``/``missing``, ``colour_correct``/``colour_ok``/``wrong_colour``, ``mask``; a ``merged``
    flag on the verdict or on the objects)."""
    rows = list(_field(verdict, "objects", default=[]) or [])
    missing, wrong, masks, merged_objects = [], [], [], []
    for index in range(objects):
        row = rows[index] if index < len(rows) else None
        if row is None:
            missing.append(None)
            wrong.append(None)
            masks.append(None)
            continue
        found = _field(row, "found", "present")
        gone = _field(row, "missing")
        is_missing = bool(gone) if gone is not None else (None if found is None else not bool(found))
        correct = _field(row, "colour_correct", "colour_ok", "color_correct")
        wrong_flag = _field(row, "wrong_colour", "wrong_color")
        is_wrong = bool(wrong_flag) if wrong_flag is not None else (None if correct is None else not bool(correct))
        if is_missing:
            is_wrong = None  # the colour of an object that is not there cannot be judged
        missing.append(is_missing)
        wrong.append(is_wrong)
        mask = _field(row, "mask")
        masks.append(None if mask is None else np.asarray(mask, dtype=bool))
        merged_objects.append(_field(row, "merged"))
    merged = _field(verdict, "merged")
    leaked = _field(verdict, "leaked")
    if merged is None and any(flag is not None for flag in merged_objects):
        merged = any(bool(flag) for flag in merged_objects)
    return {
        "missing": missing,
        "wrong_colour": wrong,
        "merged": None if merged is None else bool(merged),
        "leaked": None if leaked is None else bool(leaked),
        "masks": masks,
    }


def load_judge(required: bool) -> Callable | None:
    try:
        from attnmod.analysis.judge.image import judge_image
    except ImportError as error:
        if required:
            raise SystemExit(f"score_validity: the shapes judge is not available ({error}); use --no-judge") from None
        return None
    return judge_image
