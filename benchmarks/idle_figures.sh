#!/usr/bin/env bash
# The CPU figures of issue 16, meant for an idle machine, in one command: `attnmod ablate` throughput (1 process x
# 1 thread, 1 x 2, 2 DDP processes; scaling efficiency) and the sdxl-shaped build (eager float32 against the
# deferred float32 and float16 builds, time, peak memory, checksums compared). Each part has a time limit and
# writes its block of docs/benchmarks.md (between its `<!-- begin figures: NAME -->` markers) with the machine
# line, the load average before and after, and the niceness; the raw figures go to OUT/*.json and OUT/*.log.
# About 7 minutes on an idle 2-core machine (ablate 3-4, the build about 3; each part stops at 6 minutes).
# The full float32 builds need about 14.5 (eager) and 18 GiB (deferred) of free memory; a build that does not fit
# is recorded as skipped.
#
#   benchmarks/idle_figures.sh [--tiny] [--doc FILE] [--out DIR]
#
# --tiny shrinks both parts (4 items at 64x64, 2 steps; the reduced build) to check the script, and writes into
# OUT/benchmarks.md (a copy of docs/benchmarks.md) unless --doc is given. Run from the repository root with the
# project's environment (.venv, or PYTHON set).
set -u

TINY=0
DOC=""
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --tiny) TINY=1 ;;
        --doc) DOC="$2"; shift ;;
        --out) OUT="$2"; shift ;;
        -h|--help) sed -n '2,15p' "$0" | cut -c3-; exit 0 ;;
        *) echo "error: unknown option $1 (use --tiny, --doc FILE, --out DIR)" >&2; exit 1 ;;
    esac
    shift
done

PYTHON=${PYTHON:-.venv/bin/python}
if [ ! -x "$PYTHON" ] || [ ! -f benchmarks/ablate_throughput.py ]; then
    echo "error: run from the repository root after 'make' (or set PYTHON): $PYTHON not found" >&2
    exit 1
fi
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/idle-figures.XXXXXX")}
mkdir -p "$OUT"
if [ -z "$DOC" ]; then
    if [ "$TINY" = 1 ]; then
        DOC="$OUT/benchmarks.md"
        cp docs/benchmarks.md "$DOC"
    else
        DOC=docs/benchmarks.md
    fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error DIFFUSERS_VERBOSITY=error
# The benchmarks set each run's threads themselves (the thread policy, --threads): nothing pinned from here.
unset OMP_NUM_THREADS MKL_NUM_THREADS ATTNMOD_THREADS ATTNMOD_THREADS_SET_OMP

LIMIT=${IDLE_FIGURES_LIMIT:-360}  # seconds per part
if [ "$TINY" = 1 ]; then
    THROUGHPUT=(--prompts 2 --seeds 1 --variants none,full --steps 2 --size 64 --repeats 1)
    BUILD=(--reduced --eager --check --dtypes float32,float16)
    LIMIT=${IDLE_FIGURES_LIMIT:-1200}  # a check of the script may run on a busy machine
else
    THROUGHPUT=(--prompts 4 --seeds 2 --variants none,full --steps 4 --size 128 --repeats 2)
    BUILD=(--eager --check --dtypes float32,float16)
fi

echo "machine load before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)" \
    "(1, 5, 15 minutes); memory available: $(awk '/MemAvailable/ {printf "%.1f GiB", $2 / 2^20}' /proc/meminfo)"
echo "figures go into $DOC; logs and JSON into $OUT"

status=0
part() {
    local name="$1"
    shift
    local start=$SECONDS
    echo "== $name (limit ${LIMIT} s)"
    timeout --kill-after=10 "$LIMIT" "$PYTHON" "benchmarks/$name.py" "$@" --json "$OUT/$name.json" \
        --update-doc "$DOC" 2>&1 | tee "$OUT/$name.log"
    local rc=${PIPESTATUS[0]}
    echo "== $name: exit $rc after $((SECONDS - start)) s"
    if [ "$rc" -ne 0 ]; then
        status=1
        [ "$rc" -eq 124 ] && echo "   $name ran past ${LIMIT} s: its block of $DOC was not updated"
    fi
}

part ablate_throughput "${THROUGHPUT[@]}"
part model_build "${BUILD[@]}"
echo "machine load after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
exit "$status"
