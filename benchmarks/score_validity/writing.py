"""Writing the results: the markdown tables, docs/validity.md, analysis/validation.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from attnmod.toolkit.run_files import write_atomic

from .settings import FAILURE_NAMES, HALVES, SETS

# ---- writing ----


def reading(row: dict) -> str:
    low, high = row["ci"]
    if row["auroc"] is None:
        return "no failures or no successes to compare"
    if low is None:
        return "too few units for an interval"
    if low <= 0.5 <= high:
        return "predicts nothing (interval includes 0.5)"
    if high < 0.5:
        return "predicts the opposite"
    return "predicts" if low >= 0.6 else "predicts weakly"


def markdown(result: dict, meta: dict) -> str:
    lines = [
        f"Run: `{meta['command']}` on {meta['machine']}; model `{meta['model']}`"
        + (f" (weights sha256 {meta['weights_sha256']}...)" if meta.get("weights_sha256") else "")
        + f", {meta['steps']} steps at "
        f"{meta['size']}x{meta['size']}, seeds {', '.join(map(str, meta['seeds']))}, variants "
        f"{', '.join(meta['variants'])}; {meta['prompts']} prompts ({_halves(meta)}, sets {', '.join(SETS)}); "
        f"{meta['images']} images{_partial(meta)}; judge: {meta['judge']}; {meta['seconds']:.0f} s.",
        "",
        "Every AUROC below is on the **test half**; thresholds of verdicts and the chosen definition of each "
        "family (marked *) were picked on the tune half. Interval: 95% bootstrap over prompts. Undefined: share of "
        "units where the score is undefined (counted as neutral, the median).",
        "",
    ]
    for key, table in result["failures"].items():
        if "applied" in key:
            continue
        variant, failure = key.split("/")
        counts = result["counts"][key]
        lines += [
            f"### {FAILURE_NAMES[failure]}, variant `{variant}`",
            "",
            f"Test: {counts['test_units']} units, {counts['test_failures']} failures (tune: {counts['tune_units']}, "
            f"{counts['tune_failures']}).",
            "",
            "| predictor | definition | kind | AUROC | 95% interval | tune AUROC | undefined | reading |",
            "|---|---|---|---|---|---|---|---|",
        ]
        left_out = [row["predictor"] for row in table if _never_defined(row)]
        for row in table:
            if _never_defined(row):
                continue
            name = row["predictor"] + (" *" if row["chosen"] else "")
            if row["threshold"] is not None:
                name += f" (t = {row['threshold']})"
            lines.append(
                f"| {name} | {row['definition']} | {row['kind']} | {_fmt(row['auroc'])} | "
                f"{_fmt(row['ci'][0])}-{_fmt(row['ci'][1])} | {_fmt(row['tune_auroc'])} | {_fmt(row['undefined'])} "
                f"| {reading(row)} |"
            )
        if left_out:
            lines += ["", f"Left out, undefined for every unit of both halves: {', '.join(left_out)}."]
        lines.append("")
    for key, table in result["failures"].items():
        if "applied" not in key:
            continue
        lines += [
            f"### Leakage on the model's own maps and on the applied maps, `{key.split('/')[0]}` (test half)",
            "",
            "| predictor | mean | AUROC for merged objects | 95% interval | undefined |",
            "|---|---|---|---|---|",
        ]
        for row in table:
            lines.append(
                f"| {row['predictor']} | {_fmt(row['mean'])} | {_fmt(row['auroc'])} | "
                f"{_fmt(row['ci'][0])}-{_fmt(row['ci'][1])} | {_fmt(row['undefined'])} |"
            )
        lines.append("")
    for variant, table in result["iou"].items():
        lines += [
            f"### Attention regions against the judge's masks, variant `{variant}` (test half, objects found)",
            "",
            "| region rule | objects | mean IoU | same-area random | difference | 95% interval |",
            "|---|---|---|---|---|---|",
        ]
        for row in table:
            lines.append(
                f"| {row['rule']} | {row['objects']} | {_fmt(row['iou'])} | {_fmt(row['chance'])} | "
                f"{_fmt(row['difference'])} | {_fmt(row['ci'][0])}-{_fmt(row['ci'][1])} |"
            )
        lines.append("")
    specific = {v: t for v, t in (result.get("specificity") or {}).items() if t["objects"]}
    if specific:
        lines += [
            "### How token-specific the model's attention is (both halves)",
            "",
            "Presence: an entity's peak share of a patch's attention to the prompt's words. If every patch attended "
            "to the words uniformly, every entity would get `1 / words` (the uniform share); contrast: "
            "`(peak - floor) / mean` of the entity maps (flat below 0.25).",
            "",
            "| variant | objects | presence, found | presence, missing | uniform share | contrast |",
            "|---|---|---|---|---|---|",
        ]
        for variant, row in specific.items():
            lines.append(
                f"| {variant} | {row['objects']} | {_fmt(row['presence_found'])} | {_fmt(row['presence_missing'])} | "
                f"{_fmt(row['uniform_share'])} | {_fmt(row['contrast'])} |"
            )
        lines.append("")
    lines += targets(result)
    lines += [
        "### Wording of the verdicts",
        "",
        "Each verdict as the diagnosis ships it, measured on the baseline's test half. With `--validation "
        "analysis/validation.json` the run writes these figures where `analysis/verdicts.py` reads them: a verdict "
        "whose interval includes 0.5 then says it is not validated, with its AUROC.",
        "",
        "| verdict | measured as | failure | AUROC | 95% interval | reading |",
        "|---|---|---|---|---|---|",
    ]
    for kind, entry in verdict_evidence(result).items():
        if entry is None:
            lines.append(
                f"| {kind} | {VERDICT_EVIDENCE[kind][1]} | {FAILURE_NAMES[VERDICT_EVIDENCE[kind][0]]} | n/a | n/a | not measured |"
            )
            continue
        lines.append(
            f"| {kind} | {entry['predictor']} | {entry['failure_name']} | {_fmt(entry['auroc'])} | "
            f"{_fmt(entry['ci'][0])}-{_fmt(entry['ci'][1])} | {entry['reading']} |"
        )
    lines.append("")
    return "\n".join(lines)


def portable(arguments: Sequence[str]) -> list[str]:
    """The command line as the docs record it, with no path of this machine: an absolute path inside the
    repository becomes relative to it, any other absolute path its last component (the output folder: ``OUT``)."""
    root = Path(__file__).resolve().parent.parent.parent  # the repository
    found, previous = [], ""
    for argument in arguments:
        name, equals, value = (
            argument.partition("=") if argument.startswith("--") and "=" in argument else ("", "", argument)
        )
        if Path(value).is_absolute():
            path = Path(value).resolve()
            if path.is_relative_to(root):
                value = str(path.relative_to(root))
            else:
                value = "OUT" if (name or previous) == "--out" else path.name
        found.append(f"{name}{equals}{value}" if equals else value)
        previous = argument
    return found


def _never_defined(row: dict) -> bool:
    """A definition with no value for any unit (e.g. not computed by the run that made the cached images)."""
    return row.get("undefined") == 1.0 and row.get("tune_undefined") in (1.0, None)


def _halves(meta: dict) -> str:
    counts = meta.get("prompts_per_half") or {}
    return ", ".join(f"{counts.get(half, 0)} {half}" for half in HALVES)


def _partial(meta: dict) -> str:
    planned = meta.get("planned")
    return f" of {planned} planned" if planned and planned != meta["images"] else ""


#: Which test-half row (baseline) measures each verdict as the diagnosis ships it (the defaults of
#: analysis.thresholds.Thresholds): the key of analysis.verdicts.VALIDATION -> (failure, predictor name).
VERDICT_EVIDENCE = {
    "misbound": ("wrong_colour", "misbound (lift), spread 0.4"),
    "weak_binding": ("wrong_colour", "own binding lift, spread 0.4"),
    "margin": ("wrong_colour", "KL margin (SynGen symmetric KL)"),
    "neglected": ("missing", "neglected (presence peak < 0.2, as shipped)"),
    "no_pixels": ("missing", "wins no pixels, spread 0.4"),
    "overlap": ("merged", "overlap verdict (gated floor q0.5 overlap >= 0.4, as shipped)"),
    "self_leakage": ("merged", "self-attention lift, spread 0.4"),
}


def evidence_reading(row: dict | None) -> str | None:
    """``"predicts"`` (interval above 0.6 at its low end), ``"weak"`` (above 0.5), ``"nothing"`` (includes 0.5),
    ``"opposite"`` (below 0.5), None when not measurable."""
    if row is None or row.get("auroc") is None or row["ci"][0] is None:
        return None
    low, high = row["ci"]
    if low <= 0.5 <= high:
        return "nothing"
    if high < 0.5:
        return "opposite"
    return "predicts" if low >= 0.6 else "weak"


def verdict_evidence(result: dict) -> dict[str, dict | None]:
    """Per verdict of analysis.verdicts.VALIDATION, its measured validity on the baseline's test half:
    ``{"reading", "failure", "predictor", "auroc", "ci", "units", "failures"}`` or None when not measured."""
    found = {}
    for kind, (failure, name) in VERDICT_EVIDENCE.items():
        row = next((r for r in result["failures"].get(f"none/{failure}", []) if r["predictor"] == name), None)
        reading_of_row = evidence_reading(row)
        if reading_of_row is None:
            found[kind] = None
            continue
        found[kind] = {
            "reading": reading_of_row,
            "failure": failure,
            "failure_name": FAILURE_NAMES[failure],
            "predictor": name,
            "auroc": row["auroc"],
            "ci": row["ci"],
            "units": row["units"],
            "failures": row["failures"],
        }
    return found


def write_validation(path: Path, result: dict, meta: dict) -> None:
    """The file analysis/verdicts.py reads to word each verdict by its measured validity."""
    data = {
        "format": "attnmod.validation/1",
        "about": "benchmarks/score_validity: how well each verdict predicted the shapes-world judge's failures "
        "on baseline runs, test half (AUROC, 95% bootstrap interval over prompts); see docs/validity.md",
        "model": meta["model"],
        "weights_sha256": meta.get("weights_sha256"),
        "steps": meta["steps"],
        "size": meta["size"],
        "seeds": meta["seeds"],
        "prompts": meta["prompts_per_half"],
        "images": meta["images"],
        "verdicts": verdict_evidence(result),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=1) + "\n")


def targets(result: dict) -> list[str]:
    """The issue's two targets, on baseline runs, test half."""
    lines = ["### Targets (baseline, test half)", ""]
    checks = [
        (
            "wrong_colour",
            lambda r: r["kind"] == "verdict" and r["family"] == "misbound" and r["chosen"],
            "misbinding verdict predicts wrong colours",
            0.75,
        ),
        (
            "missing",
            lambda r: r["family"] == "presence" and r["chosen"],
            "presence score predicts missing objects",
            0.8,
        ),
    ]
    for failure, pick, text, goal in checks:
        table = result["failures"].get(f"none/{failure}", [])
        row = next((r for r in table if pick(r)), None)
        if row is None or row["auroc"] is None:
            lines.append(f"- {text}: not measurable in this run (no judged failures or successes).")
            continue
        verdict = "met" if row["auroc"] >= goal else "missed"
        lines.append(
            f"- {text} (target AUROC >= {goal}): {row['predictor']} AUROC {row['auroc']:.3f} "
            f"[{_fmt(row['ci'][0])}-{_fmt(row['ci'][1])}]: **{verdict}**."
        )
    lines.append("")
    return lines


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def write_docs(path: Path, text: str) -> None:
    start, end = "<!-- results -->", "<!-- /results -->"
    page = path.read_text(encoding="utf-8") if path.is_file() else f"# Score validity\n\n{start}\n{end}\n"
    if start not in page or end not in page:
        page = page.rstrip() + f"\n\n{start}\n{end}\n"
    head, rest = page.split(start, 1)
    _, tail = rest.split(end, 1)
    write_atomic(path, f"{head}{start}\n{text}\n{end}{tail}")
