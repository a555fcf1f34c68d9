"""What does a diagnosis cost? The two generations, the scoring, and captum attribution, side by side in one run.

One process builds the model once, runs every configuration once as a warm-up, then ``--repeats`` interleaved
rounds, and reports the median wall time of each and its ratio to one plain generation (variant ``none``, capture
on, no self-attention). Configurations:

* ``generate none`` / ``generate full``: one image with capture (cross-attention), the two halves of a diagnosis;
* ``generate full + self``: the same with self-attention capture at the coarsest level (what diagnose does);
* ``score_record``: all metrics of one record (every phase and overall), no model;
* ``diagnose``: ``run_diagnosis`` without attribution (both generations, scoring, verdicts, writing files);
* ``attribute ig/N``: Layer Integrated Gradients of the leakage with N points (and its relative convergence delta);
* ``attribute ablation``: FeatureAblation of the leakage by entity group.

    python benchmarks/diagnose.py --model tiny --repeats 3
    python benchmarks/diagnose.py --model tiny --height 64 --width 64 --ig-steps 4,16
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

PROMPT = "a red car and a white sheep"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--height", type=int, default=None)
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--ig-steps", default="8,32", help="comma-separated IG point counts")
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()

    import dataclasses

    from attnmod.analysis.attribution import attribute_prompt
    from attnmod.analysis.scoring import score_record
    from attnmod.toolkit.generation import generate
    from attnmod.toolkit.models.loading import load_model
    from attnmod.toolkit.modulation.config import ModulationConfig
    from attnmod.toolkit.prompt.parse import parse_prompt
    from attnmod.toolkit.run_files import resolve_generation_settings
    from attnmod.workflows import run_diagnosis

    model = load_model(arguments.model, device=arguments.device, dtype=arguments.dtype)
    size = resolve_generation_settings(model, arguments.steps, arguments.height, arguments.width)
    tree = parse_prompt(PROMPT, tokenizers=model.tokenizers)
    with_self = ModulationConfig.from_variant("full")
    with_self = dataclasses.replace(with_self, capture=dataclasses.replace(with_self.capture, self_attention=True))
    record = generate(model, PROMPT, with_self, trees=[tree], **size)[0].record
    workdir = Path(tempfile.mkdtemp(prefix="attnmod-bench-"))
    deltas: dict[str, float | None] = {}

    def attribution(method: str, n_steps: int):
        def run():
            result = attribute_prompt(
                model, PROMPT, target="leakage", method=method, by="token" if method == "ig" else "entity",
                n_steps=n_steps, tree=tree, **size,
            )  # fmt: skip
            deltas[f"{method}/{n_steps}"] = result.relative_delta

        return run

    configurations = {
        "generate none": lambda: generate(model, PROMPT, ModulationConfig.from_variant("none"), trees=[tree], **size),
        "generate full": lambda: generate(model, PROMPT, ModulationConfig.from_variant("full"), trees=[tree], **size),
        "generate full + self": lambda: generate(model, PROMPT, with_self, trees=[tree], **size),
        "score_record": lambda: score_record(record, tree),
        "diagnose": lambda: run_diagnosis(model, PROMPT, out_dir=workdir / "diagnosis", tree=tree, formats=(), **size),
        "attribute ablation": attribution("ablation", 1),
    }
    for n_steps in [int(n) for n in arguments.ig_steps.split(",") if n.strip()]:
        configurations[f"attribute ig/{n_steps}"] = attribution("ig", n_steps)

    times: dict[str, list[float]] = {name: [] for name in configurations}
    for run in configurations.values():  # warm-up
        run()
    for _ in range(arguments.repeats):
        for name, run in configurations.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)

    print(machine_description())
    if hasattr(os, "getloadavg"):
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min; other work on the machine slows every row)")
    print(
        f"model {arguments.model}, {size['steps']} steps, {size['height']}x{size['width']}, "
        f"threads {__import__('torch').get_num_threads()}, {arguments.repeats} rounds, median"
    )
    reference = statistics.median(times["generate none"])
    print("| what | median | vs generate none | relative IG delta |")
    print("| --- | --- | --- | --- |")
    for name, values in times.items():
        median = statistics.median(values)
        key = name.removeprefix("attribute ").replace("ablation", "ablation/1")
        delta = deltas.get(key)
        shown = f"{100 * delta:.3f}%" if delta is not None else ""
        print(f"| {name} | {median:.3f} s | {median / reference:.2f}x | {shown} |")


if __name__ == "__main__":
    main()
