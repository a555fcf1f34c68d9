"""Where an ablation run's results go: one folder per item, written atomically, and the run's results table.

Run folder layout::

    RUN/items/{id}/          image.png, attention.safetensors, attention.json, config.json, parse.json,
                             metrics.json (written last)
    RUN/results-rank{N}.jsonl  rows appended by rank N while the run goes (removed after the merge)
    RUN/results.jsonl        one row per item, in the run's item order, merged by global rank 0; while the run
                             goes, rank 0 rewrites it (atomically) every few seconds with the rows so far
    RUN/.attnmod.lock        the advisory lock of the run in progress (see toolkit.output_folder.RunLock)
    RUN/run.json             configuration, versions, devices, start/end, counts

An item folder is first written as ``items/.tmp-{id}-{pid}`` (every file flushed to disk) and then renamed to
``items/{id}``: a rename within one folder is atomic, so a killed run leaves either a complete item folder or a
temporary one, which the next run deletes. Failed items get no folder (the next run tries them again); their row
carries the error.

A results row: ``id, prompt, seed, variant, status ("done"|"failed"), folder (relative to RUN, null when
failed), error, category, source, index, seconds`` plus the summary metrics of ``analysis.scoring.summary_metrics``
(``leakage``, ``binding``, ``misbound``, ``entities``, ``attributes``, ...; null where a score does not exist) and
``metadata`` when the source gave any. ``metrics.json``: ``{"format", "status", "item", "seconds", "warnings",
"summary", "scores", "files"}``; ``files`` maps every other file of the folder to ``{"size", "sha256"}`` as written,
which a resumed run checks before it skips the item.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lightning.pytorch.callbacks import BasePredictionWriter, Callback

from ..toolkit.interrupt import Interrupted, StopOnSignal
from ..toolkit.run_files import (
    ITEMS_FOLDER,
    METRICS_FILE,
    RESULTS_FILE,
    RUN_FILE,
    TEMP_PREFIX,
    append_line,
    json_text,
    read_jsonl,
    write_atomic,
    write_json_atomic,
)
from .data import WorkItem, file_records, read_item_metrics
from .module import ItemResult

METRICS_FORMAT = "attnmod.item-metrics/1"
RUN_FORMAT = "attnmod.run/1"
# How often (seconds) rank 0 refreshes the merged results.jsonl while a run goes.
PROGRESS_INTERVAL = 2.0
BASE_FIELDS = ("id", "prompt", "seed", "variant", "status", "folder", "error", "category", "source", "index", "seconds")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(path: Path) -> None:
    # Makes a rename inside the folder durable; not every platform can open a folder.
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def item_row(
    item: WorkItem,
    status: str,
    error: str | None = None,
    seconds: float = 0.0,
    summary: dict | None = None,
) -> dict:
    """The results.jsonl row of one item (see the module docstring)."""
    row = {
        "id": item.id,
        "prompt": item.prompt,
        "seed": item.seed,
        "variant": item.variant,
        "status": status,
        "folder": item.folder if status == "done" else None,
        "error": error,
        "category": item.category,
        "source": item.source,
        "index": item.index,
        "seconds": round(float(seconds), 4),
    }
    for key, value in (summary or {}).items():
        if key not in row:
            row[key] = value
    if item.metadata:
        row["metadata"] = item.metadata
    return row


def row_from_metrics(metrics: dict) -> dict:
    """Rebuild a done item's row from its metrics.json (for items a resumed run skipped)."""
    item = WorkItem.from_json(metrics["item"])
    return item_row(item, "done", None, metrics.get("seconds", 0.0), metrics.get("summary"))


def _default_save(generation, folder: Path) -> None:
    from ..toolkit.generation import save_generation

    save_generation(generation, folder)


def write_item(out: Path, result: ItemResult, save_fn: Callable | None = None) -> None:
    """Write a done item's folder atomically: temporary folder, every file synced, metrics.json last, rename."""
    items_folder = out / ITEMS_FOLDER
    items_folder.mkdir(parents=True, exist_ok=True)
    final = items_folder / result.item.id
    temporary = items_folder / f"{TEMP_PREFIX}{result.item.id}-{os.getpid()}"
    if temporary.exists():
        shutil.rmtree(temporary)
    temporary.mkdir()
    try:
        _fill_item_folder(temporary, result, save_fn)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    if final.exists():
        # Only an incomplete leftover can be here (rank 0 removed those at start, and each id has one rank).
        shutil.rmtree(final)
    os.rename(temporary, final)
    _fsync_folder(items_folder)


