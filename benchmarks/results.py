"""The paper's claim in miniature: does the modulation fix binding on the shapes world? One command writes docs/results.md.

For each variant (``none``, each part alone, ``full`` with the first design's rules, ``full`` as tuned) and each
report set of shapes prompts (2- and 3-object captions, seen and held-out colour-shape combinations, the ``/test``
half of each set, which the sweep that tunes ``full`` never sees: benchmarks/tune_full.py uses ``/tune``), it
generates every prompt with every seed on the trained ``shapes`` model and lets the judge
(:func:`attnmod.analysis.judge.image.judge_image`) read each image against its scene. Reported per set, and pooled over
the 2-object and the 3-object sets, as percent of images:

* object accuracy (the share of named objects found with shape and colour), colour-binding accuracy (every named
  object whose shape is there has its colour) and the all-correct rate, each with a 95% percentile-bootstrap interval
  that resamples prompts (all seeds of a prompt together);
* the paired difference to ``none`` (same prompt, same seed, averaged per prompt, bootstrapped over prompts);
* the time per image relative to ``none`` (median seconds per image; variants interleaved chunk by chunk in each
  process, so every variant meets the same machine load).

Plus a figure (results.png) and results.json. Every image's verdicts are appended to a JSON-lines file under
``--rows-dir`` as soon as its batch is judged, so a killed run resumes where it stopped; a row counts only for the
same model weights, generation settings and variant configuration (fingerprints in each row), so rows of another
model or of an earlier tuned point are never mixed in.

    # one process (2,400 images at the defaults: ~40 min on one free core)
    python benchmarks/results.py --tuned docs/full-tuned.json
    # the same on two cores (~20-25 min): two shards side by side, then the merge writes docs/results.md
    python benchmarks/results.py --tuned docs/full-tuned.json --shard 0/2 --no-write &
    python benchmarks/results.py --tuned docs/full-tuned.json --shard 1/2 --no-write; wait
    python benchmarks/results.py --tuned docs/full-tuned.json --merge
    # checks the script end to end in a minute
    python benchmarks/results.py --prompts 2 --seeds 0 --steps 3 --out-dir /tmp/results-check

``--tuned`` takes the tuned ``full`` configuration (a YAML/JSON ModulationConfig, such as ``docs/full-tuned.json``
that benchmarks/tune_full.py writes, or that script's ``sweep.json``), ``--tuned-set KEY=VALUE`` (repeatable)
overrides on top of ``full``'s current defaults; with neither the ``full`` row uses the current defaults and is
labelled so. Each part alone takes its parameters from the tuned configuration, so the rows are the ablation of
the tuned method.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402  (the row cache, shared with tune_full.py)
    UsageError,
    current_rows,
    fingerprint,
    load_model_for,
    read_rows,
    row_key,
    rows_of_run,
    shard_rows_file,
    write_report,
)
from _machine import machine_description  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

REPORT_SETS = ("seen-2/test", "heldout-2/test", "seen-3/test", "heldout-3/test")
METRICS = {
    "object_accuracy": "object accuracy",
    "colour_binding": "colour binding",
    "all_correct": "all correct",
    "leaked": "colour leakage",  # share of images with a named object partly in another's colour: lower is better
}
REFERENCE = "none"
PARTS = ("temperature", "masking", "reweighting")
# CPU seconds per image on shapes, 25 steps, 64x64, batches of 16, one thread: 0.9-1.0 measured (none and full) on
# this project's 2-core Xeon under load (for the printed estimate only)
SECONDS_PER_IMAGE = 1.0


# ---------------------------------------------------------------------------------------------- configurations


def short_value(value) -> str:
    """A setting's value as it reads on a command line: bare words and numbers, JSON for lists and mappings."""
    import yaml

    text = json.dumps(value, separators=(",", ":"))
    if isinstance(value, str):
        try:
            if yaml.safe_load(value) == value and value.strip() == value and value:
                return value
        except yaml.YAMLError:
            pass
    return text


