"""Choosing the judge's leakage threshold on renders with planted two-tone fills (never on generated images).

    python benchmarks/judge_leak_threshold.py [--per-split 60] [--clean 400] [--json OUT.json]

Planted: for every split (the share of the object's drawn area painted in the foreign colour) and every shape in
turn, a scene from the stable stream "judge-leak" with at least two objects of different colours (pair, relation
or triple captions) is drawn with generation-like degradation (``attnmod.analysis.judge.training``) and one named
object painted two-tone (:class:`~attnmod.analysis.judge.training.TwoTone`: a straight cut at a random angle, the
far side in another named object's colour). Recorded per render: whether the object's shape is found, the foreign
colour the judge names and the foreign share it measures (:class:`~attnmod.analysis.judge.image.ObjectVerdict`).

Unplanted: degraded renders of stream "judge-test" scenes of every caption form (the same scenes as
``benchmarks/judge_accuracy.py``), and the planted pairs of that script's ``merged`` kind (two named objects
touching or overlapping, which must not read as one two-tone object): the largest foreign share the judge measures
on any named object of each render.

Prints, for each candidate threshold, the share of planted renders read as leaked with the planted colour (per
split) and of unplanted renders read as leaked; the shipped threshold is ``LEAK_SHARE`` in
``attnmod/analysis/judge/image.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_description  # noqa: E402
from attnmod.analysis.judge import image as judge  # noqa: E402
from attnmod.analysis.judge.training import TwoTone, degraded_render, stream_scenes  # noqa: E402
from attnmod.toolkit.shapes_world import SHAPES  # noqa: E402
from judge_accuracy import plant  # noqa: E402

SPLITS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
THRESHOLDS = (0.03, 0.05, 0.07, 0.1, 0.15)


def planted_shares(per_split: int, seed: int) -> dict[float, list[dict]]:
    from tqdm.auto import tqdm

    rng = random.Random(seed)
    pool = [
        scene
        for scene in stream_scenes("judge-leak", 40 * per_split)
        if scene.form in ("pair", "relation", "triple") and len({o.colour for o in scene.objects}) >= 2
    ]
    out: dict[float, list[dict]] = {}
    bar = tqdm(total=per_split * len(SPLITS), desc="planted two-tone")
    position = 0
    for split in SPLITS:
        rows = out.setdefault(split, [])
        for n in range(per_split):
            shape = SHAPES[n % len(SHAPES)]
            while True:  # the next scene, its first object turned into this shape
                scene = pool[position % len(pool)]
                position += 1
                index = rng.randrange(len(scene.objects))
                others = [o.colour for o in scene.objects if o.colour != scene.objects[index].colour]
                if others:
                    break
            objects = list(scene.objects)
            objects[index] = dataclasses.replace(objects[index], shape=shape)
            scene = dataclasses.replace(scene, objects=tuple(objects))
            foreign = rng.choice(others)
            image, _ = degraded_render(scene, rng, two_tone=TwoTone(index, foreign, split, rng.uniform(0, 360)))
            result = judge.judge_image(image, scene)
            verdict = result.objects[index]
            rows.append(
                {
                    "caption": scene.caption,
                    "shape": shape,
                    "size": scene.objects[index].size,
                    "planted_colour": foreign,
                    "shape_found": verdict.shape_found,
                    "found": verdict.found,
                    "foreign_colour": verdict.foreign_colour,
                    "foreign_share": verdict.foreign_share,
                    "own_share": None
                    if verdict.detection is None
                    else result.detected[verdict.detection].colour_shares.get(verdict.colour, 0.0),
                }
            )
            bar.update(1)
    bar.close()
    return out


def unplanted_shares(count: int, seed: int) -> dict[str, list[float]]:
    from tqdm.auto import tqdm

    rng = random.Random(seed)
    out: dict[str, list[float]] = {"degraded": [], "merged": []}
    for scene in tqdm(stream_scenes("judge-test", count), desc="unplanted"):
        image, _ = degraded_render(scene, rng)
        out["degraded"].append(_largest_leak(judge.judge_image(image, scene)))
    merged_pool = stream_scenes("judge-planted", 30 * count)
    for scene in tqdm(merged_pool, desc="merged pairs"):
        if len(out["merged"]) >= count // 2:
            break
        planted = plant("merged", scene, rng)
        if planted is None:
            continue
        drawn, judged = planted
        image, _ = degraded_render(drawn, rng)
        out["merged"].append(_largest_leak(judge.judge_image(image, judged)))
    return out


def _largest_leak(result) -> float:
    """The largest share a named object holds in another named object's colour, counting only objects whose own
    colour holds at least as much as the threshold being tried would ask (recorded as min(own, foreign))."""
    shares = [0.0]
    for verdict in result.objects:
        if verdict.detection is None or not verdict.foreign_share:
            continue
        own = result.detected[verdict.detection].colour_shares.get(verdict.colour, 0.0)
        shares.append(min(own, verdict.foreign_share))
    return max(shares)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-split", type=int, default=60, help="planted renders per split (60)")
    parser.add_argument("--clean", type=int, default=400, help="unplanted degraded renders (400)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.per_split < 1 or args.clean < 2:
        print("judge_leak_threshold: --per-split must be at least 1 and --clean at least 2", file=sys.stderr)
        return 1
    start = time.perf_counter()
    planted = planted_shares(args.per_split, args.seed)
    unplanted = unplanted_shares(args.clean, args.seed + 1)
    seconds = time.perf_counter() - start

    def leaked(row: dict, threshold: float) -> bool:
        return (
            row["foreign_colour"] == row["planted_colour"]
            and (row["foreign_share"] or 0.0) >= threshold
            and (row["own_share"] or 0.0) >= threshold
        )

    lines = [
        f"Machine: {machine_description()}; {seconds:.0f} s (one thread, machine shared).",
        "",
        "| threshold | "
        + " | ".join(f"planted {split:.0%}" for split in SPLITS)
        + f" | unplanted ({len(unplanted['degraded'])} renders) | touching pairs ({len(unplanted['merged'])}) |",
        "|---|" + "---|" * (len(SPLITS) + 2),
    ]
    for threshold in THRESHOLDS:
        cells = [
            f"{sum(leaked(row, threshold) for row in planted[split]) / len(planted[split]):.0%}" for split in SPLITS
        ]
        false = [sum(share >= threshold for share in unplanted[kind]) for kind in ("degraded", "merged")]
        marker = " (shipped)" if threshold == judge.LEAK_SHARE else ""
        lines.append(
            f"| {threshold:.2f}{marker} | "
            + " | ".join(cells)
            + f" | {false[0]} ({false[0] / len(unplanted['degraded']):.1%}) | {false[1]} "
            f"({false[1] / max(1, len(unplanted['merged'])):.1%}) |"
        )
    lines += [
        "",
        "Shape found (any colour) and mean measured foreign share per planted split: "
        + ", ".join(
            f"{split:.0%}: {sum(r['shape_found'] for r in planted[split])}/{len(planted[split])}, "
            f"{sum(r['foreign_share'] or 0.0 for r in planted[split]) / len(planted[split]):.3f}"
            for split in SPLITS
        )
        + ".",
    ]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": machine_description(), "seconds": seconds, "planted": planted, "unplanted": unplanted},
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
