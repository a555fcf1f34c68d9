"""Fit the shapes-world judge's shape classifier and write its weights (``toolkit/data/judge_shapes.safetensors``).

Scenes come from the stable stream "judge-fit" (every caption form in turn, seen and held-out combinations), each
drawn once with generation-like degradation (``attnmod.analysis.judge.training``); the objects segmented from the
renders and matched to their truth masks give the features, and a softmax regression is fitted to them. The same
arguments give the same weights. ``benchmarks/judge_accuracy.py`` measures the result on other seeds.

    python benchmarks/train_judge.py [--scenes 1500] [--seed 0] [--out toolkit/data/judge_shapes.safetensors]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from attnmod.analysis.judge.image import CLASSIFIER_FILE, SHAPES
from attnmod.analysis.judge.training import fit_shape_classifier, labelled_features, stream_scenes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=1500, help="scenes to render (default 1500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the degradation draws (default 0)")
    parser.add_argument("--out", type=Path, default=CLASSIFIER_FILE, help="weights file to write")
    args = parser.parse_args(argv)
    if args.scenes < 10:
        print("train_judge: --scenes must be at least 10", file=sys.stderr)
        return 1
    start = time.perf_counter()
    data = labelled_features(stream_scenes("judge-fit", args.scenes), args.seed, progress=True)
    classifier = fit_shape_classifier(data.features, data.labels)
    predicted = classifier.probabilities(data.features).argmax(axis=1)
    path = classifier.save(args.out)
    counts = np.bincount(data.labels, minlength=len(SHAPES))
    print(
        f"objects {len(data.labels)} ({', '.join(f'{s} {c}' for s, c in zip(SHAPES, counts, strict=True))}); "
        f"unmatched {data.unmatched}; training accuracy {np.mean(predicted == data.labels):.4f}; "
        f"{time.perf_counter() - start:.0f} s; wrote {path}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