def config_changes(config, reference) -> list[str]:
    """``SECTION.KEY=VALUE`` for every setting of ``config`` that differs from ``reference`` (enabled flags aside)."""

    def leaves(node, prefix=""):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, f"{prefix}{key}.")
        else:
            yield prefix[:-1], node

    mine, theirs = dict(leaves(config.to_json())), dict(leaves(reference.to_json()))
    changes = []
    for key, value in mine.items():
        if key == "variant" or key.endswith(".enabled") or key.startswith("capture."):
            continue
        if theirs.get(key) != value:
            changes.append(f"{key}={short_value(value)}")
    return changes


def load_tuned(path: str | None, overrides: Sequence[str] = ()):
    """The tuned ``full`` configuration: a ModulationConfig file, or a tune_full.py ``sweep.json`` (its best
    point), then ``overrides``; None when neither is given."""
    from attnmod.toolkit.errors import AttnmodError
    from attnmod.toolkit.modulation.config import ModulationConfig

    if not path and not overrides:
        return None
    try:
        config = ModulationConfig.from_variant("full")
        if path:
            file = Path(path)
            if not file.is_file():
                raise UsageError(f"--tuned {path!r}: no such file")
            data = None
            if file.suffix.lower() == ".json":
                try:
                    data = json.loads(file.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                    raise UsageError(f"--tuned {path!r} is not readable JSON: {error}") from None
            if isinstance(data, dict) and isinstance(data.get("best"), dict) and "config" in data["best"]:
                config = ModulationConfig.from_json(data["best"]["config"])  # a sweep.json: its best point
            else:
                config = ModulationConfig.load(file)
        config = config.with_overrides(list(overrides)).with_parts(PARTS)
    except AttnmodError as error:
        raise UsageError(str(error)) from None
    return config


def variant_configs(tuned) -> dict:
    """Variant label -> ModulationConfig, in report order. ``tuned``: a ModulationConfig or None."""
    from attnmod.toolkit.modulation.config import ModulationConfig

    base = tuned if tuned is not None else ModulationConfig.from_variant("full")
    configs = {"none": ModulationConfig.from_variant("none")}
    for part in PARTS:
        configs[part] = base.with_parts([part])
    configs["full-old-defaults"] = ModulationConfig.legacy("full")
    configs["full-tuned" if tuned is not None else "full-current-defaults"] = base.with_parts(PARTS)
    return configs


def model_fingerprint(model) -> str:
    """SHA-1 over the UNet's and text encoders' parameter bytes: changes when the weights change (a retrained
    ``shapes`` model keeps its name)."""
    import torch

    digest = hashlib.sha1()
    pipe = model.pipeline
    for part in ("unet", "text_encoder", "text_encoder_2"):
        module = getattr(pipe, part, None)
        if module is None:
            continue
        for name, tensor in module.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().to("cpu").contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:12]


# ---------------------------------------------------------------------------------------------- work and rows


def rows_folder(args, name: str) -> Path:
    """Where the per-image rows go: ``--rows-dir``; by default ``out/NAME`` (ignored by git) when the report goes
    to docs/, else ``OUT_DIR/NAME``."""
    if args.rows_dir:
        return Path(args.rows_dir)
    return Path("out") / name if Path(args.out_dir) == Path("docs") else Path(args.out_dir) / name


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"1/2"`` -> (1, 2): this process does work items ``i`` with ``i % 2 == 1``; None -> (0, 1)."""
    if not text:
        return 0, 1
    index, _, count = text.partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        raise UsageError(f"--shard {text!r}: write K/N with 0 <= K < N, e.g. 0/2") from None
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"--shard {text!r}: write K/N with 0 <= K < N, e.g. 0/2")
    return index, count


def parse_seed_list(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--seeds {text!r}: a comma-separated list of whole numbers, e.g. 0,1") from None
    if not seeds:
        raise UsageError("--seeds: give at least one seed")
    return seeds


def check_run_options(args, merge_does: str) -> tuple[tuple[int, int], list[int]]:
    """``(shard, seeds)`` from the options of :func:`add_run_options` and ``--seeds``, or a UsageError;
    ``merge_does`` is what ``--merge`` does with every shard's rows ("summarises", "ranks")."""
    shard = parse_shard(args.shard)
    seeds = parse_seed_list(args.seeds)
    if args.batch < 1:
        raise UsageError(f"--batch must be at least 1, not {args.batch}")
    if args.merge and args.shard:
        raise UsageError(f"--merge {merge_does} every shard's rows: give it without --shard")
    return shard, seeds


