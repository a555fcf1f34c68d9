"""The information-flow table: how much each edit of the text states changed the image, and what the judge saw.

Pure functions of a probe's images (:class:`~attnmod.toolkit.probe.ProbeImages`) and, on the shapes world, the
scene's truth.

**Effect.** For an edit ``e`` and seed ``s``, the change is the root-mean-square difference between the edited and
the unedited image of the same seed, ``d(x, y) = sqrt(mean((x - y)^2))`` over pixels and channels (images in
[0, 1]; latents the same over the final latent's values). It is divided by the *seed change*, the mean ``d`` between
the unedited images of two different seeds (over every pair of probed seeds, or the probed seed and one extra seed
when only one is probed): ``effect(e) = mean_s d(edited_s, unedited_s) / mean_{s < t} d(unedited_s, unedited_t)``.
0 means the image did not change; 1.0 means it changed as much as drawing a new seed.

**Judged** (a shapes-world scene given): for every image the judge's verdicts (:func:`~attnmod.analysis.judge.image.judge_image`):
``present`` (every named object found with its shape and colour), ``object_accuracy``, ``colour_binding`` (every
named shape that is there has its colour). For a swap of two colour words (or two shape nouns) of objects ``i`` and
``j``: ``followed`` (the image shows the scene with the two colours, or shapes, exchanged: the binding followed the
states) and ``kept`` (it still shows the original scene). Rates are over the probed seeds.

**Summary over prompts** (:func:`summarise`): for each edit category, the per-prompt values (the mean over the
prompt's edits of that category) averaged over prompts, with a percentile-bootstrap interval that resamples prompts
(:func:`~attnmod.analysis.statistics.bootstrap_ci`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from ..toolkit.probe.edits import GROUP_LABELS
from ..toolkit.shapes_world import COLOURS, SHAPES, SIZES, Scene
from .statistics import bootstrap_ci

TABLE_FORMAT = "attnmod.information_flow/1"
#: How the summary names the edit groups, in the order it lists them.
CATEGORIES = {
    "none": "unedited",
    "colour": "a colour word",
    "size": "a size word",
    "attribute": "an attribute word",
    "noun": "a noun",
    **GROUP_LABELS,  # the position groups, named as the probe's edits name them
    "swap-attributes": "swap two colour words",
    "swap-nouns": "swap two nouns",
    "swap-words": "swap two words",
}


def rms_distance(first: np.ndarray, second: np.ndarray) -> float:
    """``sqrt(mean((first - second)^2))`` over all values."""
    difference = np.asarray(first, dtype=np.float64) - np.asarray(second, dtype=np.float64)
    return float(np.sqrt(np.mean(difference * difference)))


def seed_change(unedited: np.ndarray, extra: np.ndarray | None = None) -> float:
    """The mean :func:`rms_distance` between the unedited outputs of every pair of seeds (``unedited`` is
    ``[seeds, ...]``; ``extra``, one more seed's output, joins them). NaN with fewer than two outputs."""
    outputs = list(unedited) + ([extra] if extra is not None else [])
    pairs = [rms_distance(a, b) for i, a in enumerate(outputs) for b in outputs[i + 1 :]]
    return float(np.mean(pairs)) if pairs else math.nan


def _ratio(value: float, reference: float) -> float:
    return value / reference if reference > 0 and math.isfinite(reference) else math.nan


def _uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def swapped_scene(scene: Scene, edit: dict) -> Scene | None:
    """The scene an image shows when the binding follows a swap: the two objects' colours exchanged for a swap of two
    colour words, their shapes for a swap of two shape nouns; None for any other edit, when the tree's entities do
    not line up with the scene's objects, or when the exchanged scene holds the same shape-colour pairs (two stars
    of two colours: the judge, which matches by shape and colour, cannot tell the two apart)."""
    if edit.get("kind") != "swap" or len(edit.get("entities", ())) != 2:
        return None
    first, second = edit["entities"]
    objects = list(scene.objects)
    if first == second or max(first, second) >= len(objects):
        return None
    words = [w.lower() for w in edit["words"]]
    a, b = objects[first], objects[second]
    if all(w in COLOURS for w in words) and {a.colour, b.colour} == set(words):
        objects[first] = dataclasses.replace(a, colour=b.colour)
        objects[second] = dataclasses.replace(b, colour=a.colour)
    elif all(w in SHAPES for w in words) and {a.shape, b.shape} == set(words):
        objects[first] = dataclasses.replace(a, shape=b.shape)
        objects[second] = dataclasses.replace(b, shape=a.shape)
    else:
        return None
    if sorted((o.shape, o.colour) for o in objects) == sorted((o.shape, o.colour) for o in scene.objects):
        return None  # "a green star and a white star": the exchanged scene is the same scene to the judge
    return dataclasses.replace(scene, objects=tuple(objects))


def _rate(values: Sequence) -> float | None:
    known = [float(v) for v in values if v is not None]
    return sum(known) / len(known) if known else None


def judge_images(images: np.ndarray, scene: Scene, classifier=None) -> dict:
    """The judge's rates over ``images`` (``[seeds, H, W, 3]`` floats in [0, 1]) against ``scene``:
    ``{"present", "object_accuracy", "colour_binding"}`` (None where no image has a verdict)."""
    from .judge.image import judge_image

    results = [judge_image(_uint8(image), scene, classifier) for image in images]
    return {
        "present": _rate([r.present for r in results]),
        "object_accuracy": _rate([r.object_accuracy for r in results]),
        "colour_binding": _rate([r.colour_binding for r in results]),
    }


@dataclasses.dataclass
class EditRow:
    """One edit's line of the table: the edit (its JSON form, see :class:`~attnmod.toolkit.probe.Edit`), its image
    and latent effects (1.0 = a new seed), the per-seed image effects and, on the shapes world, the judged rates."""

    edit: dict
    image_effect: float
    latent_effect: float
    seed_effects: list[float]
    judged: dict | None = None

    @property
    def key(self) -> str:
        return self.edit["key"]

    def to_json(self) -> dict:
        return {
            "edit": self.edit,
            "image_effect": _number(self.image_effect),
            "latent_effect": _number(self.latent_effect),
            "seed_effects": [_number(v) for v in self.seed_effects],
            "judged": self.judged,
        }

    @classmethod
    def from_json(cls, data: dict) -> EditRow:
        return cls(
            edit=data["edit"],
            image_effect=_float(data["image_effect"]),
            latent_effect=_float(data["latent_effect"]),
            seed_effects=[_float(v) for v in data.get("seed_effects", [])],
            judged=data.get("judged"),
        )


def _number(value):
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def _float(value) -> float:
    return math.nan if value is None else float(value)


@dataclasses.dataclass
class ProbeTable:
    """The probe of one prompt: rows ranked by image effect (largest first), the seed change they are divided by,
    the unedited images' judged rates (None without a scene), the words the edits named and the cost."""

    prompt: str
    seeds: list[int]
    rows: list[EditRow]
    seed_change_image: float
    seed_change_latent: float
    unedited: dict | None
    words: list[dict]
    token_count: int
    settings: dict
    generations: int
    seconds: float
    scene: dict | None = None

    def row(self, key: str) -> EditRow:
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(key)

    def to_json(self) -> dict:
        return {
            "format": TABLE_FORMAT,
            "prompt": self.prompt,
            "seeds": list(self.seeds),
            "seed_change": {"image": _number(self.seed_change_image), "latent": _number(self.seed_change_latent)},
            "unedited": self.unedited,
            "rows": [row.to_json() for row in self.rows],
            "words": self.words,
            "token_count": self.token_count,
            "settings": self.settings,
            "generations": self.generations,
            "seconds": round(self.seconds, 3),
            "scene": self.scene,
        }

    @classmethod
    def from_json(cls, data: dict) -> ProbeTable:
        return cls(
            prompt=data["prompt"],
            seeds=list(data["seeds"]),
            rows=[EditRow.from_json(row) for row in data["rows"]],
            seed_change_image=_float(data["seed_change"]["image"]),
            seed_change_latent=_float(data["seed_change"]["latent"]),
            unedited=data.get("unedited"),
            words=list(data.get("words", [])),
            token_count=int(data["token_count"]),
            settings=dict(data.get("settings", {})),
            generations=int(data["generations"]),
            seconds=float(data["seconds"]),
            scene=data.get("scene"),
        )


def probe_table(probe, scene: Scene | None = None, classifier=None) -> ProbeTable:
    """The table of a :class:`~attnmod.toolkit.probe.ProbeImages`: effects of every edit, and with ``scene`` (the
    truth of a shapes-world caption whose objects are the tree's entities in order) the judged rates."""
    images, latents = probe.images, probe.latents
    change_image = seed_change(images[0], probe.extra_image)
    change_latent = seed_change(latents[0], probe.extra_latent)
    unedited = judge_images(images[0], scene, classifier) if scene is not None else None
    rows = []
    for index, edit in enumerate(probe.edits, start=1):
        distances = [rms_distance(images[index][s], images[0][s]) for s in range(len(probe.seeds))]
        latent_distances = [rms_distance(latents[index][s], latents[0][s]) for s in range(len(probe.seeds))]
        edit_json = edit.to_json()
        judged = None
        if scene is not None:
            judged = judge_images(images[index], scene, classifier)
            swapped = swapped_scene(scene, edit_json)
            if swapped is not None:
                judged["followed"] = judge_images(images[index], swapped, classifier)["present"]
                judged["kept"] = judged["present"]
        rows.append(
            EditRow(
                edit=edit_json,
                image_effect=_ratio(float(np.mean(distances)), change_image),
                latent_effect=_ratio(float(np.mean(latent_distances)), change_latent),
                seed_effects=[_ratio(d, change_image) for d in distances],
                judged=judged,
            )
        )
    rows.sort(key=lambda row: -row.image_effect if math.isfinite(row.image_effect) else math.inf)
    return ProbeTable(
        prompt=probe.prompt,
        seeds=list(probe.seeds),
        rows=rows,
        seed_change_image=change_image,
        seed_change_latent=change_latent,
        unedited=unedited,
        words=[word.to_json() for word in probe.words],
        token_count=probe.token_count,
        settings=dict(probe.settings),
        generations=probe.generations,
        seconds=probe.seconds,
        scene=scene.to_json() if scene is not None else None,
    )


# ---- reading tables ----


def category(edit: dict) -> str:
    """The summary's category of an edit (a key of :data:`CATEGORIES`), with the encoder appended (``padding@2``)
    when it edits one encoder: an attribute word that names a world colour is ``colour``, a size ``size``."""
    group = edit["group"]
    if group == "attribute":
        word = edit["words"][0].lower()
        group = "colour" if word in COLOURS else "size" if word in SIZES else "attribute"
    encoder = edit.get("encoder", "both")
    return group if encoder == "both" else f"{group}@{encoder}"


def category_label(name: str) -> str:
    group, _, encoder = name.partition("@")
    label = CATEGORIES.get(group, group)
    return f"{label} (encoder {encoder})" if encoder else label


def per_prompt_values(table: ProbeTable) -> dict[str, dict[str, float | None]]:
    """``{category: {"image_effect", "latent_effect", "present", "object_accuracy", "colour_binding", "followed"}}``
    for one prompt: each the mean over the prompt's edits of that category (judged values None without a scene);
    ``none`` holds the unedited images' judged rates."""
    grouped: dict[str, list[EditRow]] = {}
    for row in table.rows:
        grouped.setdefault(category(row.edit), []).append(row)
    values: dict[str, dict[str, float | None]] = {}
    if table.unedited is not None:
        values["none"] = {"image_effect": 0.0, "latent_effect": 0.0, **table.unedited}
    for name, rows in grouped.items():
        entry: dict[str, float | None] = {
            "image_effect": _mean([row.image_effect for row in rows]),
            "latent_effect": _mean([row.latent_effect for row in rows]),
        }
        for field in ("present", "object_accuracy", "colour_binding"):
            entry[field] = _mean([(row.judged or {}).get(field) for row in rows])
        entry["followed"] = _mean([(row.judged or {}).get("followed") for row in rows if _distinguishable(table, row)])
        values[name] = entry
    return values


def _distinguishable(table: ProbeTable, row: EditRow) -> bool:
    """Whether the judge can tell a swap's exchanged scene from the original (tables written before
    :func:`swapped_scene` knew the difference carry ``followed`` for such swaps too)."""
    if table.scene is None:
        return False
    return swapped_scene(Scene.from_json(table.scene), row.edit) is not None


def _mean(values: Sequence) -> float | None:
    known = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.mean(known)) if known else None


