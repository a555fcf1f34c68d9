"""Does `attnmod world train` reproduce the shipped model's loss curve? Compares a run folder's UNet loss history
with the one shipped beside the weights (``toolkit/data/shapes/loss-history.json``, every 10th step).

Run the shipped model's command (its model card names it) into a fresh folder, for the whole run or, since each
step is deterministic for a seed and thread count, a prefix of it (``--pause-after N``), then:

    python benchmarks/training_reproduction.py RUN_DIR [--shipped toolkit/data/shapes/loss-history.json]

Prints the steps compared, the largest absolute difference per step, and the difference of 200-step means (the
noise scale of the curve: the standard deviation of the shipped per-step losses over the same steps). Exit status 1
if the curves differ by more than that noise scale on any window (or share no steps).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "toolkit" / "data" / "shapes" / "loss-history.json"


def read_run(folder: Path) -> dict[int, float]:
    rows = {}
    for line in (folder / "unet-loss.jsonl").read_text().splitlines():
        try:
            data = json.loads(line)
            rows[int(data["step"])] = float(data["loss"])
        except (ValueError, KeyError):
            continue
    return rows


def compare(run: dict[int, float], shipped: dict[int, float], window: int = 200) -> dict:
    steps = sorted(set(run) & set(shipped))
    if not steps:
        return {"steps": 0}
    differences = [abs(round(run[s], 6) - shipped[s]) for s in steps]
    windows = []
    for start in range(0, steps[-1], window):
        inside = [s for s in steps if start < s <= start + window]
        if len(inside) < 2:
            continue
        ours, theirs = [run[s] for s in inside], [shipped[s] for s in inside]
        windows.append(
            {
                "steps": [inside[0], inside[-1]],
                "run_mean": statistics.fmean(ours),
                "shipped_mean": statistics.fmean(theirs),
                "noise": statistics.stdev(theirs),
            }
        )
    within = all(abs(w["run_mean"] - w["shipped_mean"]) <= w["noise"] for w in windows)
    return {
        "steps": len(steps),
        "first": steps[0],
        "last": steps[-1],
        "max_abs_difference": max(differences),
        "identical": max(differences) == 0.0,
        "windows": windows,
        "within_noise": within,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a world train output folder (holds unet-loss.jsonl)")
    parser.add_argument("--shipped", default=str(SHIPPED), help="the shipped loss history")
    args = parser.parse_args()
    try:
        run = read_run(Path(args.run))
        shipped = {int(s): float(v) for s, v in json.loads(Path(args.shipped).read_text())["unet"]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.exit(f"cannot read the loss histories: {error}")
    result = compare(run, shipped)
    print(f"Machine: {machine_description()}")
    if not result["steps"]:
        sys.exit("the run and the shipped history share no step")
    print(
        f"Compared {result['steps']} logged steps ({result['first']}-{result['last']}); largest difference per step "
        f"{result['max_abs_difference']:.6f}" + (" (identical to the 6 decimals stored)" if result["identical"] else "")
    )
    print("| steps | run mean | shipped mean | shipped std (noise) |")
    print("| --- | --- | --- | --- |")
    for w in result["windows"]:
        print(f"| {w['steps'][0]}-{w['steps'][1]} | {w['run_mean']:.4f} | {w['shipped_mean']:.4f} | {w['noise']:.4f} |")
    print("within noise on every window" if result["within_noise"] else "OUTSIDE the noise on some window")
    sys.exit(0 if result["within_noise"] else 1)


if __name__ == "__main__":
    main()