def build_work(sets: Sequence[str], prompts: int, seeds: Sequence[int], set_seed: int, shard=(0, 1)) -> list:
    """``[(set name, scene, seed)]``, sets interleaved prompt by prompt (a partial run covers every set), then
    this shard's share: every ``count``-th item from ``index``."""
    from attnmod.toolkit.shapes_world import prompt_set

    if prompts < 1:
        raise UsageError(f"--prompts must be at least 1, not {prompts}")
    scenes = {}
    for name in sets:
        try:
            scenes[name] = prompt_set(name, prompts, seed=set_seed)
        except ValueError as error:
            raise UsageError(str(error)) from None
    work = [(name, scenes[name][i], seed) for i in range(prompts) for name in sets for seed in seeds]
    index, count = shard
    return work[index::count]


def judge_values(image, scene) -> dict:
    """The judge's verdicts for one image as numbers (None where a verdict does not apply)."""
    from attnmod.analysis.judge.image import judge_image

    result = judge_image(image, scene)
    values = {}
    for name in METRICS:
        value = getattr(result, name, None)
        values[name] = None if value is None else float(value)
    return values


def run_settings(args, model) -> dict:
    """What every image of a run shares; its fingerprint goes into every row."""
    from attnmod.toolkit.run_files import resolve_generation_settings

    settings = resolve_generation_settings(model, args.steps, None, None)
    return {
        "model": args.model,
        "weights": model_fingerprint(model),
        "dtype": model.dtype,
        "steps": settings["steps"],
        "height": settings["height"],
        "width": settings["width"],
        "guidance": args.guidance,
        "set_seed": args.set_seed,
    }


def generate_rows(model, settings: dict, work: Sequence, configs: dict, rows_path: Path, batch: int,
                  existing: Sequence[dict] = (), generate_fn=None, judge_fn=None) -> list[dict]:  # fmt: skip
    """Generate and judge every (set, scene, seed) x variant without a row in ``existing``; variants interleaved
    chunk by chunk; each chunk's rows are appended to ``rows_path`` at once. Returns the new rows.

    ``generate_fn(prompts, config, seeds, scenes) -> images`` and ``judge_fn(image, scene) -> dict`` default to the
    toolkit's generation and the judge (tests pass fakes)."""
    from tqdm.auto import tqdm

    run = fingerprint(settings)
    prints = {label: fingerprint(config.to_json()) for label, config in configs.items()}
    done = {row_key(row) for row in current_rows(existing, run, prints)}
    trees: dict[str, object] = {}
    parsing = generate_fn is None

    def prepare(scenes) -> None:  # parsing stays outside the timed call
        if not parsing:
            return
        from attnmod.toolkit.prompt.parse import parse_prompt

        for scene in scenes:
            if scene.caption not in trees:
                trees[scene.caption] = parse_prompt(scene.caption, tokenizers=model.tokenizers)

    if generate_fn is None:
        from attnmod.toolkit.generation import generate

        def generate_fn(prompts, config, seeds, scenes, steps=None):
            outputs = generate(model, prompts, config, seeds=seeds, steps=steps or settings["steps"],
                               guidance=settings["guidance"], height=settings["height"], width=settings["width"],
                               capture=False, trees=[trees[scene.caption] for scene in scenes])  # fmt: skip
            return [output.image for output in outputs]

        pending = [(n, s, seed) for n, s, seed in work for label in configs
                   if (n, s.caption, seed, label, prints[label], run) not in done]  # fmt: skip
        if pending:  # one untimed 2-step image per variant: first-call costs must not land on one variant's clock
            _, scene, seed = pending[0]
            prepare([scene])
            for config in configs.values():
                generate_fn([scene.caption], config, [seed], [scene], steps=min(2, settings["steps"]))
    judge_fn = judge_fn or judge_values
    new_rows: list[dict] = []
    rows_path.parent.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(work) * len(configs), desc="images", unit="image", smoothing=0.05)
    with rows_path.open("a", encoding="utf-8") as handle:
        for start in range(0, len(work), batch):
            chunk = work[start : start + batch]
            for label, config in configs.items():  # interleaved: every variant once per chunk
                todo = [
                    (n, s, seed) for n, s, seed in chunk if (n, s.caption, seed, label, prints[label], run) not in done
                ]
                bar.update(len(chunk) - len(todo))
                if not todo:
                    continue
                prepare([s for _, s, _ in todo])
                began, began_cpu = time.perf_counter(), time.process_time()
                images = generate_fn([s.caption for _, s, _ in todo], config, [seed for _, _, seed in todo],
                                     [s for _, s, _ in todo])  # fmt: skip
                seconds = (time.perf_counter() - began) / len(todo)
                cpu_seconds = (time.process_time() - began_cpu) / len(todo)
                for (name, scene, seed), image in zip(todo, images, strict=True):
                    row = {"set": name, "caption": scene.caption, "seed": seed, "variant": label,
                           "config": prints[label], "run": run, "seconds": seconds, "cpu_seconds": cpu_seconds,
                           "batch": len(todo)}  # fmt: skip
                    row.update(judge_fn(image, scene))
                    new_rows.append(row)
                    handle.write(json.dumps(row) + "\n")
                handle.flush()
                bar.update(len(todo))
    bar.close()
    return new_rows


