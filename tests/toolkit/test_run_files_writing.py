"""toolkit/run_files: atomic writes, versions, NaN as null, default generation settings."""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from attnmod.toolkit import run_files
from attnmod.toolkit.errors import AttnmodError
from PIL import Image


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
    with pytest.raises(AttnmodError, match=r"cannot write '.*run\.json' \(No space left on device\)"):
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


def test_write_atomic_replaces_a_planted_link_and_leaves_its_target_alone(tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("precious", encoding="utf-8")
    os.chmod(target, 0o600)
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").symlink_to(target)
    run_files.write_json_atomic(out / "config.json", {"steps": 1})
    assert target.read_text(encoding="utf-8") == "precious"
    assert not (out / "config.json").is_symlink()
    assert json.loads((out / "config.json").read_text(encoding="utf-8")) == {"steps": 1}
    # The link's target's private mode is not carried over to the new, ordinary file.
    assert stat.S_IMODE((out / "config.json").stat().st_mode) == run_files._new_file_mode()


def test_append_line_refuses_a_planted_link(tmp_path):
    target = tmp_path / "elsewhere.jsonl"
    target.write_text("precious\n", encoding="utf-8")
    (tmp_path / "results-rank0.jsonl").symlink_to(target)
    with pytest.raises(AttnmodError, match="symbolic link"):
        run_files.append_line(tmp_path / "results-rank0.jsonl", "{}")
    assert target.read_text(encoding="utf-8") == "precious\n"
    run_files.append_line(tmp_path / "rows.jsonl", '{"id": 1}')
    run_files.append_line(tmp_path / "rows.jsonl", '{"id": 2}')
    assert (tmp_path / "rows.jsonl").read_text(encoding="utf-8") == '{"id": 1}\n{"id": 2}\n'


def test_write_safetensors_atomic_returns_the_checksum_of_the_bytes_on_disk(tmp_path):
    import hashlib

    from safetensors.torch import load_file

    path = tmp_path / "t.safetensors"
    checksum = run_files.write_safetensors_atomic(path, {"x": torch.arange(6.0).reshape(2, 3)})
    assert checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert torch.equal(load_file(str(path))["x"], torch.arange(6.0).reshape(2, 3))
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0600
    with pytest.raises(AttnmodError, match=r"cannot write '.*bad\.safetensors'"):
        run_files.write_safetensors_atomic(tmp_path / "bad.safetensors", {"x": "not a tensor"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.safetensors"]


def test_a_yaml_error_is_one_line_with_its_position(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("variant: [full\n", encoding="utf-8")
    with pytest.raises(AttnmodError) as refused:
        run_files.read_settings_file(path, "modulation config")
    message = str(refused.value)
    assert "\n" not in message and " at at " not in message
    assert message.endswith(
        "is not valid YAML: expected ',' or ']', but got '<stream end>' at line 2, column 1 "
        "(parsing a flow sequence starting at line 1, column 10)"
    )


def test_a_cut_short_png_does_not_decode_even_when_pil_was_told_to_be_lenient(tmp_path, monkeypatch):
    from attnmod.toolkit.run_files import image_decode_problem
    from PIL import ImageFile

    whole = tmp_path / "whole.png"
    Image.new("RGB", (16, 16), (200, 30, 30)).save(whole)
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[:60])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # what importing WeasyPrint does process-wide
    assert image_decode_problem(whole) is None
    assert image_decode_problem(cut) is not None
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is left as it was


@pytest.mark.slow
def test_writing_a_pdf_report_leaves_pil_strict():
    code = (
        "from PIL import ImageFile\n"
        "from attnmod.reports.html import html_to_pdf\n"
        "assert html_to_pdf('<p>x</p>').startswith(b'%PDF')\n"
        "print(ImageFile.LOAD_TRUNCATED_IMAGES)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
