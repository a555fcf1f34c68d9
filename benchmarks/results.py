"""The paper's claim in miniature: does the modulation fix binding on the shapes world? One command writes docs/results.md.

For each variant (``none``, each part alone, ``full`` with the first design's rules, ``full`` as tuned) and each
report set of shapes prompts (2- and 3-object captions, seen and held-out colour-shape combinations, the ``/test``
half of each set, which the sweep that tunes ``full`` never sees), it generates every prompt with every seed on the
trained ``shapes`` model and lets the judge (:func:`attnmod.analysis.judge.judge_image`) read each image against its
scene. Reported per set and variant, as percent of images:

* object accuracy (the share of named objects found with shape and colour), colour-binding accuracy (every named
  object whose shape is there has its colour) and the all-correct rate, each with a 95% percentile-bootstrap interval
  that resamples prompts (all seeds of a prompt together);
* the paired difference to ``none`` (same prompt, same seed, averaged per prompt, bootstrapped over prompts);
* the time per image relative to ``none`` (variants interleaved batch by batch on one process).

Plus a figure (docs/results.png) and every per-image row (JSONL, so a killed run resumes where it stopped).

    python benchmarks/results.py --tuned tuned-full.yaml                      # N=200 prompts x 2 seeds per set
    python benchmarks/results.py --model tiny --prompts 3 --seeds 0 --out-dir /tmp/results-check   # checks the script

``--tuned`` takes the tuned ``full`` configuration (YAML/JSON, as written from the sweep's best point); without it the
``full`` row uses the current defaults and is labelled so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

REPORT_SETS = ("seen-2/test", "heldout-2/test", "seen-3/test", "heldout-3/test")
METRICS = {
    "object_accuracy": "object accuracy",
    "colour_binding": "colour binding",
    "all_correct": "all correct",
}
REFERENCE = "none"


def variant_configs(tuned: str | None) -> dict:
    """Variant label -> ModulationConfig, in report order."""
    from attnmod.toolkit.modulation_config import ModulationConfig

    configs = {name: ModulationConfig.from_variant(name) for name in ("none", "temperature", "masking", "reweighting")}
    configs["full-old-defaults"] = ModulationConfig.legacy("full")
    if tuned:
        configs["full-tuned"] = ModulationConfig.load(tuned)
    else:
        configs["full-current-defaults"] = ModulationConfig.from_variant("full")
    return configs


def judge_values(image, scene) -> dict:
    """The judge's verdicts for one image as numbers (None where a verdict does not apply)."""
    from attnmod.analysis.judge import judge_image

    result = judge_image(image, scene)
    values = {}
    for name in METRICS:
        value = getattr(result, name, None)
        values[name] = None if value is None else float(value)
    return values