# ---------------------------------------------------------------------------------------------- statistics


def cluster_bootstrap(groups: list[list[float]], resamples: int = 2000, seed: int = 0) -> dict:
    """Mean of all values with a 95% percentile interval from resampling whole groups (prompts):
    :func:`attnmod.analysis.statistics.bootstrap_ci_grouped`."""
    from attnmod.analysis.statistics import bootstrap_ci_grouped

    groups = [g for g in groups if g]
    if not groups:
        return {"mean": math.nan, "low": math.nan, "high": math.nan, "n": 0, "groups": 0}
    values = [value for group in groups for value in group]
    labels = [index for index, group in enumerate(groups) for _ in group]
    mean, low, high = bootstrap_ci_grouped(values, labels, resamples, 0.95, seed)
    return {"mean": mean, "low": low, "high": high, "n": len(values), "groups": len(groups)}


def report_groups(sets: Sequence[str]) -> dict[str, list[str]]:
    """Report rows: the 2-object sets pooled, the 3-object sets pooled (when a kind has more than one set), then
    each set."""
    groups: dict[str, list[str]] = {}
    for objects in ("2", "3"):
        members = [name for name in sets if name.split("/")[0].endswith(f"-{objects}")]
        if len(members) > 1:
            groups[f"{objects} objects (pooled)"] = members
    for name in sets:
        groups[name] = [name]
    return groups


def summarise(rows: list[dict], labels: list[str], sets: list[str], time_key: str = "seconds") -> dict:
    """Per report group and variant: each metric's interval, the paired difference to none, and the time ratio
    (median ``time_key`` seconds per image over median of none's)."""
    summary: dict = {}
    for index, (group, members) in enumerate(report_groups(sets).items()):
        in_group = [row for row in rows if row["set"] in members]
        reference = {(r["set"], r["caption"], r["seed"]): r for r in in_group if r["variant"] == REFERENCE}
        reference_seconds = [r[time_key] for r in reference.values() if r.get(time_key) is not None]
        summary[group] = {}
        for label in labels:
            mine = [row for row in in_group if row["variant"] == label]
            entry: dict = {"images": len(mine)}
            for metric in METRICS:
                values: dict[tuple, list[float]] = {}
                deltas: dict[tuple, list[float]] = {}
                for row in mine:
                    if row.get(metric) is None:
                        continue
                    prompt = (row["set"], row["caption"])
                    values.setdefault(prompt, []).append(row[metric])
                    paired = reference.get((row["set"], row["caption"], row["seed"]))
                    if paired is not None and paired.get(metric) is not None and label != REFERENCE:
                        deltas.setdefault(prompt, []).append(row[metric] - paired[metric])
                entry[metric] = cluster_bootstrap(list(values.values()), seed=index)
                entry[f"{metric}_vs_none"] = cluster_bootstrap(list(deltas.values()), seed=index) if deltas else None
            seconds = [row[time_key] for row in mine if row.get(time_key) is not None]
            entry["seconds_median"] = statistics.median(seconds) if seconds else math.nan
            entry["time_ratio"] = (
                statistics.median(seconds) / statistics.median(reference_seconds)
                if seconds and reference_seconds
                else math.nan
            )
            summary[group][label] = entry
    return summary


