"""Behaviour before and after a change: run a fixed set of `attnmod` commands on two checkouts and compare every
output file.

Each side is either a folder this script wrote before (it holds ``commands.json``) or a git revision of this
repository: its tree is extracted with ``git archive`` into a temporary folder as ``attnmod/`` and the commands run
in fresh processes with that folder first on PYTHONPATH, one thread, fixed seeds and small sizes (a few minutes on
two cores). Then every file of the two output trees is compared:

* JSON and JSONL key by key, ignoring only the volatile keys listed in ``VOLATILE_KEYS`` (timings, dates,
  durations, software versions, hosts) and with each side's own output and package folders replaced by
  placeholders, so that paths compare equal;
* PNG by pixels, safetensors tensor by tensor (and its metadata as JSON);
* HTML reports with their embedded PNG figures compared by pixels, and their text after the same path
  placeholders, with the volatile values in ``VOLATILE_TEXT`` (dates, clock times, durations, version strings),
  the timing columns of ``VOLATILE_COLUMNS``, the timing figures of ``VOLATILE_FIGURES`` and the volatile keys of
  any JSON shown in the page replaced; Markdown and other text likewise (PDF reports are not made: ``--format
  html``);
* anything else byte for byte.

It prints the machine and a table of files: identical, or differs with the first differing keys and values.

    python benchmarks/compare_runs.py BEFORE AFTER [--keep DIR]
    python benchmarks/compare_runs.py abe0ded^ main --keep /tmp/layout      # then /tmp/layout/before, .../after
    python benchmarks/compare_runs.py /tmp/layout/before 52f5df2            # a kept folder against a revision

Exit status: 0 when every file is identical, 3 when some differ, 1 on bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import base64
import difflib
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_description  # noqa: E402

REPOSITORY = Path(__file__).resolve().parent.parent
MARKER = "commands.json"
TINY_PROMPT = "a red cube and a blue sphere"
SHAPES_PROMPT = "a red circle and a blue square"
ABLATE_PROMPTS = ["a red cube and a blue sphere", "a green apple and a yellow banana"]
_TINY = ["--model", "tiny", "--height", "64", "--width", "64", "--parser", "dependency", "--threads", "1"]
_SHAPES = ["--model", "shapes", "--parser", "dependency", "--threads", "1"]

# (name, attnmod arguments, file that keeps the command's stdout or None); run in this order, in the output folder.
COMMANDS: list[tuple[str, list[str], str | None]] = [
    ("parse", ["parse", TINY_PROMPT, "--parser", "dependency", "--format", "json"], "parse.stdout.json"),
    ("diagnose tiny", ["diagnose", TINY_PROMPT, *_TINY, "--variant", "full", "--seed", "0", "--steps", "3",
                       "--no-progress", "--format", "html", "--out", "diagnose-tiny", "--json"],
     "diagnose-tiny.stdout.json"),
    ("diagnose shapes", ["diagnose", SHAPES_PROMPT, *_SHAPES, "--variant", "full", "--seed", "0", "--steps", "8",
                         "--no-progress", "--format", "html", "--out", "diagnose-shapes", "--json"],
     "diagnose-shapes.stdout.json"),
    ("analyze tiny", ["analyze", "diagnose-tiny", "--binding", "0.7", "--json"], "analyze-tiny.stdout.json"),
    ("report tiny", ["report", "diagnose-tiny", "--out", "report-tiny", "--format", "html"], None),
    ("ablate tiny", ["ablate", "prompts.txt", *_TINY, "--variants", "none,full", "--seeds", "0", "--steps", "2",
                     "--accelerator", "cpu", "--devices", "1", "--no-progress", "--out", "ablate-tiny", "--json"],
     "ablate-tiny.stdout.json"),
    ("report ablate tiny", ["report", "ablate-tiny", "--format", "html"], None),
    ("ablate shapes", ["ablate", "shapes:seen-2/test:2", *_SHAPES, "--variants", "none,full", "--seeds", "0",
                       "--steps", "8", "--accelerator", "cpu", "--devices", "1", "--no-progress",
                       "--out", "ablate-shapes", "--json"], "ablate-shapes.stdout.json"),
    ("evaluate shapes", ["evaluate", "ablate-shapes", "--judge", "shapes", "--resamples", "200", "--threads", "1",
                         "--json"], "evaluate-shapes.stdout.json"),
    ("report ablate shapes", ["report", "ablate-shapes", "--format", "html"], None),
]  # fmt: skip

# Keys whose values are not behaviour: when and how long something ran, on which host, with which software
# versions, and where files lie. Compared nowhere, at any depth of any JSON/JSONL file.
VOLATILE_KEYS = frozenset({
    # timings and durations
    "seconds", "elapsed", "elapsed_s", "elapsed_seconds", "duration", "duration_s", "wall_s", "wall_seconds",
    "seconds_per_image", "images_per_second", "items_per_second", "time_s", "timing", "timings",
    "generation_seconds", "scoring_seconds", "run_seconds", "load_seconds",
    # dates
    "created", "created_at", "started", "started_at", "finished", "finished_at", "updated", "updated_at",
    "date", "time", "timestamp", "written_at",
    # software versions and the host
    "versions", "version", "attnmod_version", "torch_version", "diffusers_version", "transformers_version",
    "python", "python_version", "platform", "hostname", "host", "machine", "pid", "cpu", "cpu_count", "cores", "gpus",
    # paths whose folder differs between the two sides (values holding the output folder are compared with it
    # replaced by a placeholder instead)
    "cwd",
})  # fmt: skip

# Entries (parent key, key) that record a volatile value at one remove: an item's metrics.json keeps the size and
# checksum of its config.json, which holds the item's seconds (config.json itself is compared without them).
VOLATILE_ENTRIES = frozenset({("files", "config.json")})

# Table columns of the HTML reports that hold timings (header text, lower case), and embedded figures (by alt
# text) that plot them.
VOLATILE_COLUMNS = frozenset({"seconds", "seconds / item", "seconds per item", "time", "duration"})
VOLATILE_FIGURES = frozenset({"Runtime per variant"})

# Volatile values inside text (HTML, Markdown, logs): each match is replaced by its placeholder before comparing.
VOLATILE_TEXT: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}| ?UTC)?"), "<DATETIME>"),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b"), "<CLOCK>"),
    (re.compile(r"\b\d+(\.\d+)?\s?(s|ms|seconds|min|minutes)\b"), "<DURATION>"),
    (
        re.compile(r"\b(attnmod|torch|diffusers|transformers|python|Python|matplotlib|jinja2)[ =/]v?\d+\.\d+[\w.+-]*"),
        r"\1 <VERSION>",
    ),
]


# Each command in a fresh process; the global random generators of numpy and Python are seeded first, as the
# reports' strip plots draw their jitter from numpy's (the commands seed their own generators for the images).
LAUNCH = (
    "import random, sys, numpy; random.seed(0); numpy.random.seed(0); from attnmod.cli import main; main(sys.argv[1:])"
)


class UsageError(Exception):
    """Bad input: one line on stderr, exit status 1."""


# ---------------------------------------------------------------------------------------------- running


def extract_revision(revision: str, parent: Path) -> str:
    """``git archive`` of ``revision`` extracted as ``parent/attnmod``; returns the full commit hash."""
    found = subprocess.run(["git", "-C", str(REPOSITORY), "rev-parse", "--verify", "--quiet", revision + "^{commit}"],
                           capture_output=True, text=True)  # fmt: skip
    if found.returncode:
        raise UsageError(f"{revision!r} is neither an output folder of this script nor a git revision")
    commit = found.stdout.strip()
    target = parent / "attnmod"
    target.mkdir(parents=True)
    archive = subprocess.Popen(["git", "-C", str(REPOSITORY), "archive", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(target)], stdin=archive.stdout, check=True)
    if archive.wait():
        raise UsageError(f"git archive {commit} failed")
    return commit


def run_commands(package_parent: Path, out: Path, label: str) -> None:
    """Runs ``COMMANDS`` with ``package_parent/attnmod`` as the package, in ``out``; writes ``out/commands.json``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "prompts.txt").write_text("\n".join(ABLATE_PROMPTS) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(package_parent), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "ATTNMOD_THREADS": "1", "PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": "", "TZ": "UTC"}  # fmt: skip
    log = []
    for name, arguments, stdout_file in COMMANDS:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", LAUNCH,
                               *arguments], cwd=out, env=env, capture_output=True, text=True)  # fmt: skip
        seconds = time.perf_counter() - start
        print(f"  {label}: {name}: exit {done.returncode} in {seconds:.1f} s", flush=True)
        if stdout_file:
            (out / stdout_file).write_text(done.stdout, encoding="utf-8")
        if done.returncode:
            tail = done.stderr.strip().splitlines()[-3:]
            print("    " + "\n    ".join(tail), flush=True)
        log.append({"name": name, "arguments": arguments, "exit": done.returncode, "seconds": round(seconds, 2)})
    (out / MARKER).write_text(
        json.dumps({"out": str(out), "package": str(package_parent), "commands": log}, indent=1) + "\n"
    )


