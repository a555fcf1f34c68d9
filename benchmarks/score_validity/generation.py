"""Generating the items (prompts x seeds x variants, in shards) and the per-item cache that makes a rerun resume."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from attnmod.toolkit.run_files import write_atomic

from .judge import judge_labels
from .scoring import score_item
from .settings import HALVES, SETS

# ---- generation ----


def default_run_settings(model) -> dict:
    if model.name == "shapes":
        from attnmod.toolkit.models import shapes as shapes_model

        return {"steps": shapes_model.DEFAULT_STEPS, "size": shapes_model.IMAGE_SIZE}
    if model.name in ("tiny", "tiny-sd"):
        return {"steps": 4, "size": 64}
    pipe = model.pipeline
    return {"steps": 30, "size": int(pipe.unet.config.sample_size) * int(getattr(pipe, "vae_scale_factor", 8))}


@dataclasses.dataclass(frozen=True)
class Item:
    id: str
    set: str
    half: str
    scene: object
    seed: int
    variant: str


def plan_items(prompts_per_set: int | dict[str, int], seeds: Sequence[int], variants: Sequence[str]) -> list[Item]:
    """Every image of the run in a fixed order: per set and half (``prompts_per_set`` per set, or a count per
    half: ``{"tune": 40, "test": 75}``), per prompt, seed and variant."""
    from attnmod.toolkit import shapes_world

    counts = prompts_per_set if isinstance(prompts_per_set, dict) else dict.fromkeys(HALVES, prompts_per_set)
    items = []
    for name in SETS:
        for half in HALVES:
            for index, scene in enumerate(shapes_world.prompt_set(f"{name}/{half}", counts[half])):
                for seed in seeds:
                    for variant in variants:
                        items.append(
                            Item(f"{name}-{half}-{index:03d}-s{seed}-{variant}", name, half, scene, seed, variant)
                        )
    return items


def shard_of(items: list[Item], shard: int, shards: int) -> list[Item]:
    """The items of shard ``shard`` (0-based) of ``shards``: whole prompts (all their seeds and variants) dealt out
    in turn, so shards get the same mix of sets, halves and variants and about the same work."""
    prompts: dict[tuple[str, str, str], int] = {}
    for item in items:
        prompts.setdefault((item.set, item.half, item.scene.caption), len(prompts))
    return [item for item in items if prompts[(item.set, item.half, item.scene.caption)] % shards == shard]


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` (1-based K) -> ``(K - 1, N)``; ValueError with a readable message otherwise."""
    try:
        first, second = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like K/N (e.g. 1/2), got {text!r}") from None
    if second < 1 or not 1 <= first <= second:
        raise ValueError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return first - 1, second


# ---- the per-item cache ----


def cache_folder(out: Path) -> Path:
    return out / "items"


def cached_ids(out: Path) -> set[str]:
    """Ids already generated: one ``OUT/items/ID.json`` per image (and the rows of an older ``OUT/items.jsonl``)."""
    folder = cache_folder(out)
    found = {path.stem for path in folder.glob("*.json")} if folder.is_dir() else set()
    return found | set(_legacy_rows(out))


def _legacy_rows(out: Path) -> dict[str, dict]:
    path = out / "items.jsonl"
    rows = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                rows[row["id"]] = row
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line of an interrupted run: that image is made again
    return rows


def write_cached(out: Path, row: dict) -> None:
    """Write one item's row atomically (a process killed mid-write leaves no torn file behind)."""
    folder = cache_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / f"{row['id']}.json", json.dumps(row))


def read_cached(out: Path, wanted: set[str] | None = None) -> list[dict]:
    """Every cached row (only ``wanted`` ids when given), in id order; unreadable files are skipped."""
    rows = _legacy_rows(out)
    folder = cache_folder(out)
    if folder.is_dir():
        for path in folder.glob("*.json"):
            if wanted is not None and path.stem not in wanted:
                continue
            try:
                rows[path.stem] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue
    return [rows[key] for key in sorted(rows) if wanted is None or key in wanted]


#: CPU seconds per 64x64 image at 25 steps with capture (self-attention too), the judge and every score: measured
#: 1.06 s (10th-90th percentile 0.93-1.21) over 160 shapes-model images in a one-thread process (docs/validity.md).
#: Used only for the estimate printed before a run.
SECONDS_PER_IMAGE = 1.1


def check_same_settings(out: Path, settings: dict) -> None:
    """Refuse to add images to a cache made with another model, weights, step count or size (mixing them would
    make one table of two experiments)."""
    path = out / "settings.json"
    if not path.is_file():
        return
    try:
        before = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return
    for key in ("model", "weights_sha256", "steps", "size"):
        if key in before and before[key] != settings[key]:
            raise OSError(
                f"{out} holds images made with {key} {before[key]!r}, not {settings[key]!r}: use a new --out "
                "(or delete that folder)"
            )


