"""How fast does `attnmod --help` answer, how long does `attnmod parse "one prompt"` take from start to answer,
and how long does the embedded tiny model take to build?

Runs side by side in one process tree: a bare `python -c pass` start (the floor), `attnmod --help`,
`attnmod --version`, `python -c "import attnmod"` (the Python API's lazy top level: no torch),
`attnmod parse "a red car and a white sheep"` (the whole command: imports, spaCy pipeline, tokenizer, parse,
print) and, for scale, `python -c "import torch"` (what `parse` no longer imports), interleaved, and reports
medians and the ratio to the floor, with the 1-minute load average before and after (figures on a busy machine are
not idle-machine figures). Then builds the tiny pipeline several times in one process (the first
build includes lazy imports and the vocabulary); `--no-build` skips that part.

    python benchmarks/cli_startup.py [--repeats 7] [--no-build]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402


def wall(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system of the child) of one run. On a busy machine the CPU time is the better
    estimate of the wall time on an idle one: these commands run on one core."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-build", action="store_true", help="skip the tiny pipeline builds")
    args = parser.parse_args()
    attnmod = shutil.which("attnmod") or str(Path(sys.executable).parent / "attnmod")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "attnmod --help": [attnmod, "--help"],
        "attnmod --version": [attnmod, "--version"],
        # the Python API's entry point: names are exported lazily, so this must stay near the floor
        'python -c "import attnmod"': [sys.executable, "-c", "import attnmod"],
        "attnmod parse PROMPT": [attnmod, "parse", "a red car and a white sheep"],
        "python -c import torch": [sys.executable, "-c", "import torch"],
    }
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, command in commands.items():
            elapsed, used = wall(command)
            times[name].append(elapsed)
            cpu[name].append(used)
    print(f"machine: {machine_description()}")
    print(f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, {args.repeats} repeats")
    floor = statistics.median(times["python -c pass"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(
            f"{name:<28} median {median * 1000:8.1f} ms   min {min(samples) * 1000:8.1f} ms   "
            f"ratio to bare python {median / floor:5.2f}x   CPU (user+sys) median {statistics.median(cpu[name]):6.2f} s"
        )
    if args.no_build:
        return

    code = (
        "import time, json\n"
        "start = time.perf_counter()\n"
        "from diffusers import StableDiffusionXLPipeline, StableDiffusionPipeline, UNet2DConditionModel\n"
        "from transformers import CLIPTextModel, CLIPTokenizer\n"
        "from attnmod.toolkit.models.loading import build_tiny_sdxl, build_tiny_sd\n"
        "out = {'imports': [time.perf_counter() - start]}\n"
        "for name, build in (('tiny', build_tiny_sdxl), ('tiny-sd', build_tiny_sd)):\n"
        "    samples = []\n"
        "    for _ in range(4):\n"
        "        start = time.perf_counter(); build(); samples.append(time.perf_counter() - start)\n"
        "    out[name] = samples\n"
        "print(json.dumps(out))\n"
    )
    import json

    builds = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    print(f"import torch+diffusers+transformers {builds.pop('imports')[0] * 1000:7.1f} ms")
    for name, samples in builds.items():
        print(
            f"build {name:<8} first {samples[0] * 1000:7.1f} ms (includes the tokenizer vocabulary)   "
            f"then median {statistics.median(samples[1:]) * 1000:7.1f} ms"
        )


if __name__ == "__main__":
    main()