def prepare_side(spec: str, label: str, work: Path) -> tuple[Path, list[str]]:
    """The output folder of one side, and the folder strings its files may contain (replaced by placeholders)."""
    folder = Path(spec)
    if (folder / MARKER).is_file():
        written = json.loads((folder / MARKER).read_text())
        return folder.resolve(), [str(folder.resolve()), written.get("out", str(folder.resolve())), written["package"]]
    package_parent, out = work / f"{label}-package", work / label
    for existing in (package_parent, out):
        if existing.exists():
            raise UsageError(f"{existing} exists: give it as a side, or name another --keep folder")
    commit = extract_revision(spec, package_parent)
    print(f"{label}: {spec} = {commit[:12]}, running {len(COMMANDS)} commands", flush=True)
    run_commands(package_parent, out, label)
    return out, [str(out), str(package_parent)]


# ---------------------------------------------------------------------------------------------- comparing


def normalise_text(text: str, folders: list[str]) -> str:
    for folder in sorted(folders, key=len, reverse=True):  # the longer first: one folder may hold the other's name
        text = text.replace(folder, "<FOLDER>")
    for pattern, placeholder in VOLATILE_TEXT:
        text = pattern.sub(placeholder, text)
    return text


def normalise_json(value, folders: list[str], parent: str | None = None):
    """``value`` with volatile keys (and the entries of ``VOLATILE_ENTRIES``) dropped and folder strings replaced
    (dates inside strings too). ``parent``: the key ``value`` stands under."""
    if isinstance(value, dict):
        return {key: normalise_json(item, folders, key) for key, item in value.items()
                if key not in VOLATILE_KEYS and (parent, key) not in VOLATILE_ENTRIES}  # fmt: skip
    if isinstance(value, list):
        return [normalise_json(item, folders) for item in value]
    if isinstance(value, str):
        return normalise_text(value, folders)
    return value


