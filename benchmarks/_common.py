"""What several benchmark scripts share, so that each piece is written once.

* The per-image row cache of benchmarks/results.py and benchmarks/tune_full.py: rows as JSON lines, kept only for
  the same run settings and variant configuration (fingerprints), the rows a report reads, and the report's
  Markdown and JSON files.
* The measurement frame of benchmarks/ablate_throughput.py and benchmarks/model_build.py: the machine line printed
  first, and the figures saved as JSON and into their block of docs/benchmarks.md.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from _doc_block import load_average, update_document
from _machine import machine_description


class UsageError(Exception):
    """Bad input: printed as one line on stderr, exit status 1."""


# ---------------------------------------------------------------------------------------------- row cache


def fingerprint(data) -> str:
    """The first 12 hex digits of SHA-1 over canonical JSON: equal settings, equal fingerprint."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def row_key(row: dict) -> tuple:
    return (row["set"], row["caption"], row["seed"], row["variant"], row.get("config"), row.get("run"))


def read_rows(folder: Path) -> list[dict]:
    """Every readable row of every ``*.jsonl`` file in ``folder`` (a line cut short by a killed run is skipped:
    that image is made again)."""
    rows = []
    if not folder.is_dir():
        return rows
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and {"set", "caption", "seed", "variant"} <= set(row):
                rows.append(row)
    return rows


def current_rows(rows: Sequence[dict], run: str, config_prints: dict[str, str]) -> list[dict]:
    """The rows of this run's model and settings whose variant has its current configuration, one per key."""
    kept: dict[tuple, dict] = {}
    for row in rows:
        if row.get("run") == run and config_prints.get(row["variant"]) == row.get("config"):
            kept[row_key(row)] = row
    return list(kept.values())


def shard_rows_file(rows_dir: Path, shard: tuple[int, int]) -> Path:
    """The file a process appends its rows to: one per shard, so that shards side by side never share a file."""
    index, count = shard
    return rows_dir / ("rows.jsonl" if shard == (0, 1) else f"rows-shard-{index}-of-{count}.jsonl")


def load_model_for(args):
    """``--model`` on ``--device`` with ``--dtype``; a model that cannot be loaded is a UsageError."""
    from attnmod.toolkit.errors import AttnmodError
    from attnmod.toolkit.models.loading import load_model

    try:
        return load_model(args.model, device=args.device, dtype=args.dtype)
    except AttnmodError as error:
        raise UsageError(str(error)) from None


def rows_of_run(rows_dir: Path, settings: dict, configs: dict, work: Sequence, covers: str) -> list[dict]:
    """The cached rows of this run's ``settings`` and each variant's current configuration, for the items
    ``(set name, scene, seed)`` of ``work`` (the whole run, all shards). Images without a row yet (a shard still
    running) are counted in a warning on stderr; ``covers`` names what is made of the rest ("report", "ranking")."""
    prints = {label: fingerprint(config.to_json()) for label, config in configs.items()}
    wanted = {(name, scene.caption, seed) for name, scene, seed in work}
    rows = [row for row in current_rows(read_rows(rows_dir), fingerprint(settings), prints)
            if (row["set"], row["caption"], row["seed"]) in wanted]  # fmt: skip
    expected = len(wanted) * len(configs)
    missing = expected - len(rows)
    if missing:
        print(f"warning: {missing} of {expected} images have no row yet (a shard still running or not started?); "
              f"the {covers} covers the rest", file=sys.stderr)  # fmt: skip
    return rows


def write_report(out: Path, stem: str, text: str, payload: dict) -> list[Path]:
    """``OUT/STEM.md`` holding ``text`` and ``OUT/STEM.json`` holding ``payload``; prints the text. Returns the two
    paths, Markdown first."""
    out.mkdir(parents=True, exist_ok=True)
    markdown_path, json_path = out / f"{stem}.md", out / f"{stem}.json"
    markdown_path.write_text(text, encoding="utf-8")
    json_path.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    print(text)
    return [markdown_path, json_path]


# ---------------------------------------------------------------------------------------------- measurements


def announce(workload: str) -> tuple[str, float | None]:
    """Prints the machine and the workload before anything is measured; returns the machine line and the 1-minute
    load average now (for :func:`_doc_block.conditions` once the measurement is over)."""
    machine = machine_description()
    print(f"machine: {machine}", flush=True)
    print(workload, flush=True)
    return machine, load_average()


def save_figures(args, report: dict, script: str, markdown: Callable[[dict, str], str]) -> None:
    """``--json FILE``: the report as JSON. ``--update-doc FILE``: ``markdown(report, command)`` into the block of
    that file named after ``script`` (benchmarks/SCRIPT.py), where ``command`` is this invocation without
    ``--json`` and ``--update-doc``."""
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if args.update_doc:
        shown = [f"python benchmarks/{script}.py", *sys.argv[1:]]
        skip = {"--update-doc", "--json"}
        command = " ".join(a for i, a in enumerate(shown) if a not in skip and (i == 0 or shown[i - 1] not in skip))
        update_document(args.update_doc, script, markdown(report, command))
        print(f"figures written into {args.update_doc}")
