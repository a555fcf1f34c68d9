"""How often the shapes-world judge reads objects and verdicts right, on renders with known truth.

    python benchmarks/judge_accuracy.py [--renders 2000] [--planted 200] [--json OUT.json]

Scenes come from stable streams the classifier never saw ("judge-test" for objects, "judge-planted" for
verdicts; ``benchmarks/train_judge.py`` fits on "judge-fit"), every caption form in turn, seen and held-out
combinations alike, drawn with generation-like degradation (``attnmod.analysis.judge.training``: rotation,
scale, shift, colour jitter, blur, brightness, noise, JPEG).

* **Object level**: each truth object is matched to the detection with the largest mask IoU (at least 0.5, any
  colour); it is right when that detection's shape, colour and size are all right. Unmatched truth objects count
  as wrong; detections matching no truth object are reported as extra. Also on undegraded renders.
* **Verdicts on planted failures** (the image drawn from a changed scene, judged against the original):
  ``correct`` (nothing changed: all_correct), ``swapped`` (two objects of different shapes and colours swap
  colours: wrong_colour and not colour_binding), ``missing`` (the last object left out: missing and that object
  missing), ``extra`` (an object added in free space: not no_extra), ``flipped`` (a relation scene judged against
  its opposite relation: relation false), ``merged`` (the second object of a pair moved to overlap or touch the
  first, a third or more of the first left in view: merged), ``leaked`` (one named object of a scene with two or
  more colours painted two-tone, 20-45% of it beyond a straight cut at a random angle in another named object's
  colour: that object found by shape, leaked, with that foreign colour).

With ``--vae FILE`` (a shapes-model ``vae.safetensors`` as ``attnmod world train`` writes it), also the object
accuracy on undegraded renders passed through that VAE (encode, take the latent mean, decode): the model's own
decoder as the degradation, per caption form.

Intervals are Wilson 95% intervals. Prints a Markdown block for docs/shapes.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_description  # noqa: E402
from attnmod.analysis.judge.image import connected_components, detect_objects, judge_image  # noqa: E402
from attnmod.analysis.judge.training import TwoTone, degraded_render, stream_scenes  # noqa: E402
from attnmod.toolkit.shapes_world import (  # noqa: E402
    COLOURS,
    MIN_GAP,
    SHAPES,
    SIZES,
    Relation,
    Scene,
    ShapeObject,
    render_scene,
)

OPPOSITE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if total == 0:
        return (math.nan, math.nan)
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def vae_round_trip(vae_file: Path):
    """A function drawing a scene through the shapes model's VAE: ``scene -> (image, truth masks)``."""
    import torch
    from attnmod.toolkit.models.shapes import component_configs
    from diffusers import AutoencoderKL
    from safetensors.torch import load_file

    vae = AutoencoderKL(**component_configs()["vae"])
    state = load_file(str(vae_file))
    vae.load_state_dict({key.removeprefix("vae."): value.float() for key, value in state.items()})
    vae.eval()

    def draw(scene: Scene):
        image, masks = render_scene(scene)
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
        with torch.no_grad():
            y = vae.decode(vae.encode(x).latent_dist.mode()).sample
        out = ((y.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
        return out, masks

    return draw


def object_accuracy(scenes: list[Scene], degraded, seed: int, progress: bool) -> dict:
    """``degraded``: True (degraded renders), False (clean) or a function ``scene -> (image, masks)``."""
    from tqdm.auto import tqdm

    rng = random.Random(seed)
    tally = {"objects": 0, "right": 0, "shape": 0, "colour": 0, "size": 0, "unmatched": 0, "extra": 0}
    by_form: dict[str, list[int]] = {}
    errors = []
    label = "VAE" if callable(degraded) else "degraded" if degraded else "clean"
    for scene in tqdm(scenes, desc=f"objects ({label})", disable=not progress):
        if callable(degraded):
            image, masks = degraded(scene)
        else:
            image, masks = degraded_render(scene, rng) if degraded else render_scene(scene)
        detected, _ = detect_objects(image, scene.canvas)
        used = set()
        for i, obj in enumerate(scene.objects):
            best, best_iou = None, 0.5
            for k, d in enumerate(detected):
                union = (d.mask | masks[i]).sum()
                iou = (d.mask & masks[i]).sum() / union if union else 0.0
                if iou >= best_iou:
                    best, best_iou = k, iou
            tally["objects"] += 1
            form = by_form.setdefault(scene.form, [0, 0])
            form[1] += 1
            if best is None:
                tally["unmatched"] += 1
                errors.append(f"{scene.caption!r}: {obj.size} {obj.colour} {obj.shape} not found")
                continue
            used.add(best)
            d = detected[best]
            checks = {"shape": d.shape == obj.shape, "colour": d.colour == obj.colour, "size": d.size == obj.size}
            for name, ok in checks.items():
                tally[name] += ok
            if all(checks.values()):
                tally["right"] += 1
                form[0] += 1
            else:
                errors.append(
                    f"{scene.caption!r}: {obj.size} {obj.colour} {obj.shape} read as {d.size} {d.colour} {d.shape}"
                )
        tally["extra"] += len(detected) - len(used)
    tally["by_form"] = by_form
    tally["errors"] = errors
    return tally


# ---- planted failures ----


def _free_spot(rng: random.Random, radius: float, placed, canvas: int) -> tuple[float, float] | None:
    for _ in range(300):
        x, y = rng.uniform(radius + 1, canvas - radius - 1), rng.uniform(radius + 1, canvas - radius - 1)
        if all(math.hypot(x - o.x, y - o.y) >= radius + o.radius + MIN_GAP for o in placed):
            return x, y
    return None


def plant(kind: str, scene: Scene, rng: random.Random) -> tuple | None:
    """``(drawn scene, judged scene)`` for a planted failure of ``kind`` (``leaked`` adds the
    :class:`~attnmod.analysis.judge.training.TwoTone` fill to draw), or None when the scene does not allow it."""
    objects = list(scene.objects)
    if kind == "leaked":
        colours = {o.colour for o in objects}
        if len(colours) < 2 or scene.form in ("nested", "count"):
            return None
        index = rng.randrange(len(objects))
        foreign = rng.choice(sorted(colours - {objects[index].colour}))
        return scene, scene, TwoTone(index, foreign, rng.uniform(0.2, 0.45), rng.uniform(0.0, 360.0))
    if kind == "correct":
        return scene, scene
    if kind == "swapped":
        if len(objects) < 2 or scene.form in ("nested", "count"):
            return None
        a, b = objects[0], objects[1]
        if a.shape == b.shape or a.colour == b.colour:
            return None
        objects[0], objects[1] = dataclasses.replace(a, colour=b.colour), dataclasses.replace(b, colour=a.colour)
        return dataclasses.replace(scene, objects=tuple(objects)), scene
    if kind == "missing":
        if len(objects) < 2:
            return None
        return dataclasses.replace(scene, objects=tuple(objects[:-1]), relations=()), scene
    if kind == "extra":
        if scene.form == "nested":
            return None
        shape, colour, size = rng.choice(SHAPES), rng.choice(list(COLOURS)), rng.choice(list(SIZES))
        spot = _free_spot(rng, SIZES[size], objects, scene.canvas)
        if spot is None:
            return None
        extra = ShapeObject(shape, colour, size, *spot, SIZES[size])
        return dataclasses.replace(scene, objects=tuple(objects + [extra])), scene
    if kind == "flipped":
        if scene.form != "relation":
            return None
        r = scene.relations[0]
        return scene, dataclasses.replace(scene, relations=(Relation(r.subject, OPPOSITE[r.relation], r.object),))
    if kind == "merged":
        if scene.form != "pair" or objects[0].colour == objects[1].colour:
            return None
        a, b = objects
        angle = rng.uniform(0, 2 * math.pi)
        distance = 0.6 * (a.radius + b.radius)
        x, y = a.x + distance * math.cos(angle), a.y + distance * math.sin(angle)
        if not (b.radius < x < scene.canvas - b.radius and b.radius < y < scene.canvas - b.radius):
            return None
        drawn = dataclasses.replace(scene, objects=(a, dataclasses.replace(b, x=x, y=y)))
        # Merged means touching or overlapping, with a third or more of the covered object still in view.
        _, masks = render_scene(drawn)
        _, parts = connected_components(masks[0] | masks[1])
        alone = render_scene(dataclasses.replace(scene, objects=(a,)))[1][0]
        if parts != 1 or masks[0].sum() < 0.33 * alone.sum():
            return None
        return drawn, scene
    raise ValueError(kind)


def expected(kind: str, result, judged: Scene, two_tone: TwoTone | None = None) -> bool:
    """Whether the judge's verdict is the planted truth."""
    if kind == "leaked":
        verdict = result.objects[two_tone.index]
        return bool(verdict.shape_found and verdict.leaked and verdict.foreign_colour == two_tone.colour)
    if kind == "correct":
        return result.all_correct
    if kind == "swapped":
        return result.wrong_colour and result.colour_binding is False and result.objects[0].wrong_colour
    if kind == "missing":
        return result.missing and result.objects[-1].missing
    if kind == "extra":
        return not result.no_extra
    if kind == "flipped":
        return result.relation is False
    if kind == "merged":
        return result.merged
    raise ValueError(kind)


KINDS = ("correct", "swapped", "missing", "extra", "flipped", "merged", "leaked")


def planted_accuracy(per_kind: int, seed: int, progress: bool) -> dict:
    from tqdm.auto import tqdm

    rng = random.Random(seed)
    pool = stream_scenes("judge-planted", 60 * per_kind)
    results = {}
    bar = tqdm(total=per_kind * len(KINDS), desc="planted", disable=not progress)
    for kind in KINDS:
        right = total = 0
        misses = []
        for scene in pool:
            if total >= per_kind:
                break
            planted = plant(kind, scene, rng)
            if planted is None:
                continue
            drawn, judged, *fill = planted
            two_tone = fill[0] if fill else None
            image, _ = degraded_render(drawn, rng, two_tone=two_tone)
            result = judge_image(image, judged)
            ok = expected(kind, result, judged, two_tone)
            right += ok
            total += 1
            bar.update(1)
            if not ok:
                misses.append(f"{judged.caption!r}: {result.summary()}")
        results[kind] = {"right": right, "total": total, "misses": misses}
    bar.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=2000, help="degraded renders for object accuracy (2000)")
    parser.add_argument("--clean", type=int, default=500, help="undegraded renders (500)")
    parser.add_argument("--planted", type=int, default=200, help="renders per planted-failure kind (200)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the degradation draws (1)")
    parser.add_argument("--json", type=Path, help="write the figures and every error here")
    parser.add_argument("--vae", type=Path, help="a shapes-model vae.safetensors: also measure on its round trips")
    parser.add_argument("--vae-renders", type=int, default=600, help="renders through the VAE (600)")
    args = parser.parse_args(argv)
    if args.renders < 1 or args.planted < 1 or args.clean < 0:
        print("judge_accuracy: --renders and --planted must be at least 1", file=sys.stderr)
        return 1
    start = time.perf_counter()
    scenes = stream_scenes("judge-test", args.renders)
    degraded = object_accuracy(scenes, True, args.seed, True)
    clean = object_accuracy(scenes[: args.clean], False, args.seed, True) if args.clean else None
    vae = None
    if args.vae:
        if not args.vae.is_file():
            print(f"judge_accuracy: --vae {str(args.vae)!r} is not a file", file=sys.stderr)
            return 1
        vae = object_accuracy(stream_scenes("judge-vae", args.vae_renders), vae_round_trip(args.vae), 0, True)
    planted = planted_accuracy(args.planted, args.seed + 1, True)
    seconds = time.perf_counter() - start

    lines = [
        f"Machine: {machine_description()}; {seconds:.0f} s in all (one thread, machine shared).",
        "",
        "| renders | objects | right (shape, colour and size) | 95% interval | shape | colour | size | not found | extra detections |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, tally, count in (
        ("degraded", degraded, args.renders),
        ("clean", clean, args.clean),
        ("through the VAE", vae, args.vae_renders),
    ):
        if tally is None:
            continue
        n = tally["objects"]
        low, high = wilson(tally["right"], n)
        lines.append(
            f"| {count} {name} | {n} | {tally['right'] / n:.2%} | [{low:.2%}, {high:.2%}] | {tally['shape'] / n:.2%} | "
            f"{tally['colour'] / n:.2%} | {tally['size'] / n:.2%} | {tally['unmatched']} | {tally['extra']} |"
        )
    lines += [
        "",
        "Degraded renders by caption form: "
        + ", ".join(f"{form} {right}/{total}" for form, (right, total) in sorted(degraded["by_form"].items()))
        + "."
        + (
            " Through the VAE: "
            + ", ".join(f"{form} {right}/{total}" for form, (right, total) in sorted(vae["by_form"].items()))
            + "."
            if vae
            else ""
        ),
        "",
        "| planted | renders | verdict right | 95% interval |",
        "|---|---|---|---|",
    ]
    for kind in KINDS:
        entry = planted[kind]
        low, high = wilson(entry["right"], entry["total"])
        lines.append(
            f"| {kind} | {entry['total']} | {entry['right'] / max(1, entry['total']):.2%} | [{low:.2%}, {high:.2%}] |"
        )
    print("\n".join(lines))
    print("\nobject errors (degraded):", *degraded["errors"][:40], sep="\n  ")
    if vae:
        print("\nobject errors (through the VAE):", *vae["errors"][:40], sep="\n  ")
    for kind in KINDS:
        if planted[kind]["misses"]:
            print(f"planted {kind} misses:", *planted[kind]["misses"][:10], sep="\n  ")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "renders": args.renders,
                    "object_accuracy": degraded["right"] / degraded["objects"],
                    "machine": machine_description(),
                    "seconds": seconds,
                    "degraded": degraded,
                    "clean": clean,
                    "vae": vae,
                    "planted": planted,
                    "markdown": lines,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
