"""Compare training recipes of the shapes model over several training seeds: train each (recipe, seed), then judge
each model on the tuning halves of the prompt sets.

One training run per recipe cannot tell a better recipe from a luckier seed: every run differs from another in its
random stream as well as its recipe. This script trains every recipe with several seeds (in parallel processes),
judges each model with `benchmarks/shapes_quality.py` (variant `none`), and reports each run and, per recipe, the
mean over seeds with the smallest and largest seed. Sized for a GPU (a run is minutes there); on this project's
2-core CPU machines one run of the shipped recipe takes about 84 minutes.

    python benchmarks/shapes_recipes.py --out recipes --seeds 0,1 --workers 3 --accelerator gpu --device cuda
    python benchmarks/shapes_recipes.py --out recipes --recipe "lr1e-3=--vae-from shapes --learning-rate 1e-3"
    python benchmarks/shapes_recipes.py --smoke --out /tmp/recipes   # toy size on the CPU, to check the script

Each run lives in ``OUT/RECIPE-sSEED`` (the training folder, ``quality.json``, logs); running the same command
again resumes unfinished training and skips what is done. ``OUT/recipes.json`` holds every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = "--vae-from shapes --unet-steps 4500 --learning-rate 5e-4"
FROZEN = f"{SHIPPED} --text-recipe frozen-contrastive --contrastive-steps 1000"
# "joint": the shipped recipe (both text encoders trained with the UNet); "frozen": SDXL's arrangement (encoders
# pre-trained contrastively, then frozen); "frozen-padaug": the same with half the samples' padding states replaced
# by the empty prompt's (a departure from SDXL, docs/shapes.md).
RECIPES = {
    "shipped": SHIPPED,
    "wide": f"{SHIPPED} --preset wide",
    "frozen": FROZEN,
    "frozen-padaug": f"{FROZEN} --padding-augmentation 0.5",
}
SMOKE_RECIPES = {
    "smoke": "--preset smoke --vae-steps 2 --unet-steps 6 --batch-size 4",
    "smoke-lr": "--preset smoke --vae-steps 2 --unet-steps 6 --batch-size 4 --learning-rate 1e-3",
}
DECISION_SETS = "seen-1/tune:45,seen-2/tune:55"
# (key in shapes_quality's metrics, set, column title): what the floors read, on the tuning halves.
COLUMNS = (
    ("all_present", "seen-1/tune", "1 object right"),
    ("all_present", "seen-2/tune", "2 objects: both present"),
    ("shapes_present", "seen-2/tune", "both shapes present (any colour)"),
    ("colour_binding", "seen-2/tune", "colour binding"),
)


def parse_recipes(items: list[str] | None, smoke: bool) -> dict[str, str]:
    """``NAME=ARGS`` strings (ARGS: options of `attnmod world train`) -> {name: args}; none given: the defaults."""
    if not items:
        return dict(SMOKE_RECIPES if smoke else RECIPES)
    recipes = {}
    for item in items:
        name, sep, arguments = item.partition("=")
        name = name.strip()
        if not sep or not name or not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"--recipe {item!r}: give NAME=ARGS, NAME of letters, digits, - and _")
        if any(token in ("--out", "--seed") for token in shlex.split(arguments)):
            raise ValueError(f"--recipe {item!r}: --out and --seed are set by this script")
        recipes[name] = arguments
    return recipes


def run_logged(command: list[str], log: Path, timeout: float | None) -> int:
    """Run ``command`` with its output in ``log``; the return code (124 on a timeout)."""
    with log.open("a") as handle:
        handle.write(f"$ {shlex.join(command)}\n")
        handle.flush()
        try:
            return subprocess.run(
                command, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout, cwd=ROOT
            ).returncode
        except subprocess.TimeoutExpired:
            handle.write(f"timed out after {timeout} s\n")
            return 124


def train_and_judge(args, name: str, recipe: str, seed: int) -> dict:
    folder = Path(args.out) / f"{name}-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "log.txt"
    result: dict = {"recipe": name, "seed": seed, "args": recipe, "folder": str(folder)}
    started = time.perf_counter()
    if args.judge_only:
        result["training"] = "skipped (--judge-only)"
    elif not (folder / "training.json").is_file():
        command = [args.attnmod, "world", "train", "--out", str(folder), *shlex.split(recipe), "--seed", str(seed)]
        command += ["--workers", str(args.workers), "--threads", str(args.threads), "--samples", "0"]
        command += ["--accelerator", args.accelerator, "--no-progress"]
        code = run_logged(command, log, args.train_timeout)
        if code != 0:
            return {**result, "error": f"training exited with {code} (see {log})"}
    if (folder / "training.json").is_file():
        summary = json.loads((folder / "training.json").read_text())
        result["final_loss"] = summary.get("final_loss")
        result["train_seconds"] = summary.get("seconds_this_run")
    quality = folder / "quality.json"
    if not quality.is_file():
        weights = folder / "weights"
        if not (weights / "shapes.safetensors").is_file():
            return {**result, "error": f"no weights in {weights}"}
        command = [sys.executable, str(ROOT / "benchmarks" / "shapes_quality.py"), "--model", str(weights)]
        command += ["--sets", args.sets, "--seeds", args.image_seeds, "--device", args.device, "--out", str(quality)]
        command += ["--threads", str(args.threads)] + (["--quick", "2"] if args.smoke else [])
        code = run_logged(command, log, args.judge_timeout)
        if code != 0:
            return {**result, "error": f"judging exited with {code} (see {log})"}
    sets = json.loads(quality.read_text())["sets"]
    result["metrics"] = {
        f"{key}@{set_name}": sets[set_name]["metrics"][key] for key, set_name, _ in COLUMNS if set_name in sets
    }
    result["seconds"] = time.perf_counter() - started
    return result


def per_recipe(results: list[dict]) -> dict:
    """Per recipe and column: the mean over its judged seeds, with the lowest and highest seed."""
    table: dict = {}
    for row in results:
        for column, stat in (row.get("metrics") or {}).items():
            table.setdefault(row["recipe"], {}).setdefault(column, []).append(stat["mean"])
    return {
        recipe: {c: {"mean": sum(v) / len(v), "min": min(v), "max": max(v), "seeds": len(v)} for c, v in cols.items()}
        for recipe, cols in table.items()
    }


def markdown(report: dict) -> str:
    def percent(value) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}"

    keys = [f"{key}@{set_name}" for key, set_name, _ in COLUMNS]
    titles = [title for _, _, title in COLUMNS]
    lines = [
        f"Machine: {report['machine']}. Judged sets {report['sets']}, image seeds {report['image_seeds']}, "
        "variant `none`, 25 steps, guidance 5.",
        "",
        "| run | final loss | " + " | ".join(titles) + " |",
        "| --- | --- |" + " --- |" * len(titles),
    ]
    for row in report["runs"]:
        if row.get("error"):
            lines.append(f"| {row['recipe']} seed {row['seed']} | {row['error']} |" + " |" * len(titles))
            continue
        loss = row.get("final_loss")
        cells = [percent((row["metrics"].get(k) or {}).get("mean")) for k in keys]
        loss_cell = "n/a" if loss is None else f"{loss:.4f}"
        lines.append(f"| {row['recipe']} seed {row['seed']} | {loss_cell} | " + " | ".join(cells) + " |")
    lines += ["", "| recipe | seeds | " + " | ".join(titles) + " |", "| --- | --- |" + " --- |" * len(titles)]
    for recipe, cols in report["recipes"].items():
        cells = []
        for k in keys:
            stat = cols.get(k)
            cells.append(
                "n/a" if stat is None else f"{percent(stat['mean'])} ({percent(stat['min'])}-{percent(stat['max'])})"
            )
        seeds = max((s["seeds"] for s in cols.values()), default=0)
        lines.append(f"| {recipe} | {seeds} | " + " | ".join(cells) + " |")
    lines += ["", "Percent of images; per recipe the mean over training seeds (lowest-highest seed)."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for every run")
    parser.add_argument("--recipe", action="append", help="NAME=ARGS of `attnmod world train` (repeatable)")
    parser.add_argument("--seeds", default="0,1", help="training seeds of every recipe")
    parser.add_argument("--parallel", type=int, default=0, help="runs at once (default: all)")
    parser.add_argument("--workers", type=int, default=1, help="data-loader processes per run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator of the training runs")
    parser.add_argument("--device", default="cpu", help="device that draws the judged images")
    parser.add_argument("--sets", default=DECISION_SETS, help="prompt sets judged (shapes_quality --sets)")
    parser.add_argument("--image-seeds", default="0,1", help="image seeds per prompt")
    parser.add_argument("--train-timeout", type=float, default=None, help="seconds per training run")
    parser.add_argument("--judge-timeout", type=float, default=None, help="seconds per judging run")
    parser.add_argument("--judge-only", action="store_true", help="judge the runs' existing weights, train nothing")
    parser.add_argument("--smoke", action="store_true", help="toy-size recipes and 2 prompts per set (CPU check)")
    parser.add_argument("--attnmod", default=str(Path(sys.executable).with_name("attnmod")), help="attnmod command")
    args = parser.parse_args()
    try:
        recipes = parse_recipes(args.recipe, args.smoke)
    except ValueError as error:
        sys.exit(f"error: {error}")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        sys.exit(f"error: --seeds {args.seeds!r}: give whole numbers separated by commas")
    for name in ("parallel", "workers"):
        if getattr(args, name) < 0:
            sys.exit(f"error: --{name} must be at least 0")
    if args.threads < 1:
        sys.exit("error: --threads must be at least 1")
    if not Path(args.attnmod).is_file():
        sys.exit(f"error: {args.attnmod} not found (install attnmod, or pass --attnmod)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    jobs = [(name, recipe, seed) for name, recipe in recipes.items() for seed in seeds]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.parallel or len(jobs)) as pool:
        futures = [pool.submit(train_and_judge, args, *job) for job in jobs]
        results = []
        for future in futures:
            results.append(future.result())
            row = results[-1]
            print(f"  {row['recipe']} seed {row['seed']}: {row.get('error') or 'judged'}", file=sys.stderr, flush=True)
    report = {
        "machine": machine_description(),
        "sets": args.sets,
        "image_seeds": args.image_seeds,
        "seconds": time.perf_counter() - started,
        "runs": results,
        "recipes": per_recipe(results),
    }
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "recipes.json").write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(report))


if __name__ == "__main__":
    main()
