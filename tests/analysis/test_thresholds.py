"""Thresholds: every way of building them (Python, a file's mapping, ``replace``/``resolve`` for CLI options) runs
the same checks, and a bad setting is one line that names it."""

from __future__ import annotations

import json

import pytest
from attnmod.analysis.thresholds import Thresholds
from attnmod.toolkit.errors import AttnmodError


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"overlap": 1.5}, "threshold overlap must be a number in [0, 1], got 1.5"),
        ({"floor_quantile": "0.5"}, "threshold floor_quantile must be a number in [0, 1], got '0.5'"),
        ({"binding": -1}, "threshold binding must be a finite number >= 0, got -1"),
        ({"min_contrast": float("inf")}, "threshold min_contrast must be a finite number >= 0, got inf"),
        ({"margin": float("nan")}, "threshold margin must be a finite number (nats), got nan"),
        ({"region_rule": "mean"}, "region_rule must be one of spread, otsu, peak, got 'mean'"),
        ({"resolution": "big"}, "resolution must look like 32x32, got 'big'"),
    ],
)
def test_bad_settings_are_one_line_naming_the_setting(settings, message):
    for build in (lambda: Thresholds(**settings), lambda: Thresholds.from_json(settings),
                  lambda: Thresholds().replace(**settings), lambda: Thresholds.resolve(None, **settings)):  # fmt: skip
        with pytest.raises(AttnmodError) as caught:
            build()
        assert str(caught.value) == message


def test_file_mappings_are_checked_for_unknown_names_and_shape():
    with pytest.raises(AttnmodError) as caught:
        Thresholds.from_json({"overlapp": 0.3, "bindng": 1})
    known = "background, binding, floor_quantile, margin, min_contrast, overlap, presence, region_rule, resolution, "
    assert str(caught.value) == f"unknown threshold(s) bindng, overlapp (known: {known}self_leakage)"
    with pytest.raises(AttnmodError, match="thresholds must be a mapping of names to numbers"):
        Thresholds.from_json([0.3])


def test_a_file_then_options_and_numbers_stored_as_floats(tmp_path):
    path = tmp_path / "thresholds.yaml"
    path.write_text("thresholds:\n  overlap: 0.3\n  binding: 2\n  resolution: 8x8\n", encoding="utf-8")
    resolved = Thresholds.resolve(path, margin=0.1, overlap=None)
    assert resolved == Thresholds(overlap=0.3, binding=2.0, resolution="8x8", margin=0.1)
    written = resolved.to_json()
    assert written["binding"] == 2.0 and isinstance(written["binding"], float)
    assert Thresholds.from_json(json.loads(json.dumps(written))) == resolved


def test_misspelt_constructor_keywords_are_refused_with_the_valid_names():
    from attnmod.toolkit.modulation.config import ModulationConfig

    with pytest.raises(AttnmodError, match=r"unknown threshold\(s\) overlapp \(known: background, binding"):
        Thresholds(overlapp=0.5)
    assert Thresholds(overlap=0.5).overlap == 0.5
    with pytest.raises(AttnmodError, match="temprature"):
        ModulationConfig(temprature={"tau": 0.5})
