"""Build time and peak memory of ``sdxl-shaped``: the eager seeded build against the deferred (meta-device) one.

Each build runs in its own process (so that its peak resident memory is its own), one after the other in one
invocation; imports are not timed. Rows:

* eager float32: ``torch.manual_seed(0); Component(config)`` for each component (earlier versions' build; their
  float16 model was this build converted afterwards);
* deferred float32 / float16 / bfloat16: :func:`attnmod.toolkit.models.deferred_init.build_deferred` of each component
  with that dtype (what :func:`attnmod.toolkit.models.loading.build_sdxl_shaped` does);
* with ``--check``, every tensor of the deferred float32 build is compared with the eager one's (SHA-256 of its
  bytes, computed after the build is timed).

Memory: "peak RSS" is the child's maximum resident set; "rise" is that minus its resident set just before the
build (imports), to set against "weights", the bytes of the parameters and buffers built: a build that holds
one copy of the weights at its peak has a rise close to the weights. The full model needs about 14 GB per
float32 copy; a row whose estimated need exceeds the memory available is skipped with a message. ``--reduced``
uses the toy-width configuration of the tests instead.

    python benchmarks/model_build.py [--eager] [--dtypes float32,float16] [--reduced] [--check] [--json FILE]
        [--update-doc docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import announce, save_figures  # noqa: E402
from _doc_block import conditions, load_average, memory_available_gib  # noqa: E402

# Parameters and buffers of the full sdxl-shaped model (UNet 2.57e9, VAE 8.4e7, text encoders 1.23e8 + 6.95e8),
# for the memory estimate of a row before it runs; the child reports the exact count.
FULL_ELEMENTS = 3.47e9
REDUCED_ELEMENTS = 7.6e6
BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
# Peak rise over the weights (the deferred float16 build rose 8.04 GiB for 6.46 GiB of weights, measured once under
# load), plus the imports: a build that would not fit is skipped rather than risking the out-of-memory killer.
RISE_OVER_WEIGHTS = {"eager": 1.05, "deferred": 1.3}
HEADROOM_GIB = 1.0


def resident_gib() -> float:
    with open("/proc/self/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def child(mode: str, dtype_name: str, reduced: bool, checksums: bool) -> None:
    import hashlib
    import resource

    import torch
    from attnmod.toolkit.models.deferred_init import build_deferred
    from attnmod.toolkit.models.loading import _seeded, sdxl_shaped_parts

    torch.set_num_threads(1)
    dtype = getattr(torch, dtype_name)
    parts = sdxl_shaped_parts(reduced=reduced)
    before = resident_gib()
    wall, cpu = time.perf_counter(), time.process_time()
    if mode == "eager":
        built = {name: _seeded(factory) for name, factory in parts.items()}
    else:
        built = {name: build_deferred(factory, seed=0, dtype=dtype) for name, factory in parts.items()}
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    tensors = [t for module in built.values() for t in module.state_dict().values()]
    result = {
        "seconds": wall,
        "cpu_seconds": cpu,
        "rss_before_gib": before,
        "peak_rss_gib": peak,
        "peak_rise_gib": peak - before,
        "weights_gib": sum(t.numel() * t.element_size() for t in tensors) / 2**30,
        "parameters": sum(p.numel() for module in built.values() for p in module.parameters()),
    }
    if checksums:
        result["checksums"] = {
            f"{name}.{key}": hashlib.sha256(t.detach().contiguous().reshape(-1).view(torch.uint8).numpy()).hexdigest()[
                :16
            ]
            for name, module in built.items()
            for key, t in module.state_dict().items()
        }
    print(json.dumps(result))


def run(mode: str, dtype: str, args) -> dict:
    weights = (REDUCED_ELEMENTS if args.reduced else FULL_ELEMENTS) * BYTES[dtype] / 2**30
    need = weights * RISE_OVER_WEIGHTS[mode] + HEADROOM_GIB
    available = memory_available_gib()
    if available is not None and available < need:
        message = f"skipped: needs about {need:.1f} GiB, {available:.1f} GiB available"
        print(f"  {mode} {dtype}: {message}", flush=True)
        return {"skipped": message}
    command = [sys.executable, __file__, "--child", mode, dtype]
    command += ["--reduced"] if args.reduced else []
    command += ["--check"] if args.check and dtype == "float32" else []
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if result.returncode != 0:
        raise SystemExit(f"{mode} {dtype} build failed:\n{result.stderr[-2000:]}")
    row = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"  {mode} {dtype}: {row['seconds']:.1f} s, peak RSS {row['peak_rss_gib']:.2f} GiB", flush=True)
    return row


def check_line(rows: dict) -> str | None:
    eager, deferred = rows.get("eager float32", {}), rows.get("deferred float32", {})
    if "checksums" not in eager or "checksums" not in deferred:
        return None
    eager, deferred = eager.pop("checksums"), deferred.pop("checksums")
    differing = [key for key in eager if eager[key] != deferred.get(key)] + [k for k in deferred if k not in eager]
    verdict = "identical" if not differing else f"{len(differing)} differ (first: {', '.join(differing[:3])})"
    return f"Checksums of the deferred float32 build against the eager one: {len(eager)} tensors, {verdict}."


def markdown(report: dict, command: str) -> str:
    lines = [
        f"`{command}` ({report['model']}, one torch thread per build, each in its own process, imports not timed); "
        f"{report['machine']}; {report['conditions']}:",
        "",
        "| build | wall s | CPU s | peak RSS GiB | rise over imports GiB | weights GiB | parameters |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in report["rows"].items():
        if "skipped" in row:
            lines.append(f"| {name} | {row['skipped']} | | | | | |")
            continue
        lines.append(
            f"| {name} | {row['seconds']:.1f} | {row['cpu_seconds']:.1f} | {row['peak_rss_gib']:.2f} "
            f"| {row['peak_rise_gib']:.2f} | {row['weights_gib']:.2f} | {row['parameters']:,} |"
        )
    if report.get("check"):
        lines += ["", report["check"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eager", action="store_true", help="also time the eager float32 build (~14 GB)")
    parser.add_argument("--dtypes", default="float32,float16", help="dtypes of the deferred rows")
    parser.add_argument("--reduced", action="store_true", help="the tests' toy-width configuration")
    parser.add_argument("--check", action="store_true", help="compare the deferred float32 tensors with the eager")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--update-doc", default=None, help="write the figures into this Markdown file's block")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, reduced=args.reduced, checksums=args.check)
        return
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    unknown = [d for d in dtypes if d not in BYTES]
    if unknown:
        raise SystemExit(f"error: --dtypes: unknown {', '.join(unknown)} (use {', '.join(BYTES)})")
    if args.check and "float32" not in dtypes:
        dtypes.insert(0, "float32")

    model = f"sdxl-shaped{' (reduced)' if args.reduced else ''}"
    machine, load_before = announce(f"{model}, one torch thread per build, imports not timed")
    rows = {}
    if args.eager or args.check:
        rows["eager float32"] = run("eager", "float32", args)
    for dtype in dtypes:
        rows[f"deferred {dtype}"] = run("deferred", dtype, args)
    report = {"machine": machine, "conditions": conditions(load_before, load_average()), "model": model}
    report["check"] = check_line(rows)
    report["rows"] = rows
    print(f"{'build':<20} {'wall s':>8} {'CPU s':>8} {'peak RSS GiB':>13} {'rise GiB':>9} {'weights GiB':>12}")
    for name, row in rows.items():
        if "skipped" in row:
            print(f"{name:<20} {row['skipped']}")
            continue
        print(
            f"{name:<20} {row['seconds']:8.1f} {row['cpu_seconds']:8.1f} {row['peak_rss_gib']:13.2f} "
            f"{row['peak_rise_gib']:9.2f} {row['weights_gib']:12.2f}"
        )
    if report["check"]:
        print(report["check"])
    print(f"conditions: {report['conditions']}")
    save_figures(args, report, "model_build", markdown)


if __name__ == "__main__":
    main()