def weights_fingerprint(model_name: str) -> str | None:
    """The first 16 hex digits of the SHA-256 of the shipped shapes weights (None for other models), so a
    validation names the model it measured."""
    if model_name != "shapes":
        return None
    import hashlib

    from attnmod.toolkit.models import shapes as shapes_model

    path = shapes_model.shipped_weights_folder() / shapes_model.WEIGHTS_FILE
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def threads_note() -> str:
    import torch

    return f"{torch.get_num_threads()} torch thread(s); CPU time counts every thread"


def run_items(args, items: list[Item], out: Path, judge) -> None:
    from attnmod.toolkit import shapes_world
    from attnmod.toolkit.generation import generate
    from attnmod.toolkit.models.loading import load_model
    from attnmod.toolkit.modulation.config import ModulationConfig
    from attnmod.toolkit.prompt.parse import parse_prompt
    from tqdm.auto import tqdm

    done = cached_ids(out)
    todo = [item for item in items if item.id not in done]
    if not todo:
        print(f"score_validity: all {len(items)} images of this run are cached in {cache_folder(out)}", file=sys.stderr)
        return
    if args.threads:
        from attnmod.toolkit.threads import request_threads

        request_threads(args.threads)
    model = load_model(args.model, device=args.device, dtype=args.dtype)
    defaults = default_run_settings(model)
    steps, size = args.steps or defaults["steps"], args.size or defaults["size"]
    settings = {"model": args.model, "steps": steps, "size": size, "device": model.device, "dtype": model.dtype}
    settings["weights_sha256"] = weights_fingerprint(args.model)
    check_same_settings(out, settings)
    write_atomic(out / "settings.json", json.dumps(settings))
    scale = steps / 25 * (size / 64) ** 2
    minutes = len(todo) * SECONDS_PER_IMAGE * scale / 60
    print(
        f"score_validity: {len(todo)} of {len(items)} images to make in this process ({len(items) - len(todo)} "
        f"cached); at the shapes model's {SECONDS_PER_IMAGE * scale:.1f} s of CPU per image, ~{minutes:.0f} min on one "
        "free core",
        file=sys.stderr,
    )
    trees: dict[str, object] = {}
    colour_words = tuple(shapes_world.COLOURS)
    by_variant: dict[str, list[Item]] = {}
    for item in todo:
        by_variant.setdefault(item.variant, []).append(item)
    bar = tqdm(total=len(todo), desc="score validity", unit="image")
    spent: list[float] = []
    for variant, group in by_variant.items():
        config = ModulationConfig.from_variant(variant)
        config = dataclasses.replace(config, capture=dataclasses.replace(config.capture, self_attention=True))
        for start in range(0, len(group), args.batch_size):
            batch = group[start : start + args.batch_size]
            batch_started = time.process_time()
            captions = [item.scene.caption for item in batch]
            for caption in captions:
                if caption not in trees:
                    trees[caption] = parse_prompt(caption, tokenizers=model.tokenizers)
            results = generate(
                model,
                captions,
                config,
                seeds=[item.seed for item in batch],
                steps=steps,
                height=size,
                width=size,
                capture=True,
                trees=[trees[c] for c in captions],
            )
            rows = []
            for item, result in zip(batch, results, strict=True):
                objects = len(item.scene.objects)
                labels = judge_labels({}, objects)
                if judge is not None:
                    try:
                        verdict = judge(np.asarray(result.image.convert("RGB")), item.scene)
                    except OSError as error:  # e.g. the judge's classifier weights are not there yet
                        if not args.quick:
                            raise
                        print(f"score_validity: the judge cannot run ({error}); going on without it", file=sys.stderr)
                        judge = None
                    else:
                        labels = judge_labels(verdict, objects)
                rows.append(item_row(item, result, trees[item.scene.caption], labels, colour_words))
            cpu = (time.process_time() - batch_started) / len(batch)
            for row in rows:
                write_cached(out, {**row, "cpu_seconds": round(cpu, 3)})
            spent.append(cpu)
            bar.set_postfix(cpu_s_per_image=f"{sum(spent) / len(spent):.2f}")
            bar.update(len(batch))
    bar.close()
    print(
        f"score_validity: {sum(spent) / len(spent):.2f} s of CPU per image in this process ({threads_note()})",
        file=sys.stderr,
    )


def item_row(item: Item, result, tree, labels: dict, colour_words) -> dict:
    """One line of items.jsonl: the item, the judge's labels (masks used for the IoU, not stored) and the scores."""
    objects = len(item.scene.objects)
    labels = dict(labels)
    masks = labels.pop("masks")
    usable = [m for m in masks if m is not None]
    object_masks = masks if len(usable) == objects and objects else None
    matched = len(tree.entities) == objects
    scores = {}
    if matched:
        scores["model"] = score_item(result.record, tree, colour_words, "model", object_masks)
        if result.record.applied:
            scores["applied"] = score_item(result.record, tree, colour_words, "applied", None)
    return {
        "id": item.id,
        "set": item.set,
        "half": item.half,
        "caption": item.scene.caption,
        "heldout": bool(item.scene.heldout),
        "objects": objects,
        "seed": item.seed,
        "variant": item.variant,
        "entities_match": matched,
        "labels": labels,
        "scores": scores,
    }
