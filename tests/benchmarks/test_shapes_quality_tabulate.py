"""benchmarks/shapes_quality.py re-tabulates stored per-image rows, adding the shape-only presence reading."""

import json
import subprocess
import sys

import pytest
from places import BENCHMARKS

SCRIPT = BENCHMARKS / "shapes_quality.py"


def _row(caption, present, missing, wrong):
    return {
        "caption": caption,
        "seed": 0,
        "all_present": present,
        "colour_binding": None if missing else 1.0 - wrong,
        "all_correct": present,
        "counts": present,
        "relation": None,
        "missing": missing,
        "wrong_colour": wrong,
        "merged": 0.0,
    }


def test_tabulate_derives_shapes_present_from_missing(tmp_path):
    # Three prompts x 2 seeds: both objects right; a wrong colour (shapes there, not "present"); one shape missing.
    rows = [
        _row("a red circle and a blue star", 1.0, 0.0, 0.0),
        _row("a red circle and a blue star", 1.0, 0.0, 0.0),
        _row("a green ring and a white cross", 0.0, 0.0, 1.0),
        _row("a green ring and a white cross", 0.0, 0.0, 1.0),
        _row("a yellow square and a red heart", 0.0, 1.0, 0.0),
        _row("a yellow square and a red heart", 0.0, 1.0, 0.0),
    ]
    stored = {
        "machine": "planted",
        "model": "shapes",
        "variant": "none",
        "seeds": [0, 1],
        "steps": 25,
        "guidance": 5.0,
        "seconds": 1.0,
        "sets": {"seen-2": {"prompts": 3, "images": 6, "metrics": {}, "rows": rows}},
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(stored))
    out = tmp_path / "new.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--tabulate", str(path), "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    metrics = json.loads(out.read_text())["sets"]["seen-2"]["metrics"]
    assert metrics["all_present"]["mean"] == pytest.approx(1 / 3)
    assert metrics["shapes_present"]["mean"] == pytest.approx(2 / 3)  # the wrong-colour prompt counts here
    assert metrics["shapes_present"]["images"] == 6
    assert "all named shapes present (any colour)" in done.stdout and "66.7" in done.stdout


def test_tabulate_rejects_a_file_that_is_not_its_output(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"rows": []}))
    done = subprocess.run([sys.executable, str(SCRIPT), "--tabulate", str(path)], capture_output=True, text=True)
    assert done.returncode == 1 and "not a results file of this script" in done.stderr
    assert "Traceback" not in done.stderr


def test_sets_option_reads_names_and_counts_and_refuses_bad_ones():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import shapes_quality
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert shapes_quality.parse_sets(None) == shapes_quality.SETS
    assert shapes_quality.parse_sets("seen-1/tune:45, seen-2/tune:55") == (("seen-1/tune", 45), ("seen-2/tune", 55))
    for text, message in [
        ("seen-9:3", "unknown shapes set 'seen-9'"),
        ("seen-2/half:3", "unknown half 'half'"),
        ("seen-2:x", "give NAME:COUNT"),
        ("seen-2", "give NAME:COUNT"),
        ("seen-2:0", "at least 1"),
    ]:
        with pytest.raises(ValueError, match=message):
            shapes_quality.parse_sets(text)
