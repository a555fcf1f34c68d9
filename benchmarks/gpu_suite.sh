#!/usr/bin/env bash
# The GPU figures in one prepared run (about 8 minutes on one GPU): the machine, the modulation overhead on
# sdxl-shaped at 1024x1024 (30 steps, float16: vanilla, none, each part, full, with and without capture),
# `attnmod ablate` throughput on one GPU, `attnmod evaluate` on a small run, and training speed of the shapes
# world (seconds per UNet step over a bounded number of steps). Every step has a time limit and is recorded even
# when it fails or is skipped; the figures end up in OUT/suite.json and OUT/suite.md (written by
# benchmarks/gpu_suite_report.py).
#
#   benchmarks/gpu_suite.sh [--smoke] [--out DIR]
#
# --smoke shrinks every step to run on the CPU in a few minutes (tiny model, 64x64, 2 steps), to check the
# script itself. Run from the repository root with the project's environment (.venv, or PYTHON/ATTNMOD set).
set -u

SMOKE=0
OUT=gpu-suite
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) SMOKE=1 ;;
        --out) OUT="$2"; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "error: unknown option $1 (use --smoke, --out DIR)" >&2; exit 1 ;;
    esac
    shift
done

PYTHON=${PYTHON:-.venv/bin/python}
ATTNMOD=${ATTNMOD:-.venv/bin/attnmod}
if [ ! -x "$PYTHON" ] || [ ! -x "$ATTNMOD" ]; then
    echo "error: $PYTHON or $ATTNMOD not found: run 'make' first, or set PYTHON and ATTNMOD" >&2
    exit 1
fi
mkdir -p "$OUT/logs"
STEPS="$OUT/steps.jsonl"
: > "$STEPS"
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error DIFFUSERS_VERBOSITY=error

# step NAME LIMIT_SECONDS COMMAND...: run with a time limit, log its output, record rc and seconds.
step() {
    local name="$1" limit="$2"
    shift 2
    echo "== $name (limit ${limit} s)"
    local start end rc
    start=$(date +%s.%N)
    timeout --kill-after=10 "$limit" "$@" > "$OUT/logs/$name.log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    tail -n 3 "$OUT/logs/$name.log"
    printf '{"step": "%s", "rc": %d, "seconds": %s, "timed_out": %s}\n' "$name" "$rc" \
        "$(awk "BEGIN {print $end - $start}")" "$([ $rc -eq 124 ] || [ $rc -eq 137 ] && echo true || echo false)" >> "$STEPS"
}

skip() {
    echo "== $1 skipped: $2"
    printf '{"step": "%s", "skipped": "%s"}\n' "$1" "$2" >> "$STEPS"
}

if [ "$SMOKE" = 1 ]; then
    DEVICE=cpu; ACCELERATOR=cpu; DTYPE=float32
    OVERHEAD=(--model tiny --height 64 --width 64 --steps 2 --repeats 1)
    THROUGHPUT=(--model tiny --prompts 2 --seeds 1 --variants none,full --steps 2 --size 64 --repeats 1)
    EVAL_MODEL=tiny; EVAL_SOURCE=shapes:seen-2/test:2:0; EVAL_SIZE=(--steps 2)
    # The toy-size preset, a 2-step VAE stage, 8 UNet steps of batch 4 (the first 5 are left out of the timing).
    TRAIN=(--preset smoke --vae-steps 2 --unet-steps 8 --batch-size 4 --workers 0 --threads 1)
    LIMITS=(60 300 300 240 300)
else
    DEVICE=cuda; ACCELERATOR=gpu; DTYPE=float16
    OVERHEAD=(--model sdxl-shaped --height 1024 --width 1024 --steps 30 --repeats 2)
    THROUGHPUT=(--gpu-only --gpu-model sdxl-shaped --prompts 4 --seeds 1 --variants none,full --steps 30 --size 1024
        --repeats 1)
    EVAL_MODEL=shapes; EVAL_SOURCE=shapes:seen-2/test:16:0; EVAL_SIZE=()
    # The shipped model's architecture and batch (32), its trained VAE reused (no VAE stage), 200 UNet steps;
    # 4 data-loader workers draw and encode the scenes on the CPU.
    TRAIN=(--vae-from shapes --unet-steps 200 --workers 4)
    LIMITS=(60 210 150 60 120)
fi

step machine "${LIMITS[0]}" "$PYTHON" benchmarks/gpu_suite_report.py --machine "$OUT/machine.json"

step overhead "${LIMITS[1]}" "$PYTHON" benchmarks/overhead.py "${OVERHEAD[@]}" --device "$DEVICE" --dtype "$DTYPE" \
    --json "$OUT/overhead.json"

step ablate_throughput "${LIMITS[2]}" "$PYTHON" benchmarks/ablate_throughput.py "${THROUGHPUT[@]}" \
    --json "$OUT/ablate_throughput.json"

# evaluate on a small shapes-world run (the judge needs no downloaded model); the trained shapes model when this
# version ships it, else the tiny one (its images are noise: the figure is then speed only).
if ! "$ATTNMOD" info --model "$EVAL_MODEL" --device cpu > /dev/null 2>&1; then
    EVAL_MODEL=tiny
fi
rm -rf "$OUT/eval-run"
step evaluate_generate "${LIMITS[3]}" "$ATTNMOD" ablate "$EVAL_SOURCE" --model "$EVAL_MODEL" --variants none,full \
    --seeds 0 "${EVAL_SIZE[@]}" --accelerator "$ACCELERATOR" --devices 1 --out "$OUT/eval-run" --no-progress --json
step evaluate "${LIMITS[3]}" "$ATTNMOD" evaluate "$OUT/eval-run" --judge shapes --device "$DEVICE" --json

# Training speed of the shapes world: seconds per UNet step, from the run's training.json (`unet_speed`).
rm -rf "$OUT/train"
step train_shapes "${LIMITS[4]}" "$ATTNMOD" world train --out "$OUT/train" "${TRAIN[@]}" --samples 0 \
    --accelerator "$ACCELERATOR" --no-progress

"$PYTHON" benchmarks/gpu_suite_report.py --collect "$OUT" --eval-model "$EVAL_MODEL" $([ "$SMOKE" = 1 ] && echo --smoke)
