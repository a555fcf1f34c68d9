"""The machine record and the summary of ``benchmarks/gpu_suite.sh``: one JSON and one Markdown table.

python benchmarks/gpu_suite_report.py --machine OUT/machine.json
python benchmarks/gpu_suite_report.py --collect OUT [--eval-model NAME] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402


def machine_record() -> dict:
    import torch

    record = {
        "description": machine_description(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "gpus": [],
    }
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            properties = torch.cuda.get_device_properties(index)
            record["gpus"].append({"name": properties.name, "memory_gib": round(properties.total_memory / 2**30, 1)})
    if shutil.which("nvidia-smi"):
        query = "--query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit"
        result = subprocess.run(["nvidia-smi", query, "--format=csv,noheader"], capture_output=True, text=True)
        record["nvidia_smi"] = result.stdout.strip().splitlines() if result.returncode == 0 else result.stderr.strip()
    return record


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _last_json_object(text: str):
    """The last top-level JSON object printed in a log (commands print their --json summary last)."""
    start = text.rfind("\n{")
    start = 0 if start < 0 and text.startswith("{") else start
    if start < 0:
        return None
    try:
        return json.loads(text[start:])
    except ValueError:
        return None


def collect(out: Path, eval_model: str, smoke: bool) -> dict:
    steps = {}
    for line in (out / "steps.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            steps[row["step"]] = row
    log = {name: (out / "logs" / f"{name}.log") for name in steps}
    text = {
        name: path.read_text(encoding="utf-8", errors="replace") if path.exists() else "" for name, path in log.items()
    }
    suite = {
        "smoke": smoke,
        "machine": _read_json(out / "machine.json"),
        "steps": steps,
        "overhead": _read_json(out / "overhead.json"),
        "ablate_throughput": _read_json(out / "ablate_throughput.json"),
        "evaluate": {
            "model": eval_model,
            "generate": _last_json_object(text.get("evaluate_generate", "")),
            "summary": _last_json_object(text.get("evaluate", "")),
        },
        "train_shapes": None,
    }
    training = _read_json(out / "train" / "training.json")
    if training and training.get("unet_speed"):
        settings = training.get("settings", {})
        suite["train_shapes"] = {
            **training["unet_speed"],
            "preset": settings.get("preset"),
            "batch_size": settings.get("batch_size"),
            "accelerator": settings.get("accelerator"),
            "workers": settings.get("workers"),
            "threads": training.get("threads"),
        }
    (out / "suite.json").write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
    (out / "suite.md").write_text(markdown(suite), encoding="utf-8")
    return suite


def _status(step: dict | None) -> str:
    if step is None:
        return "not run"
    if "skipped" in step:
        return f"skipped: {step['skipped']}"
    if step.get("timed_out"):
        return f"timed out after {step['seconds']:.0f} s"
    return f"{'ok' if step['rc'] == 0 else 'failed (rc ' + str(step['rc']) + ')'} in {step['seconds']:.1f} s"


def markdown(suite: dict) -> str:
    machine = suite["machine"] or {}
    lines = [f"# GPU suite{' (smoke run on CPU: figures check the script only)' if suite['smoke'] else ''}", ""]
    lines += [f"Machine: {machine.get('description', 'not recorded')}", ""]
    lines += ["| step | status |", "| --- | --- |"]
    lines += [f"| {name} | {_status(step)} |" for name, step in suite["steps"].items()]
    overhead = suite["overhead"]
    if overhead:
        arguments = overhead.get("arguments", {})
        lines += [
            "",
            f"## Modulation overhead: {arguments.get('model')}, {arguments.get('height')}x{arguments.get('width')}, "
            f"{arguments.get('steps')} steps, {arguments.get('dtype')}, {arguments.get('repeats')} repeats",
            "",
            "| configuration | median s | vs none | min s | vs none (min) | vs stock | peak rise MiB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in overhead["rows"]:
            lines.append(
                f"| {row['configuration']} | {row['median_s']:.3f} | {row['ratio_median']:.3f}x | {row['min_s']:.3f} "
                f"| {row['ratio_min']:.3f}x | {row['ratio_median_stock']:.3f}x | {row['peak_rise_bytes'] / 2**20:.0f} |"
            )
    throughput = suite["ablate_throughput"]
    if throughput:
        lines += [
            "",
            "## ablate throughput",
            "",
            "| configuration | items | wall s | end to end items/s | steady items/s |",
        ]
        lines += ["| --- | ---: | ---: | ---: | ---: |"]
        for name, row in throughput["rows"].items():
            lines.append(
                f"| {name} | {row['items']} | {row['wall_seconds']:.1f} | {row['end_to_end_items_per_second']:.2f} "
                f"| {row['steady_items_per_second']:.2f} |"
            )
    evaluation = suite["evaluate"]
    generated, evaluated = suite["steps"].get("evaluate_generate"), suite["steps"].get("evaluate")
    if generated and evaluated and "rc" in evaluated and evaluated["rc"] == 0:
        items = (evaluation.get("generate") or {}).get("items")
        lines += ["", f"## evaluate ({evaluation['model']} model, judge shapes)", ""]
        lines.append(
            f"- generating {items} items: {generated['seconds']:.1f} s; evaluating them: {evaluated['seconds']:.1f} s"
        )
    training = suite["train_shapes"]
    if training:
        lines += [
            "",
            f"## Training the shapes world ({training['preset']} preset, batch {training['batch_size']}, "
            f"{training['workers']} data-loader workers)",
            "",
            f"- {training['seconds_per_step']:.3f} s per UNet step ({training['steps_per_second'] or float('nan'):.2f} steps/s), "
            f"median single step {training['median_seconds_per_step']:.3f} s, over {training['steps_timed']} steps "
            f"after {training['steps_skipped']} left out for start-up",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", default=None, help="write the machine record to this JSON file")
    parser.add_argument("--collect", default=None, help="the suite's output folder: write suite.json and suite.md")
    parser.add_argument("--eval-model", default="shapes")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.machine:
        record = machine_record()
        Path(args.machine).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(record["description"])
    if args.collect:
        collect(Path(args.collect), args.eval_model, args.smoke)
        print((Path(args.collect) / "suite.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
