"""Renders with generation-like degradation, and fitting the judge's shape classifier on them.

:func:`degraded_render` draws a scene the way a small diffusion model might: each object slightly rotated
(``ROTATION`` degrees at most), rescaled (``SCALE``), shifted (``SHIFT`` pixels) and recoloured (``COLOUR_JITTER`` per
channel), then the whole image blurred, brightened or darkened, noised and, half of the time, JPEG-compressed (4:4:4).
The truth masks follow the drawn (jittered) objects; the scene's named sizes stay what the caption says.

:func:`fit_shape_classifier` fits :class:`~attnmod.analysis.judge.shapes.ShapeClassifier` (softmax regression with an L2
penalty, full-batch gradient descent) on the features of objects segmented from such renders and matched to their
truth by mask overlap. ``benchmarks/train_judge.py`` runs it and writes the shipped weights;
``benchmarks/judge_accuracy.py`` measures the judge on renders from other seeds.
"""

from __future__ import annotations

import dataclasses
import io
import math
import random

import numpy as np

from ...toolkit.shapes_world import (
    BACKGROUND,
    COLOURS,
    SHAPES,
    SUPERSAMPLE,
    Scene,
    ShapeObject,
    _stable_seed,
    sample_scene,
    shape_coverage,
)
from .objects import segment
from .shapes import FEATURE_NAMES, ShapeClassifier, shape_features

ROTATION = 12.0  # degrees
SCALE = (0.9, 1.1)
SHIFT = 1.0  # pixels
COLOUR_JITTER = 25.0  # RGB units, uniform per channel and object
BLUR = (0.0, 0.8)  # Gaussian radius in pixels
NOISE = (0.0, 8.0)  # standard deviation, RGB units
BRIGHTNESS = (0.9, 1.1)
JPEG_QUALITY = (50, 95)


