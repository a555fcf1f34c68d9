"""Items per second of `attnmod ablate` with 1 and 2 processes (CPU, DDP), and on GPU when there is one.

Each configuration runs the real command in a fresh run folder, side by side in one invocation, on the same
items (prompts x seeds x variants). Two figures per run:

* end to end: items / wall time of the whole command (imports, model build, DDP start-up included);
* steady state: (items - 1) / time between the first and the last item folder appearing, i.e. the rate once
  every process is generating.

Lightning gives each of N DDP processes cores/N torch threads; the "1 process, 1 thread" row separates the
effect of the thread count from that of the second process.

    python benchmarks/ablate_throughput.py [--prompts 8] [--seeds 2] [--variants none,full] [--steps 4]
        [--size 128] [--model tiny] [--repeats 1] [--gpu-model tiny]
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
    env = dict(os.environ)
    if "--threads" in extra:
        # Pins torch's intra-op threads per process (Lightning leaves an explicit OMP_NUM_THREADS alone).
        position = extra.index("--threads")
        env["OMP_NUM_THREADS"] = extra[position + 1]
        extra = extra[:position] + extra[position + 2 :]
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
    args = parser.parse_args()

    import torch

    configurations = {
        "cpu, 1 process": ["--model", args.model, "--accelerator", "cpu", "--devices", "1"],
        "cpu, 1 process, 1 thread": ["--model", args.model, "--accelerator", "cpu", "--devices", "1", "--threads", "1"],
        "cpu, 2 processes (ddp)": [
            "--model",
            args.model,
            "--accelerator",
            "cpu",
            "--devices",
            "2",
            "--strategy",
            "ddp",
        ],
    }
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    gpu_model = args.gpu_model or args.model
    if gpus:
        configurations["gpu, 1 device"] = ["--model", gpu_model, "--accelerator", "gpu", "--devices", "1"]
        configurations["gpu, 1 device, batch 4"] = [
            "--model",
            gpu_model,
            "--accelerator",
            "gpu",
            "--devices",
            "1",
            "--batch-size",
            "4",
        ]
    if gpus >= 2:
        configurations["gpu, 2 devices (ddp)"] = [
            "--model",
            gpu_model,
            "--accelerator",
            "gpu",
            "--devices",
            "2",
            "--strategy",
            "ddp",
        ]

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
    for name, samples in figures.items():
        wall = statistics.median(s["wall"] for s in samples)
        steady = statistics.median(s["steady"] for s in samples)
        items = samples[0]["items"]
        end_to_end = items / wall
        baseline = baseline or (end_to_end, steady)
        print(
            f"{name:<26} {items} items  wall {wall:6.1f} s  end to end {end_to_end:6.2f} items/s "
            f"({end_to_end / baseline[0]:.2f}x)  steady state {steady:6.2f} items/s ({steady / baseline[1]:.2f}x)"
        )
    if not gpus:
        print("no GPU on this machine: GPU figures not measured")


if __name__ == "__main__":
    main()