def json_differences(before, after, path: str = "") -> list[str]:
    """Every differing key path (``a.b[2].c``) with both values, in document order."""
    if isinstance(before, dict) and isinstance(after, dict):
        differences = []
        for key in list(before) + [key for key in after if key not in before]:
            where = f"{path}.{key}" if path else str(key)
            if key not in after:
                differences.append(f"{where}: only before")
            elif key not in before:
                differences.append(f"{where}: only after")
            else:
                differences += json_differences(before[key], after[key], where)
        return differences
    if isinstance(before, list) and isinstance(after, list):
        differences = []
        for index, (left, right) in enumerate(zip(before, after, strict=False)):
            differences += json_differences(left, right, f"{path}[{index}]")
        if len(before) != len(after):
            differences.append(f"{path}: {len(before)} items before, {len(after)} after")
        return differences
    same = before == after or (isinstance(before, float) and isinstance(after, float)
                               and math.isnan(before) and math.isnan(after))  # fmt: skip
    return [] if same else [f"{path or '(top)'}: {_short(before)} -> {_short(after)}"]


def _short(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _read_json_lines(path: Path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def compare_files(before: Path, after: Path, folders: tuple[list[str], list[str]]) -> list[str]:
    """The differences of two files of the same name (empty: identical)."""
    suffix = before.suffix.lower()
    if suffix in (".json", ".jsonl"):
        try:
            read = _read_json_lines if suffix == ".jsonl" else (lambda p: json.loads(p.read_text(encoding="utf-8")))
            left, right = read(before), read(after)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _compare_text(before, after, folders)
        return json_differences(normalise_json(left, folders[0]), normalise_json(right, folders[1]))
    if suffix == ".png":
        return _compare_images(before, after)
    if suffix == ".safetensors":
        return _compare_tensors(before, after, folders)
    if suffix in (".html", ".htm", ".md", ".txt", ".csv", ".log", ".svg", ".yaml", ".yml"):
        return _compare_text(before, after, folders)
    return [] if before.read_bytes() == after.read_bytes() else ["bytes differ"]


def _compare_text(before: Path, after: Path, folders) -> list[str]:
    left = before.read_text(encoding="utf-8", errors="replace")
    right = after.read_text(encoding="utf-8", errors="replace")
    differences = []
    if before.suffix.lower() in (".html", ".htm"):
        left, left_images = normalise_html(left)
        right, right_images = normalise_html(right)
        differences += _compare_embedded_images(left_images, right_images)
    differences += _compare_lines(normalise_text(left, folders[0]).splitlines(),
                                  normalise_text(right, folders[1]).splitlines())  # fmt: skip
    return differences


def _compare_lines(left: list[str], right: list[str]) -> list[str]:
    """The changed, added and removed lines (difflib's matching, so one inserted line is one difference)."""
    differences = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for operation, start, end, other_start, other_end in matcher.get_opcodes():
        if operation == "equal":
            continue
        for offset in range(max(end - start, other_end - other_start)):
            one = left[start + offset] if start + offset < end else None
            two = right[other_start + offset] if other_start + offset < other_end else None
            if one is None:
                differences.append(f"line {other_start + offset + 1} added: {_clip(two, 0)!r}")
            elif two is None:
                differences.append(f"line {start + offset + 1} removed: {_clip(one, 0)!r}")
            else:
                column = next(i for i, (a, b) in enumerate(zip(one + "\0", two + "\1", strict=False)) if a != b)
                differences.append(f"line {start + offset + 1} col {column + 1}: {_clip(one, column)!r} -> "
                                   f"{_clip(two, column)!r}")  # fmt: skip
    return differences


def _clip(line: str, column: int) -> str:
    return line.strip() if len(line.strip()) <= 60 else line[max(0, column - 20) : column + 40]


_IMAGE_TAG = re.compile(r"<img\b[^>]*>")
_EMBEDDED_PNG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
_ALT = re.compile(r'alt="([^"]*)"')
_TABLE = re.compile(r"<table.*?</table>", re.DOTALL)
_HEADER = re.compile(r"<th[^>]*>(.*?)</th>", re.DOTALL)
_ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.DOTALL)
_CELL = re.compile(r"(<td[^>]*>)(.*?)(</td>)", re.DOTALL)


def normalise_html(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The report with volatile values replaced (table columns named in ``VOLATILE_COLUMNS``, JSON keys of
    ``VOLATILE_KEYS`` shown escaped in the page) and each embedded PNG replaced by a numbered placeholder; the PNGs
    are returned as ``(alt text, bytes)`` for a pixel comparison, except figures named in ``VOLATILE_FIGURES``."""
    images: list[tuple[str, bytes]] = []

    def take_image(tag: re.Match) -> str:
        source, alt = _EMBEDDED_PNG.search(tag.group(0)), _ALT.search(tag.group(0))
        if source is None:
            return tag.group(0)
        alt_text = alt.group(1) if alt else ""
        if alt_text in VOLATILE_FIGURES:
            return _EMBEDDED_PNG.sub('src="<VOLATILE FIGURE>"', tag.group(0))
        images.append((alt_text, base64.b64decode(source.group(1))))
        return _EMBEDDED_PNG.sub(f'src="<IMAGE {len(images)}>"', tag.group(0))

    text = _IMAGE_TAG.sub(take_image, text)
    text = _TABLE.sub(_blank_volatile_columns, text)
    keys = "|".join(re.escape(key) for key in sorted(VOLATILE_KEYS))
    text = re.sub(rf'((?:&#34;|&quot;|")(?:{keys})(?:&#34;|&quot;|"):\s*)([^,\n}}]*)', r"\1<VOLATILE>", text)
    return text, images


def _blank_volatile_columns(table: re.Match) -> str:
    headers = [re.sub(r"<[^>]+>", "", header).strip().lower() for header in _HEADER.findall(table.group(0))]
    volatile = {index for index, header in enumerate(headers) if header in VOLATILE_COLUMNS}
    if not volatile:
        return table.group(0)

    def blank_row(row: re.Match) -> str:
        cells = iter(range(len(headers) + 1000))
        return _CELL.sub(lambda cell: cell.group(1) + ("<VOLATILE>" if next(cells) in volatile else cell.group(2))
                         + cell.group(3), row.group(0))  # fmt: skip

    return _ROW.sub(blank_row, table.group(0))


def _compare_embedded_images(left: list[tuple[str, bytes]], right: list[tuple[str, bytes]]) -> list[str]:
    differences = []
    for index, ((alt, one), (_, two)) in enumerate(zip(left, right, strict=False), start=1):
        if one != two:
            found = _compare_images(one, two)
            if found:
                differences.append(f"embedded image {index} ({alt or 'no alt'}): {found[0]}")
    if len(left) != len(right):
        differences.append(f"{len(left)} embedded images before, {len(right)} after")
    return differences


def _compare_images(before: Path | bytes, after: Path | bytes) -> list[str]:
    import numpy as np
    from PIL import Image

    def open_image(source):
        return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)

    with open_image(before) as one, open_image(after) as two:
        left, right = np.asarray(one.convert("RGBA")), np.asarray(two.convert("RGBA"))
    if left.shape != right.shape:
        return [f"size {left.shape[1]}x{left.shape[0]} -> {right.shape[1]}x{right.shape[0]}"]
    changed = np.any(left != right, axis=-1)
    if not changed.any():
        return []
    largest = int(np.abs(left.astype(int) - right.astype(int)).max())
    return [f"{int(changed.sum())} of {changed.size} pixels differ (largest channel difference {largest})"]


def _compare_tensors(before: Path, after: Path, folders) -> list[str]:
    import torch
    from safetensors import safe_open

    differences = []
    with safe_open(str(before), "pt") as one, safe_open(str(after), "pt") as two:
        metadata = json_differences(normalise_json(one.metadata() or {}, folders[0]),
                                    normalise_json(two.metadata() or {}, folders[1]))  # fmt: skip
        differences += [f"metadata {line}" for line in metadata]
        left_keys, right_keys = set(one.keys()), set(two.keys())
        differences += [f"{key}: only before" for key in sorted(left_keys - right_keys)]
        differences += [f"{key}: only after" for key in sorted(right_keys - left_keys)]
        for key in sorted(left_keys & right_keys):
            left, right = one.get_tensor(key), two.get_tensor(key)
            if left.shape != right.shape or left.dtype != right.dtype:
                differences.append(f"{key}: {left.dtype}{list(left.shape)} -> {right.dtype}{list(right.shape)}")
            elif not torch.equal(left, right):
                gap = (left.double() - right.double()).abs().nan_to_num(nan=math.inf).max().item()
                differences.append(f"{key}: values differ (largest difference {gap:.3g})")
    return differences


def compare_trees(before: Path, after: Path, folders: tuple[list[str], list[str]]) -> list[tuple[str, str, list]]:
    """``(relative path, status, differences)`` for every file under either folder, sorted by path."""
    names = {p.relative_to(before).as_posix() for p in before.rglob("*") if p.is_file()}
    names |= {p.relative_to(after).as_posix() for p in after.rglob("*") if p.is_file()}
    names.discard(MARKER)
    rows = []
    for name in sorted(names):
        left, right = before / name, after / name
        if not right.is_file():
            rows.append((name, "only before", []))
        elif not left.is_file():
            rows.append((name, "only after", []))
        else:
            differences = compare_files(left, right, folders)
            rows.append((name, "differs" if differences else "identical", differences))
    return rows


def print_table(rows: list[tuple[str, str, list]], shown: int) -> None:
    print("| file | result | first differences |")
    print("| --- | --- | --- |")
    for name, status, differences in rows:
        detail = "; ".join(differences[:shown]) + (f"; (+{len(differences) - shown} more)"
                                                    if len(differences) > shown else "")  # fmt: skip
        print(f"| {name} | {status} | {detail.replace('|', '/')} |")
    counts = {status: sum(1 for row in rows if row[1] == status) for status in
              ("identical", "differs", "only before", "only after")}  # fmt: skip
    print(", ".join(f"{count} {status}" for status, count in counts.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="an output folder of this script, or a git revision")
    parser.add_argument("after", help="an output folder of this script, or a git revision")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the runs' folders here (DIR/before, DIR/after) and keep them")  # fmt: skip
    parser.add_argument("--shown", type=int, default=3, help="differences shown per file (default 3)")
    args = parser.parse_args(argv)
    print(f"machine: {machine_description()}", flush=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="compare-runs-"))
    try:
        before, before_folders = prepare_side(args.before, "before", work)
        after, after_folders = prepare_side(args.after, "after", work)
        rows = compare_trees(before, after, (before_folders, after_folders))
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"before: {args.before}; after: {args.after}")
    print_table(rows, args.shown)
    return 0 if all(row[1] == "identical" for row in rows) else 3


if __name__ == "__main__":
    sys.exit(main())