# ---------------------------------------------------------------------------------------------- writing


def percent(stat: dict | None, signed: bool = False) -> str:
    if not stat or not stat["n"] or math.isnan(stat["mean"]):
        return "n/a"
    sign = "+" if signed else ""
    mean, low, high = (100 * stat[key] + 0.0 for key in ("mean", "low", "high"))  # + 0.0: no "-0.0"
    return f"{mean:{sign}.1f} [{low:{sign}.1f}, {high:{sign}.1f}]"


def tuned_label(labels) -> str | None:
    return next((label for label in labels if label.startswith("full-tuned")), None)


def verdict(summary: dict) -> list[str]:
    """The issue's goal, checked on the 2-object groups: tuned full raises colour binding over none (paired
    95% interval above 0) without lowering object accuracy (paired interval not entirely below 0)."""
    lines = []
    for name in [n for n in summary if n.startswith("2 objects") or n.split("/")[0].endswith("-2")]:
        label = tuned_label(summary[name])
        if label is None:
            lines.append(f"- {name}: no tuned `full` in this run (pass --tuned), so the goal is not checked.")
            continue
        binding = summary[name][label]["colour_binding_vs_none"]
        objects = summary[name][label]["object_accuracy_vs_none"]
        raised = bool(binding and binding["n"] and binding["low"] > 0)
        lowered = bool(objects and objects["n"] and objects["high"] < 0)
        outcome = "met" if raised and not lowered else "not met"
        lines.append(
            f"- {name}: goal {outcome}: colour binding {percent(binding, True)} points vs none, object accuracy "
            f"{percent(objects, True)} points."
        )
    return lines


FIGURE_PANELS = (
    ("colour_binding", "colour-binding accuracy (%)"),
    ("colour_binding_vs_none", "colour binding vs none (points)"),
    ("object_accuracy_vs_none", "object accuracy vs none (points)"),
    ("all_correct_vs_none", "all correct vs none (points)"),
)


def figure(summary: dict, labels: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(summary)
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), constrained_layout=True)
    width = 0.8 / max(len(labels), 1)
    for axis, (key, title) in zip(axes.flat, FIGURE_PANELS, strict=True):
        for offset, label in enumerate(labels):
            stats = [summary[name][label].get(key) for name in groups]
            xs = [i + (offset - (len(labels) - 1) / 2) * width for i in range(len(groups))]
            ok = [bool(s and s["n"] and not math.isnan(s["mean"])) for s in stats]
            means = [100 * s["mean"] if good else math.nan for s, good in zip(stats, ok, strict=True)]
            errors = [
                [100 * (s["mean"] - s["low"]) if good else 0 for s, good in zip(stats, ok, strict=True)],
                [100 * (s["high"] - s["mean"]) if good else 0 for s, good in zip(stats, ok, strict=True)],
            ]
            axis.bar(xs, means, width, yerr=errors, capsize=2, label=label)
        axis.set_xticks(range(len(groups)), [name.replace(" (pooled)", "\n(pooled)") for name in groups], fontsize=8)
        axis.set_title(title, fontsize=10)
        if key.endswith("_vs_none"):
            axis.axhline(0, color="black", linewidth=0.8)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=len(labels), fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# Sections of results.md that other benchmarks write (benchmarks/results_peers.py): a rerun of this script keeps them.
KEPT_HEADINGS = ("## The peers: Attend-and-Excite and SynGen",)


def kept_sections(path: Path) -> str:
    """From the first heading of KEPT_HEADINGS in the existing ``path`` to its end ("" when there is none)."""
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    starts = [text.find(heading) for heading in KEPT_HEADINGS if heading in text]
    return "\n" + text[min(starts) :] if starts else ""


