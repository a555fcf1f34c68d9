"""Ship a trained shapes model: copy its weights into the package and write the model card.

    python benchmarks/shapes_ship.py TRAINING_DIR --command "attnmod world train ..." \\
        --quality benchmarks/results/shapes_quality.json --judge-accuracy benchmarks/results/judge_accuracy.json

Copies ``TRAINING_DIR/weights/{shapes.safetensors,config.json}`` into ``toolkit/data/shapes/``, the loss history
(``loss-history.json``, every 10th step of each stage) beside them, ``loss_curve.png`` and ``samples.png`` into
``docs/``, and writes ``toolkit/data/shapes/MODEL_CARD.md``: the world, the data, the architecture, steps, final
losses, the exact command with its seed and commit, and the judge's scores.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "toolkit" / "data" / "shapes"
DOCS = ROOT / "docs"


def _history(path: Path, key: str, every: int = 10) -> list[list[float]]:
    rows = {}
    for line in path.read_text().splitlines():
        try:
            data = json.loads(line)
            rows[int(data["step"])] = float(data[key])
        except (ValueError, KeyError):
            continue
    return [[step, round(value, 6)] for step, value in sorted(rows.items()) if step % every == 0]


def _quality_table(quality: dict) -> str:
    lines = [
        "| set | prompts x seeds | all named objects present | colour binding | all correct |",
        "| --- | --- | --- | --- | --- |",
    ]

    def cell(stat) -> str:
        if not stat["images"]:
            return "n/a"
        return f"{100 * stat['mean']:.1f}% [{100 * stat['low']:.1f}, {100 * stat['high']:.1f}]"

    for name, data in quality["sets"].items():
        m = data["metrics"]
        lines.append(
            f"| {name} | {data['prompts']} x {len(quality['seeds'])} | {cell(m['all_present'])} | "
            f"{cell(m['colour_binding'])} | {cell(m['all_correct'])} |"
        )
    return "\n".join(lines)


def _flow_tables(markdown: str) -> str:
    """The per-set sections of an ``information_flow.md`` (from its first ``###`` heading up to its cost table),
    with the machine line kept."""
    lines = markdown.splitlines()
    machine = next((line for line in lines if line.startswith("Machine:")), "")
    start = next((i for i, line in enumerate(lines) if line.startswith("### ")), len(lines))
    stop = next((i for i, line in enumerate(lines) if line.startswith("Cost")), len(lines))
    return "\n".join([machine, "", *lines[start:stop]]).strip()


def parameter_counts(weights: Path) -> dict[str, str]:
    """Parameters per component, read from the safetensors header (no tensor is loaded)."""
    from safetensors import safe_open

    counts: dict[str, int] = {}
    with safe_open(str(weights), framework="pt") as handle:
        for key in handle.keys():  # noqa: SIM118 - safe_open handles are not iterable
            component = key.split(".", 1)[0]
            counts[component] = counts.get(component, 0) + _numel(handle.get_slice(key).get_shape())
    return {name: f"{count / 1e6:.2f}M" for name, count in counts.items()}


def _numel(shape) -> int:
    total = 1
    for size in shape:
        total *= int(size)
    return total


def _schedule_line(schedule: dict | None) -> str:
    if not schedule:
        return "Euler scheduler (SDXL's scaled-linear betas 0.00085-0.012, leading spacing)."
    return (
        f"Euler scheduler, {schedule['beta_schedule']} betas {schedule['beta_start']}-{schedule['beta_end']} "
        f"({schedule['timestep_spacing']} spacing; SDXL's schedule ends at 0.012, see `toolkit/models/shapes.py` "
        "for why this one ends lower in signal)."
    )


def _vae_source(settings: dict) -> str | None:
    """Where a run took its trained VAE from (``--vae-from``, or the model named by ``--init-from``/``--unet-from``)."""
    return settings.get("vae_from") or settings.get("init_from") or settings.get("unet_from")


def _frozen(configs: dict) -> bool:
    return (configs.get("recipe") or {}).get("text_recipe") == "frozen-contrastive"


def _text_side(configs: dict, settings: dict) -> str:
    if not _frozen(configs):
        return "both trained from scratch jointly with the UNet."
    return (
        "both pre-trained contrastively on the shapes world (CLIP's objective, each against its own small image "
        "tower) and then frozen while the UNet trained, as SDXL's are."
    )


def _text_stage_lines(training: dict, configs: dict, settings: dict) -> list[str]:
    if not _frozen(configs):
        return []
    recipe = configs["recipe"]
    lines = [
        f"- Text encoders: {recipe.get('contrastive_steps')} contrastive steps, batch "
        f"{settings.get('contrastive_batch_size')}, AdamW lr {settings.get('contrastive_learning_rate')} "
        f"({training.get('text_seconds', float('nan')) / 60:.0f} minutes); then frozen: their states were computed "
        f"once per caption and cached ({training.get('text_state_cache', {}).get('hits', '?')} hits, "
        f"{training.get('text_state_cache', {}).get('misses', '?')} misses).",
    ]
    if recipe.get("padding_augmentation"):
        lines.append(
            f"- Padding augmentation (a departure from SDXL, docs/shapes.md): in {recipe['padding_augmentation']:.0%} "
            "of the UNet's samples the positions after the end token held the empty prompt's states."
        )
    if recipe.get("unet_from"):
        lines.append(
            f"- The UNet was warm-started from `{recipe['unet_from']}` (`--unet-from`; for `shapes`, the joint model "
            "shipped before, itself 4,500 UNet steps), so its compute adds to that model's."
        )
    return lines


def model_card(
    training: dict,
    configs: dict,
    command: str,
    quality: dict | None,
    judge: dict | None,
    parameters: dict,
    flow: str | None = None,
) -> str:
    settings = training["settings"]
    prediction = (configs.get("scheduler") or {}).get("prediction_type", "epsilon")
    objective = "v-prediction" if prediction == "v_prediction" else "epsilon"
    lines = [
        "# The `shapes` model",
        "",
        "A small text-to-image model with Stable Diffusion XL's architecture, trained from scratch by attnmod on the",
        "shapes world (`attnmod.toolkit.shapes_world`): 64x64 images of 1 to 3 coloured shapes on a plain background,",
        "whose truth is known pixel by pixel. It exists so that attnmod's attention analysis and modulation can be",
        "checked against ground truth offline. It is not a general image model.",
        "",
        "## The world and the data",
        "- Shapes: circle, square, triangle, star, ring, cross; colours: red, green, blue, yellow, purple, white;",
        "  sizes small (radius 7 px) and large (12 px); nested containers 15 px with a 6 px object inside.",
        "- Captions: single (`a red circle`, `a small blue square`), pair (`a red circle and a yellow star`), relation",
        "  (`a green triangle to the left of a purple circle`; right of, above, below), triple, nested",
        "  (`a red square with a blue circle inside`) and count (`two blue stars`).",
        "- Training scenes are drawn on the fly from seen combinations only: the held-out colour-shape pairs (red star,",
        "  green ring, blue triangle, yellow cross, purple square, white circle) and shape pairs (circle + triangle,",
        "  square + star) never appear in training. 10% of captions are empty (classifier-free guidance).",
        "",
        "## Architecture",
        f"- UNet: block channels {configs['unet']['block_out_channels']}, cross-attention at 16x16 and 8x8, "
        f"`text_time` conditioning; {parameters.get('unet', '?')} parameters.",
        f"- Two CLIP text encoders (width {configs['text_encoder']['hidden_size']}, "
        f"{configs['text_encoder']['num_hidden_layers']} layers; the second with a projection) behind the real CLIP "
        f"tokenizers; {_text_side(configs, settings)}",
        f"- VAE: 64x64x3 <-> 16x16x4, channels {configs['vae']['block_out_channels']}, scaling factor "
        f"{configs['vae']['scaling_factor']:.4f}; {_schedule_line(configs.get('scheduler'))}",
        "- Weights: one float16 safetensors file, keys prefixed by component.",
        "",
        "## Training",
        f"- Command: `{command}` (seed {settings['seed']}, one torch thread, CPU).",
        f"- Code at commit `{training.get('commit') or 'unknown'}` of attnmod.",
        f"- VAE: {settings['vae_steps']} steps, batch {settings['vae_batch_size']}, L1 + MSE + 1e-6 KL; final "
        f"reconstruction loss {training.get('final_vae_loss', float('nan')):.4f} (mean of the last 50 steps)"
        + (
            f"; trained by an earlier run and reused here from `{_vae_source(settings)}` (its loss history is "
            "carried over)."
            if _vae_source(settings)
            else "."
        ),
        *_text_stage_lines(training, configs, settings),
        f"- {'UNet' if _frozen(configs) else 'UNet + text encoders'}: {settings['unet_steps']} steps, batch "
        f"{settings['batch_size']}, AdamW lr "
        f"{settings['learning_rate']}, warm-up {settings['warmup_steps']} then cosine to 10%, {objective} objective with "
        f"min-SNR-5 weighting, EMA {settings['ema_decay']}; final loss {training.get('final_loss', float('nan')):.4f} "
        f"(unweighted MSE of the {objective} target, mean of the last 200 steps).",
        "- Loss history: `loss-history.json` beside the weights; curve in `docs/shapes-loss-curve.png`.",
        "",
    ]
    if quality:
        lines += [
            "## What the judge reads from its images",
            "",
            f"`none` variant, seeds {quality['seeds']}, {quality['steps']} steps, guidance {quality['guidance']}; "
            "percent of images with 95% bootstrap intervals over prompts (`benchmarks/shapes_quality.py`; machine: "
            f"{quality['machine']}).",
            "",
            _quality_table(quality),
            "",
        ]
    if flow:
        lines += [
            "## Where it reads its prompt (information flow)",
            "",
            "Text states edited before generation (`benchmarks/information_flow.py`): padding or pooled embedding from "
            "the empty prompt, two colour words or two nouns swapped (states of the re-encoded swapped prompt).",
            "",
            flow.strip(),
            "",
        ]
    if judge:
        lines += [
            "## The judge",
            f"Object-level accuracy on {judge.get('renders', '?')} held-out degraded renders: "
            f"{100 * judge.get('object_accuracy', float('nan')):.2f}% (`benchmarks/judge_accuracy.py`).",
            "",
        ]
    lines += [
        "## Limits",
        "- 64x64 images; shapes and colours outside the world's vocabulary are unknown words to its text encoders.",
        "- Held-out combinations and multi-object binding fail more often: that is what attnmod diagnoses.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("training_dir")
    parser.add_argument("--command", required=True, help="the exact training command, for the card")
    parser.add_argument("--quality", default=None)
    parser.add_argument("--judge-accuracy", default=None)
    parser.add_argument("--card-only", action="store_true", help="rewrite the card, do not copy weights")
    parser.add_argument(
        "--flow", default=None, help="information_flow.md of benchmarks/information_flow.py: its tables go in the card"
    )
    args = parser.parse_args()
    source = Path(args.training_dir)
    training = json.loads((source / "training.json").read_text())
    configs = json.loads((source / "weights" / "config.json").read_text())
    TARGET.mkdir(parents=True, exist_ok=True)
    if not args.card_only:
        for name in ("shapes.safetensors", "config.json"):
            shutil.copyfile(source / "weights" / name, TARGET / name)
        history = {
            "vae": _history(source / "vae-loss.jsonl", "vae_loss"),
            "unet": _history(source / "unet-loss.jsonl", "loss"),
            "every": 10,
        }
        (TARGET / "loss-history.json").write_text(json.dumps(history) + "\n")
        shutil.copyfile(source / "loss_curve.png", DOCS / "shapes-loss-curve.png")
        if (source / "samples.png").is_file():
            shutil.copyfile(source / "samples.png", DOCS / "shapes-samples.png")
    quality = json.loads(Path(args.quality).read_text()) if args.quality else None
    judge = json.loads(Path(args.judge_accuracy).read_text()) if args.judge_accuracy else None
    parameters = parameter_counts(TARGET / "shapes.safetensors")
    flow = _flow_tables(Path(args.flow).read_text()) if args.flow else None
    card = model_card(training, configs, args.command, quality, judge, parameters, flow)
    (TARGET / "MODEL_CARD.md").write_text(card)
    print(f"shipped to {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
