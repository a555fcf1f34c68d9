"""Work items of an ablation run: prompt sources x seeds x variants, with stable ids, and the data module.

A *source* is a prompt file given on the command line, either by suffix or with a named loader prefix:

* ``prompts.txt``: one prompt per line (blank lines are skipped; CRLF is fine).
* ``prompts.jsonl``: one JSON object per line with a string ``prompt``, an optional ``category`` and any other
  fields, which ride along as ``metadata``. A line that is not such an object is kept as an item that fails with
  the reason, so that one bad line does not stop a run of thousands.
* ``t2i-compbench:PATH``: a T2I-CompBench ``*_val.txt`` file (category from the file name, ``color_val.txt`` ->
  ``color``), or the folder holding them (all ``*_val.txt`` files, the official validation sets).
* ``cc-500:PATH``: ``CC-500.txt``; only lines 1-446 are CC-500 (the file's README says so), the rest is skipped.
* ``attend-and-excite:PATH``: the Attend-and-Excite ``a.e_prompts.txt`` JSON object (category = its key:
  ``animals``, ``animals_objects``, ``objects``).
* ``geneval:PATH``: GenEval ``evaluation_metadata.jsonl`` (category = ``tag``; ``include``/``exclude`` kept as
  metadata), or the folder holding it.
* ``coco:PATH``: a COCO caption list, either the 30k CSV (header ``file_name,text``) or an official
  ``captions_val2014.json``; category ``coco``, the image file name or id kept as metadata.
* ``shapes:SET[:COUNT[:SEED]]``: a shapes-world prompt set (no file; :func:`attnmod.toolkit.shapes_world.prompt_set`,
  sets ``seen-1..3``, ``heldout-1..3``, ``nested``, ``count``, each optionally ``/tune`` or ``/test``; COUNT
  defaults to 100, SEED to 0). Category = the set name; each item carries its scene's truth as
  ``metadata["scene"]``, which ``attnmod evaluate --judge shapes`` reads. The source name leaves COUNT out, so a
  larger COUNT keeps the ids of the first items.

An item's id is the first 12 hex digits of SHA-1 over (source name, index, prompt, seed, variant), where the
source name is the loader and file name (not the full path, so a moved file keeps its ids) and the index is the
1-based line (or position) in the file. The same item therefore gets the same id, and the same seed, however many
devices, ranks or batches the run uses.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import shutil
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import lightning.pytorch as pl
from torch.utils.data import DataLoader

from ..toolkit.errors import AttnmodError
from ..toolkit.run_files import (
    ATTENTION_TENSOR_FILE,
    IMAGE_FILE,
    ITEM_FILES,
    ITEMS_FOLDER,
    METRICS_FILE,
    TEMP_PREFIX,
    describe_yaml_error,
    image_decode_problem,
)
from .validation import parse_seeds  # noqa: F401 - kept importable from here; it lives with the light checks

CC500_LINES = 446  # CC-500's README: "Concept Conjunction of two objects with different colors (line1-446)"
NAMED_LOADERS = ("t2i-compbench", "cc-500", "attend-and-excite", "geneval", "coco")


@dataclasses.dataclass(frozen=True)
class PromptEntry:
    """One prompt of a source. ``index`` is its 1-based line (or position) in the file."""

    prompt: str
    source: str
    index: int
    category: str | None = None
    metadata: dict = dataclasses.field(default_factory=dict)
    problem: str | None = None  # why this entry cannot be generated (it becomes a failed item)


@dataclasses.dataclass(frozen=True)
class WorkItem:
    """One image to make: a prompt of a source, a seed and a modulation variant."""

    id: str
    prompt: str
    seed: int
    variant: str
    source: str
    index: int
    category: str | None = None
    metadata: dict = dataclasses.field(default_factory=dict)
    problem: str | None = None

    @property
    def folder(self) -> str:
        """The item's folder relative to the run folder."""
        return f"{ITEMS_FOLDER}/{self.id}"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> WorkItem:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def item_id(source: str, index: int, prompt: str, seed: int, variant: str) -> str:
    """``sha1(source \\n index \\n prompt \\n seed \\n variant)[:12]``: stable across runs, devices and ranks."""
    key = f"{source}\n{index}\n{prompt}\n{seed}\n{variant}".encode()
    return hashlib.sha1(key).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------- loading sources


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise AttnmodError(f"prompt source {str(path)!r} does not exist or is not a file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise AttnmodError(f"prompt source {str(path)!r} is not UTF-8 text ({error})") from error
    except OSError as error:
        raise AttnmodError(f"cannot read prompt source {str(path)!r}: {error}") from error


def load_text_lines(path: Path, source: str, category: str | None = None, max_line: int | None = None):
    """One prompt per non-blank line; ``index`` is the physical line number, so appending keeps old ids."""
    entries = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if max_line is not None and number > max_line:
            break
        prompt = line.strip()
        if prompt:
            entries.append(PromptEntry(prompt=prompt, source=source, index=number, category=category))
    return entries


def load_jsonl(path: Path, source: str) -> list[PromptEntry]:
    entries = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        problem, prompt, category, metadata = None, line.strip()[:200], None, {}
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            problem = f"line {number} of {path.name} is not valid JSON ({error.msg})"
        else:
            if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
                problem = f"line {number} of {path.name} has no string field 'prompt'"
            else:
                prompt = row["prompt"].strip()
                category = row.get("category")
                category = None if category is None else str(category)
                metadata = {k: v for k, v in row.items() if k not in ("prompt", "category")}
        entries.append(PromptEntry(prompt, source, number, category, metadata, problem))
    return entries


def _t2i_category(path: Path) -> str:
    # color_val.txt -> color, color_val_seen.txt -> color_seen, complex_val_action.txt -> complex_action
    return path.stem.replace("_val", "", 1)


def load_t2i_compbench(path: Path) -> list[PromptEntry]:
    files = sorted(path.glob("*_val.txt")) if path.is_dir() else [path]
    if not files:
        raise AttnmodError(f"no T2I-CompBench *_val.txt files in folder {str(path)!r}")
    entries = []
    for file in files:
        entries += load_text_lines(file, f"t2i-compbench:{file.name}", category=_t2i_category(file))
    return entries


def load_cc500(path: Path) -> list[PromptEntry]:
    return load_text_lines(path, f"cc-500:{path.name}", category="cc-500", max_line=CC500_LINES)


def load_attend_and_excite(path: Path) -> list[PromptEntry]:
    source = f"attend-and-excite:{path.name}"
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise AttnmodError(
            f"{str(path)!r} is not the Attend-and-Excite prompt file (a JSON object of prompt lists): {error}"
        ) from error
    groups = data.items() if isinstance(data, dict) else [(None, data)]
    entries, position = [], 0
    for category, prompts in groups:
        if not isinstance(prompts, list):
            raise AttnmodError(f"{str(path)!r}: key {category!r} does not hold a list of prompts")
        for prompt in prompts:
            position += 1
            entries.append(PromptEntry(str(prompt).strip(), source, position, category))
    return entries


def load_geneval(path: Path) -> list[PromptEntry]:
    if path.is_dir():
        path = path / "evaluation_metadata.jsonl"
    entries = []
    for entry in load_jsonl(path, f"geneval:{path.name}"):
        tag = entry.metadata.get("tag")
        metadata = {k: v for k, v in entry.metadata.items() if k != "tag"}
        entries.append(dataclasses.replace(entry, category=tag or entry.category, metadata=metadata))
    return entries


def load_coco(path: Path) -> list[PromptEntry]:
    source = f"coco:{path.name}"
    text = _read_text(path)
    if path.suffix.lower() == ".json":
        try:
            annotations = json.loads(text)["annotations"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise AttnmodError(f"{str(path)!r} is not a COCO captions file with 'annotations' ({error})") from error
        return [
            PromptEntry(
                str(a.get("caption", "")).strip(),
                source,
                position,
                "coco",
                {"image_id": a.get("image_id"), "caption_id": a.get("id")},
            )
            for position, a in enumerate(annotations, start=1)
        ]
    reader = csv.DictReader(text.splitlines())
    fields = reader.fieldnames or []
    column = "text" if "text" in fields else "caption" if "caption" in fields else None
    if column is None:
        raise AttnmodError(
            f"{str(path)!r} has columns {fields}: a COCO caption list needs a 'text' (or 'caption') column, "
            "like the 30k list's header 'file_name,text'"
        )
    entries = []
    # Row n of the CSV is physical line n + 1 (line 1 is the header); captions hold no newlines.
    for row_number, row in enumerate(reader, start=2):
        caption = (row.get(column) or "").strip()
        if caption:
            metadata = {"file_name": row["file_name"]} if row.get("file_name") else {}
            entries.append(PromptEntry(caption, source, row_number, "coco", metadata))
    return entries


_LOADERS = {
    "t2i-compbench": load_t2i_compbench,
    "cc-500": load_cc500,
    "attend-and-excite": load_attend_and_excite,
    "geneval": load_geneval,
    "coco": load_coco,
}


SHAPES_DEFAULT_COUNT = 100


def load_shapes(spec: str) -> list[PromptEntry]:
    """``SET[:COUNT[:SEED]]`` -> the set's scenes as prompts with their truth (see the module docstring)."""
    from ..toolkit.shapes_world import prompt_set

    parts = spec.split(":")
    usage = "use shapes:SET[:COUNT[:SEED]], e.g. shapes:seen-2/test:200"
    if not parts[0] or len(parts) > 3:
        raise AttnmodError(f"shapes source {spec!r} is not understood; {usage}")
    try:
        count = int(parts[1]) if len(parts) > 1 else SHAPES_DEFAULT_COUNT
        seed = int(parts[2]) if len(parts) > 2 else 0
    except ValueError:
        raise AttnmodError(f"shapes source {spec!r}: COUNT and SEED must be whole numbers; {usage}") from None
    if count < 1:
        raise AttnmodError(f"shapes source {spec!r}: COUNT must be at least 1")
    try:
        scenes = prompt_set(parts[0], count, seed)
    except ValueError as error:
        raise AttnmodError(str(error)) from None
    source = f"shapes:{parts[0]}:{seed}"
    return [
        PromptEntry(scene.caption, source, number, parts[0], {"scene": scene.to_json()})
        for number, scene in enumerate(scenes, start=1)
    ]


def load_source(spec: str) -> list[PromptEntry]:
    """Read one source: ``PATH.txt``, ``PATH.jsonl``, ``LOADER:PATH`` or ``shapes:SET[:COUNT[:SEED]]`` (see the
    module docstring)."""
    name, separator, rest = spec.partition(":")
    if separator and name == "shapes":
        return load_shapes(rest)
    if separator and name in _LOADERS:
        path = Path(rest).expanduser()
        if not path.exists():
            raise AttnmodError(f"prompt source {rest!r} (for loader {name}) does not exist")
        return _LOADERS[name](path)
    path = Path(spec).expanduser()
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return load_text_lines(path, path.name)
    if suffix == ".jsonl":
        return load_jsonl(path, path.name)
    raise AttnmodError(
        f"do not know how to read prompt source {spec!r}: use a .txt (one prompt per line) or .jsonl (field "
        f"'prompt') file, a named loader {', '.join(n + ':PATH' for n in NAMED_LOADERS)}, or "
        "shapes:SET[:COUNT[:SEED]]"
    )


def load_sources(
    specs: Sequence[str], limit: int | None = None, categories: Iterable[str] | None = None
) -> list[PromptEntry]:
    """All sources in order; ``categories`` keeps only those categories, then ``limit`` keeps the first N per source."""
    if not specs:
        raise AttnmodError("no prompt source given")
    if limit is not None and limit < 1:
        raise AttnmodError(f"--limit must be at least 1, not {limit}")
    wanted = set(categories) if categories else None
    entries: list[PromptEntry] = []
    for spec in specs:
        found = load_source(spec)
        if wanted is not None:
            found = [e for e in found if e.category in wanted]
        entries += found[:limit] if limit is not None else found
    if not entries:
        detail = f" in categories {sorted(wanted)}" if wanted else ""
        raise AttnmodError(f"the sources {list(specs)} hold no prompts{detail}")
    return entries


def expand_items(entries: Sequence[PromptEntry], seeds: Sequence[int], variants: Sequence[str]) -> list[WorkItem]:
    """Variants x prompts x seeds, variant-major so that consecutive items (a batch) share one configuration.

    An item id that appears twice (the same source name, line, prompt, seed and variant given twice) is kept once.
    """
    items, seen = [], set()
    for variant in variants:
        for entry in entries:
            for seed in seeds:
                identifier = item_id(entry.source, entry.index, entry.prompt, seed, variant)
                if identifier in seen:
                    continue
                seen.add(identifier)
                items.append(
                    WorkItem(
                        id=identifier,
                        prompt=entry.prompt,
                        seed=seed,
                        variant=variant,
                        source=entry.source,
                        index=entry.index,
                        category=entry.category,
                        metadata=dict(entry.metadata),
                        problem=entry.problem,
                    )
                )
    return items


# ---------------------------------------------------------------------------------------------- sweeps

SWEEP_MARK = "~"  # separates a sweep point's base variant from its settings: full~temperature.tau=0.5


def _split_values(text: str) -> list[str]:
    """Split ``0.5,0.7`` or ``[up],[down, mid]`` on the commas outside brackets and quotes."""
    parts, depth, quote, current = [], 0, "", []
    for character in text:
        if quote:
            quote = "" if character == quote else quote
        elif character in "\"'":
            quote = character
        elif character in "[{":
            depth += 1
        elif character in "]}":
            depth -= 1
        elif character == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(character)
    parts.append("".join(current).strip())
    return parts


def _canonical(value) -> str:
    """One spelling per value (``0.50`` and ``0.5`` give the same point, the same name and the same item ids)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def parse_sweep(spec: str) -> tuple[str, list[str]]:
    """``"temperature.tau=0.5,0.7"`` -> ``("temperature.tau", ["0.5", "0.7"])`` (values in YAML syntax)."""
    import yaml

    key, separator, raw = spec.partition("=")
    key = key.strip()
    values = _split_values(raw) if separator else []
    if not separator or not key or not all(values):
        raise AttnmodError(f"bad --sweep {spec!r}: write SECTION.KEY=V1,V2,... e.g. temperature.tau=0.5,0.7,0.9")
    canonical = []
    for value in values:
        try:
            canonical.append(_canonical(yaml.safe_load(value)))
        except Exception as error:  # noqa: BLE001 - yaml raises several error types
            raise AttnmodError(
                f"bad --sweep {spec!r}: value {value!r} is not valid YAML ({describe_yaml_error(error)})"
            ) from error
    return key, canonical


def load_sweep_file(path: str | Path) -> list[tuple[str, list[str]]]:
    """A sweep grid from a YAML/JSON mapping ``{SECTION.KEY: [values], ...}`` (a single value is a one-point axis)."""
    from ..toolkit.run_files import read_settings_file

    data = read_settings_file(path, "sweep file")
    if not isinstance(data, dict) or not data:
        raise AttnmodError(f"sweep file {str(path)!r}: expected a mapping such as {{temperature.tau: [0.5, 0.7]}}")
    axes = []
    for key, values in data.items():
        values = values if isinstance(values, list) else [values]
        if not values:
            raise AttnmodError(f"sweep file {str(path)!r}: {key!r} lists no values")
        axes.append((str(key), [_canonical(value) for value in values]))
    return axes


def sweep_point_name(base: str, settings: Sequence[tuple[str, str]]) -> str:
    """``base~key=value,...`` with the keys sorted: the variant name, and so the item ids, of one grid point."""
    return base + SWEEP_MARK + ",".join(f"{key}={value}" for key, value in sorted(settings))


def sweep_point_settings(name: str) -> dict[str, str] | None:
    """The settings of a sweep point's variant name (None for an ordinary variant)."""
    base, mark, rest = name.partition(SWEEP_MARK)
    if not mark:
        return None
    return dict(part.split("=", 1) for part in _split_values(rest) if "=" in part)


def expand_sweep(variants: Sequence[str], axes: Sequence[tuple[str, Sequence[str]]]) -> dict:
    """Variant name -> ModulationConfig for a grid over config fields.

    Every variant except ``none`` becomes one point per combination of the axes' values (``none`` stays as the
    reference, since no setting changes it). A point's name is :func:`sweep_point_name`, so its items keep their
    ids and a run resumes like any other. Raises AttnmodError for an unknown key or an invalid value.
    """
    import itertools

    from ..toolkit.modulation.config import ModulationConfig

    keys = [key for key, _ in axes]
    if len(set(keys)) != len(keys):
        raise AttnmodError(f"a sweep names a setting twice: {', '.join(keys)}")
    configs: dict = {}
    for base in variants:
        config = ModulationConfig.from_variant(base)
        if not config.modulates or not axes:
            configs[base] = config
            continue
        for values in itertools.product(*[list(values) for _, values in axes]):
            settings = list(zip(keys, values, strict=True))
            configs[sweep_point_name(base, settings)] = config.with_overrides([f"{k}={v}" for k, v in settings])
    return configs


def item_problem(item: WorkItem) -> str | None:
    """Why an item cannot be generated, or None: a bad source line, an empty prompt, control characters."""
    if item.problem:
        return item.problem
    if not item.prompt.strip():
        return "empty prompt"
    for character in item.prompt:
        if character != "\t" and unicodedata.category(character) == "Cc":
            return f"prompt contains the control character U+{ord(character):04X}"
    return None


# ---------------------------------------------------------------------------------------------- resume


def read_item_metrics(folder: Path, expected_id: str | None = None) -> dict | None:
    """The item's metrics.json if the folder is complete (all files there, metrics valid and done, every file as
    it was written: see :func:`item_files_problem`), else None."""
    if not all((folder / name).is_file() and (folder / name).stat().st_size > 0 for name in ITEM_FILES):
        return None
    try:
        metrics = json.loads((folder / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(metrics, dict) or metrics.get("status") != "done" or not isinstance(metrics.get("item"), dict):
        return None
    if expected_id is not None and metrics["item"].get("id") != expected_id:
        return None
    if item_files_problem(folder, metrics) is not None:
        return None
    return metrics


def file_records(folder: Path) -> dict[str, dict]:
    """``{name: {"size", "sha256"}}`` of every file in ``folder``: what metrics.json records at write time."""
    from ..toolkit.run_files import sha256_hex

    records = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name != METRICS_FILE:
            data = path.read_bytes()
            records[path.name] = {"size": len(data), "sha256": sha256_hex(data)}
    return records


def item_files_problem(folder: Path, metrics: dict) -> str | None:
    """Why an item folder's files are not the ones written (None when they are).

    Folders written since checksums were recorded compare each file's size and SHA-256 with ``metrics["files"]``;
    older ones are checked for what a cut-short file breaks: the image must decode and the attention tensors'
    safetensors header must describe exactly the bytes that follow it.
    """
    from ..toolkit.run_files import sha256_hex

    recorded = metrics.get("files")
    if isinstance(recorded, dict):
        for name, expected in recorded.items():
            path = folder / name
            if not isinstance(expected, dict) or not path.is_file():
                return f"{name} is missing"
            if path.stat().st_size != expected.get("size"):
                return f"{name} has {path.stat().st_size} bytes, {expected.get('size')} were written"
            if sha256_hex(path.read_bytes()) != expected.get("sha256"):
                return f"{name} does not match its checksum"
        return None
    return _image_problem(folder / IMAGE_FILE) or _safetensors_problem(folder / ATTENTION_TENSOR_FILE)


def _image_problem(path: Path) -> str | None:
    problem = image_decode_problem(path)
    return None if problem is None else f"{path.name} does not decode ({problem})"


def _safetensors_problem(path: Path) -> str | None:
    import struct

    try:
        with open(path, "rb") as handle:
            header_size = struct.unpack("<Q", handle.read(8))[0]
            header = json.loads(handle.read(header_size))
        ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
    except (OSError, struct.error, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        return f"{path.name} has no readable safetensors header ({error})"
    if path.stat().st_size != 8 + header_size + max(ends, default=0):
        return f"{path.name} is not as long as its header says (cut short?)"
    return None


@dataclasses.dataclass
class RunScan:
    """Which items of a run are still to do and which are already complete on disk."""

    pending: list[WorkItem]
    complete: list[WorkItem]
    removed: list[str]  # stale temporary and incomplete folders that were deleted


def scan_run(out: str | Path, items: Sequence[WorkItem]) -> RunScan:
    """Sort items into complete and pending, deleting leftovers of killed runs.

    Run this in one process only (global rank 0) before any writer starts: it deletes ``items/.tmp-*`` folders
    (a writer killed between mkdir and rename) and item folders that are not complete.
    """
    items_folder = Path(out) / ITEMS_FOLDER
    removed = []
    if items_folder.is_dir():
        for stale in sorted(items_folder.glob(TEMP_PREFIX + "*")):
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(stale.name)
    pending, complete = [], []
    for item in items:
        folder = items_folder / item.id
        if folder.is_dir() and read_item_metrics(folder, item.id) is not None:
            complete.append(item)
            continue
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
        pending.append(item)
    return RunScan(pending=pending, complete=complete, removed=removed)


# ---------------------------------------------------------------------------------------------- data module


def _items_as_list(batch: list[WorkItem]) -> list[WorkItem]:
    # The default collate would try to stack strings and dicts field by field; a batch is just the items.
    return list(batch)


class AblationDataModule(pl.LightningDataModule):
    """Serves the pending items of a run; global rank 0 decides which are pending and tells the others.

    Deciding on one rank matters: if every rank looked at the disk itself, a rank that looked after another
    had written its first item would see a different list, and the distributed sampler would then split the
    work differently on each rank (items lost or done twice).
    """

    def __init__(self, items: Sequence[WorkItem], out: str | Path, batch_size: int = 1) -> None:
        super().__init__()
        if batch_size < 1:
            raise AttnmodError(f"--batch-size must be at least 1, not {batch_size}")
        self.items = list(items)
        self.out = Path(out)
        self.batch_size = batch_size
        self.scan: RunScan | None = None

    def setup(self, stage: str) -> None:
        if self.scan is not None:
            return
        trainer = self.trainer
        scan = scan_run(self.out, self.items) if trainer is None or trainer.is_global_zero else None
        if trainer is not None:
            scan = trainer.strategy.broadcast(scan, src=0)
        self.scan = scan

    def transfer_batch_to_device(self, batch, device, dataloader_idx: int):
        # A batch is a list of WorkItem descriptions; generation puts its own tensors on the pipeline's device.
        return batch

    def predict_dataloader(self) -> DataLoader:
        assert self.scan is not None, "setup() decides the pending items"
        return DataLoader(self.scan.pending, batch_size=self.batch_size, shuffle=False, collate_fn=_items_as_list)
