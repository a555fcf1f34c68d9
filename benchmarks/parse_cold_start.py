"""One-prompt cold start of `attnmod parse`, this checkout against a baseline checkout, side by side.

Each run is a fresh Python process that imports attnmod's command line and parses one prose prompt (imports, spaCy
pipeline with the repair component, tokenizer, parse, print), as `attnmod parse "..."` does. The two checkouts run
interleaved (baseline, this, baseline, this, ...) so that load on the machine falls on both alike; the script reports
median wall and CPU time of each and their ratio, with the load average before and after.

    git archive BASE_COMMIT | tar -x -C /tmp/base/attnmod     # the baseline, as a folder holding `attnmod/`
    python benchmarks/parse_cold_start.py --baseline /tmp/base [--repeats 9]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402

PROMPT = "a woman handing a red rose to a child while her dog sleeps in a wicker basket"
CODE = "import sys; from attnmod.cli import main; main(['parse', sys.argv[1]])"


def run(package_parent: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of one cold `parse` with ``package_parent`` first on the
    import path."""
    env = {**os.environ, "PYTHONPATH": str(package_parent), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", CODE, PROMPT], check=True, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a folder holding the baseline `attnmod/`")
    parser.add_argument("--current", type=Path, default=None, help="a folder holding this `attnmod/` (default: ..)")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    current = args.current or Path(__file__).resolve().parent.parent.parent
    for folder in (args.baseline, current):
        if not (folder / "attnmod" / "cli.py").is_file():
            print(f"no attnmod/cli.py under {folder}", file=sys.stderr)
            return 1
    load_before = os.getloadavg()[0]
    runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "current": []}
    run(args.baseline), run(current)  # warm the file cache once for each
    for _ in range(args.repeats):
        runs["baseline"].append(run(args.baseline))
        runs["current"].append(run(current))
    load_after = os.getloadavg()[0]
    print(f"machine: {machine_description()}; load average {load_before:.2f} before, {load_after:.2f} after")
    print(f"prompt: {PROMPT!r}; {args.repeats} runs each, interleaved")
    print("| checkout | median wall (s) | median CPU (s) |")
    print("| --- | --- | --- |")
    medians = {}
    for name, values in runs.items():
        medians[name] = (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
        print(f"| {name} | {medians[name][0]:.2f} | {medians[name][1]:.2f} |")
    wall_ratio = medians["current"][0] / medians["baseline"][0]
    cpu_ratio = medians["current"][1] / medians["baseline"][1]
    print(f"current / baseline: wall {wall_ratio:.3f}, CPU {cpu_ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