def reproduce_command(args) -> str:
    """The one-process command that makes the same rows (shard, merge and output options left out)."""
    parts = ["python benchmarks/results.py"]
    if args.model != "shapes":
        parts.append(f"--model {shlex.quote(args.model)}")
    if args.tuned:
        parts.append(f"--tuned {shlex.quote(args.tuned)}")
    parts += [f"--tuned-set {shlex.quote(s)}" for s in args.tuned_set]
    if args.sets != ",".join(REPORT_SETS):
        parts.append(f"--sets {args.sets}")
    parts += [f"--prompts {args.prompts}", f"--seeds {args.seeds}"]
    if args.steps:
        parts.append(f"--steps {args.steps}")
    if args.guidance != 5.0:
        parts.append(f"--guidance {args.guidance}")
    if args.set_seed:
        parts.append(f"--set-seed {args.set_seed}")
    return " ".join(parts)


def time_key_for(model) -> str:
    """On a CPU, per-image times are this process's CPU seconds (with one thread they leave out the time other
    programs held the core); on a GPU, wall seconds."""
    return "cpu_seconds" if str(model.device).startswith("cpu") else "seconds"


def core_minutes(rows: Sequence[dict]) -> float:
    return sum(row.get("cpu_seconds", row["seconds"]) for row in rows) / 60


