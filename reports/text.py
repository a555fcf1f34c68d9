"""Plain-text summaries for the terminal: the numbers table, ``attnmod analyze`` and ``attnmod diagnose`` output."""

from __future__ import annotations

import math
from collections.abc import Sequence


def format_summary_table(rows: Sequence[tuple[str, dict]]) -> str:
    """A fixed-width table of summary numbers, one column per named summary (``n/a`` for undefined)."""
    keys = ["leakage", "binding", "misbound", "neglected", "self_leakage", "margin", "entities", "attributes"]
    width = max([12, *(len(name) + 2 for name, _ in rows)])
    lines = ["metric".ljust(14) + "".join(name.rjust(width) for name, _ in rows)]
    for key in keys:
        cells = []
        for _, summary in rows:
            value = summary.get(key)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append("n/a".rjust(width))
            elif key in ("misbound", "neglected", "entities", "attributes"):
                cells.append(f"{int(value)}".rjust(width))
            else:
                cells.append(f"{value:.3f}".rjust(width))
        lines.append(key.ljust(14) + "".join(cells))
    return "\n".join(lines)


def format_analysis(result: dict) -> str:
    """Text for ``attnmod analyze``: per record its prompt, summary numbers and verdicts; then the comparison."""
    blocks = []
    for item in result["items"]:
        head = f"{item['path']}: {item['prompt']!r}" + (f" [{item['variant']}]" if item["variant"] else "")
        table = format_summary_table([("value", item["summary"])])
        findings = "\n".join(f"  - {line}" for line in item["verdicts"])
        blocks.append(f"{head}\n{table}\n{findings}")
    if result.get("comparison"):
        blocks.append("\n".join(f"  * {line}" for line in result["comparison"]["verdicts"]))
    return "\n\n".join(blocks)


def format_diagnosis(data: dict) -> str:
    """Text for ``attnmod diagnose``: the baseline/modulated table, then every verdict."""
    variants = data["variants"]
    rows = [(f"{role} ({entry['variant']})", entry["summary"]) for role, entry in variants.items()]
    lines = [f"prompt: {data['prompt']!r}", "", format_summary_table(rows), ""]
    lines.extend(f"- {line}" for line in data["verdicts"])
    if data.get("information_flow"):
        lines.append(f"note: {data['information_flow']}")
    notes = (data.get("attributions") or {}).get("notes") or []
    for key, item in ((data.get("attributions") or {}).get("items") or {}).items():
        top = sorted(item["scores"], key=lambda row: -abs(row["score"]))[:3]
        listed = ", ".join(f"{row['label']} {row['score']:+.2e}" for row in top)
        delta = f" (delta {item['delta']:.1e})" if item.get("delta") is not None else ""
        lines.append(f"attribution {key}: {listed}{delta}")
    lines.extend(f"attribution note: {note}" for note in notes)
    return "\n".join(lines)
