"""Items per second of `attnmod ablate`: 1 process x 1 thread, 1 x 2, 2 processes x 1 (CPU, DDP), and on GPU.

Each configuration runs the real command in a fresh run folder, side by side in one invocation, on the same
items (prompts x seeds x variants); with ``--repeats N`` the configurations take turns N times and the median is
kept. Thread counts are set with ``--threads`` (the thread policy); the DDP row uses the default policy, which
gives each of the 2 processes cores / 2 threads. Figures per run:

* end to end: items / wall time of the whole command (imports, model build, DDP start-up included);
* steady state: the rate once every process is generating: per process, (its items - 1) / time between its
  first and its last item folder, summed over the processes (start-up and a late second process left out);
* CPU seconds per item: user + system time of the command and its processes, divided by the items (what the
  work costs whatever the load; on an idle machine, wall x cores used).

Scaling: each row's steady-state rate against "1 process x 1 thread"; for N processes or threads the efficiency
is that speed-up / N. Goal of issue 16: 2 processes at >= 1.8x one process of one thread on an idle 2-core machine.

    python benchmarks/ablate_throughput.py [--prompts 8] [--seeds 2] [--variants none,full] [--steps 4]
        [--size 128] [--model tiny] [--repeats 2] [--gpu-model tiny] [--gpu-only] [--json FILE]
        [--update-doc docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import announce, save_figures  # noqa: E402
from _doc_block import conditions, load_average  # noqa: E402

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
GOAL = 1.8  # issue 16: 2 processes at >= 1.8x one process of one thread on an idle 2-core machine
DDP_ROW = "cpu, 2 processes (ddp), default policy"
BASE_ROW = "cpu, 1 process x 1 thread"


def attnmod_command() -> str:
    return shutil.which("attnmod") or str(Path(sys.executable).parent / "attnmod")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def steady_rate(out: Path, processes: int) -> float:
    """Items per second once every process generates: the sum over processes of (its items - 1) / (time from its
    first to its last item). Process r of W did the run's items r, r + W, r + 2W, ... (Lightning's sampler for
    prediction deals the items out in turn); an item's time is when its folder was last written."""
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines() if line]
    times = [(out / row["folder"]).stat().st_mtime for row in rows]
    total = 0.0
    for rank in range(processes):
        mine = sorted(times[rank::processes])
        if len(mine) < 2 or mine[-1] <= mine[0]:
            return float("nan")
        total += (len(mine) - 1) / (mine[-1] - mine[0])
    return total


def run_once(prompts: Path, out: Path, args, extra: list[str], processes: int) -> dict:
    # The policy decides the threads (from --threads or the default); nothing pinned from this shell.
    unset = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "ATTNMOD_THREADS", "ATTNMOD_THREADS_SET_OMP")
    env = {k: v for k, v in os.environ.items() if k not in unset}
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
    cpu = children_cpu_seconds()
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    cpu = children_cpu_seconds() - cpu  # DDP's second rank is a child of the first: counted too
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    if summary["done"] != summary["items"]:
        raise SystemExit(f"{' '.join(command)}: only {summary['done']} of {summary['items']} items done")
    steady = steady_rate(out, processes)
    threads = json.loads((out / "run.json").read_text()).get("threads", {})
    return {
        "items": summary["items"],
        "done": summary["done"],
        "wall": wall,
        "steady": steady,
        "cpu": cpu,
        "threads": threads.get("intra_op_threads"),
    }


