"""A benchmark's figures as a block of docs/benchmarks.md that a rerun replaces in place, with the machine line.

The block sits between two HTML comments (invisible in rendered Markdown) named after the benchmark; a rerun
replaces what lies between them and leaves the rest of the document alone. A document without the markers gets
the block appended at its end.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- begin figures: {name} -->", f"<!-- end figures: {name} -->"


def replace_block(document: str, name: str, body: str) -> str:
    """``document`` with the block ``name`` holding ``body`` (replaced where the markers are, else appended)."""
    begin, end = markers(name)
    block = f"{begin}\n{body.strip()}\n{end}"
    start = document.find(begin)
    stop = document.find(end, start) if start >= 0 else -1
    if start >= 0 and stop >= 0:
        return document[:start] + block + document[stop + len(end) :]
    return document.rstrip("\n") + "\n\n" + block + "\n"


def update_document(path: str | Path, name: str, body: str) -> None:
    path = Path(path)
    document = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(replace_block(document, name, body), encoding="utf-8")


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def conditions(before: float | None, after: float | None) -> str:
    """When and under what load a measurement ran: the UTC date, the 1-minute load average before and after,
    and this process's niceness (children inherit it)."""
    load = "load average not available"
    if before is not None and after is not None:
        load = f"1-minute load average {before:.2f} before, {after:.2f} after"
    try:
        nice = f"niceness {os.nice(0)}"
    except OSError:
        nice = "niceness unknown"
    return f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {load}, {nice}"


def memory_available_gib() -> float | None:
    """``MemAvailable`` of /proc/meminfo in GiB (None where there is no such file)."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return None