def markdown(args, settings: dict, summary: dict, configs: dict, rows: Sequence[dict], time_key: str) -> str:
    from attnmod.toolkit.modulation.config import ModulationConfig

    labels = list(configs)
    clock = "CPU" if time_key == "cpu_seconds" else "wall"
    defaults = ModulationConfig.from_variant("full")
    tuned = tuned_label(labels)
    described = {
        "full-old-defaults": "the first design (`ModulationConfig.legacy()`): "
        + ", ".join(f"`{c}`" for c in config_changes(configs["full-old-defaults"], defaults)),
    }
    if tuned:
        changes = config_changes(configs[tuned], defaults)
        described[tuned] = "`full` with " + (", ".join(f"`{c}`" for c in changes) or "the current defaults")
    lines = [
        "# Results: the modulation on the shapes world",
        "",
        f"Produced by `{reproduce_command(args)}` (images judged: {len(rows)}, {core_minutes(rows):.0f} core-minutes of "
        f"generation; it may run as `--shard 0/2` and `--shard 1/2` side by side, then `--merge`).",
        f"Machine: {machine_description()}.",
        f"Model `{settings['model']}` (weights fingerprint `{settings['weights']}`, {settings['dtype']}), "
        f"{settings['steps']} steps at {settings['height']}x{settings['width']}, guidance {settings['guidance']}; "
        f"{args.prompts} prompts per set (prompt-set seed {args.set_seed}) x seeds {args.seeds}. The judge reads "
        "every image against its scene. Report sets are the `/test` halves; the tuning sweep "
        "(benchmarks/tune_full.py, docs/sweep.md) used the `/tune` halves only.",
        "Percent of images with 95% bootstrap intervals over prompts (all seeds of a prompt resampled together); "
        "differences are paired (same prompt and seed) and in percentage points; time is the median "
        f"{clock} seconds per image relative to `none`, variants interleaved chunk by chunk in each process.",
        "",
        "Variants: `none` (no part); `temperature`, `masking`, `reweighting`: one part alone, with the parameters "
        f"of the {'tuned' if tuned else 'current default'} `full`; "
        + "; ".join(f"`{label}`: {text}" for label, text in described.items())
        + ".",
        "",
        "![per variant: colour binding and paired differences to none](results.png)",
        "",
        "## Goal",
        "",
        "Tuned `full` raises the colour-binding accuracy on 2-object prompts over `none` (paired 95% interval "
        "above 0) without lowering object accuracy (paired interval not entirely below 0).",
        "",
        *verdict(summary),
    ]
    for name, by_variant in summary.items():
        lines += [
            "",
            f"## {name}",
            "",
            "| variant | images | object accuracy | colour binding | all correct | colour leakage | object acc. vs none "
            "| colour binding vs none | all correct vs none | colour leakage vs none (lower is better) | time vs none |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for label in labels:
            entry = by_variant[label]
            ratio = entry["time_ratio"]
            lines.append(
                f"| {label} | {entry['images']} | {percent(entry['object_accuracy'])} | "
                f"{percent(entry['colour_binding'])} | {percent(entry['all_correct'])} | {percent(entry['leaked'])} | "
                f"{percent(entry['object_accuracy_vs_none'], True)} | {percent(entry['colour_binding_vs_none'], True)} "
                f"| {percent(entry['all_correct_vs_none'], True)} | {percent(entry['leaked_vs_none'], True)} | "
                f"{'n/a' if math.isnan(ratio) else f'{ratio:.2f}x'} |"
            )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- command


def add_run_options(parser, merge_help: str, leaves: str) -> None:
    """The generation and sharding options of results.py and tune_full.py (``--steps`` to ``--no-write``, in their
    ``--help`` order). ``merge_help``: what ``--merge`` does with the rows; ``leaves``: what ``--no-write`` leaves
    to ``--merge``."""
    parser.add_argument("--steps", type=int, default=None, help="default: the model's own (25 on shapes)")
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=16, help="prompts per pipeline call")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--shard", default=None, metavar="K/N", help="do only every N-th image from the K-th")
    parser.add_argument("--merge", action="store_true", help=f"generate nothing: {merge_help}")
    parser.add_argument("--no-write", action="store_true", help=f"generate only (a shard): leave {leaves} to --merge")


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="shapes", help="shapes, or a folder written by `attnmod world train`")
    parser.add_argument("--tuned", default=None, help="the tuned full configuration (.yaml/.json, or a sweep.json)")
    parser.add_argument("--tuned-set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting of the tuned full on top of the defaults (or --tuned); repeatable")  # fmt: skip
    parser.add_argument("--sets", default=",".join(REPORT_SETS), help="comma-separated shapes set names")
    parser.add_argument("--prompts", type=int, default=50, help="prompts per set (default 50: 200 over 4 sets)")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--set-seed", type=int, default=0, help="seed of the prompt sets")
    add_run_options(parser, merge_help="summarise the rows already made", leaves="the report")
    parser.add_argument("--out-dir", default="docs", help="results.md, results.png and results.json go here")
    parser.add_argument(
        "--rows-dir",
        default=None,
        help="per-image rows (default: out/results-rows for docs, else OUT_DIR/results-rows)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_arguments(argv)
    try:
        return run(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def run(args) -> int:
    shard, seeds = check_run_options(args, merge_does="summarises")
    sets = [name.strip() for name in args.sets.split(",") if name.strip()]
    tuned = load_tuned(args.tuned, args.tuned_set)
    configs = variant_configs(tuned)
    work = build_work(sets, args.prompts, seeds, args.set_seed, shard)
    out = Path(args.out_dir)
    rows_dir = rows_folder(args, "results-rows")
    images = len(work) * len(configs)
    if not args.merge:
        print(f"{images} images in this process ({len(work)} prompt-seed pairs x {len(configs)} variants); about "
              f"{images * SECONDS_PER_IMAGE / 60:.0f} min on one free core; rows in {rows_dir}",
              file=sys.stderr)  # fmt: skip

    model = load_model_for(args)
    settings = run_settings(args, model)
    if not args.merge:
        generate_rows(model, settings, work, configs, shard_rows_file(rows_dir, shard), args.batch, read_rows(rows_dir))
    if args.no_write:
        return 0
    rows = rows_of_run(rows_dir, settings, configs, build_work(sets, args.prompts, seeds, args.set_seed), "report")
    labels = list(configs)
    time_key = time_key_for(model)
    summary = summarise(rows, labels, sets, time_key)
    out.mkdir(parents=True, exist_ok=True)
    figure(summary, labels, out / "results.png")
    text = markdown(args, settings, summary, configs, rows, time_key)
    payload = {"settings": settings, "command": reproduce_command(args), "summary": summary,
               "configs": {label: config.to_json() for label, config in configs.items()}}  # fmt: skip
    markdown_path, json_path = write_report(out, "results", text + kept_sections(out / "results.md"), payload)
    print(f"wrote {markdown_path}, {out / 'results.png'}, {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
