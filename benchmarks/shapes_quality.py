"""How well does the trained `shapes` model draw its prompts? The judge reads every image against its scene's truth.

Issue 11's floors, measured with the `none` variant (no modulation), two seeds per prompt, 25 Euler steps, guidance 5:

* seen combinations, all 90 single-object captions (`seen-1`): shape and colour right (floor 90%);
* seen combinations, 110 two-object prompts (`seen-2`): both named objects present (floor 70%);
* reported with no floor: colour binding on two- and three-object prompts, held-out combinations (`heldout-*`),
  nested and counting prompts.

Rates are over images; the 95% intervals are percentile bootstraps that resample prompts (both seeds of a prompt
together, so the interval reflects prompt-to-prompt variation). Writes a JSON file and prints a Markdown table with
the machine line.

    python benchmarks/shapes_quality.py --out benchmarks/results/shapes_quality.json
    python benchmarks/shapes_quality.py --quick          # a few prompts per set, to check the script
    python benchmarks/shapes_quality.py --model RUN/weights --sets seen-1/tune:45,seen-2/tune:55
                                                          # a decision check on tuning halves only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

# (set name, prompts): the first two carry the floors.
SETS = (
    ("seen-1", 90),  # every distinct seen single-object caption: 30 colour-shape pairs, with and without a size word
    ("seen-2", 110),
    ("seen-3", 40),
    ("heldout-1", 18),  # every distinct caption: six held-out pairs, with and without a size word
    ("heldout-2", 60),
    ("heldout-3", 30),
    ("nested", 20),
    ("count", 20),
)
# Per image: the judge's verdicts that each row reports (None where a verdict does not apply).
METRICS = (
    "all_present",
    "shapes_present",
    "colour_binding",
    "all_correct",
    "counts",
    "relation",
    "missing",
    "wrong_colour",
    "merged",
    "leaked",
)
# Derived per image from the stored verdicts (so older result files can be re-tabulated with --tabulate).
DERIVED = {"shapes_present": lambda row: None if row.get("missing") is None else 1.0 - row["missing"]}


def bootstrap_interval(groups: list[list[float]], resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean over all values, with a 95% percentile-bootstrap interval that resamples whole groups (prompts)."""
    import numpy as np

    groups = [g for g in groups if g]
    if not groups:
        return float("nan"), float("nan"), float("nan")
    sums = np.array([sum(g) for g in groups], dtype=float)
    counts = np.array([len(g) for g in groups], dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(groups), size=(resamples, len(groups)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    return float(sums.sum() / counts.sum()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def judge_row(image, scene) -> dict:
    """The judge's per-image verdicts as 0/1 values (None where a verdict does not apply)."""
    from attnmod.analysis.judge.image import judge_image

    result = judge_image(image, scene)
    fields = {"all_present": "present"}
    row = {}
    for name in METRICS:
        if name in DERIVED:
            continue
        value = getattr(result, fields.get(name, name))
        row[name] = None if value is None else float(value)
    for name, derive in DERIVED.items():
        row[name] = derive(row)
    return row


def run(args) -> dict:
    import torch
    from attnmod.toolkit.generation import generate
    from attnmod.toolkit.models.loading import load_model
    from attnmod.toolkit.modulation.config import ModulationConfig
    from attnmod.toolkit.shapes_world import prompt_set

    torch.set_num_threads(args.threads)
    model = load_model(args.model, device=args.device, dtype="float32" if args.device == "cpu" else "auto")
    config = ModulationConfig.from_variant(args.variant)
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict = {
        "machine": machine_description(),
        "model": args.model,
        "variant": args.variant,
        "seeds": seeds,
        "steps": args.steps,
        "guidance": args.guidance,
        "sets": {},
    }
    started = time.perf_counter()
    images_dir = Path(args.images) if args.images else None
    for name, count in args.sets:
        count = min(count, args.quick) if args.quick else count
        scenes = prompt_set(name, count, seed=args.set_seed)
        items = [(scene, seed) for scene in scenes for seed in seeds]
        rows: list[dict] = []
        for start in range(0, len(items), args.batch):
            chunk = items[start : start + args.batch]
            outputs = generate(
                model,
                [s.caption for s, _ in chunk],
                config,
                seeds=[seed for _, seed in chunk],
                steps=args.steps,
                guidance=args.guidance,
                height=64,
                width=64,
                capture=False,
            )
            for (scene, seed), output in zip(chunk, outputs, strict=True):
                row = {"caption": scene.caption, "seed": seed, **judge_row(output.image, scene)}
                rows.append(row)
                if images_dir is not None:
                    folder = images_dir / name
                    folder.mkdir(parents=True, exist_ok=True)
                    stem = f"{len(rows) - 1:04d}"
                    output.image.save(folder / f"{stem}.png")
                    (folder / f"{stem}.json").write_text(json.dumps({"seed": seed, "scene": scene.to_json()}))
            print(f"  {name}: {len(rows)}/{len(items)} images", file=sys.stderr, flush=True)
        results["sets"][name] = {"prompts": len(scenes), "images": len(rows), "metrics": summarise(rows), "rows": rows}
    results["seconds"] = time.perf_counter() - started
    return results


def summarise(rows: list[dict]) -> dict:
    """Per metric: the mean over images with its prompt-resampling bootstrap interval."""
    summary = {}
    for metric in METRICS:
        groups: dict[str, list[float]] = {}
        for row in rows:
            value = row.get(metric)  # None: a verdict the judge did not give when the file was written
            if value is not None:
                groups.setdefault(row["caption"], []).append(value)
        mean, low, high = bootstrap_interval(list(groups.values()))
        summary[metric] = {"mean": mean, "low": low, "high": high, "images": sum(len(g) for g in groups.values())}
    return summary


def retabulate(results: dict) -> dict:
    """Recompute every set's summary from its stored per-image rows (adds metrics derived after the run)."""
    for data in results["sets"].values():
        for row in data["rows"]:
            for name, derive in DERIVED.items():
                row.setdefault(name, derive(row))
        data["metrics"] = summarise(data["rows"])
    return results


def markdown(results: dict) -> str:
    def cell(stat) -> str:
        if not stat["images"]:
            return "n/a"
        return f"{100 * stat['mean']:.1f} [{100 * stat['low']:.1f}, {100 * stat['high']:.1f}]"

    lines = [
        f"Machine: {results['machine']}. Model `{results['model']}`, variant `{results['variant']}`, seeds "
        f"{results['seeds']}, {results['steps']} steps, guidance {results['guidance']}; {results['seconds']:.0f} s.",
        "",
        "| set | prompts x seeds | all named objects present | all named shapes present (any colour) | colour binding "
        "| all correct | missing | wrong colour | merged | leaked | count right | relation holds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, data in results["sets"].items():
        m = data["metrics"]
        lines.append(
            f"| {name} | {data['prompts']} x {len(results['seeds'])} | {cell(m['all_present'])} | "
            f"{cell(m['shapes_present'])} | {cell(m['colour_binding'])} | {cell(m['all_correct'])} | {cell(m['missing'])} | "
            f"{cell(m['wrong_colour'])} | {cell(m['merged'])} | {cell(m['leaked'])} | {cell(m['counts'])} | "
            f"{cell(m['relation'])} |"
        )
    lines.append("")
    lines.append("Percent of images, with 95% bootstrap intervals over prompts.")
    return "\n".join(lines)


def parse_sets(text: str | None) -> tuple[tuple[str, int], ...]:
    """``NAME:COUNT,...`` (a prompt set of ``shapes_world.prompt_set``, optionally ``/tune`` or ``/test``, and how
    many prompts); None: every set at its reporting size (:data:`SETS`)."""
    from attnmod.toolkit.shapes_world import parse_set_name

    if not text:
        return SETS
    sets = []
    for part in text.split(","):
        name, _, count = part.strip().partition(":")
        parse_set_name(name)  # a ValueError naming the sets for an unknown one
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{part.strip()!r}: give NAME:COUNT with a count of at least 1")
        sets.append((name, int(count)))
    return tuple(sets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="shapes")
    parser.add_argument("--variant", default="none")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--set-seed", type=int, default=0, help="seed of the prompt sets")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", type=int, default=0, help="at most this many prompts per set")
    parser.add_argument(
        "--sets", default=None, help="NAME:COUNT,... prompt sets to draw (default: every set at its reporting size)"
    )
    parser.add_argument("--images", default=None, help="also save every image with its scene under this folder")
    parser.add_argument("--out", default=None, help="write the results JSON here")
    parser.add_argument(
        "--tabulate", default=None, help="re-tabulate a results JSON written by this script (no model needed)"
    )
    args = parser.parse_args()
    try:
        args.sets = parse_sets(args.sets)
    except ValueError as error:
        sys.exit(f"--sets: {error}")
    if args.tabulate:
        try:
            results = retabulate(json.loads(Path(args.tabulate).read_text()))
        except (OSError, ValueError, KeyError) as error:
            sys.exit(f"--tabulate {args.tabulate}: not a results file of this script ({error})")
    else:
        results = run(args)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
