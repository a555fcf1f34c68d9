"""Run files: what ``attnmod ablate`` writes and every later command reads.

``read_jsonl`` is the one reader of ``results.jsonl`` (and of the per-rank files a running ablation appends to),
shared by ``ablate`` (merge and resume), ``report`` and ``evaluate``, so that the three apply one policy: the file
is read as bytes, and a line that is not UTF-8, not JSON, or not a JSON object (a line cut short by a killed
process, a stray byte) is skipped and counted, never fatal. Each caller says how many lines it skipped.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .errors import AttnmodError


@dataclasses.dataclass
class JsonlRows:
    """The readable rows of a JSON-lines file and what was skipped.

    ``skipped`` holds one ``(line number, reason)`` per unreadable line (1-based physical line numbers).
    """

    path: Path
    rows: list[dict]
    skipped: list[tuple[int, str]]

    def skipped_note(self) -> str | None:
        """One line for the user when lines were skipped (the first few line numbers), else None."""
        if not self.skipped:
            return None
        numbers = ", ".join(str(number) for number, _ in self.skipped[:5])
        more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
        first_reason = self.skipped[0][1]
        return (
            f"skipped {len(self.skipped)} unreadable line(s) of {self.path.name} (line {numbers}{more}; "
            f"first: {first_reason})"
        )


def read_jsonl(path: str | Path, require: str | None = "id") -> JsonlRows:
    """Rows of a JSON-lines file: each non-blank line a JSON object (holding key ``require``, when given).

    Lines that are not UTF-8, not JSON, not an object or lack ``require`` are skipped and listed in
    ``JsonlRows.skipped``; blank lines are ignored. A missing file reads as no rows; a file that cannot be read
    at all (permissions) is an :class:`AttnmodError`.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return JsonlRows(path, [], [])
    except OSError as error:
        raise AttnmodError(f"cannot read {str(path)!r} ({error.strerror or error})") from error
    rows: list[dict] = []
    skipped: list[tuple[int, str]] = []
    for number, line_bytes in enumerate(raw.split(b"\n"), start=1):
        if not line_bytes.strip():
            continue
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as error:
            skipped.append((number, f"not UTF-8 at byte {error.start + 1}"))
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            skipped.append((number, f"not JSON ({error.msg})"))
            continue
        if not isinstance(row, dict):
            skipped.append((number, "not a JSON object"))
            continue
        if require is not None and require not in row:
            skipped.append((number, f"no {require!r} field"))
            continue
        rows.append(row)
    return JsonlRows(path, rows, skipped)
