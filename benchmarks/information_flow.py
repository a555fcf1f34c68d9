"""Which text positions does a model's image depend on? The information-flow probe over shapes-world prompt sets.

For every prompt of the chosen sets (default: the /test halves of seen-1, seen-2 and seen-3) and every seed, the
prompt is generated unedited and with its text states edited (:mod:`attnmod.toolkit.probe`): each tree word, the
words outside the tree, all words, the end token, the padding (also per text encoder) and the pooled embedding
taken from the empty prompt, and the two swaps (colour words, nouns) taken from the prompt with the words
exchanged. Each edit's effect is the image change against the same seed's unedited image divided by the change
between two seeds (1.0 = as much as a new seed); the shapes judge reads every image against the scene's truth
(:mod:`attnmod.analysis.information_flow`). Per set and edit category: means over prompts with 95% bootstrap
intervals that resample prompts.

The start token is left out of the default edits: in a causal text encoder it sees only itself, so its states are
the same for every prompt and replacing them changes nothing (the probe's tests check that exact zero).

Cost: every prompt's probe makes ``(edits + 1) x seeds`` images in batches (``--batch-size``); the script counts
them, and at the end runs the probe of one seen-2 prompt side by side with the ``edits + 1`` plain pipeline calls
(same seeds) it replaces, alternating, under the same load (``--cost-repeats``).

Resumable: each finished prompt is one line of ``OUT/rows.jsonl`` (kept only for the same model and settings); a
rerun skips them. Writes ``OUT/information_flow.json`` and ``OUT/information_flow.md``, with ``--doc FILE`` the
figures into that file's block (the text around it is left alone), and with ``--figures FILE`` the few figures
``attnmod diagnose`` quotes for a known model (the shipped model's are ``toolkit/data/shapes/information_flow.json``).

    python benchmarks/information_flow.py --model shapes --out benchmarks/results/information_flow \
        --doc docs/information_flow.md
    python benchmarks/information_flow.py --model RUN/weights --sets seen-2/test:12 --seeds 0,1 --out runs/flow
    python benchmarks/information_flow.py --quick      # 2 prompts of seen-2/test, 4 steps: checks the script
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fingerprint  # noqa: E402
from _doc_block import conditions, load_average, update_document  # noqa: E402
from _machine import machine_description  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

DEFAULT_SETS = "seen-1/test:4,seen-2/test:10,seen-3/test:4"
DEFAULT_EDITS = "words,other-words,all-words,end,padding,pooled,swaps,padding@1,padding@2"
ROWS_FILE = "rows.jsonl"
STEM = "information_flow"
# The categories the Markdown table shows, in order (the JSON holds every category).
FIELDS = (
    ("image_effect", "image effect"),
    ("latent_effect", "latent effect"),
    ("present", "all present"),
    ("colour_binding", "colours bound"),
    ("followed", "swap followed"),
)


class UsageError(Exception):
    """Bad input: one line on stderr, exit status 1."""


def parse_sets(text: str) -> list[tuple[str, int]]:
    from attnmod.toolkit.shapes_world import parse_set_name

    sets = []
    for part in text.split(","):
        name, _, count = part.strip().rpartition(":")
        if not name:
            name, count = count, "8"
        try:
            parse_set_name(name)
            number = int(count)
        except ValueError as error:
            raise UsageError(f"--sets: {part.strip()!r}: {error}") from None
        if number < 1:
            raise UsageError(f"--sets: {part.strip()!r} asks for no prompt")
        sets.append((name, number))
    return sets


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--seeds: {text!r} is not a comma-separated list of integers") from None
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds: {text!r} needs distinct seeds")
    return seeds


def read_rows(path: Path, run: str) -> dict[tuple[str, str], dict]:
    """Finished prompts of this run (model and settings fingerprint), by (set, caption); cut lines are skipped."""
    rows: dict[tuple[str, str], dict] = {}
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and row.get("run") == run:
            rows[(row["set"], row["caption"])] = row
    return rows


def cost_check(model, caption: str, tree, seeds: list[int], args) -> dict:
    """The probe of one prompt side by side with the plain generations it replaces, under the same load: each
    repeat runs the probe, then ``edits + 1`` plain pipeline calls of the prompt text with the same seeds (what
    probing by hand, one call per edit, costs), after one untimed plain call. Wall seconds of each, and their ratio
    (mean probe seconds / mean plain seconds)."""
    import torch
    from attnmod.toolkit.probe import run_probe

    pipe = model.pipeline

    def plain_call():
        with torch.no_grad():
            pipe(
                prompt=[caption] * len(seeds),
                num_inference_steps=args.steps,
                guidance_scale=args.guidance,
                height=args.size,
                width=args.size,
                generator=[torch.Generator(device="cpu").manual_seed(seed) for seed in seeds],
                output_type="np",
            )

    plain_call()  # the first call pays for lazy initialisation
    load_before = load_average()
    probe_seconds, plain_seconds, images = [], [], 0
    for _ in range(args.cost_repeats):
        start = time.perf_counter()
        probe = run_probe(pipe, caption, tree, seeds=seeds, edits=args.edits, steps=args.steps,
                          guidance=args.guidance, height=args.size, width=args.size, batch_size=args.batch_size)  # fmt: skip
        probe_seconds.append(time.perf_counter() - start)
        images = probe.generations
        start = time.perf_counter()
        for _ in range(len(probe.edits) + 1):
            plain_call()
        plain_seconds.append(time.perf_counter() - start)
    return {
        "prompt": caption,
        "edits": len(probe.edits),
        "seeds": len(seeds),
        "images": images,
        "probe_seconds": probe_seconds,
        "plain_seconds": plain_seconds,
        "ratio": (sum(probe_seconds) / len(probe_seconds)) / (sum(plain_seconds) / len(plain_seconds)),
        "conditions": conditions(load_before, load_average()),
    }


def run(args) -> dict:
    from attnmod.analysis.information_flow import ProbeTable, probe_table, summarise
    from attnmod.toolkit.errors import AttnmodError
    from attnmod.toolkit.models.loading import load_model
    from attnmod.toolkit.probe import run_probe
    from attnmod.toolkit.prompt.parse import parse_prompts
    from attnmod.toolkit.shapes_world import prompt_set
    from tqdm.auto import tqdm

    sets = parse_sets(args.sets)
    seeds = parse_seeds(args.seeds)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    machine = machine_description()
    print(f"machine: {machine}", flush=True)
    load_before = load_average()
    try:
        model = load_model(args.model, device=args.device, dtype="float32" if args.device == "cpu" else "auto")
    except AttnmodError as error:
        raise UsageError(str(error)) from None
    settings = {
        "model": args.model,
        "steps": args.steps,
        "guidance": args.guidance,
        "height": args.size,
        "width": args.size,
        "seeds": seeds,
        "edits": args.edits,
        "batch_size": args.batch_size,
    }
    run_id = fingerprint(settings)
    rows_path = out / ROWS_FILE
    done = read_rows(rows_path, run_id)
    work = [(name, scene) for name, count in sets for scene in prompt_set(name, count)]
    trees = dict(
        zip(
            [scene.caption for _, scene in work],
            parse_prompts([scene.caption for _, scene in work], tokenizers=model.tokenizers),
            strict=True,
        )
    )
    todo = [(name, scene) for name, scene in work if (name, scene.caption) not in done]
    print(f"{len(work)} prompts, {len(work) - len(todo)} already done", flush=True)
    previous = _previous_results(out, settings)
    # A finished run re-tabulated later keeps the machine and load its probes ran under.
    measured = previous["conditions"] if not todo and previous is not None else None
    machine = previous["machine"] if measured else machine
    with rows_path.open("a", encoding="utf-8") as rows_file:
        for name, scene in tqdm(todo, desc="prompts", unit="prompt"):
            probe = run_probe(
                model.pipeline,
                scene.caption,
                trees[scene.caption],
                seeds=seeds,
                edits=args.edits,
                steps=args.steps,
                guidance=args.guidance,
                height=args.size,
                width=args.size,
                batch_size=args.batch_size,
            )
            table = probe_table(probe, scene)
            row = {"run": run_id, "set": name, "caption": scene.caption, "table": table.to_json()}
            rows_file.write(json.dumps(row) + "\n")
            rows_file.flush()
            done[(name, scene.caption)] = row
    load_after = load_average()

    results = {
        "machine": machine,
        "conditions": measured or conditions(load_before, load_after),
        "threads": _threads(),
        "settings": settings,
        "cost_check": None,
        "sets": {},
    }
    for name, count in sets:
        tables = [
            ProbeTable.from_json(done[(name, scene.caption)]["table"])
            for scene in prompt_set(name, count)
            if (name, scene.caption) in done
        ]
        generations = [t.generations for t in tables]
        expected = [(len(t.rows) + 1) * len(t.seeds) + (1 if len(t.seeds) == 1 else 0) for t in tables]
        seconds = sum(t.seconds for t in tables)
        results["sets"][name] = {
            "prompts": len(tables),
            "summary": summarise(tables),
            "cost": {
                "edits_per_prompt": sum(len(t.rows) for t in tables) / max(len(tables), 1),
                "generations": sum(generations),
                "generations_expected": sum(expected),
                "within_budget": all(g <= e for g, e in zip(generations, expected, strict=True)),
                "seconds": seconds,
                "seconds_per_image": seconds / max(sum(generations), 1),
            },
        }
    if args.cost_repeats > 0:
        name, scene = next(((n, sc) for n, sc in work if n.startswith("seen-2")), work[0])
        print(f"cost check: {scene.caption!r}, {args.cost_repeats} repeat(s)", flush=True)
        results["cost_check"] = cost_check(model, scene.caption, trees[scene.caption], seeds, args)
    return results


def _previous_results(out: Path, settings: dict) -> dict | None:
    """The results this script last wrote into ``out`` when they were made with the same settings."""
    try:
        previous = json.loads((out / f"{STEM}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return previous if isinstance(previous, dict) and previous.get("settings") == settings else None


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _cell(entry) -> str:
    return f"{entry['mean']:.2f} [{entry['low']:.2f}, {entry['high']:.2f}]" if entry else "-"


def markdown(results: dict, command: str) -> str:
    settings = results["settings"]
    lines = [
        f"`{command}`",
        "",
        f"Machine: {results['machine']}; {results['threads']} torch thread(s); {results['conditions']}. Model "
        f"`{settings['model']}`, {settings['steps']} Euler steps, guidance {settings['guidance']}, "
        f"{settings['height']}x{settings['width']}, seeds {', '.join(map(str, settings['seeds']))}; edits "
        f"`{settings['edits']}`.",
        "",
        "Effect: image change against the same seed's unedited image, divided by the change between two seeds "
        "(0 = none, 1 = as much as a new seed). Rates: share of images the judge reads so. Mean over prompts "
        "[95% bootstrap interval over prompts].",
    ]
    for name, entry in results["sets"].items():
        lines += [
            "",
            f"### {name} ({entry['prompts']} prompts)",
            "",
            "| edit | prompts | " + " | ".join(title for _, title in FIELDS) + " |",
            "| --- | --- | " + " | ".join("---" for _ in FIELDS) + " |",
        ]
        for category, values in entry["summary"].items():
            cells = [_cell(values.get(field)) for field, _ in FIELDS]
            if category == "none":
                cells[0] = cells[1] = "0"
            lines.append(f"| {values['label']} | {values['prompts']} | " + " | ".join(cells) + " |")
    lines += ["", "Cost (images generated by the probe against the budget (edits + 1) x seeds):", ""]
    lines += ["| set | edits per prompt | images | budget | s per image |", "| --- |" + " --- |" * 4]
    for name, entry in results["sets"].items():
        cost = entry["cost"]
        lines.append(
            f"| {name} | {cost['edits_per_prompt']:.1f} | {cost['generations']} | {cost['generations_expected']} | "
            f"{cost['seconds_per_image']:.2f} |"
        )
    check = results.get("cost_check")
    if check:
        probe = sum(check["probe_seconds"]) / len(check["probe_seconds"])
        plain = sum(check["plain_seconds"]) / len(check["plain_seconds"])
        lines += [
            "",
            f"Side by side on {check['prompt']!r} ({check['edits']} edits, {check['seeds']} seeds, "
            f"{len(check['probe_seconds'])} alternating repeat(s); {check['conditions']}): the probe made "
            f"{check['images']} images in {probe:.1f} s; {check['edits'] + 1} plain pipeline calls of the prompt with "
            f"the same seeds took {plain:.1f} s; ratio {check['ratio']:.2f}.",
        ]
    return "\n".join(lines) + "\n"


def key_figures(results: dict, source: str | None) -> dict:
    """What ``attnmod diagnose`` says about the model (see ``analysis.information_flow.model_reading``): the padding
    and all-words effects on two-object prompts (seen-2's set when run, else the first set)."""
    names = list(results["sets"])
    name = next((n for n in names if n.startswith("seen-2")), names[0])
    summary = results["sets"][name]["summary"]

    def mean(category: str, field: str):
        entry = (summary.get(category) or {}).get(field)
        return None if not entry else round(entry["mean"], 4)

    return {
        "model": results["settings"]["model"],
        "set": name,
        "prompts": results["sets"][name]["prompts"],
        "seeds": results["settings"]["seeds"],
        "padding_effect": mean("padding", "image_effect"),
        "all_words_effect": mean("all-words", "image_effect"),
        "present": {"unedited": mean("none", "present"), "padding": mean("padding", "present")},
        "source": source,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="shapes", help="shapes (the shipped model) or a model folder")
    parser.add_argument("--sets", default=DEFAULT_SETS, help="SET[:COUNT],...")
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    parser.add_argument("--edits", default=DEFAULT_EDITS, help="the probe's edits (see attnmod probe --help)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8, help="images per pipeline call")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/information_flow", help="folder for rows and results")
    parser.add_argument("--doc", default=None, help="also write the figures into this Markdown file's block")
    parser.add_argument(
        "--figures", default=None, help="also write the key figures `attnmod diagnose` quotes into this JSON file"
    )
    parser.add_argument("--cost-repeats", type=int, default=1, help="side-by-side cost check repeats (0: none)")
    parser.add_argument("--quick", action="store_true", help="2 prompts of seen-2/test, 4 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.sets, args.steps = "seen-2/test:2", 4
    if args.steps < 1 or args.batch_size < 1 or args.size < 8 or args.threads < 1:
        print("error: --steps, --batch-size and --threads must be at least 1 and --size at least 8", file=sys.stderr)
        return 1
    import torch

    torch.set_num_threads(args.threads)
    try:
        results = run(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: finished prompts are kept in the rows file; rerun to go on", file=sys.stderr)
        return 130
    shown = ["python benchmarks/information_flow.py", *(sys.argv[1:] if argv is None else argv)]
    command = " ".join(shown)
    text = markdown(results, command)
    out = Path(args.out)
    (out / f"{STEM}.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out / f"{STEM}.md").write_text(text, encoding="utf-8")
    if args.doc:
        update_document(args.doc, STEM, text)
    if args.figures:
        figures = key_figures(results, args.doc)
        Path(args.figures).write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