def markdown(report: dict, command: str) -> str:
    """The figures as the block of docs/benchmarks.md."""
    rows = report["rows"]
    lines = [
        f"`{command}` ({report['workload']}), {report['repeats']} interleaved repeat(s), median; "
        f"{report['machine']}; {report['conditions']}:",
        "",
        "| configuration | threads per process | wall s | end to end items/s | steady items/s | speed-up | "
        "efficiency | CPU s per item |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['threads_per_process']} | {row['wall_seconds']:.1f} "
            f"| {row['end_to_end_items_per_second']:.3f} | {row['steady_items_per_second']:.3f} "
            f"| {row['steady_speedup']:.2f}x | {row['scaling_efficiency']:.2f} | {row['cpu_seconds_per_item']:.2f} |"
        )
    if report.get("goal"):
        lines += ["", report["goal"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--variants", default="none,full")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--gpu-model", default=None, help="model for the GPU rows (default: --model)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gpu-only", action="store_true", help="only the GPU rows (for the GPU suite)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--update-doc", default=None, help="write the figures into this Markdown file's block")
    args = parser.parse_args()
    if min(args.prompts, args.seeds, args.steps, args.size, args.repeats) < 1:
        raise SystemExit("error: --prompts, --seeds, --steps, --size and --repeats must be at least 1")

    import torch

    cpu = ["--model", args.model, "--accelerator", "cpu"]
    configurations = {
        BASE_ROW: [*cpu, "--devices", "1", "--threads", "1"],
        "cpu, 1 process x 2 threads": [*cpu, "--devices", "1", "--threads", "2"],
        DDP_ROW: [*cpu, "--devices", "2", "--strategy", "ddp"],
    }
    workers = {name: 1 if "1 thread" in name else 2 for name in configurations}
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

    workload = (
        f"{args.model}, {args.prompts} prompts x {args.seeds} seeds x {len(args.variants.split(','))} variants, "
        f"{args.steps} steps at {args.size}x{args.size}"
    )
    machine, load_before = announce(f"items: {workload}")
    figures: dict[str, list[dict]] = {name: [] for name in configurations}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        prompts = folder / "prompts.txt"
        prompts.write_text("\n".join((PROMPTS * (args.prompts // len(PROMPTS) + 1))[: args.prompts]) + "\n")
        for repeat in range(args.repeats):
            for number, (name, extra) in enumerate(configurations.items()):
                out = folder / f"run-{repeat}-{number}"
                processes = 2 if "2 processes" in name or "2 devices" in name else 1
                figures[name].append(run_once(prompts, out, args, extra, processes))
                sample = figures[name][-1]
                print(
                    f"  ran {name}: wall {sample['wall']:.1f} s, steady {sample['steady']:.3f} items/s, "
                    f"CPU {sample['cpu']:.1f} s",
                    flush=True,
                )
                shutil.rmtree(out, ignore_errors=True)
    when = conditions(load_before, load_average())
    baseline = None
    table = {}
    for name, samples in figures.items():
        wall = statistics.median(s["wall"] for s in samples)
        steady = statistics.median(s["steady"] for s in samples)
        cpu_seconds = statistics.median(s["cpu"] for s in samples)
        items = samples[0]["items"]
        end_to_end = items / wall
        baseline = baseline or (end_to_end, steady)
        speedup = steady / baseline[1]
        table[name] = {
            "items": items,
            "threads_per_process": samples[0]["threads"],
            "wall_seconds": wall,
            "wall_seconds_all": [s["wall"] for s in samples],
            "end_to_end_items_per_second": end_to_end,
            "steady_items_per_second": steady,
            "steady_items_per_second_all": [s["steady"] for s in samples],
            "steady_speedup": speedup,
            "end_to_end_speedup": end_to_end / baseline[0],
            "scaling_efficiency": speedup / workers[name],
            "cpu_seconds_per_item": cpu_seconds / items,
        }
        print(
            f"{name:<40} {items} items  wall {wall:6.1f} s  end to end {end_to_end:6.3f} items/s "
            f"({end_to_end / baseline[0]:.2f}x)  steady {steady:6.3f} items/s ({speedup:.2f}x, "
            f"efficiency {speedup / workers[name]:.2f})  CPU {cpu_seconds / items:.2f} s/item"
        )
    goal = None
    if DDP_ROW in table and BASE_ROW in table:
        reached = table[DDP_ROW]["steady_speedup"]
        goal = (
            f"Goal (2 processes at >= {GOAL}x one process of one thread, steady state): "
            f"{reached:.2f}x, {'met' if reached >= GOAL else 'not met'}."
        )
        print(goal)
    print(f"conditions: {when}")
    if not gpus:
        print("no GPU on this machine: GPU figures not measured")
    report = {
        "machine": machine,
        "conditions": when,
        "workload": workload,
        "repeats": args.repeats,
        "rows": table,
        "goal": goal,
    }
    save_figures(args, report, "ablate_throughput", markdown)


if __name__ == "__main__":
    main()
