"""Items per second of `attnmod ablate`: 1 process x 1 thread, 1 x 2, 2 processes x 1 (CPU, DDP), and on GPU.

Each configuration runs the real command in a fresh run folder, side by side in one invocation, on the same
items (prompts x seeds x variants). Thread counts are set with ``--threads`` (the thread policy); the DDP row
uses the default policy, which gives each of the 2 processes cores / 2 threads. Two figures per run:

* end to end: items / wall time of the whole command (imports, model build, DDP start-up included);
* steady state: (items - 1) / time between the first and the last item folder appearing, i.e. the rate once
  every process is generating.

Scaling: each row's steady-state rate against "1 process x 1 thread"; for N processes or threads the efficiency
is that speed-up / N.

    python benchmarks/ablate_throughput.py [--prompts 8] [--seeds 2] [--variants none,full] [--steps 4]
        [--size 128] [--model tiny] [--repeats 1] [--gpu-model tiny] [--gpu-only] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402

PROMPTS = [
    "a red car and a white sheep",
    "a blue bowl on a wooden table",
    "a green bench and a yellow dog",
    "two black cats on a red sofa",
    "a small brown horse next to a tall white lighthouse",
    "a glass vase with pink flowers and a silver spoon",
    "an orange cube on top of a purple sphere",
    "a wooden chair beside a metal lamp",
]


def attnmod_command() -> str:
    return shutil.which("attnmod") or str(Path(sys.executable).parent / "attnmod")


def run_once(prompts: Path, out: Path, args, extra: list[str]) -> dict:
    # The policy decides the threads (from --threads or the default); nothing pinned from this shell.
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "ATTNMOD_THREADS")}
    command = [
        attnmod_command(),
        "ablate",
        str(prompts),
        "--out",
        str(out),
        "--variants",
        args.variants,
        "--seeds",
        f"0-{args.seeds - 1}",
        "--steps",
        str(args.steps),
        "--height",
        str(args.size),
        "--width",
        str(args.size),
        "--no-progress",
        "--json",
        *extra,
    ]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    times = sorted(p.stat().st_mtime for p in (out / "items").iterdir() if not p.name.startswith("."))
    steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else float("nan")
    return {"items": summary["items"], "done": summary["done"], "wall": wall, "steady": steady}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--variants", default="none,full")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--gpu-model", default=None, help="model for the GPU rows (default: --model)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--gpu-only", action="store_true", help="only the GPU rows (for the GPU suite)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()

    import torch

    cpu = ["--model", args.model, "--accelerator", "cpu"]
    configurations = {
        "cpu, 1 process x 1 thread": [*cpu, "--devices", "1", "--threads", "1"],
        "cpu, 1 process x 2 threads": [*cpu, "--devices", "1", "--threads", "2"],
        "cpu, 2 processes (ddp), default policy": [*cpu, "--devices", "2", "--strategy", "ddp"],
    }
    workers = {name: 1 if "1 process" in name else 2 for name in configurations}
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    gpu = ["--model", args.gpu_model or args.model, "--accelerator", "gpu"]
    if args.gpu_only:
        configurations = {}
    if gpus:
        configurations["gpu, 1 device"] = [*gpu, "--devices", "1"]
        configurations["gpu, 1 device, batch 4"] = [*gpu, "--devices", "1", "--batch-size", "4"]
        workers.update({"gpu, 1 device": 1, "gpu, 1 device, batch 4": 1})
    if gpus >= 2 and not args.gpu_only:
        configurations["gpu, 2 devices (ddp)"] = [*gpu, "--devices", "2", "--strategy", "ddp"]
        workers["gpu, 2 devices (ddp)"] = 2
    if not configurations:
        raise SystemExit("--gpu-only: no GPU on this machine")

    print(f"machine: {machine_description()}", flush=True)
    print(
        f"items: {args.prompts} prompts x {args.seeds} seeds x {len(args.variants.split(','))} variants, "
        f"{args.steps} steps at {args.size}x{args.size}",
        flush=True,
    )
    figures: dict[str, list[dict]] = {name: [] for name in configurations}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        prompts = folder / "prompts.txt"
        prompts.write_text("\n".join((PROMPTS * (args.prompts // len(PROMPTS) + 1))[: args.prompts]) + "\n")
        for repeat in range(args.repeats):
            for number, (name, extra) in enumerate(configurations.items()):
                out = folder / f"run-{repeat}-{number}"
                figures[name].append(run_once(prompts, out, args, extra))
                sample = figures[name][-1]
                print(f"  ran {name}: wall {sample['wall']:.1f} s, steady {sample['steady']:.3f} items/s", flush=True)
    baseline = None
    table = {}
    for name, samples in figures.items():
        wall = statistics.median(s["wall"] for s in samples)
        steady = statistics.median(s["steady"] for s in samples)
        items = samples[0]["items"]
        end_to_end = items / wall
        baseline = baseline or (end_to_end, steady)
        speedup = steady / baseline[1]
        table[name] = {
            "items": items,
            "wall_seconds": wall,
            "end_to_end_items_per_second": end_to_end,
            "steady_items_per_second": steady,
            "steady_speedup": speedup,
            "scaling_efficiency": speedup / workers[name],
        }
        print(
            f"{name:<40} {items} items  wall {wall:6.1f} s  end to end {end_to_end:6.2f} items/s "
            f"({end_to_end / baseline[0]:.2f}x)  steady {steady:6.2f} items/s ({speedup:.2f}x, "
            f"efficiency {speedup / workers[name]:.2f})"
        )
    if not gpus:
        print("no GPU on this machine: GPU figures not measured")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine_description(), "rows": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
