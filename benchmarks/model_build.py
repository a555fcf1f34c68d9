"""Build time and peak memory of ``sdxl-shaped``: the eager seeded build against the deferred (meta-device) one.

Each build runs in its own process (so that its peak resident memory is its own), side by side in one
invocation; imports are not timed. Rows:

* eager float32: ``torch.manual_seed(0); Component(config)`` for each component (earlier versions' build);
* deferred float32 / float16 / bfloat16: :func:`attnmod.toolkit.models.build_sdxl_shaped` with that dtype;
* with ``--check``, every tensor of the deferred float32 build is compared with the eager one's checksum.

The full model needs about 14 GB per float32 copy: ``--eager`` adds the eager row (run it at most once on a
shared machine), ``--reduced`` uses the toy-width configuration of the tests instead.

    python benchmarks/model_build.py [--eager] [--dtypes float32,float16] [--reduced] [--check]
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
from _machine import machine_description  # noqa: E402


def child(mode: str, dtype_name: str, reduced: bool, checksums: bool) -> None:
    import hashlib
    import resource

    import torch
    from attnmod.toolkit.deferred_init import build_deferred
    from attnmod.toolkit.models import _seeded, sdxl_shaped_parts

    torch.set_num_threads(1)
    dtype = getattr(torch, dtype_name)
    parts = sdxl_shaped_parts(reduced=reduced)
    wall, cpu = time.perf_counter(), time.process_time()
    if mode == "eager":
        built = {name: _seeded(factory) for name, factory in parts.items()}
    else:
        built = {name: build_deferred(factory, seed=0, dtype=dtype) for name, factory in parts.items()}
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {
        "seconds": wall,
        "cpu_seconds": cpu,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "parameters": sum(p.numel() for module in built.values() for p in module.parameters()),
    }
    if checksums:
        result["checksums"] = {
            f"{name}.{key}": hashlib.sha256(t.detach().float().contiguous().numpy().tobytes()).hexdigest()[:16]
            for name, module in built.items()
            for key, t in module.state_dict().items()
        }
    print(json.dumps(result))


def run(mode: str, dtype: str, args) -> dict:
    command = [sys.executable, __file__, "--child", mode, dtype]
    command += ["--reduced"] if args.reduced else []
    command += ["--check"] if args.check else []
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if result.returncode != 0:
        raise SystemExit(f"{mode} {dtype} build failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eager", action="store_true", help="also time the eager float32 build (~14 GB)")
    parser.add_argument("--dtypes", default="float32,float16", help="dtypes of the deferred rows")
    parser.add_argument("--reduced", action="store_true", help="the tests' toy-width configuration")
    parser.add_argument("--check", action="store_true", help="compare the deferred float32 tensors with the eager")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, reduced=args.reduced, checksums=args.check)
        return

    print(f"machine: {machine_description()}", flush=True)
    print(f"sdxl-shaped{' (reduced)' if args.reduced else ''}, one torch thread per build, imports not timed")
    rows = {}
    if args.eager or args.check:
        rows["eager float32"] = run("eager", "float32", args)
    for dtype in args.dtypes.split(","):
        rows[f"deferred {dtype}"] = run("deferred", dtype.strip(), args)
    print(f"{'build':<20} {'wall s':>8} {'CPU s':>8} {'peak RSS GiB':>13} {'parameters':>14}")
    for name, row in rows.items():
        print(
            f"{name:<20} {row['seconds']:8.1f} {row['cpu_seconds']:8.1f} {row['peak_rss_gib']:13.2f} "
            f"{row['parameters']:14,}"
        )
    if args.check:
        eager, deferred = rows["eager float32"]["checksums"], rows["deferred float32"]["checksums"]
        differing = [key for key in eager if eager[key] != deferred.get(key)]
        print(f"checksums: {len(eager)} tensors, {len(differing)} differ {differing[:3]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine_description(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
