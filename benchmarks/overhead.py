"""What does the attention modulation cost? Each part against ``none``, capture off and on, side by side.

One process builds the model once, runs one warm-up per configuration, then ``--repeats`` interleaved rounds (every
configuration once per round, each round starting one configuration later), and reports median and minimum time per
image (wall, or with ``--clock cpu`` this process's CPU time, which on a shared CPU leaves out the time other
programs held the core) with their ratios to the ``none`` variant (the same ``generate`` call with no part enabled,
so the ratio is what a part adds), the median and quartiles of the per-round ratio to ``none`` (each run paired with
the ``none`` run of its round: the target lines use its median), the ratio to the stock pipeline call, the peak memory rise during a run (CUDA: ``max_memory_allocated``; CPU: resident set size
sampled every 20 ms during the untimed warm-up run, minus the size before it) and the capture state of one image,
measured and extrapolated to 1024x1024 from the UNet's attention resolutions (float32 running sums:
tokens x pixels x phases x 4 bytes). ``--legacy`` adds the first design of each part (``LEGACY_SETTINGS``).
``--config`` gives the parts' parameters (each variant enables its own parts of it), ``--batch`` images per call.
Steps and size default to the model's own (``default_generation_settings``: 4 steps at 128x128 on tiny, 25 at 64x64
on shapes).

    python benchmarks/overhead.py --model tiny --repeats 10 --legacy
    python benchmarks/overhead.py --model shapes --prompt "a red circle and a blue square" --repeats 20 --no-capture \\
        --clock cpu --config docs/full-tuned.json                   # issue 14's target, ~3 min on one core
    python benchmarks/overhead.py --model sdxl-shaped --height 256 --width 256 --steps 3 --repeats 3   # ~14 GB fp32
    python benchmarks/overhead.py --model sdxl-shaped --device cuda --dtype float16 --height 1024 --width 1024 \\
        --steps 30 --repeats 3                                                                           # GPU target

Targets: each part (and full) without capture <= 1.05x ``none`` (issue 14, on shapes), with capture <= 1.15x,
capture state <= 64 MB/image at 1024x1024.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

PROMPT = "a red cat and a blue dog on a wooden table"
VARIANTS = ("none", "temperature", "masking", "reweighting", "full")
VANILLA = "vanilla (stock pipeline)"


def resident_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """Peak rise in memory during a block: CUDA allocator peak on GPU, sampled RSS on CPU."""

    def __init__(self, device: str):
        self.cuda = device.startswith("cuda")
        self.rise = 0

    def __enter__(self):
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            self.base = resident_bytes()
            self.peak = self.base
            self.running = True
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, resident_bytes())
            time.sleep(0.02)

    def __exit__(self, *exc):
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            self.rise = torch.cuda.max_memory_allocated() - self.base
        else:
            self.running = False
            self.thread.join()
            self.rise = max(self.peak, resident_bytes()) - self.base
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="tiny, tiny-sd, shapes, sdxl-shaped or a model path/id")
    parser.add_argument("--prompt", default=PROMPT, help="a two-entity prompt the model's vocabulary knows")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--height", type=int, default=None, help="default: the model's own")
    parser.add_argument("--width", type=int, default=None, help="default: the model's own")
    parser.add_argument("--steps", type=int, default=None, help="default: the model's own")
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1, help="images per call (times are reported per image)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or this process's CPU time (with one thread on a shared CPU it does not count the time "
        "other programs hold the core; not for GPU runs)",
    )
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variant names")
    parser.add_argument("--self-attention", action="store_true", help="also capture self-attention (coarsest)")
    parser.add_argument("--config", default=None, help="the parts' parameters (a modulation config .json/.yaml)")
    parser.add_argument("--legacy", action="store_true", help="also time the first design of each modulating variant")
    parser.add_argument("--no-capture", action="store_true", help="time the variants without capture only")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the figures here")
    args = parser.parse_args()

    import torch
    from attnmod.toolkit.generation import generate
    from attnmod.toolkit.models.loading import load_model
    from attnmod.toolkit.modulation.capture import estimate_state_bytes, unet_attention_resolutions
    from attnmod.toolkit.modulation.config import CaptureConfig, ModulationConfig, variant_parts
    from attnmod.toolkit.prompt.parse import parse_prompt
    from attnmod.toolkit.run_files import default_generation_settings

    # --config: the parts' parameters (e.g. docs/full-tuned.json from benchmarks/tune_full.py), each variant
    # enabling its own parts of it
    base_config = ModulationConfig.load(args.config) if args.config else ModulationConfig()
    print(f"machine: {machine_description()}", flush=True)
    start = time.perf_counter()
    model = load_model(args.model, device=args.device, dtype=args.dtype)
    print(
        f"model {args.model} on {model.device} {model.dtype}: built in {time.perf_counter() - start:.1f} s", flush=True
    )
    defaults = default_generation_settings(model)
    for key in ("steps", "height", "width"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    pipe = model.pipeline
    prompt = args.prompt
    tree = parse_prompt(prompt, model.tokenizers)
    print(f"prompt {prompt!r}: entities {[entity.noun for entity in tree.entities]}", flush=True)
    capture_config = CaptureConfig(self_attention=args.self_attention)
    cuda = model.device.startswith("cuda")

    def synchronize() -> None:
        if cuda:
            torch.cuda.synchronize()

    prompts = [prompt] * args.batch
    seeds = list(range(args.batch))

    def vanilla():
        return pipe(
            prompt=prompts,
            num_inference_steps=args.steps,
            guidance_scale=args.guidance,
            height=args.height,
            width=args.width,
            generator=[torch.Generator().manual_seed(seed) for seed in seeds],
            output_type="np",
        )

    def variant_run(name: str, capture: bool, legacy: bool = False):
        config = ModulationConfig.legacy(name) if legacy else base_config.with_parts(variant_parts(name))
        config = ModulationConfig(config.temperature, config.masking, config.reweighting, capture_config)

        def run():
            return generate(model, prompts, config, seeds, args.steps, args.guidance, args.height, args.width,
                            capture=capture, trees=[tree] * args.batch)[0]  # fmt: skip

        return run

    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    if "none" not in names:
        names.insert(0, "none")
    runs = {VANILLA: vanilla}
    for name in names:
        runs[name] = variant_run(name, False)
        if args.legacy and ModulationConfig.from_variant(name).modulates:
            runs[f"{name} (first design)"] = variant_run(name, False, legacy=True)
    if not args.no_capture:
        for name in names:
            runs[f"{name} + capture"] = variant_run(name, True)

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = {name: [] for name in runs}
    memory = {}
    capture_bytes = {}
    # round 0 warms every configuration up; it is not timed, and it is where memory is sampled (so that the
    # sampling thread cannot slow the timed runs)
    order = list(runs.items())
    for round_index in range(args.repeats + 1):
        # each round starts one configuration later, so no configuration always runs right after the same one
        shift = round_index % len(order)
        for name, run in order[shift:] + order[:shift]:
            synchronize()
            if round_index == 0:
                with PeakMemory(model.device) as peak:
                    output = run()
                memory[name] = peak.rise
                if getattr(output, "record", None) is not None:
                    capture_bytes[name] = output.record.nbytes()
                continue
            began = clock()
            run()
            synchronize()
            times[name].append((clock() - began) / args.batch)
        print(f"round {round_index}/{args.repeats} done{' (warm-up)' if round_index == 0 else ''}", flush=True)

    base, base_min = statistics.median(times["none"]), min(times["none"])
    stock = statistics.median(times[VANILLA])
    print()
    print(f"{args.model}, {args.height}x{args.width}, {args.steps} steps, guidance {args.guidance}, {model.dtype}, "
          f"{args.repeats} interleaved repeats, {args.batch} image(s) per call, prompt {prompt!r}; "
          f"{args.clock} seconds per image")  # fmt: skip
    # the minimum is the run least disturbed by other work on the machine: on a shared machine its ratio is the
    # better estimate of the intrinsic cost; the median shows what a run typically took here
    # the round ratio pairs each run with the none run of the same round (same machine load): its median and
    # quartiles over the rounds say how stable the ratio is
    print(f"{'configuration':<34} {'median s':>9} {'vs none':>8} {'min s':>9} {'vs none':>8} {'vs stock':>9} "
          f"{'round ratio [q25, q75]':>24} {'peak rise MB':>13} {'capture MB':>11}")  # fmt: skip
    rows = []
    verdicts = []
    for name in runs:
        median, fastest = statistics.median(times[name]), min(times[name])
        paired = [mine / theirs for mine, theirs in zip(times[name], times["none"], strict=True)]
        quartiles = statistics.quantiles(paired, n=4) if len(paired) > 1 else [paired[0]] * 3
        round_ratio = statistics.median(paired)
        state = capture_bytes.get(name)
        rows.append(
            {
                "configuration": name,
                "median_s": median,
                "ratio_median": median / base,
                "min_s": fastest,
                "ratio_min": fastest / base_min,
                "ratio_median_stock": median / stock,
                "round_ratio_median": round_ratio,
                "round_ratio_quartiles": [quartiles[0], quartiles[2]],
                "times_s": times[name],
                "peak_rise_bytes": memory[name],
                "capture_state_bytes": state,
            }
        )
        state_text = f"{state / 2**20:11.2f}" if state is not None else f"{'-':>11}"
        ratio_text = f"{round_ratio:.3f}x [{quartiles[0]:.3f}, {quartiles[2]:.3f}]"
        print(f"{name:<34} {median:9.3f} {median / base:7.3f}x {fastest:9.3f} {fastest / base_min:7.3f}x "
              f"{median / stock:8.3f}x {ratio_text:>24} {memory[name] / 2**20:13.1f} {state_text}")  # fmt: skip
        if name in names and name != "none":
            verdicts.append((name, round_ratio, 1.05))
        elif name.endswith(" + capture") and name.removesuffix(" + capture") in names:
            verdicts.append((name, round_ratio, 1.15))

    print()
    for name, ratio, target in verdicts:
        outcome = "holds" if ratio <= target else "does NOT hold"
        print(f"target {name} <= {target:.2f}x none (median round ratio): {ratio:.3f}x, {outcome}")

    scale = int(getattr(pipe, "vae_scale_factor", 8))
    levels_now = unet_attention_resolutions(pipe.unet, args.height // scale, args.width // scale)
    levels_1024 = unet_attention_resolutions(pipe.unet, 1024 // scale, 1024 // scale)
    phases = len(capture_config.phases)
    coarsest = max(levels_1024)
    estimate_now = estimate_state_bytes(
        levels_now.values(), phases, self_resolution=levels_now[max(levels_now)] if args.self_attention else None
    )
    estimate_cross = estimate_state_bytes(levels_1024.values(), phases)
    estimate_self = estimate_state_bytes(levels_1024.values(), phases, self_resolution=levels_1024[coarsest])
    print()
    print(f"capture state per image, analytic: {estimate_now / 2**20:.2f} MB at {args.height}x{args.width}; at 1024x1024 "
          f"{estimate_cross / 2**20:.2f} MB cross-attention only, {estimate_self / 2**20:.2f} MB with self-attention "
          f"at {levels_1024[coarsest][0]}x{levels_1024[coarsest][1]} (attention maps at "
          f"{', '.join(f'{h}x{w}' for h, w in levels_1024.values())})")  # fmt: skip
    if args.json_path:
        Path(args.json_path).write_text(
            json.dumps(
                {
                    "machine": machine_description(),
                    "arguments": vars(args),
                    "rows": rows,
                    "capture_estimate_bytes": {
                        "this_size": estimate_now,
                        "1024_cross": estimate_cross,
                        "1024_with_self": estimate_self,
                    },
                },
                indent=2,
            ),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
