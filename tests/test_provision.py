"""tests/provision.sh, run by `make test` before the suite: installs Chromium and poppler where it can, else stops
with one line naming what to install. Each case runs the script with a PATH of planted stand-in commands."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("provision.sh")
SH = shutil.which("sh")


def _command(folder: Path, name: str, body: str = "exit 0") -> None:
    path = folder / name
    path.write_text(f"#!{SH}\n{body}\n")
    path.chmod(0o755)


def _run(folder: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SH, str(SCRIPT)], env={"PATH": str(folder), **env}, capture_output=True, text=True, timeout=30
    )


def _bin(tmp_path: Path, user_id: int) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    _command(folder, "id", f"echo {user_id}")
    os.symlink(shutil.which("env"), folder / "env")
    return folder


def test_nothing_to_do_when_both_tools_are_present(tmp_path):
    folder = _bin(tmp_path, 1000)
    _command(folder, "chromium")
    _command(folder, "pdftoppm")
    result = _run(folder)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_chromium_named_by_the_environment_counts(tmp_path):
    folder = _bin(tmp_path, 1000)
    _command(folder, "my-browser")
    _command(folder, "pdftoppm")
    assert _run(folder, CHROMIUM="my-browser").returncode == 0
    assert "chromium" in _run(folder).stderr  # the same machine without $CHROMIUM lacks a browser


def test_without_root_it_stops_with_one_line_naming_what_to_install(tmp_path):
    folder = _bin(tmp_path, 1000)
    _command(folder, "apt-get", "echo apt-get must not run >&2; exit 9")
    _command(folder, "pdftoppm")
    result = _run(folder)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "chromium" in lines[0] and "poppler" not in lines[0] and "not root" in lines[0]


def test_without_apt_it_stops_with_one_line(tmp_path):
    result = _run(_bin(tmp_path, 0))
    assert result.returncode == 1
    assert (
        result.stderr.count("\n") == 1 and "chromium poppler-utils" in result.stderr and "no apt-get" in result.stderr
    )


def test_as_root_it_installs_both_with_apt(tmp_path):
    folder = _bin(tmp_path, 0)
    log = tmp_path / "apt.log"
    _command(folder, "apt-get", f'echo "$DEBIAN_FRONTEND $*" >> {log}')
    result = _run(folder)
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [" update -qq", "noninteractive install -y -qq chromium poppler-utils"]


def test_a_failed_install_stops_with_one_line(tmp_path):
    folder = _bin(tmp_path, 0)
    _command(folder, "apt-get", 'case "$1" in update) exit 0;; *) exit 100;; esac')
    result = _run(folder)
    assert result.returncode == 1
    assert "apt-get install failed" in result.stderr.splitlines()[-1]
