"""Defaults on evidence: sweep ``full``'s parameters on the ``/tune`` half of the 2-object shapes prompts, rank the
points by the judge, and write the table (docs/sweep.md), the ranking (docs/sweep.json) and the best point's
configuration (docs/full-tuned.json, what ``benchmarks/results.py --tuned`` reads).

Every grid point is the ``full`` variant with some settings changed, named as ``attnmod ablate --sweep`` names it
(``full~masking.special="substitute",temperature.tau=0.6``, from the same :func:`expand_sweep`), plus ``none`` as the
paired reference. Each prompt of the tune set is generated with every point and the judge
(:func:`attnmod.analysis.judge.image.judge_image`) reads each image against its scene; capture is off (the judge needs
only the image) and the per-image rows are appended to ``--rows-dir`` as they are made, so a killed sweep resumes
(the generation is benchmarks/results.py's, the row cache benchmarks/_common.py's). Per point: the all-correct rate, colour-binding and
object accuracy, each with a 95% bootstrap interval over prompts and the paired difference to ``none``; the points
are ranked by ``--rank-by`` (default: all correct, ties broken by colour binding, then object accuracy). Per axis,
the main effect of each value against the axis's first value (averaged over the other axes' points, paired by
prompt and seed), which uses every image of the grid and so is far tighter than any one point's difference.

    # the default grid (2 x 2 x 2 = 8 points + none) on 60 prompts, 1 seed: 540 images, ~9-10 min on one free core
    python benchmarks/tune_full.py
    # two cores: two shards side by side, then the merge writes the outputs (~5-6 min)
    python benchmarks/tune_full.py --shard 0/2 --no-write & python benchmarks/tune_full.py --shard 1/2 --no-write; wait
    python benchmarks/tune_full.py --merge
    # another grid: the same syntax as `attnmod ablate --sweep` (or --sweep-file grid.yaml)
    python benchmarks/tune_full.py --sweep temperature.tau=0.5,0.7,0.9 --sweep masking.start=0,0.1
    # checks the script end to end in a minute
    python benchmarks/tune_full.py --prompts 2 --steps 3 --out-dir /tmp/sweep-check

The picked point is the best estimate on the tune split: its advantage there is biased upwards (it won a
comparison of noisy estimates), which is why results.py reports it on the ``/test`` halves only.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results  # noqa: E402  (benchmarks/results.py: generation, bootstrap)
from _common import load_model_for, read_rows, rows_of_run, shard_rows_file, write_report  # noqa: E402
from _machine import machine_description  # noqa: E402

TUNE_SETS = ("seen-2/tune",)
# Three axes, each the current default first and one alternative: the end and padding tokens (which carry the whole
# prompt in CLIP's causal encoder, so colours leak through them past the mask), how long masking lasts (colour may
# settle after the layout window), and the self-attention temperature's strength.
DEFAULT_GRID = (
    "masking.special=keep,substitute",
    "masking.end=0.5,1.0",
    "temperature.tau=0.8,0.6",
)
RANK_METRICS = ("all_correct", "colour_binding", "object_accuracy")
POOLED = "tune"


def grid_axes(sweeps: Sequence[str], sweep_file: str | None) -> list[tuple[str, list[str]]]:
    """The sweep axes ``[(key, [canonical values])]`` from ``--sweep-file`` and ``--sweep`` (default: DEFAULT_GRID)."""
    from attnmod.lightning_modules.data import load_sweep_file, parse_sweep
    from attnmod.toolkit.errors import AttnmodError

    try:
        axes = load_sweep_file(sweep_file) if sweep_file else []
        axes += [parse_sweep(spec) for spec in sweeps]
        if not axes:
            axes = [parse_sweep(spec) for spec in DEFAULT_GRID]
    except AttnmodError as error:
        raise results.UsageError(str(error)) from None
    return axes


def sweep_configs(axes) -> dict:
    """``none`` plus one ``full~...`` point per combination of the axes' values (``attnmod ablate --sweep``'s names)."""
    from attnmod.lightning_modules.data import expand_sweep
    from attnmod.toolkit.errors import AttnmodError

    try:
        return expand_sweep(["none", "full"], axes)
    except AttnmodError as error:
        raise results.UsageError(str(error)) from None


def point_settings(variant: str) -> dict[str, str]:
    from attnmod.lightning_modules.data import sweep_point_settings

    return sweep_point_settings(variant) or {}


def overrides(settings: dict[str, str]) -> list[str]:
    """A point's settings as ``KEY=VALUE`` strings for ``--set`` / ``--tuned-set`` (bare words where YAML allows)."""
    return [f"{key}={results.short_value(json.loads(value))}" for key, value in sorted(settings.items())]


