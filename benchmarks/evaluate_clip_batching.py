"""CLIP scoring speed: attnmod's batched scorer against torchmetrics' public clip_score called once per image.

Both sides use the same randomly initialised CLIP (the architecture decides the cost; the weights do not), the same
processor with explicit truncation, and the same images (PNG files decoded each time, as `attnmod evaluate` does).
Prints the machine, per-image times and the ratio.

    python benchmarks/evaluate_clip_batching.py --shape vit-b-32 --images 32 --batch-size 16
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from _machine import machine_description  # noqa: E402

SHAPES = {
    # (text width, text layers, text heads, vision width, vision layers, vision heads, patch, image size, projection)
    "tiny": (32, 2, 4, 32, 2, 4, 8, 32, 16),
    "vit-b-32": (512, 12, 8, 768, 12, 12, 32, 224, 512),
    "vit-l-14": (768, 12, 12, 1024, 24, 16, 14, 224, 768),
}


def build_clip(folder: Path, shape: str) -> str:
    import torch
    from attnmod.toolkit.prompt.tokenizer import build_clip_tokenizer
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    try:
        from transformers import CLIPImageProcessorPil as image_processor_class
    except ImportError:
        from transformers import CLIPImageProcessor as image_processor_class
    tw, tl, th, vw, vl, vh, patch, size, projection = SHAPES[shape]
    text = dict(
        vocab_size=49408,
        hidden_size=tw,
        intermediate_size=4 * tw,
        num_hidden_layers=tl,
        num_attention_heads=th,
        max_position_embeddings=77,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )
    vision = dict(
        hidden_size=vw,
        intermediate_size=4 * vw,
        num_hidden_layers=vl,
        num_attention_heads=vh,
        image_size=size,
        patch_size=patch,
    )
    torch.manual_seed(0)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=projection)).save_pretrained(folder)
    image_processor = image_processor_class(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
    CLIPProcessor(image_processor=image_processor, tokenizer=build_clip_tokenizer()).save_pretrained(folder)
    return str(folder)


def write_images(folder: Path, count: int, side: int) -> list[Path]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        path = folder / f"{index}.png"
        Image.fromarray(rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="vit-b-32")
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--image-side", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch
    from attnmod.analysis.image_metrics import ClipScorer, load_clip, read_image_tensor
    from torchmetrics.functional.multimodal import clip_score

    print(f"machine: {machine_description()}")
    print(f"CLIP shape {args.shape} (random weights), {args.images} PNG images of {args.image_side} px")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        clip_folder = build_clip(root / "clip", args.shape)
        (root / "images").mkdir()
        paths = write_images(root / "images", args.images, args.image_side)
        captions = [f"a photo of object number {i} on a table" for i in range(args.images)]
        scorer = ClipScorer(load_clip(clip_folder, device="cpu"))
        adapter, processor = scorer.model, scorer.processor

        def batched() -> list[float]:
            scores = []
            for start in range(0, len(paths), args.batch_size):
                images = [read_image_tensor(p) for p in paths[start : start + args.batch_size]]
                scores += scorer.score(images, captions[start : start + args.batch_size]).clip_score
            return scores

        def one_at_a_time() -> list[float]:
            with torch.inference_mode():
                return [
                    float(clip_score(read_image_tensor(p), c, model_name_or_path=lambda: (adapter, processor)))
                    for p, c in zip(paths, captions, strict=True)
                ]

        # The two must agree before their times mean anything.
        reference, candidate = one_at_a_time(), batched()
        worst = max(abs(a - b) for a, b in zip(reference, candidate, strict=True))
        above = sum(score > 0 for score in reference)
        print(f"largest difference between the two: {worst:.2e} (CLIP score units; {above} of {len(reference)} > 0)")
        # Alternate the two so that load from other processes on the machine hits both alike; keep each one's best.
        # CPU time (all threads of this process) is reported beside wall time: it moves less when others share the
        # machine.
        wall = {"batched": [], "one at a time": []}
        cpu = {"batched": [], "one at a time": []}
        for _ in range(args.repeats):
            for name, run in (("batched", batched), ("one at a time", one_at_a_time)):
                start, start_cpu = time.perf_counter(), time.process_time()
                run()
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
        for label, seconds in (("wall", wall), ("CPU", cpu)):
            per_image = {name: 1000 * min(values) / args.images for name, values in seconds.items()}
            print(
                f"{label:>4}: batched (batch {args.batch_size}) {per_image['batched']:.1f} ms/image, "
                f"one at a time {per_image['one at a time']:.1f} ms/image, "
                f"ratio {per_image['one at a time'] / per_image['batched']:.2f}x"
            )
        print(f"load average after the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
