"""The command line: generate (sharded, resumable), merge, write the docs and the validation file."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from attnmod.toolkit.run_files import write_atomic

from .evaluation import evaluate
from .generation import cache_folder, parse_shard, plan_items, read_cached, run_items, shard_of
from .judge import load_judge
from .settings import HALVES, SETS
from .writing import markdown, portable, write_docs, write_validation

# ---- command line ----


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="shapes")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument(
        "--test-prompts", type=int, default=300, help="test-half prompts in all (spread over the 4 sets; default 300)"
    )
    parser.add_argument(
        "--tune-prompts", type=int, default=160, help="tune-half prompts in all, where definitions are chosen"
    )
    parser.add_argument("--prompts", type=int, help="prompts per set and half (overrides --test/--tune-prompts)")
    parser.add_argument("--limit", type=int, help="alias of --prompts for a short run")
    parser.add_argument("--halves", default="tune,test", help="which halves to generate (default both)")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--variants", default="none,full")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--size", type=int)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, help="CPU threads of this process (default: attnmod's policy)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--out", default="runs/score-validity")
    parser.add_argument(
        "--shard", help="K/N: make only the K-th of N equal shares of the images (run N processes, then --merge)"
    )
    parser.add_argument(
        "--merge", "--from-items", dest="merge", action="store_true", help="no model: tabulate the cached images"
    )
    parser.add_argument("--docs", help="write the tables into this page between its <!-- results --> markers")
    parser.add_argument(
        "--validation", help="write the measured validity of each verdict here (analysis/validation.json)"
    )
    parser.add_argument("--no-judge", action="store_true", help="run without the judge (scores only, no AUROC)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny model, 2 prompts per set, 1 seed")
    args = parser.parse_args(argv)
    if args.quick:
        args.model = "tiny" if args.model == "shapes" else args.model
        args.prompts = args.limit or 2
        args.seeds = "0"
        args.steps = args.steps or 2
        args.bootstrap = min(args.bootstrap, 50)
    elif args.limit:
        args.prompts = args.limit
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        print(f"score_validity: --seeds must be comma-separated integers, got {args.seeds!r}", file=sys.stderr)
        return 1
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    halves = [h.strip() for h in args.halves.split(",") if h.strip()]
    if any(h not in HALVES for h in halves) or not halves:
        print(f"score_validity: --halves takes tune and/or test, got {args.halves!r}", file=sys.stderr)
        return 1
    if args.prompts is not None:
        per_set = {half: args.prompts for half in HALVES}
    else:
        per_set = {"test": -(-args.test_prompts // len(SETS)), "tune": -(-args.tune_prompts // len(SETS))}
    per_set = {half: (count if half in halves else 0) for half, count in per_set.items()}
    if min(per_set[h] for h in halves) < 1 or not seeds or not variants:
        print("score_validity: need at least one prompt per set, one seed and one variant", file=sys.stderr)
        return 1
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as error:
        print(f"score_validity: {error}", file=sys.stderr)
        return 1
    if shard and args.merge:
        print("score_validity: --shard makes images and --merge tabulates them: use one or the other", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    planned = plan_items(per_set, seeds, variants)
    judge_name = "none (--no-judge)"
    if not args.merge:
        judge = None if args.no_judge else load_judge(required=not args.quick)
        if judge is not None:
            judge_name = "attnmod.analysis.judge.image.judge_image"
        elif not args.no_judge:
            print("score_validity: judge not available; scores only", file=sys.stderr)
        from attnmod.toolkit.errors import AttnmodError

        mine = shard_of(planned, *shard) if shard else planned
        try:
            run_items(args, mine, out, judge)
        except (AttnmodError, OSError) as error:
            print(f"score_validity: {error}", file=sys.stderr)
            return 1
        if shard:
            print(
                f"score_validity: shard {shard[0] + 1}/{shard[1]} done ({len(mine)} images in {cache_folder(out)}); "
                "when every shard is done, tabulate with --merge",
                file=sys.stderr,
            )
            return 0
    wanted = {item.id for item in planned}
    rows = read_cached(out, wanted)
    if not rows:
        print(f"score_validity: no cached images of this run in {out} (run without --merge first)", file=sys.stderr)
        return 1
    missing = len(wanted) - len(rows)
    if missing:
        print(
            f"score_validity: {missing} of {len(wanted)} planned images are not made yet (a shard still running or "
            "stopped?); tabulating the rest",
            file=sys.stderr,
        )
    with (out / "items.jsonl").open("w", encoding="utf-8") as sink:
        sink.writelines(json.dumps(row) + "\n" for row in rows)
    result = evaluate(rows, args.bootstrap)
    from _machine import machine_description

    settings_path = out / "settings.json"
    settings = json.loads(settings_path.read_text(encoding="utf-8")) if settings_path.is_file() else {}
    halves_counts = {half: len({r["caption"] for r in rows if r["half"] == half}) for half in HALVES}
    meta = {
        "command": "python benchmarks/score_validity " + " ".join(portable(sys.argv[1:] if argv is None else argv)),
        "machine": machine_description(),
        "model": settings.get("model", args.model),
        "weights_sha256": settings.get("weights_sha256"),
        "steps": settings.get("steps", args.steps),
        "size": settings.get("size", args.size),
        "seeds": seeds,
        "variants": variants,
        "prompts": len({(r["half"], r["caption"]) for r in rows}),
        "prompts_per_half": halves_counts,
        "prompts_per_set": per_set,
        "images": len(rows),
        "planned": len(wanted),
        "judge": judge_name if not args.merge else "attnmod.analysis.judge.image.judge_image (cached labels)",
        "seconds": time.perf_counter() - started,
        "unmatched": sum(1 for r in rows if not r["entities_match"]),
    }
    write_atomic(out / "validity.json", json.dumps({"meta": meta, **result}, indent=1))
    text = markdown(result, meta)
    if args.docs:
        write_docs(Path(args.docs), text)
    if args.validation:
        write_validation(Path(args.validation), result, meta)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