def _fill_item_folder(folder: Path, result: ItemResult, save_fn: Callable | None) -> None:
    (save_fn or _default_save)(result.generation, folder)
    metrics = {
        "format": METRICS_FORMAT,
        "status": "done",
        "item": result.item.to_json(),
        "seconds": round(float(result.seconds), 4),
        "warnings": list(result.warnings),
        "summary": result.summary or {},
        "scores": result.scores.to_json() if result.scores is not None else {},
        # What a resumed run checks before it calls the item complete (data.item_files_problem).
        "files": file_records(folder),
    }
    write_atomic(folder / METRICS_FILE, json_text(metrics))  # written last: the folder is complete once it exists
    for path in folder.iterdir():
        if path.is_file():
            _fsync_file(path)
    _fsync_folder(folder)


def append_row(path: Path, row: dict) -> None:
    """Append one JSON line and force it to disk, so a killed run loses at most the line being written."""
    append_line(path, json.dumps(row, ensure_ascii=False, allow_nan=False))


def rank_file(out: Path, rank: int) -> Path:
    return out / f"results-rank{rank}.jsonl"


def remove_rank_files(out: Path) -> None:
    for path in out.glob("results-rank*.jsonl"):
        path.unlink(missing_ok=True)


def _write_rows_atomic(out: Path, rows: Sequence[dict]) -> None:
    write_atomic(out / RESULTS_FILE, "".join(json_text(row, indent=None) + "\n" for row in rows))


def read_fresh_rows(out: Path) -> tuple[dict[str, dict], int]:
    """Rows the ranks of this run appended so far (id -> row) and the number of unreadable lines skipped.

    A line cut short by a kill (or being written right now by another rank) is skipped: that item has no folder
    and is redone next time.
    """
    fresh: dict[str, dict] = {}
    unreadable = 0
    for path in sorted(out.glob("results-rank*.jsonl")):
        read = read_jsonl(path)
        unreadable += len(read.skipped)
        for row in read.rows:
            fresh[str(row["id"])] = row
    return fresh, unreadable


def write_progress_results(out: Path, items: Sequence[WorkItem], previous: dict[str, dict]) -> int:
    """Rewrite results.jsonl while the run goes: in item order, each item's newest row (this run's rank files,
    else the row an earlier run left); items with no row yet are left out. Returns the rows written."""
    fresh, _ = read_fresh_rows(out)
    rows = [fresh.get(item.id) or previous.get(item.id) for item in items]
    rows = [row for row in rows if row is not None]
    _write_rows_atomic(out, rows)
    return len(rows)


def merge_results(
    out: Path,
    items: Sequence[WorkItem],
    skipped: Sequence[WorkItem],
    details: dict | None = None,
    interrupted: bool = False,
) -> dict:
    """Write results.jsonl: one row per item of ``items`` in their order; return counts done/skipped/failed.

    ``details``, when given, receives ``unreadable_lines`` (lines of the rank files and of the old results.jsonl
    that could not be read and were skipped) and ``first_error`` (the first failed item's error, or None).

    Rows come from this run's rank files, and, for ``skipped`` items (complete before the run started), from
    their folders' metrics.json; columns that other tools added to such an item's row in the previous
    results.jsonl (e.g. ``attnmod evaluate``'s scores) are kept, since the item did not change. An item with no
    row at all (it cannot happen unless a rank died) is recorded as failed so that the table always has one row
    per item. An ``interrupted`` run (stopped on a signal) leaves the items it never reached out of the table
    and counts them as ``pending``; a later run does them.
    """
    fresh, unreadable = read_fresh_rows(out)
    previous_read = read_jsonl(out / RESULTS_FILE)
    previous = {str(row["id"]): row for row in previous_read.rows}
    skipped_ids = {item.id for item in skipped}
    rows, counts = [], {"items": len(items), "done": 0, "skipped": 0, "failed": 0}
    if interrupted:
        counts["pending"] = 0
    first_error = None
    for item in items:
        row = None
        if item.id in skipped_ids:
            metrics = read_item_metrics(out / ITEMS_FOLDER / item.id, item.id)
            if metrics is not None:
                row = row_from_metrics(metrics)
                row.update({k: v for k, v in previous.get(item.id, {}).items() if k not in row})
                counts["skipped"] += 1
        if row is None and interrupted and item.id not in fresh:
            counts["pending"] += 1
            if item.id in previous:  # what an earlier run recorded (a failure) stays until the item is redone
                rows.append(previous[item.id])
            continue
        if row is None:
            row = fresh.get(item.id) or item_row(item, "failed", "no result was reported for this item")
            counts["done" if row["status"] == "done" else "failed"] += 1
            if row["status"] != "done" and first_error is None:
                first_error = row.get("error")
        rows.append(row)
    _write_rows_atomic(out, rows)
    remove_rank_files(out)
    if details is not None:
        details.update(unreadable_lines=unreadable + len(previous_read.skipped), first_error=first_error)
    return counts


