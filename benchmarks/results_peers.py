"""Attend-and-Excite and SynGen beside the paper's modulation on the shapes world: a block of docs/results.md.

Two stages, each one command; both use benchmarks/results.py's generation, judge, row cache and statistics:

    # 1. tune: each peer's strength (its step size) on the /tune halves only
    python benchmarks/results_peers.py tune --prompts 20 --seeds 0
    # 2. report: every variant on the /test halves, side by side, into the "results_peers" block of docs/results.md
    python benchmarks/results_peers.py report --prompts 30 --seeds 0,1
    # checks the script end to end in a few minutes
    python benchmarks/results_peers.py tune --prompts 2 --seeds 0 --steps 3 --out-dir /tmp/peers-check
    python benchmarks/results_peers.py report --prompts 2 --seeds 0 --steps 3 --out-dir /tmp/peers-check

``tune`` generates ``none`` and each peer alone at every step size of ``--step-sizes`` (default 10,20,40; the
papers use 20) on the 2-object ``/tune`` halves, and picks, per peer, the step size with the best paired difference
to ``none`` in the metric the method is for, fixed before the run: object accuracy for ``excite`` (Attend-and-Excite
targets missing objects), colour binding for ``syngen`` (SynGen targets wrong attributes); a tie goes to the paper's
20. It writes ``OUT/peers-tuned.json`` and the sweep's table into the block.

``report`` generates ``none``, each of the paper's parts alone, ``full`` (tuned: ``--tuned docs/full-tuned.json``),
``excite``, ``syngen``, ``full+excite`` and ``full+syngen`` (the peers at their tuned step size, from
``OUT/peers-tuned.json``) on the 2-object ``/test`` halves (``--sets`` for others), and reports, per set and pooled,
object accuracy, colour binding and all-correct with 95% bootstrap intervals over prompts, the paired differences to
``none``, and the time per image relative to ``none`` (CPU seconds with one thread, variants interleaved chunk by
chunk). Rows are cached per image under ``--rows-dir`` (resumable, as results.py's).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results  # noqa: E402  (generation, judge, statistics and rows of the main results benchmark)
from _common import UsageError, load_model_for, read_rows, rows_of_run, shard_rows_file  # noqa: E402
from _doc_block import update_document  # noqa: E402
from _machine import machine_description  # noqa: E402

TUNE_SETS = ("seen-2/tune", "heldout-2/tune")
REPORT_SETS = ("seen-2/test", "heldout-2/test")
PEERS = ("excite", "syngen")
PURPOSE = {"excite": "object_accuracy", "syngen": "colour_binding"}  # what each method is for, fixed in advance
PAPER_STEP_SIZE = 20.0
BLOCK = "results_peers"


def tune_configs(step_sizes) -> dict:
    from attnmod.toolkit.modulation.config import ModulationConfig

    configs = {"none": ModulationConfig.from_variant("none")}
    for peer in PEERS:
        for size in step_sizes:
            configs[f"{peer} step {size:g}"] = ModulationConfig.from_variant(peer).with_overrides(
                [f"{peer}.step_size={size}"]
            )
    return configs


def choose_step_sizes(summary: dict, step_sizes) -> dict:
    """Per peer: the step size whose paired difference to none, in the peer's own metric, is largest (pooled over
    the tune sets); ties go to the paper's step size, then to the smaller one."""
    pooled = summary[next(iter(summary))]
    chosen = {}
    for peer in PEERS:
        metric = f"{PURPOSE[peer]}_vs_none"

        def score(size, peer=peer, metric=metric):
            stat = pooled[f"{peer} step {size:g}"].get(metric)
            mean = stat["mean"] if stat and stat["n"] else -math.inf
            return (round(mean, 9), size == PAPER_STEP_SIZE, -size)

        chosen[peer] = max(step_sizes, key=score)
    return chosen


def report_configs(tuned_full, step_sizes: dict) -> dict:
    from attnmod.toolkit.modulation.config import PAPER_PARTS, ModulationConfig

    base = tuned_full if tuned_full is not None else ModulationConfig.from_variant("full")
    overrides = [f"{peer}.step_size={size}" for peer, size in step_sizes.items()]
    base = base.with_overrides(overrides)
    configs = {"none": ModulationConfig.from_variant("none")}
    for part in PAPER_PARTS:
        configs[part] = base.with_parts([part])
    configs["full"] = base.with_parts(PAPER_PARTS)
    for peer in PEERS:
        configs[peer] = base.with_parts([peer])
    for peer in PEERS:
        configs[f"full+{peer}"] = base.with_parts([*PAPER_PARTS, peer])
    return configs