SUMMARY_FIELDS = ("image_effect", "latent_effect", "present", "object_accuracy", "colour_binding", "followed")


def summarise(tables: Sequence[ProbeTable], resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict:
    """Per category (in :data:`CATEGORIES` order, encoder variants after their group): for each of
    :data:`SUMMARY_FIELDS` ``{"mean", "low", "high", "n"}`` over prompts (n = prompts with a value; None when none
    has), and ``"prompts"``: how many prompts had an edit of the category."""
    per_prompt = [per_prompt_values(table) for table in tables]
    names = {name for values in per_prompt for name in values}
    order = list(CATEGORIES)

    def rank(name: str) -> tuple[int, str]:
        group, _, encoder = name.partition("@")
        return (order.index(group) if group in order else len(order), encoder)

    summary = {}
    for name in sorted(names, key=rank):
        entry: dict = {"label": category_label(name), "prompts": sum(1 for values in per_prompt if name in values)}
        for field in SUMMARY_FIELDS:
            known = [values[name].get(field) for values in per_prompt if name in values]
            known = [v for v in known if v is not None]
            if not known:
                entry[field] = None
                continue
            mean, low, high = bootstrap_ci(known, resamples, confidence, seed)
            entry[field] = {"mean": mean, "low": low, "high": high, "n": len(known)}
        summary[name] = entry
    return summary


# ---- what the figures mean for attention-based tools ----

#: The padding edit's image effect (1 = a new seed) at or above which, when it also reaches the effect of editing
#: every word, a model is read as taking most of its prompt from the padding.
PADDING_READS = 0.5
#: The share of the unedited images' presence rate at or below which the padding edit is read as removing what
#: the model draws (judged prompts only).
PRESENCE_KEPT = 0.5


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


def padding_reading(
    padding_effect: float | None,
    words_effect: float | None,
    padding_present: float | None = None,
    unedited_present: float | None = None,
) -> str | None:
    """The sentence for a model (or prompt) that reads its prompt from the padding after the end token, or None.

    It applies when the padding edit's image effect is at least :data:`PADDING_READS` and at least that of editing
    every word ("most of its prompt"), or, where the judge read the images, when the padding edit keeps at most
    :data:`PRESENCE_KEPT` of the unedited images' presence rate ("much of what to draw")."""
    if not (_finite(padding_effect) and _finite(words_effect)):
        return None
    by_effect = padding_effect >= PADDING_READS and padding_effect >= words_effect
    by_presence = _finite(padding_present) and _finite(unedited_present) and unedited_present > 0
    by_presence = by_presence and padding_present <= PRESENCE_KEPT * unedited_present
    if not (by_effect or by_presence):
        return None
    lead = "most of its prompt" if by_effect else "much of what to draw"
    detail = (
        f"taking the padding from the empty prompt changes the image by {padding_effect:.2f} of a new seed's change "
        f"(taking every word from it: {words_effect:.2f})"
    )
    if _finite(padding_present) and _finite(unedited_present):
        detail += f" and leaves every named object in {padding_present:.0%} of images ({unedited_present:.0%} unedited)"
    return (
        f"this model reads {lead} from the padding after the end token: {detail}; attention-based verdicts and "
        "modulation, which act on the words' positions, are not expected to work reliably on it"
    )


def table_reading(table: ProbeTable) -> str | None:
    """:func:`padding_reading` of one prompt's table (its ``padding`` and ``all-words`` edits on both encoders, and
    the judged presence rates when there are any)."""
    rows = {row.key: row for row in table.rows}
    if "padding" not in rows or "all-words" not in rows:
        return None
    padding = rows["padding"]
    return padding_reading(
        padding.image_effect,
        rows["all-words"].image_effect,
        (padding.judged or {}).get("present"),
        (table.unedited or {}).get("present"),
    )


def model_reading(figures: dict | None) -> str | None:
    """:func:`padding_reading` of a model's recorded figures (``{"padding_effect", "all_words_effect", "present":
    {"unedited", "padding"}, "set", "prompts", "source"}``, as ``benchmarks/information_flow.py --figures`` writes
    them), with where they come from."""
    if not figures:
        return None
    present = figures.get("present") or {}
    reading = padding_reading(
        figures.get("padding_effect"), figures.get("all_words_effect"), present.get("padding"), present.get("unedited")
    )
    if reading is None:
        return None
    source = figures.get("source")
    return reading + (f" (measured over {figures['prompts']} prompts of {figures['set']}; {source})" if source else "")