class AblationWriter(BasePredictionWriter):
    """Writes each finished item as it comes (``write_interval="batch"``) and appends its row to this rank's file.

    On global rank 0, ``setup`` removes the rank files of an earlier, interrupted run and writes run.json with
    ``status: "running"``; after each batch rank 0 refreshes results.jsonl with every rank's rows so far (at most
    every ``progress_interval`` seconds), so a user watching the run folder sees progress there. The merge into results.jsonl happens after the prediction loop, behind a barrier
    (see ``run.run_ablation``): a rank with no items never runs the prediction hooks, so a barrier inside them
    could wait forever.
    """

    def __init__(
        self,
        out: str | Path,
        run_info: dict | None = None,
        save_fn: Callable | None = None,
        items: Sequence[WorkItem] | None = None,
        progress_interval: float | None = None,
    ) -> None:
        super().__init__(write_interval="batch")
        self.out = Path(out)
        self.run_info = run_info
        self.save_fn = save_fn
        self.items = list(items) if items is not None else None
        self.progress_interval = PROGRESS_INTERVAL if progress_interval is None else progress_interval
        self.rank = 0
        self._previous: dict[str, dict] = {}
        self._last_refresh = -float("inf")

    def setup(self, trainer, pl_module, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        self.rank = trainer.global_rank
        if trainer.is_global_zero:
            self.out.mkdir(parents=True, exist_ok=True)
            remove_rank_files(self.out)
            for stale in self.out.glob("*.tmp-*"):
                if stale.is_file():
                    stale.unlink(missing_ok=True)
            if self.run_info is not None:
                write_json_atomic(self.out / RUN_FILE, {**self.run_info, "status": "running"})
            # The rows an earlier run left stay visible in results.jsonl while this one refreshes it.
            self._previous = {str(row["id"]): row for row in read_jsonl(self.out / RESULTS_FILE).rows}

    def write_on_batch_end(
        self, trainer, pl_module, prediction, batch_indices, batch, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        for result in prediction:
            self.write_result(result)
        if trainer.is_global_zero:
            self.refresh_results()

    def refresh_results(self, force: bool = False) -> None:
        """Rank 0 rewrites results.jsonl with the rows so far, at most every ``progress_interval`` seconds."""
        if self.items is None:
            return
        now = time.monotonic()
        if not force and now - self._last_refresh < self.progress_interval:
            return
        self._last_refresh = now
        write_progress_results(self.out, self.items, self._previous)

    def write_result(self, result: ItemResult) -> dict:
        status, error = result.status, result.error
        if status == "done":
            try:
                write_item(self.out, result, self.save_fn)
            except Exception as write_error:  # noqa: BLE001 - e.g. an unencodable score; record it, go on
                status, error = "failed", f"write: {type(write_error).__name__}: {write_error}"
        row = item_row(result.item, status, error, result.seconds, result.summary if status == "done" else None)
        append_row(rank_file(self.out, self.rank), row)
        return row


class StopAtItemBoundary(Callback):
    """Ends the prediction loop between batches once a stop was asked for (SIGINT/SIGTERM, see
    :mod:`attnmod.toolkit.interrupt`). Placed after the :class:`AblationWriter`, so the batch in hand is written
    first."""

    def __init__(self, stop: StopOnSignal) -> None:
        self.stop = stop

    def _check(self) -> None:
        if self.stop.requested:
            raise Interrupted(self.stop.signal, f"interrupted by {self.stop.signal_name()}")

    def on_predict_batch_start(self, *args, **kwargs) -> None:
        self._check()

    def on_predict_batch_end(self, *args, **kwargs) -> None:
        self._check()
