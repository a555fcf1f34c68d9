"""Seconds per UNet training step of the shapes model under its two text recipes, side by side.

``joint`` (the shipped recipe until issue 25): both CLIP text encoders run forward and backward every step and
AdamW updates them with the UNet. ``frozen-contrastive``: the encoders are frozen and their states come from a
per-caption cache (``FrozenTextStates``), so a step is the UNet's forward, backward and update plus, for captions
not seen before, one forward of the encoders without gradients. Both run the same code as training
(``DiffusionModule.training_step`` and its optimizer) on the default preset, batch 32, captions drawn from the
world's training stream, latents random (the VAE encodes in the data loader under both recipes, so it is left out).
Steps of the two recipes alternate, so a change in the machine's load hits both alike.

    OMP_NUM_THREADS=1 python benchmarks/text_recipe_step_cost.py --steps 20 --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _doc_block import conditions, load_average, update_document  # noqa: E402
from _machine import machine_description  # noqa: E402


def build(recipe: str, seed: int):
    from attnmod.lightning_modules.shapes_training import DiffusionModule, TrainingSettings
    from attnmod.toolkit.models import shapes as shapes_model

    pipe = shapes_model.build_shapes_pipeline("default", seed=seed)
    components = {name: getattr(pipe, name) for name in shapes_model.COMPONENTS}
    settings = TrainingSettings(text_recipe=recipe)
    module = DiffusionModule(
        components, [pipe.tokenizer, pipe.tokenizer_2], pipe.scheduler, settings, shapes_model.IMAGE_SIZE
    )
    module.on_fit_start()
    optimizer = module.configure_optimizers()["optimizer"]
    return module, optimizer


def timed_step(module, optimizer, batch) -> tuple[float, float]:
    """(seconds for the whole step, seconds spent getting the text states) of one optimizer step."""
    latents, captions = batch
    start = time.perf_counter()
    original = module.prompt_states
    spent = [0.0]

    def measured(captions):
        began = time.perf_counter()
        result = original(captions)
        spent[0] += time.perf_counter() - began
        return result

    module.prompt_states = measured
    try:
        loss = module.training_step((latents, captions), 0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        module.on_train_batch_end(None, None, 0)  # the EMA update, part of every training step
    finally:
        module.prompt_states = original
    return time.perf_counter() - start, spent[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per recipe (after 3 untimed ones)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--write", default=None, help="Markdown document to put the figures in (a block)")
    args = parser.parse_args()
    if args.steps < 2 or args.batch_size < 1:
        print("error: --steps must be at least 2 and --batch-size at least 1", file=sys.stderr)
        raise SystemExit(2)

    import torch
    from attnmod.toolkit import shapes_world

    torch.manual_seed(0)
    rng = random.Random("step-cost")
    recipes = ("joint", "frozen-contrastive")
    modules = {recipe: build(recipe, 0) for recipe in recipes}
    times: dict[str, list[tuple[float, float]]] = {recipe: [] for recipe in recipes}
    before = load_average()
    for index in range(args.steps + 3):
        _, captions = shapes_world.training_batch(rng, args.batch_size, 0.1)
        latents = torch.randn(args.batch_size, 4, 16, 16)
        for recipe in recipes if index % 2 == 0 else reversed(recipes):
            result = timed_step(*modules[recipe], (latents, captions))
            if index >= 3:
                times[recipe].append(result)
        print(f"step {index + 1}/{args.steps + 3}", file=sys.stderr, end="\r")
    after = load_average()
    cache = modules["frozen-contrastive"][0].text_states
    rows = []
    for recipe in recipes:
        total = statistics.mean(t for t, _ in times[recipe])
        text = statistics.mean(s for _, s in times[recipe])
        rows.append((recipe, total, text))
    ratio = rows[1][1] / rows[0][1]
    lines = [
        "### Seconds per UNet training step by text recipe (`benchmarks/text_recipe_step_cost.py`)",
        "",
        f"Default preset, batch {args.batch_size}, {args.steps} timed steps per recipe, alternating; one torch "
        f"thread; machine: {machine_description()}; {conditions(before, after)}.",
        "",
        "| recipe | seconds per step (mean) | of which text states |",
        "| --- | --- | --- |",
        *[f"| {name} | {total:.3f} | {text:.3f} |" for name, total, text in rows],
        "",
        f"frozen-contrastive / joint: {ratio:.2f}. Text-state cache over the run: {cache.hits} hits, "
        f"{cache.misses} misses (captions drawn as in training; the share of hits grows with the run, since the "
        "world has a few thousand distinct one- and two-object captions).",
    ]
    body = "\n".join(lines)
    print(body)
    if args.write:
        update_document(args.write, "text-recipe-step-cost", body)


if __name__ == "__main__":
    main()
