"""toolkit/run_files: atomic writes, versions, NaN as null, default generation settings."""

from __future__ import annotations

import json
import math
import os
import stat
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from attnmod.toolkit import run_files


def test_write_atomic_replaces_the_file_and_keeps_its_mode(tmp_path):
    path = tmp_path / "table.jsonl"
    path.write_text("old\n", encoding="utf-8")
    os.chmod(path, 0o640)
    run_files.write_atomic(path, "new ünïcode\n")
    assert path.read_text(encoding="utf-8") == "new ünïcode\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.jsonl"]


def test_write_atomic_gives_a_new_file_the_umask_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        path = run_files.write_atomic(tmp_path / "new.bin", b"\x00\x01")
    finally:
        os.umask(umask)
    assert path.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "run.json"
    path.write_text('{"status": "running"}', encoding="utf-8")

    def refuse(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_files.os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        run_files.write_json_atomic(path, {"status": "done"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"status": "running"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_json_with_nan_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "metrics.json"
    with pytest.raises(ValueError):
        run_files.write_json_atomic(path, {"binding": math.nan})
    assert list(tmp_path.iterdir()) == []


def test_numbers_become_json_numbers_or_null():
    assert run_files.json_number(0.1234567891) == 0.123457
    assert run_files.json_number(math.nan) is None
    assert run_files.json_number(-math.inf) is None
    assert run_files.json_number(np.float32(0.5)) == 0.5
    assert run_files.finite_or_none(math.inf) is None
    assert run_files.finite_or_none(3) == 3
    cleaned = run_files.clean_numbers(
        {"a": np.float64("nan"), "b": [torch.tensor(2.5), np.int64(3)], 4: (math.inf, "x")}
    )
    assert cleaned == {"a": None, "b": [2.5, 3], "4": [None, "x"]}
    assert type(cleaned["b"][1]) is int


def test_software_versions_name_each_package_and_mark_missing_ones():
    found = run_files.software_versions(("attnmod", "torch", "no-such-package-h12"), python=True)
    assert list(found) == ["python", "attnmod", "torch", "no-such-package-h12"]
    assert found["attnmod"] == __import__("attnmod").__version__
    assert found["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert found["no-such-package-h12"] == "-"
    assert run_files.software_versions(("no-such-package-h12",), missing=None) == {"no-such-package-h12": None}


def _loaded(name: str, sample_size: int, scale: int):
    unet = SimpleNamespace(config=SimpleNamespace(sample_size=sample_size))
    return SimpleNamespace(name=name, pipeline=SimpleNamespace(unet=unet, vae_scale_factor=scale))


def test_default_generation_settings_per_model():
    assert run_files.default_generation_settings("tiny") == {"steps": 4, "height": 128, "width": 128}
    assert run_files.default_generation_settings("some/sdxl") == {"steps": 30, "height": None, "width": None}
    # SDXL: a 128-latent UNet and a VAE that scales by 8 -> 1024 pixels.
    assert run_files.default_generation_settings(_loaded("some/sdxl", 128, 8)) == {
        "steps": 30,
        "height": 1024,
        "width": 1024,
    }
    assert run_files.default_generation_settings(_loaded("tiny", 16, 8))["height"] == 128


def test_resolve_generation_settings_keeps_what_is_given():
    model = _loaded("sd15", 64, 8)
    assert run_files.resolve_generation_settings(model) == {"steps": 30, "height": 512, "width": 512}
    assert run_files.resolve_generation_settings(model, steps=2, width=256) == {"steps": 2, "height": 512, "width": 256}
    assert run_files.resolve_generation_settings("tiny", 1, 64, 64) == {"steps": 1, "height": 64, "width": 64}