def _grid(canvas: int) -> tuple[np.ndarray, np.ndarray]:
    offsets = (np.arange(canvas * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    return np.meshgrid(offsets, offsets)


@dataclasses.dataclass(frozen=True)
class TwoTone:
    """A planted two-tone fill: the part of object ``index`` beyond a straight cut is painted ``colour`` (a palette
    name). The cut runs across the direction ``angle`` (degrees, 0 = towards +x, 90 = towards +y, y down) and
    leaves ``share`` of the object's drawn area (its supersampled points) on the foreign side."""

    index: int
    colour: str
    share: float
    angle: float = 0.0


def jittered_render(
    scene: Scene,
    rotations: list[float],
    scales: list[float],
    shifts: list[tuple[float, float]],
    colours: list,
    two_tone: TwoTone | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``scene`` with each object rotated (degrees), scaled, shifted (pixels) and painted in its own RGB
    colour: ``(image uint8 [H, W, 3], masks bool [N, H, W])``, the masks at half coverage as in ``render_scene``.
    With ``two_tone`` one object is painted in two colours (:class:`TwoTone`); its mask stays the whole object."""
    canvas = scene.canvas
    px, py = _grid(canvas)
    fine = np.empty(px.shape + (3,), dtype=np.float32)
    fine[:] = BACKGROUND
    owner = np.full(px.shape, -1, dtype=np.int16)
    for index, obj in enumerate(scene.objects):
        x, y = obj.x + shifts[index][0], obj.y + shifts[index][1]
        radius = obj.radius * scales[index]
        angle = math.radians(rotations[index])
        cos, sin = math.cos(angle), math.sin(angle)
        side = px.shape[0]
        low_x, high_x = (max(0, min(side, int((x + s * (radius + 1)) * SUPERSAMPLE))) for s in (-1, 1))
        low_y, high_y = (max(0, min(side, int((y + s * (radius + 1)) * SUPERSAMPLE))) for s in (-1, 1))
        box = (slice(low_y, high_y + 1), slice(low_x, high_x + 1))
        dx, dy = px[box] - x, py[box] - y
        # Rotating the sample points the other way rotates the shape.
        covered = shape_coverage(obj.shape, x, y, radius, x + cos * dx + sin * dy, y - sin * dx + cos * dy)
        fine[box][covered] = colours[index]
        if two_tone is not None and two_tone.index == index and covered.any():
            direction = math.radians(two_tone.angle)
            along = (dx * math.cos(direction) + dy * math.sin(direction))[covered]
            cut = np.quantile(along, 1.0 - two_tone.share)
            foreign = np.zeros_like(covered)
            foreign[covered] = along > cut
            fine[box][foreign] = COLOURS[two_tone.colour]
        owner[box][covered] = index
    block = (canvas, SUPERSAMPLE, canvas, SUPERSAMPLE)
    image = fine.reshape(block + (3,)).mean(axis=(1, 3))
    masks = np.stack([(owner == i).reshape(block).mean(axis=(1, 3)) >= 0.5 for i in range(len(scene.objects))])
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), masks


def degrade(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """Blur, brightness, noise and (half of the time) JPEG compression, each drawn from ``rng``."""
    from PIL import Image, ImageFilter

    picture = Image.fromarray(image)
    blur = rng.uniform(*BLUR)
    if blur > 0.05:
        picture = picture.filter(ImageFilter.GaussianBlur(blur))
    array = np.asarray(picture, dtype=np.float32) * rng.uniform(*BRIGHTNESS)
    noise = rng.uniform(*NOISE)
    array += np.random.default_rng(rng.getrandbits(32)).normal(0.0, noise, array.shape)
    array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        buffer = io.BytesIO()
        # Full-resolution chroma (4:4:4): a decoder smooths colour edges but does not halve colour resolution.
        Image.fromarray(array).save(buffer, format="JPEG", quality=rng.randint(*JPEG_QUALITY), subsampling=0)
        array = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.uint8)
    return array


def degraded_render(
    scene: Scene, rng: random.Random, strength: float = 1.0, two_tone: TwoTone | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``scene`` drawn with random jitter and degradation (module docstring), scaled by ``strength`` (0 = clean
    but for the JPEG/noise draws, which also scale): ``(image uint8 [H, W, 3], masks bool [N, H, W])``. With
    ``two_tone``, one object painted in two colours (a planted leak, :class:`TwoTone`)."""
    count = len(scene.objects)
    nested = any(r.relation == "inside" for r in scene.relations)
    rotations = [rng.uniform(-ROTATION, ROTATION) * strength for _ in range(count)]
    scales = [1.0 + (rng.uniform(*SCALE) - 1.0) * strength for _ in range(count)]
    # A nested pair keeps one centre (the inner object must stay inside its container).
    shift = [(rng.uniform(-SHIFT, SHIFT) * strength, rng.uniform(-SHIFT, SHIFT) * strength) for _ in range(count)]
    if nested:
        shift = [shift[0]] * count
    colours = [
        tuple(
            float(np.clip(c + rng.uniform(-COLOUR_JITTER, COLOUR_JITTER) * strength, 0, 255)) for c in COLOURS[o.colour]
        )
        for o in scene.objects
    ]
    image, masks = jittered_render(scene, rotations, scales, shift, colours, two_tone)
    if strength > 0:
        image = degrade(image, rng)
    return image, masks


# ---------------------------------------------------------------------------------------------- fitting


def stream_scenes(stream: str, count: int) -> list[Scene]:
    """``count`` scenes of every caption form in turn (seen and held-out combinations alike), each drawn from its
    own stable seed ``sha1(stream/i)``: the classifier is fitted on stream "judge-fit" and measured on others."""
    forms = ("single", "pair", "relation", "triple", "nested", "count")
    return [sample_scene(random.Random(_stable_seed(stream, i)), forms[i % len(forms)], "any") for i in range(count)]


@dataclasses.dataclass
class LabelledFeatures:
    """Features of segmented objects matched to truth (``labels``: index into SHAPES) and the truth objects that
    no segment matched (``unmatched``)."""

    features: np.ndarray
    labels: np.ndarray
    unmatched: int


def match_segments(candidates: list, masks: np.ndarray, objects: tuple[ShapeObject, ...]) -> dict[int, int]:
    """Truth object -> candidate index, by the largest IoU of masks (at least 0.5) among candidates of the
    object's colour."""
    matched = {}
    for i, obj in enumerate(objects):
        best, best_iou = None, 0.5
        for k, (colour, mask) in enumerate(candidates):
            if colour != obj.colour:
                continue
            union = (mask | masks[i]).sum()
            iou = (mask & masks[i]).sum() / union if union else 0.0
            if iou >= best_iou:
                best, best_iou = k, iou
        if best is not None:
            matched[i] = best
    return matched


def labelled_features(scenes: list[Scene], seed: int, progress: bool = False) -> LabelledFeatures:
    """Features of every object in degraded renders of ``scenes`` (one render each, jitter from ``seed``)."""
    from tqdm.auto import tqdm

    rng = random.Random(seed)
    rows, labels, unmatched = [], [], 0
    for scene in tqdm(scenes, desc="renders", disable=not progress, unit="scene"):
        image, masks = degraded_render(scene, rng)
        parts = segment(image, scene.canvas)
        matched = match_segments(parts.candidates, masks, scene.objects)
        unmatched += len(scene.objects) - len(matched)
        for i, k in matched.items():
            rows.append(shape_features(parts.candidates[k][1], parts.background))
            labels.append(SHAPES.index(scene.objects[i].shape))
    return LabelledFeatures(
        np.asarray(rows).reshape(-1, len(FEATURE_NAMES)), np.asarray(labels, dtype=np.int64), unmatched
    )


def fit_shape_classifier(
    features: np.ndarray, labels: np.ndarray, penalty: float = 1e-3, steps: int = 3000, rate: float = 0.5
) -> ShapeClassifier:
    """Softmax regression: minimise mean cross-entropy + ``penalty * |W|^2`` by full-batch gradient descent with
    Nesterov momentum 0.9 on standardised features (deterministic: starts at zero)."""
    mean = features.mean(axis=0)
    scale = features.std(axis=0) + 1e-6
    z = (features - mean) / scale
    classes = len(SHAPES)
    target = np.eye(classes)[labels]
    weight = np.zeros((classes, z.shape[1]))
    bias = np.zeros(classes)
    velocity_w, velocity_b = np.zeros_like(weight), np.zeros_like(bias)
    for _ in range(steps):
        look_w, look_b = weight + 0.9 * velocity_w, bias + 0.9 * velocity_b
        logits = z @ look_w.T + look_b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        error = (p - target) / len(z)
        grad_w = error.T @ z + 2 * penalty * look_w
        grad_b = error.sum(axis=0)
        velocity_w = 0.9 * velocity_w - rate * grad_w
        velocity_b = 0.9 * velocity_b - rate * grad_b
        weight += velocity_w
        bias += velocity_b
    return ShapeClassifier(mean=mean, scale=scale, weight=weight, bias=bias)
