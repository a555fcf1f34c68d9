"""Plain-text summaries for the terminal: the numbers table, ``attnmod analyze`` and ``attnmod diagnose`` output."""

from __future__ import annotations

import math
from collections.abc import Sequence


def format_summary_table(rows: Sequence[tuple[str, dict]]) -> str:
    """A fixed-width table of the summary numbers a reader can weigh (``n/a`` for undefined): the attention metrics
    of the registry, one column per named summary, then which direction is better and the unit (with its chance
    level, 1 for the lifts)."""
    from ..analysis.registry import ATTENTION_METRICS, METRICS

    width = max([12, *(len(name) + 2 for name, _ in rows)])
    lines = ["metric".ljust(14) + "".join(name.rjust(width) for name, _ in rows) + "  better  unit"]
    for key in ATTENTION_METRICS:
        cells = []
        for _, summary in rows:
            value = summary.get(key)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append("n/a".rjust(width))
            elif METRICS[key].unit == "count":
                cells.append(f"{int(value)}".rjust(width))
            else:
                cells.append(f"{value:.3f}".rjust(width))
        lines.append(key.ljust(14) + "".join(cells) + f"  {METRICS[key].better.ljust(6)}  {METRICS[key].unit}")
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


def format_diagnosis(data: dict, show_all: bool = False) -> str:
    """Text for ``attnmod diagnose``: what the shapes judge sees in each image first (when the diagnosis has a
    ``truth`` section), then the attention numbers and findings, best validated first; findings whose score did not
    predict the judge's failures are folded into one line unless ``show_all``."""
    variants = data["variants"]
    rows = [(f"{role} ({entry['variant']})", entry["summary"]) for role, entry in variants.items()]
    lines = [f"prompt: {data['prompt']!r}", ""]
    truth = data.get("truth")
    if truth:
        lines.append("what the images show (the shapes judge, read from the pixels):")
        lines.extend(f"  {line}" for line in truth["lines"])
        lines.append("")
        lines.append("attention (what the model attended to; hints, not facts):")
    lines.extend([format_summary_table(rows), ""])
    found = data.get("findings")
    if found is None:  # a diagnosis written before findings were ranked
        from ..analysis.verdicts import ranked_findings

        found = ranked_findings(data["verdicts"])
    folded = [row for row in found if row["folded"]]
    lines.extend(f"- {row['text']}" for row in found if show_all or not row["folded"])
    if folded and not show_all:
        signals = "signal" if len(folded) == 1 else "signals"
        lines.append(f"{len(folded)} unvalidated attention {signals} hidden; --all shows them")
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