def table(summary: dict, labels, caption: str | None = None) -> list[str]:
    lines = []
    for name, by_variant in summary.items():
        lines += [
            "",
            f"**{name}**{caption or ''}",
            "",
            "| variant | images | object accuracy | colour binding | all correct | colour leakage | object acc. vs none "
            "| colour binding vs none | all correct vs none | colour leakage vs none | time vs none |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for label in labels:
            entry = by_variant[label]
            ratio = entry["time_ratio"]
            lines.append(
                f"| {label} | {entry['images']} | {results.percent(entry['object_accuracy'])} | "
                f"{results.percent(entry['colour_binding'])} | {results.percent(entry['all_correct'])} | "
                f"{results.percent(entry.get('leaked'))} | "
                f"{results.percent(entry['object_accuracy_vs_none'], True)} | "
                f"{results.percent(entry['colour_binding_vs_none'], True)} | "
                f"{results.percent(entry['all_correct_vs_none'], True)} | "
                f"{results.percent(entry.get('leaked_vs_none'), True)} | "
                f"{'n/a' if math.isnan(ratio) else f'{ratio:.2f}x'} |"
            )
    return lines


def head_to_head(rows: list[dict], sets, reference: str = "full", others=("excite", "syngen")) -> dict:
    """Pooled over ``sets``: each of ``others`` minus ``reference`` (same prompt and seed), per metric, as
    :func:`results.cluster_bootstrap` of per-prompt mean differences (resampling prompts)."""
    pooled = [row for row in rows if row["set"] in sets]
    by_item = {(r["set"], r["caption"], r["seed"], r["variant"]): r for r in pooled}
    comparison = {}
    for other in others:
        comparison[other] = {}
        for metric in results.METRICS:
            deltas: dict[tuple, list[float]] = {}
            for (name, caption, seed, variant), mine in by_item.items():
                base = by_item.get((name, caption, seed, reference))
                if variant != other or base is None or mine.get(metric) is None or base.get(metric) is None:
                    continue
                deltas.setdefault((name, caption), []).append(mine[metric] - base[metric])
            comparison[other][metric] = results.cluster_bootstrap(list(deltas.values()))
    return comparison


def head_to_head_lines(comparison: dict, reference: str = "full") -> list[str]:
    lines = [
        "",
        f"**Head to head, pooled: each peer minus `{reference}`** (paired: same prompt and seed; points, 95% "
        "bootstrap intervals over prompts)",
        "",
        "| variant | object accuracy | colour binding | all correct | colour leakage (lower is better) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for other, by_metric in comparison.items():
        cells = " | ".join(results.percent(by_metric[metric], True) for metric in results.METRICS)
        lines.append(f"| {other} - {reference} | {cells} |")
    return lines


def command_line(args) -> str:
    parts = [f"python benchmarks/results_peers.py {args.stage}"]
    if args.model != "shapes":
        parts.append(f"--model {args.model}")
    if args.stage == "report" and args.tuned:
        parts.append(f"--tuned {args.tuned}")
    sets = TUNE_SETS if args.stage == "tune" else REPORT_SETS
    if args.sets and args.sets != ",".join(sets):
        parts.append(f"--sets {args.sets}")
    parts += [f"--prompts {args.prompts}", f"--seeds {args.seeds}"]
    if args.stage == "tune" and args.step_sizes != "10,20,40":
        parts.append(f"--step-sizes {args.step_sizes}")
    if args.steps:
        parts.append(f"--steps {args.steps}")
    return " ".join(parts)


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=("tune", "report"))
    parser.add_argument("--model", default="shapes")
    parser.add_argument("--tuned", default="docs/full-tuned.json", help="the tuned full (report stage)")
    parser.add_argument("--sets", default=None, help="comma-separated shapes sets (default: the 2-object halves)")
    parser.add_argument("--prompts", type=int, default=20, help="prompts per set")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--set-seed", type=int, default=0)
    parser.add_argument("--step-sizes", default="10,20,40", help="tune stage: the step sizes tried per peer")
    results.add_run_options(parser, merge_help="summarise the rows already made", leaves="the report")
    parser.add_argument("--out-dir", default="docs", help="results.md's block, peers-tuned.json and figures go here")
    parser.add_argument("--rows-dir", default=None)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_arguments(argv)
    try:
        return run(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def run(args) -> int:
    shard, seeds = results.check_run_options(args, merge_does="summarises")
    out = Path(args.out_dir)
    default_sets = TUNE_SETS if args.stage == "tune" else REPORT_SETS
    sets = [name.strip() for name in (args.sets or ",".join(default_sets)).split(",") if name.strip()]
    wrong = [name for name in sets if name.endswith("/test" if args.stage == "tune" else "/tune")]
    if wrong:
        raise UsageError(f"the {args.stage} stage never reads {', '.join(wrong)}: tune on /tune, report on /test")
    tuned_path = out / "peers-tuned.json"
    if args.stage == "tune":
        try:
            step_sizes = [float(size) for size in args.step_sizes.split(",") if size.strip()]
        except ValueError:
            raise UsageError(f"--step-sizes {args.step_sizes!r}: comma-separated numbers, e.g. 10,20,40") from None
        if not step_sizes or min(step_sizes) <= 0:
            raise UsageError("--step-sizes: give positive numbers")
        configs = tune_configs(step_sizes)
    else:
        if not tuned_path.is_file():
            raise UsageError(f"{tuned_path} does not exist: run the tune stage first")
        chosen = json.loads(tuned_path.read_text(encoding="utf-8"))["step_sizes"]
        full = results.load_tuned(args.tuned if args.tuned and Path(args.tuned).is_file() else None)
        configs = report_configs(full, chosen)
    rows_dir = (
        Path(args.rows_dir)
        if args.rows_dir
        else Path("out" if out == Path("docs") else out) / (f"peers-{args.stage}-rows")
    )
    work = results.build_work(sets, args.prompts, seeds, args.set_seed, shard)
    if not args.merge:
        print(f"{len(work) * len(configs)} images ({len(work)} prompt-seed pairs x {len(configs)} variants); "
              f"rows in {rows_dir}; machine: {machine_description()}", file=sys.stderr)  # fmt: skip
    model = load_model_for(args)
    settings = results.run_settings(args, model)
    if not args.merge:
        results.generate_rows(model, settings, work, configs, shard_rows_file(rows_dir, shard), args.batch,
                              read_rows(rows_dir))  # fmt: skip
    if args.no_write:
        return 0
    rows = rows_of_run(rows_dir, settings, configs, results.build_work(sets, args.prompts, seeds, args.set_seed),
                       "report")  # fmt: skip
    labels = list(configs)
    time_key = results.time_key_for(model)
    summary = results.summarise(rows, labels, sets, time_key)
    out.mkdir(parents=True, exist_ok=True)
    clock = "CPU" if time_key == "cpu_seconds" else "wall"
    header = (
        f"Produced by `{command_line(args)}` ({len(rows)} images judged, {results.core_minutes(rows):.0f} "
        f"core-minutes). Machine: {machine_description()}. Model `{settings['model']}` (weights "
        f"`{settings['weights']}`, {settings['dtype']}), {settings['steps']} steps at "
        f"{settings['height']}x{settings['width']}, guidance {settings['guidance']}; {args.prompts} prompts per set "
        f"(prompt-set seed {args.set_seed}) x seeds {args.seeds}. Percent of images, 95% bootstrap intervals over "
        f"prompts; differences paired with `none` (same prompt and seed), in points; time: median {clock} seconds "
        "per image relative to `none`."
    )
    payload_path = out / f"peers-{args.stage}.json"
    payload = {"settings": settings, "command": command_line(args), "summary": summary,
               "configs": {label: config.to_json() for label, config in configs.items()}}  # fmt: skip
    if args.stage == "report":
        payload["head_to_head"] = head_to_head(rows, sets)
    if args.stage == "tune":
        chosen = choose_step_sizes(summary, step_sizes)
        payload["step_sizes"] = chosen
        tuned_path.write_text(json.dumps({"step_sizes": chosen, "command": command_line(args)}, indent=1) + "\n")
        lines = [
            "### Tuning the peers' step size (`/tune` halves)",
            "",
            header,
            "",
            "Chosen, by the paired difference to `none` in each method's own metric (fixed before the run: object "
            "accuracy for excite, colour binding for syngen; ties to the papers' 20): "
            + ", ".join(f"`{peer}.step_size={size:g}`" for peer, size in chosen.items())
            + ".",
            *table(summary, labels),
        ]
        update_document(out / "results.md", f"{BLOCK}_tune", "\n".join(lines))
    else:
        results.figure(summary, labels, out / "results-peers.png")
        lines = [
            "### Side by side on the `/test` halves",
            "",
            header,
            "",
            "Variants: `none`; the paper's parts alone and `full` (" + (
                f"tuned: `{args.tuned}`" if full is not None else "current defaults") + "); `excite` "
            "(Attend-and-Excite) and `syngen` (SynGen) alone and on top of `full`, at the step sizes the tune stage "
            "chose (" + ", ".join(f"{peer} {size:g}" for peer, size in chosen.items()) + ").",
            "",
            "![per variant: colour binding and paired differences to none](results-peers.png)",
            *table(summary, labels),
            *head_to_head_lines(head_to_head(rows, sets)),
        ]  # fmt: skip
        update_document(out / "results.md", BLOCK, "\n".join(lines))
    payload_path.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    print("\n".join(lines))
    print(f"wrote the block into {out / 'results.md'} and {payload_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