def pooled(rows: Sequence[dict]) -> list[dict]:
    """All tune sets as one group: the set name moves into the caption, so pairs stay unique."""
    return [dict(row, set=POOLED, caption=f"{row['set']}|{row['caption']}") for row in rows]


def rank_points(
    rows: Sequence[dict], labels: Sequence[str], rank_by: str = "all_correct", time_key: str = "seconds"
) -> list[dict]:
    """Sweep points (labels with ``~``), best first: per point each metric's interval and paired difference to
    ``none`` (from results.summarise over all tune prompts), the time ratio, and the settings. Sorted by ``rank_by``,
    then the other metrics of RANK_METRICS; points without a value of ``rank_by`` go last."""
    summary = results.summarise(pooled(rows), list(labels), [POOLED], time_key)[POOLED]
    order = [rank_by] + [metric for metric in RANK_METRICS if metric != rank_by]
    points = []
    for label in labels:
        if "~" not in label:
            continue
        entry = dict(summary[label], variant=label, settings=point_settings(label))
        points.append(entry)

    def key(point):
        means = [point[metric]["mean"] for metric in order]
        return (math.isnan(means[0]), [-(m if not math.isnan(m) else -1.0) for m in means])

    points.sort(key=key)
    return points


def paired_to(rows: Sequence[dict], label: str, reference: str, metric: str, seed: int = 0) -> dict:
    """Mean difference ``label - reference`` of ``metric`` over the same prompt and seed, bootstrapped over prompts."""
    base = {(r["set"], r["caption"], r["seed"]): r.get(metric) for r in rows if r["variant"] == reference}
    deltas: dict[tuple, list[float]] = {}
    for row in rows:
        if row["variant"] != label or row.get(metric) is None:
            continue
        other = base.get((row["set"], row["caption"], row["seed"]))
        if other is not None:
            deltas.setdefault((row["set"], row["caption"]), []).append(row[metric] - other)
    return results.cluster_bootstrap(list(deltas.values()), seed=seed)


def main_effects(rows: Sequence[dict], axes, labels: Sequence[str], metric: str) -> list[dict]:
    """Per axis and per value after the first: the mean over prompt-seed pairs of (the metric averaged over the
    points with that value) minus (averaged over the points with the axis's first value), with a bootstrap interval
    over prompts. Only pairs judged at every point count (None verdicts left out of each average)."""
    points = {label: point_settings(label) for label in labels if "~" in label}
    by_pair: dict[tuple, dict[str, float | None]] = {}
    for row in rows:
        if row["variant"] in points:
            by_pair.setdefault((row["set"], row["caption"], row["seed"]), {})[row["variant"]] = row.get(metric)
    effects = []
    for axis_index, (key, values) in enumerate(axes):
        first = values[0]
        for value in values[1:]:
            deltas: dict[tuple, list[float]] = {}
            for pair, found in by_pair.items():
                if len(found) < len(points):
                    continue
                chosen = [v for label, v in found.items() if points[label].get(key) == value and v is not None]
                baseline = [v for label, v in found.items() if points[label].get(key) == first and v is not None]
                if chosen and baseline:
                    delta = sum(chosen) / len(chosen) - sum(baseline) / len(baseline)
                    deltas.setdefault(pair[:2], []).append(delta)
            stat = results.cluster_bootstrap(list(deltas.values()), seed=axis_index)
            effects.append({"key": key, "value": value, "against": first, "metric": metric, **stat})
    return effects


def default_point(configs: dict) -> str | None:
    """The grid point whose configuration equals ``full``'s current defaults, if the grid holds one."""
    from attnmod.toolkit.modulation.config import ModulationConfig

    defaults = ModulationConfig.from_variant("full").to_json()
    return next((label for label, config in configs.items() if "~" in label and config.to_json() == defaults), None)


def reproduce_command(args) -> str:
    parts = ["python benchmarks/tune_full.py"]
    if args.model != "shapes":
        parts.append(f"--model {shlex.quote(args.model)}")
    if args.sets != ",".join(TUNE_SETS):
        parts.append(f"--sets {args.sets}")
    parts += [f"--prompts {args.prompts}", f"--seeds {args.seeds}"]
    parts += [f"--sweep {shlex.quote(spec)}" for spec in args.sweep]
    if args.sweep_file:
        parts.append(f"--sweep-file {shlex.quote(args.sweep_file)}")
    for name, default in (("steps", None), ("guidance", 5.0), ("set_seed", 0)):
        if getattr(args, name) != default:
            parts.append(f"--{name.replace('_', '-')} {getattr(args, name)}")
    if args.rank_by != "all_correct":
        parts.append(f"--rank-by {args.rank_by}")
    return " ".join(parts)