def cluster_bootstrap(groups: list[list[float]], resamples: int = 2000, seed: int = 0) -> dict:
    """Mean of all values with a 95% percentile interval from resampling whole groups (prompts)."""
    import numpy as np

    groups = [g for g in groups if g]
    if not groups:
        return {"mean": math.nan, "low": math.nan, "high": math.nan, "n": 0}
    sums = np.array([sum(g) for g in groups], dtype=float)
    counts = np.array([len(g) for g in groups], dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(groups), size=(resamples, len(groups)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    return {
        "mean": float(sums.sum() / counts.sum()),
        "low": float(np.percentile(means, 2.5)),
        "high": float(np.percentile(means, 97.5)),
        "n": int(counts.sum()),
    }


def row_key(row: dict) -> tuple:
    return (row["set"], row["caption"], row["seed"], row["variant"])


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a killed run: that image is made again
    return rows


def generate_rows(args, configs: dict, rows_path: Path) -> list[dict]:
    """Generate and judge every (set, prompt, seed, variant) not yet in ``rows_path``; variants interleaved."""
    from attnmod.toolkit.generation import generate
    from attnmod.toolkit.models import load_model
    from attnmod.toolkit.parsing import parse_prompt
    from attnmod.toolkit.run_files import default_generation_settings
    from attnmod.toolkit.shapes_world import prompt_set
    from tqdm.auto import tqdm

    rows = read_rows(rows_path)
    done = {row_key(row) for row in rows}
    model = load_model(args.model, device=args.device, dtype=args.dtype)
    defaults = default_generation_settings(model)
    steps = args.steps or defaults["steps"]
    height, width = defaults["height"], defaults["width"]
    seeds = [int(s) for s in args.seeds.split(",")]
    work = []
    for name in args.sets.split(","):
        for scene in prompt_set(name, args.prompts, seed=args.set_seed):
            for seed in seeds:
                work.append((name, scene, seed))
    trees: dict[str, object] = {}
    bar = tqdm(total=len(work) * len(configs), desc="images", unit="image")
    with rows_path.open("a", encoding="utf-8") as handle:
        for start in range(0, len(work), args.batch):
            chunk = work[start : start + args.batch]
            for label, config in configs.items():  # interleaved: every variant once per chunk
                todo = [(n, s, seed) for n, s, seed in chunk if (n, s.caption, seed, label) not in done]
                bar.update(len(chunk) - len(todo))
                if not todo:
                    continue
                for _, scene, _ in todo:
                    if scene.caption not in trees:
                        trees[scene.caption] = parse_prompt(scene.caption, tokenizers=model.tokenizers)
                began = time.perf_counter()
                outputs = generate(
                    model,
                    [scene.caption for _, scene, _ in todo],
                    config,
                    seeds=[seed for _, _, seed in todo],
                    steps=steps,
                    guidance=args.guidance,
                    height=height,
                    width=width,
                    capture=False,
                    trees=[trees[scene.caption] for _, scene, _ in todo],
                )
                seconds = (time.perf_counter() - began) / len(todo)
                for (name, scene, seed), output in zip(todo, outputs, strict=True):
                    row = {"set": name, "caption": scene.caption, "seed": seed, "variant": label, "seconds": seconds}
                    row.update(judge_values(output.image, scene))
                    rows.append(row)
                    handle.write(json.dumps(row) + "\n")
                handle.flush()
                bar.update(len(todo))
    bar.close()
    return rows


def summarise(rows: list[dict], labels: list[str], sets: list[str]) -> dict:
    """Per set and variant: each metric's interval, the paired difference to none, and the time ratio."""
    import statistics

    summary: dict = {}
    for index, name in enumerate(sets):
        in_set = [row for row in rows if row["set"] == name]
        reference = {(r["caption"], r["seed"]): r for r in in_set if r["variant"] == REFERENCE}
        reference_seconds = [r["seconds"] for r in reference.values()]
        summary[name] = {}
        for label in labels:
            mine = [row for row in in_set if row["variant"] == label]
            entry: dict = {"images": len(mine)}
            for metric in METRICS:
                groups: dict[str, list[float]] = {}
                deltas: dict[str, list[float]] = {}
                for row in mine:
                    if row.get(metric) is None:
                        continue
                    groups.setdefault(row["caption"], []).append(row[metric])
                    paired = reference.get((row["caption"], row["seed"]))
                    if paired is not None and paired.get(metric) is not None and label != REFERENCE:
                        deltas.setdefault(row["caption"], []).append(row[metric] - paired[metric])
                entry[metric] = cluster_bootstrap(list(groups.values()), seed=index)
                entry[f"{metric}_vs_none"] = cluster_bootstrap(list(deltas.values()), seed=index) if deltas else None
            seconds = [row["seconds"] for row in mine]
            entry["time_ratio"] = (
                statistics.median(seconds) / statistics.median(reference_seconds)
                if seconds and reference_seconds
                else math.nan
            )
            summary[name][label] = entry
    return summary


def percent(stat: dict | None, signed: bool = False) -> str:
    if not stat or not stat["n"] or math.isnan(stat["mean"]):
        return "n/a"
    sign = "+" if signed else ""
    return f"{100 * stat['mean']:{sign}.1f} [{100 * stat['low']:{sign}.1f}, {100 * stat['high']:{sign}.1f}]"


def verdict(summary: dict) -> list[str]:
    """The issue's goal, checked on the 2-object report sets: tuned full raises colour binding over none (paired
    95% interval above 0) without lowering object accuracy (paired interval not entirely below 0)."""
    lines = []
    for name in [n for n in summary if n.split("/")[0].endswith("-2")]:
        label = next((lab for lab in summary[name] if lab.startswith("full-tuned")), None)
        if label is None:
            lines.append(f"- {name}: no tuned `full` in this run (pass --tuned), so the goal is not checked.")
            continue
        binding = summary[name][label]["colour_binding_vs_none"]
        objects = summary[name][label]["object_accuracy_vs_none"]
        raised = bool(binding and binding["low"] > 0)
        lowered = bool(objects and objects["high"] < 0)
        outcome = "met" if raised and not lowered else "not met"
        lines.append(
            f"- {name}: goal {outcome}: colour binding {percent(binding, True)} points vs none, object accuracy "
            f"{percent(objects, True)} points."
        )
    return lines


def figure(summary: dict, labels: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(summary)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    width = 0.8 / max(len(labels), 1)
    for panel, (key, title) in enumerate(
        (("colour_binding", "colour-binding accuracy (%)"), ("colour_binding_vs_none", "difference to none (points)"))
    ):
        axis = axes[panel]
        for offset, label in enumerate(labels):
            stats = [summary[name][label].get(key) for name in sets]
            xs = [i + (offset - (len(labels) - 1) / 2) * width for i in range(len(sets))]
            means = [100 * s["mean"] if s and s["n"] else math.nan for s in stats]
            errors = [
                [100 * (s["mean"] - s["low"]) if s and s["n"] else 0 for s in stats],
                [100 * (s["high"] - s["mean"]) if s and s["n"] else 0 for s in stats],
            ]
            axis.bar(xs, means, width, yerr=errors, capsize=2, label=label)
        axis.set_xticks(range(len(sets)), sets)
        axis.set_title(title)
        if panel == 1:
            axis.axhline(0, color="black", linewidth=0.8)
    axes[0].legend(fontsize=7, ncols=2)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(args, summary: dict, labels: list[str], command: str, seconds: float) -> str:
    lines = [
        "# Results: the modulation on the shapes world",
        "",
        f"Produced by `{command}` ({seconds / 60:.0f} min). Machine: {machine_description()}.",
        f"Model `{args.model}`, {args.prompts} prompts per set x seeds {args.seeds}, guidance {args.guidance}; the "
        "judge reads every image against its scene. Report sets are the `/test` halves; any tuning used `/tune`.",
        "Percent of images with 95% bootstrap intervals over prompts; differences are paired (same prompt and seed) "
        "and in percentage points; time is the median seconds per image relative to `none`, variants interleaved.",
        "",
        "![colour binding per variant](results.png)",
        "",
        "## Goal",
        "",
        *verdict(summary),
    ]
    for name, by_variant in summary.items():
        lines += [
            "",
            f"## {name}",
            "",
            "| variant | images | object accuracy | colour binding | all correct | object acc. vs none "
            "| colour binding vs none | all correct vs none | time vs none |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for label in labels:
            entry = by_variant[label]
            lines.append(
                f"| {label} | {entry['images']} | {percent(entry['object_accuracy'])} | "
                f"{percent(entry['colour_binding'])} | {percent(entry['all_correct'])} | "
                f"{percent(entry['object_accuracy_vs_none'], True)} | {percent(entry['colour_binding_vs_none'], True)} "
                f"| {percent(entry['all_correct_vs_none'], True)} | {entry['time_ratio']:.2f}x |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="shapes")
    parser.add_argument("--tuned", default=None, help="the tuned full configuration (.yaml/.json)")
    parser.add_argument("--sets", default=",".join(REPORT_SETS), help="comma-separated shapes set names")
    parser.add_argument("--prompts", type=int, default=200, help="prompts per set")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--set-seed", type=int, default=0, help="seed of the prompt sets")
    parser.add_argument("--steps", type=int, default=None, help="default: the model's own")
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=16, help="prompts per pipeline call")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--out-dir", default="docs", help="results.md, results.png and results-rows.jsonl go here")
    args = parser.parse_args()

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    configs = variant_configs(args.tuned)
    started = time.perf_counter()
    rows = generate_rows(args, configs, out / "results-rows.jsonl")
    sets = args.sets.split(",")
    labels = list(configs)
    summary = summarise(rows, labels, sets)
    figure(summary, labels, out / "results.png")
    command = "python benchmarks/results.py " + " ".join(sys.argv[1:])
    text = markdown(args, summary, labels, command.strip(), time.perf_counter() - started)
    (out / "results.md").write_text(text, encoding="utf-8")
    (out / "results.json").write_text(json.dumps({"summary": summary, "configs": {k: v.to_json() for k, v in
                                                  configs.items()}}, indent=1), encoding="utf-8")  # fmt: skip
    print(text)


if __name__ == "__main__":
    main()
