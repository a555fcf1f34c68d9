"""What the judge sees in a diagnosis: the ``truth`` section of ``diagnosis.json`` and the lines that lead the output.

When the prompt is a caption of the shapes world and the model was trained on that world, the judge
(:func:`~attnmod.analysis.judge.image.judge_image`) reads each image of the diagnosis against the caption's scene.
:func:`truth_section` turns those readings into plain data: per image whether it is right, per named object whether
it is there, in its colour, merged with another, plus the objects nobody asked for; and sentences a reader takes in
at a glance. Unlike the attention findings, these are facts about the pixels, not predictions from attention.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...toolkit.shapes_world import Scene
from .image import JudgeResult

JUDGE_NAME = "shapes"
#: The per-object fields copied from the judge's verdicts (``leaked`` where the judge reports it).
OBJECT_FIELDS = (
    "shape",
    "colour",
    "size",
    "found",
    "missing",
    "wrong_colour",
    "detected_colour",
    "merged",
    "leaked",
    "foreign_colour",
    "foreign_share",
)
#: The per-image verdicts copied from the judge's result.
IMAGE_FIELDS = (
    "all_correct",
    "present",
    "object_accuracy",
    "colour_binding",
    "missing",
    "wrong_colour",
    "merged",
    "no_extra",
    "counts",
    "relation",
    "size_correct",
    "leaked",
)


def object_line(verdict: Mapping) -> str:
    """One object in words: ``"red circle: present"``, ``"blue square: missing"``, ``"blue square: drawn red (wrong
    colour)"``, ``"blue square: present, partly red (leaked)"`` (another named object's colour inside it), with
    ``", merged with another object"`` where the judge says so."""
    name = f"{verdict['colour']} {verdict['shape']}"
    leaked = bool(verdict.get("leaked"))
    if verdict["missing"]:
        state = "missing"
    elif verdict["wrong_colour"] and leaked:  # mostly another named colour, partly its own
        state = f"drawn mostly {verdict['detected_colour']}, partly {verdict['colour']} (wrong colour, leaked)"
    elif verdict["wrong_colour"]:
        state = f"drawn {verdict['detected_colour']} (wrong colour)"
    elif leaked:
        state = f"present, partly {verdict.get('foreign_colour') or 'another named colour'} (leaked)"
    else:
        state = "present"
    if verdict.get("merged"):
        state += ", merged with another object"
    return f"{name}: {state}"


def image_line(reading: Mapping) -> str:
    """One image in words: each named object, the extra objects, a relation or size that does not hold."""
    parts = [object_line(verdict) for verdict in reading["objects"]]
    if reading["extra"]:
        parts.append("extra: " + ", ".join(reading["extra"]))
    if reading["relation"] is False:
        parts.append("the stated relation does not hold")
    if reading["size_correct"] is False:
        parts.append("a stated size is wrong")
    if not reading["counts"] and not reading["extra"] and all(o["found"] for o in reading["objects"]):
        parts.append("wrong count")
    verdict = "right" if reading["all_correct"] else "wrong"
    return f"{verdict} ({'; '.join(parts)})"


def _reading(result: JudgeResult) -> dict:
    objects = []
    for verdict in result.objects:
        data = verdict.to_json()
        objects.append({field: data[field] for field in OBJECT_FIELDS if field in data})
    # Pieces of a merged blob read as shapes of their own are the merge, already stated, not objects of their own.
    merged_blobs = set(result.merged_blobs)
    extra = [
        f"{d.size} {d.colour} {d.shape}" for d in result.detected if d.named is None and d.blob not in merged_blobs
    ]
    reading = {field: getattr(result, field) for field in IMAGE_FIELDS if hasattr(result, field)}
    reading["objects"] = objects
    reading["extra"] = extra
    reading["seen"] = [f"{d.size} {d.colour} {d.shape}" for d in result.detected]
    reading["line"] = image_line(reading)
    return reading


def compare_line(baseline: Mapping, modulated: Mapping, variant: str) -> str:
    """What the variant did to the image, by the judge: fixed it, broke it, or how many named objects are present
    (shape and colour found) before and after."""
    before, after = baseline["all_correct"], modulated["all_correct"]
    present_before = sum(o["found"] for o in baseline["objects"])
    present_after = sum(o["found"] for o in modulated["objects"])
    total = len(baseline["objects"])
    if not before and after:
        return f"{variant} fixed the image ({present_before} of {total} named objects present without modulation)"
    if before and not after:
        return f"{variant} broke the image ({present_after} of {total} named objects present with it)"
    if before and after:
        return f"both images are right; {variant} changed nothing the judge reads"
    return f"both images are wrong; named objects present: {present_before} of {total} without modulation, {present_after} with {variant}"


def truth_section(scene: Scene, results: Mapping[str, JudgeResult], variants: Mapping[str, str]) -> dict:
    """The ``truth`` section of ``diagnosis.json``: the judge's reading of each image (``results[role]``, roles
    ``baseline`` and ``modulated``, ``variants[role]`` the variant's name) against ``scene``.

    ``{"judge": "shapes", "caption", "objects": [named object, caption order], "images": {role: {the image
    verdicts, "objects": [per named object: shape, colour, size, found, missing, wrong_colour, detected_colour,
    merged, leaked, foreign_colour, foreign_share], "extra": [objects seen that match no named one, outside merged blobs], "seen": [every object seen], "line"}},
    "comparison": sentence, "lines": [what the text output prints first]}``.
    """
    images = {role: _reading(result) for role, result in results.items()}
    lines = []
    labels = {"baseline": f"without modulation ({variants['baseline']})", "modulated": f"with {variants['modulated']}"}
    for role, reading in images.items():
        lines.append(f"{labels.get(role, role)}: {reading['line']}")
    comparison = None
    if "baseline" in images and "modulated" in images:
        comparison = compare_line(images["baseline"], images["modulated"], variants["modulated"])
        lines.append(comparison)
    return {
        "judge": JUDGE_NAME,
        "caption": scene.caption,
        "objects": [f"{o.colour} {o.shape}" for o in scene.objects],
        "images": images,
        "comparison": comparison,
        "lines": lines,
    }