def markdown(args, settings, axes, points, effects, best, defaults_label, versus_defaults, rows) -> str:
    percent = results.percent
    grid = " ".join(f"--sweep {key}={','.join(results.short_value(json.loads(v)) for v in values)}"
                    for key, values in axes)  # fmt: skip
    sources = " ".join(f"shapes:{name.strip()}:{args.prompts}:{args.set_seed}" for name in args.sets.split(","))
    lines = [
        "# Tuning `full` on the shapes world",
        "",
        f"Produced by `{reproduce_command(args)}` ({len(rows)} images, {results.core_minutes(rows):.0f} core-minutes of "
        "generation; it may run as `--shard 0/2` and `--shard 1/2` side by side, then `--merge`).",
        f"Machine: {machine_description()}.",
        f"Model `{settings['model']}` (weights fingerprint `{settings['weights']}`, {settings['dtype']}), "
        f"{settings['steps']} steps at {settings['height']}x{settings['width']}, guidance {settings['guidance']}; "
        f"tune prompts: {args.prompts} per set of {args.sets} (prompt-set seed {args.set_seed}) x seeds {args.seeds}. "
        "The `/test` halves, on which docs/results.md reports, are never used here.",
        f"Grid: `{grid}` over `full`, and `none` as the paired reference: the same items and point names as "
        f"`attnmod ablate {sources} --model {settings['model']} --seeds {args.seeds} --variants none,full {grid} "
        "--out RUN` followed by `attnmod evaluate RUN --judge shapes` (which also capture attention, so cost more).",
        "Percent of images with 95% bootstrap intervals over prompts; differences "
        "are paired (same prompt and seed), in percentage points.",
        "",
        f"## Points ranked by {results.METRICS[args.rank_by]}",
        "",
        "| rank | settings | all correct | vs none | colour binding | vs none | object accuracy | vs none | time vs none |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rank, point in enumerate(points, start=1):
        text = ", ".join(f"`{s}`" for s in overrides(point["settings"]))
        if point["variant"] == defaults_label:
            text += " (current defaults)"
        ratio = point["time_ratio"]
        lines.append(
            f"| {rank} | {text} | {percent(point['all_correct'])} | {percent(point['all_correct_vs_none'], True)} | "
            f"{percent(point['colour_binding'])} | {percent(point['colour_binding_vs_none'], True)} | "
            f"{percent(point['object_accuracy'])} | {percent(point['object_accuracy_vs_none'], True)} | "
            f"{'n/a' if math.isnan(ratio) else f'{ratio:.2f}x'} |"
        )
    lines += [
        "",
        "## Main effects",
        "",
        "Each value against the axis's first value, averaged over the other axes' points (every grid image counts).",
        "",
        "| setting | against | all correct | colour binding | object accuracy |",
        "| --- | --- | --- | --- | --- |",
    ]
    by_value: dict[tuple, dict] = {}
    for effect in effects:
        by_value.setdefault((effect["key"], effect["value"], effect["against"]), {})[effect["metric"]] = effect
    for (key, value, against), cells in by_value.items():
        lines.append(
            f"| `{key}={results.short_value(json.loads(value))}` | {results.short_value(json.loads(against))} | "
            + " | ".join(percent(cells.get(metric), True) for metric in RANK_METRICS)
            + " |"
        )
    lines += ["", "## Best point", ""]
    if best is None:
        lines.append("No point has a value of the ranking score: nothing is picked.")
    else:
        sets = " ".join(f"--set {shlex.quote(s)}" for s in best["overrides"])
        tuned_sets = " ".join(f"--tuned-set {shlex.quote(s)}" for s in best["overrides"])
        lines += [
            f"`{best['variant']}`: {results.METRICS[args.rank_by]} {percent(best['stats'][args.rank_by])}.",
        ]
        if best["variant"] == defaults_label:
            lines.append("It is the current defaults: the grid found nothing better on this split.")
        if versus_defaults is not None:
            lines.append(
                f"Against the current defaults (paired): {percent(versus_defaults, True)} points of "
                f"{results.METRICS[args.rank_by]}"
                + (
                    " (interval above 0)."
                    if versus_defaults["n"] and versus_defaults["low"] > 0
                    else " (the interval includes 0: the data do not separate it from the defaults)."
                )  # fmt: skip
            )
        lines += [
            "",
            f"- as settings: `{sets}`",
            f"- configuration: `full-tuned.json` beside this file; report it with "
            f"`python benchmarks/results.py --tuned docs/full-tuned.json` (or `{tuned_sets}`).",
            "- its advantage here is biased upwards (it won among noisy estimates); docs/results.md measures it on "
            "the `/test` halves.",
        ]
    return "\n".join(lines) + "\n"


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="shapes", help="shapes, or a folder written by `attnmod world train`")
    parser.add_argument("--sets", default=",".join(TUNE_SETS), help="comma-separated shapes sets (use /tune halves)")
    parser.add_argument("--prompts", type=int, default=60, help="prompts per set")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--set-seed", type=int, default=0, help="seed of the prompt sets")
    parser.add_argument("--sweep", action="append", default=[], metavar="SECTION.KEY=V1,V2",
                        help="a grid axis, as for `attnmod ablate --sweep` (repeatable; default: DEFAULT_GRID)")  # fmt: skip
    parser.add_argument("--sweep-file", default=None, help="a sweep grid as YAML/JSON {SECTION.KEY: [values]}")
    parser.add_argument("--rank-by", choices=RANK_METRICS, default="all_correct")
    results.add_run_options(parser, merge_help="rank the rows already made", leaves="the outputs")
    parser.add_argument("--out-dir", default="docs", help="sweep.md, sweep.json and full-tuned.json go here")
    parser.add_argument(
        "--rows-dir", default=None, help="per-image rows (default: out/sweep-rows for docs, else OUT_DIR/sweep-rows)"
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_arguments(argv)
    try:
        return run(args)
    except results.UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def run(args) -> int:
    shard, seeds = results.check_run_options(args, merge_does="ranks")
    if args.sweep_file and not Path(args.sweep_file).is_file():
        raise results.UsageError(f"--sweep-file {args.sweep_file!r}: no such file")
    sets = [name.strip() for name in args.sets.split(",") if name.strip()]
    axes = grid_axes(args.sweep, args.sweep_file)
    configs = sweep_configs(axes)
    work = results.build_work(sets, args.prompts, seeds, args.set_seed, shard)
    out = Path(args.out_dir)
    rows_dir = results.rows_folder(args, "sweep-rows")
    images = len(work) * len(configs)
    if not args.merge:
        print(f"{len(configs) - 1} points + none; {images} images in this process; about "
              f"{images * results.SECONDS_PER_IMAGE / 60:.0f} min on one free core; rows in {rows_dir}",
              file=sys.stderr)  # fmt: skip

    model = load_model_for(args)
    settings = results.run_settings(args, model)
    if not args.merge:
        rows_file = shard_rows_file(rows_dir, shard)
        results.generate_rows(model, settings, work, configs, rows_file, args.batch, read_rows(rows_dir))
    if args.no_write:
        return 0
    all_work = results.build_work(sets, args.prompts, seeds, args.set_seed)
    rows = rows_of_run(rows_dir, settings, configs, all_work, "ranking")
    labels = list(configs)
    points = rank_points(rows, labels, args.rank_by, results.time_key_for(model))
    effects = [effect for metric in RANK_METRICS for effect in main_effects(rows, axes, labels, metric)]
    defaults_label = default_point(configs)
    best = None
    versus_defaults = None
    if points and not math.isnan(points[0][args.rank_by]["mean"]):
        top = points[0]
        best = {
            "variant": top["variant"],
            "settings": top["settings"],
            "overrides": overrides(top["settings"]),
            "config": configs[top["variant"]].to_json(),
            "stats": {metric: top[metric] for metric in RANK_METRICS},
        }
        if defaults_label and defaults_label != top["variant"]:
            versus_defaults = paired_to(rows, top["variant"], defaults_label, args.rank_by)
    text = markdown(args, settings, axes, points, effects, best, defaults_label, versus_defaults, rows)
    payload = {"settings": settings, "command": reproduce_command(args), "rank_by": args.rank_by,
               "axes": [{"key": key, "values": values} for key, values in axes], "points": points,
               "main_effects": effects, "best": best, "best_vs_defaults": versus_defaults}  # fmt: skip
    written = write_report(out, "sweep", text, payload)
    if best is not None:
        configs[best["variant"]].save(out / "full-tuned.json")
        written.append(out / "full-tuned.json")
        print("best point as settings: " + " ".join(f"--set {shlex.quote(s)}" for s in best["overrides"]))
    print("wrote " + ", ".join(map(str, written)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
